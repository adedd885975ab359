# Record store: durable appends/s and history latency on a real file. Not a test.
add_executable(bench_store ${CMAKE_CURRENT_LIST_DIR}/bench_store.c
               ${CMAKE_SOURCE_DIR}/tests/unit/store_fixture.c)
target_include_directories(bench_store PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit)
target_link_libraries(bench_store PRIVATE rsgw_store)
