# The record store and the vehicle registry, on real SQLite files in a scratch directory.
set(store_fixture ${CMAKE_CURRENT_LIST_DIR}/store_fixture.c)
rsgw_unit_test(test_store SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_store.c ${store_fixture}
               LIBS rsgw_store)
rsgw_unit_test(test_store_faults SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_store_faults.c
               ${CMAKE_CURRENT_LIST_DIR}/faultvfs.c ${store_fixture} LIBS rsgw_store)
rsgw_unit_test(test_store_registry SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_store_registry.c
               ${store_fixture} LIBS rsgw_store)
# Platform sync: cursors, rejects, batches, remote findings, exemptions, retention, faults.
rsgw_unit_test(test_store_sync SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_store_sync.c
               ${CMAKE_CURRENT_LIST_DIR}/faultvfs.c ${store_fixture} LIBS rsgw_store)
foreach(t test_store test_store_faults test_store_registry test_store_sync)
  target_include_directories(${t} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
endforeach()
# Fault injection and crash rounds fsync a lot; give them room on a slow disk.
set_tests_properties(test_store_faults test_store_sync PROPERTIES TIMEOUT 600)
