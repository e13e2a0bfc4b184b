# libFuzzer harness of the directory's request-line handling
# (src/atdirectory/request.c: atSign normalisation and validation, host:port
# check, answer bytes); included by fuzz/CMakeLists.txt.
if(TARGET atdirectory_core)
  np_add_fuzzer(NAME fuzz_dirline SOURCE ${CMAKE_CURRENT_LIST_DIR}/fuzz_dirline.c
                LIBS atdirectory_core np_util)
endif()
