# Plates, the enforcement rules, and the policy settings (parser, digest, window).
rsgw_unit_test(test_plate SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_plate.c LIBS rsgw_policy)
rsgw_unit_test(test_policy SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_policy.c LIBS rsgw_policy)
rsgw_unit_test(test_policy_config SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_policy_config.c
               LIBS rsgw_policy)
# The roadside OBD check: its verdict, the [obd] key, and the ObdInspection record in the store.
rsgw_unit_test(test_policy_obd SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_policy_obd.c
               ${CMAKE_CURRENT_LIST_DIR}/store_fixture.c LIBS rsgw_core)
target_include_directories(test_policy_obd PRIVATE ${CMAKE_CURRENT_LIST_DIR})
