# libFuzzer harness of the npt control-channel parser (lib/np/bridge_mux.c);
# included by fuzz/CMakeLists.txt.
np_add_fuzzer(NAME fuzz_control SOURCE fuzz_control.c LIBS np_np)
