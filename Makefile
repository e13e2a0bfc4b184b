# Thin driver over CMake/CTest. Every target installs missing Debian packages
# first (make deps), so a fresh Debian 12 machine needs nothing else.
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
PREFIX ?= /usr/local
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
CTEST_FLAGS ?=
# Tests mostly wait on sockets and timers: one more at a time than cores.
CTEST_JOBS ?= $(shell echo $$(( $(JOBS) + 1 )))
FUZZ_SECONDS ?= 30

.PHONY: all deps build check asan-check fuzz fuzz-smoke install demo bench bench-smoke format format-check lint clean

all: build

deps:
	@bash scripts/deps.sh

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

check: build
	cd $(BUILD) && ctest --output-on-failure -j $(CTEST_JOBS) $(CTEST_FLAGS)

# Unit, fuzz-replay and integration tests again under ASan+UBSan; any report
# fails. Built with clang (ASAN_CC), so that CI compiles the whole tree with
# -Werror under both gcc (make check) and clang.
ASAN_CC ?= clang
asan-check: deps
	CC=$(ASAN_CC) cmake -S . -B $(ASAN_BUILD) -DNP_ASAN=ON -DNP_UBSAN=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(CTEST_JOBS) --timeout 300 $(CTEST_FLAGS)

fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DNP_FUZZ=ON -DNP_ASAN=ON -DNP_UBSAN=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers

# Each libFuzzer target for FUZZ_SECONDS on a copy of its seed corpus, one per
# core at a time (make fuzz builds only the fuzzers: asan-check builds the
# rest with clang).
fuzz-smoke: fuzz
	@bash scripts/fuzz-smoke.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

demo: build
	@if [ -x scripts/demo.sh ]; then bash scripts/demo.sh $(BUILD); else \
	  echo "make demo: the end-to-end demo is not wired up yet (issue 8)" >&2; exit 2; fi

# Every benchmark side by side, one table; results in bench/results/*.json.
# BENCH=name... runs only those. Never part of `make check`.
bench: build
	bash bench/run.sh $(BUILD) $(BENCH)

# The same benchmarks with tiny sizes (seconds): keeps them working in CI.
bench-smoke: build
	bash bench/run.sh $(BUILD) --smoke $(BENCH)

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

format-check:
	@bash scripts/format-check.sh

lint:
	@bash scripts/lint.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
