# libFuzzer harness of the atProtocol client's own parsing (directory
# answers, lookup:all/scan answers, the monitor line path); included by
# fuzz/CMakeLists.txt.
np_add_fuzzer(NAME fuzz_client SOURCE ${CMAKE_CURRENT_LIST_DIR}/fuzz_client.c LIBS np_at)
