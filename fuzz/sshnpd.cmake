# libFuzzer harnesses of the device daemon (included by fuzz/CMakeLists.txt):
# the request-dispatch path of the engine (key + value -> type -> rate limit
# -> authorization -> envelope and payload parse) and the pure parsers it
# relies on (policy RPC responses, ssh public keys).
if(TARGET sshnpd_engine)
  np_add_fuzzer(NAME fuzz_sshnpd_dispatch SOURCE ${CMAKE_CURRENT_LIST_DIR}/fuzz_sshnpd_dispatch.c
                LIBS sshnpd_engine)
  np_add_fuzzer(NAME fuzz_sshnpd_parse SOURCE ${CMAKE_CURRENT_LIST_DIR}/fuzz_sshnpd_parse.c
                LIBS sshnpd_engine)
endif()
