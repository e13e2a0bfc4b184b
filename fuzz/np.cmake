# libFuzzer harnesses of lib/np (included by fuzz/CMakeLists.txt).
np_add_fuzzer(NAME fuzz_envelope SOURCE fuzz_envelope.c LIBS np_np)
