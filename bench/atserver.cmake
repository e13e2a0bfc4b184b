# bench/atserver.cmake - the tools of the atserver, sshnpd and load_at
# benchmarks (bench/atserver.sh, bench/sshnpd.sh, bench/load_at.sh):
#   np_bench_at   directory/atserver throughput, notification round trip and
#                 load, RSS per hosted atSign (brings up its own atdirectory +
#                 atserver through np_itest)
#   np_bench_npd  sshnpd: many npt sessions through srvd in one process, an
#                 unauthorized ping flood, sshnpd RSS sampling
# Built with the project (`make`), never registered in CTest.
find_package(Threads REQUIRED)

add_library(np_bench_at_util STATIC np_bench_at_util.c np_bench_at_rawmon.c)
target_include_directories(np_bench_at_util PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(np_bench_at_util PUBLIC np_at np_net np_crypto np_util PkgConfig::LIBEVENT)

add_executable(np_bench_at np_bench_at.c)
target_link_libraries(np_bench_at PRIVATE np_bench_at_util np_itest Threads::Threads)

add_executable(np_bench_npd np_bench_npd.c)
target_link_libraries(np_bench_npd PRIVATE np_bench_at_util np_clientapp np_np)
