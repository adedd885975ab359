add_executable(bench_pipeline ${CMAKE_CURRENT_LIST_DIR}/bench_pipeline.c)
target_link_libraries(bench_pipeline PRIVATE rsgw_core)
add_executable(bench_fill ${CMAKE_CURRENT_LIST_DIR}/bench_fill.c)
target_link_libraries(bench_fill PRIVATE rsgw_core)
