add_executable(bench_pipeline ${CMAKE_CURRENT_LIST_DIR}/bench_pipeline.c)
target_link_libraries(bench_pipeline PRIVATE rsgw_core)
