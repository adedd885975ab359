# Platform sync against the real reference platform (rsgw-platform) on loopback.
rsgw_unit_test(test_sync SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sync.c
               ${CMAKE_CURRENT_LIST_DIR}/store_fixture.c ${CMAKE_CURRENT_LIST_DIR}/faultvfs.c
               LIBS rsgw_core)
target_include_directories(test_sync PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_compile_definitions(test_sync PRIVATE RSGW_PLATFORM_BIN="$<TARGET_FILE:rsgw-platform>")
add_dependencies(test_sync rsgw-platform)
