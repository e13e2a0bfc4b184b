# lib/at parsers: command lines, metadata, atKeys, server responses, pushes.
foreach(f fuzz_verb fuzz_metadata fuzz_atkey fuzz_response fuzz_notification)
  np_add_fuzzer(NAME ${f} SOURCE ${CMAKE_CURRENT_LIST_DIR}/${f}.c LIBS np_at)
endforeach()
