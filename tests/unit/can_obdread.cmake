# can/obdread: the roadside OBD check's reader against scripted vehicles on the virtual bus.
rsgw_unit_test(test_obdread SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_obdread.c LIBS rsgw_can)
