# libFuzzer harnesses of the atServer (src/atserver): the whole command
# dispatch on in-memory connections (no TLS), and the metadata merge path of
# key writes; included by fuzz/CMakeLists.txt.
if(TARGET atserver_core)
  foreach(f fuzz_atserver_dispatch fuzz_atserver_merge)
    np_add_fuzzer(NAME ${f} SOURCE ${CMAKE_CURRENT_LIST_DIR}/${f}.c LIBS atserver_core)
  endforeach()
endif()
