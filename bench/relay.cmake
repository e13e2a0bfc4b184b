# bench/relay.cmake - tools of the relay, session and srvd load benchmarks
# (bench/relay.sh, bench/load_srvd.sh). Built with the project, never tests.
if(TARGET np_util)
  add_library(np_bench_io STATIC ${CMAKE_CURRENT_LIST_DIR}/np_bench_io.c)
  target_include_directories(np_bench_io PUBLIC ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(np_bench_io PUBLIC np_util pthread)

  add_executable(np_bench_pump ${CMAKE_CURRENT_LIST_DIR}/np_bench_pump.c)
  target_link_libraries(np_bench_pump PRIVATE np_bench_io np_util)
endif()

if(TARGET np_itest AND TARGET np_np AND TARGET srvd AND TARGET atserver AND TARGET atdirectory)
  add_executable(np_bench_relay ${CMAKE_CURRENT_LIST_DIR}/np_bench_relay.c)
  target_link_libraries(np_bench_relay PRIVATE np_bench_io np_itest np_np np_at np_crypto
                        PkgConfig::LIBEVENT)
  target_compile_definitions(np_bench_relay PRIVATE
    NP_BENCH_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    NP_BENCH_SRVD="$<TARGET_FILE:srvd>"
    NP_BENCH_ATSERVER="$<TARGET_FILE:atserver>"
    NP_BENCH_ATDIRECTORY="$<TARGET_FILE:atdirectory>")
endif()
