# can/: the ECU simulator on the virtual bus against the J1939 stack and the ISO-TP client.
rsgw_unit_test(test_ecusim SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_ecusim.c LIBS rsgw_can)
