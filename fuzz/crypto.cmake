# libFuzzer harnesses of lib/crypto (included by fuzz/CMakeLists.txt).
np_add_fuzzer(NAME fuzz_b64 SOURCE fuzz_b64.c LIBS np_crypto)
np_add_fuzzer(NAME fuzz_atkeys SOURCE fuzz_atkeys.c LIBS np_crypto)
