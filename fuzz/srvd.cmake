# libFuzzer harnesses of the relay's parsers in lib/np (relay_msg, relay_auth,
# escr); included by fuzz/CMakeLists.txt.
foreach(f fuzz_relay_request fuzz_relay_auth_line fuzz_relay_escr)
  np_add_fuzzer(NAME ${f} SOURCE ${CMAKE_CURRENT_LIST_DIR}/${f}.c LIBS np_np)
endforeach()
