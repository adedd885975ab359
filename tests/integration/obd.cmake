# rsgw obd (the roadside OBD check) as a process: a missing CAN interface, a candump log
# read listen-only, the ObdInspection records in a real store, and a store held by a daemon.
add_test(NAME it_obd COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/obd.sh)
set_tests_properties(it_obd PROPERTIES LABELS integration TIMEOUT 120
  ENVIRONMENT "RSGW=$<TARGET_FILE:rsgw>;TZ=Asia/Shanghai")
