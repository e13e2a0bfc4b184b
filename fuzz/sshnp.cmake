# libFuzzer harnesses of the client programs' parsers (config profiles and
# the command line; included by fuzz/CMakeLists.txt).
np_add_fuzzer(NAME fuzz_profile SOURCE fuzz_profile.c LIBS np_np)
