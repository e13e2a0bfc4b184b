# Helper functions shared by every part of the tree.

# np_add_unit_test(NAME test_buf SOURCES a.c b.c LIBS np_util)
# Builds a cmocka executable and registers it as one CTest with label "unit".
function(np_add_unit_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
  target_compile_definitions(${T_NAME} PRIVATE NP_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                             NP_BINARY_DIR="${PROJECT_BINARY_DIR}")
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 60)
  endif()
  set_tests_properties(${T_NAME} PROPERTIES LABELS "unit;${T_LABELS}" TIMEOUT ${T_TIMEOUT}
                       ENVIRONMENT "NP_SOURCE_DIR=${PROJECT_SOURCE_DIR};NP_BINARY_DIR=${PROJECT_BINARY_DIR}")
endfunction()

# np_add_fuzzer(NAME fuzz_b64 SOURCE fuzz_b64.c LIBS np_crypto)
# Always builds <name>_replay (plain main that runs every corpus file twice) and
# registers it in CTest (label "fuzz"); with NP_FUZZ also builds the libFuzzer
# binary <name>.
function(np_add_fuzzer)
  cmake_parse_arguments(F "" "NAME;SOURCE" "LIBS" ${ARGN})
  add_executable(${F_NAME}_replay ${F_SOURCE} ${PROJECT_SOURCE_DIR}/fuzz/replay_main.c)
  target_link_libraries(${F_NAME}_replay PRIVATE ${F_LIBS})
  add_test(NAME ${F_NAME}_replay
           COMMAND ${F_NAME}_replay ${PROJECT_SOURCE_DIR}/fuzz/corpus/${F_NAME})
  set_tests_properties(${F_NAME}_replay PROPERTIES LABELS "fuzz" TIMEOUT 120)
  if(NP_FUZZ)
    add_executable(${F_NAME} ${F_SOURCE})
    target_link_libraries(${F_NAME} PRIVATE ${F_LIBS})
    target_link_options(${F_NAME} PRIVATE -fsanitize=fuzzer)
    # `cmake --build B --target fuzzers` builds only these (make fuzz)
    if(NOT TARGET fuzzers)
      add_custom_target(fuzzers)
    endif()
    add_dependencies(fuzzers ${F_NAME})
  endif()
endfunction()

# np_add_program(NAME sshnpd SOURCES ... LIBS ...)
function(np_add_program)
  cmake_parse_arguments(P "" "NAME" "SOURCES;LIBS" ${ARGN})
  add_executable(${P_NAME} ${P_SOURCES})
  target_link_libraries(${P_NAME} PRIVATE ${P_LIBS})
  target_compile_definitions(${P_NAME} PRIVATE NP_VERSION="${PROJECT_VERSION}")
  install(TARGETS ${P_NAME} RUNTIME DESTINATION bin)
endfunction()
