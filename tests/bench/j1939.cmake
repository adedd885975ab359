# J1939: frames decoded per second from memory on one core (TP receiver + decoders). Not a test.
add_executable(bench_j1939 ${CMAKE_CURRENT_LIST_DIR}/bench_j1939.c)
target_link_libraries(bench_j1939 PRIVATE rsgw_can)
