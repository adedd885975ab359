# sensing/: the real rsu driver against the real simulator, over Modbus TCP on
# 127.0.0.1 and over RTU through a socat pseudo-terminal pair (skipped without socat).
add_executable(test_rsu_modbus ${CMAKE_CURRENT_LIST_DIR}/test_rsu_modbus.c)
target_link_libraries(test_rsu_modbus PRIVATE rsgw_sensing PkgConfig::CMOCKA m)
add_test(NAME test_rsu_modbus COMMAND test_rsu_modbus)
get_filename_component(rsgw_root ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)
set_tests_properties(test_rsu_modbus PROPERTIES LABELS integration TIMEOUT 120
                     ENVIRONMENT "TZ=Asia/Shanghai;RSGW_SOURCE_DIR=${rsgw_root}")
