# can/: the bus interface (candump log parsing and replay, the virtual bus, error frames,
# socketcan's messages on this host's kernel, which has no CAN; tests/vm/ runs the rest).
rsgw_unit_test(test_canbus_log SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_canbus_log.c LIBS rsgw_can)
rsgw_unit_test(test_canbus SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_canbus.c LIBS rsgw_can)
