# can/: ISO-TP (isotp_link, isotp_client) and OBD on CAN (J1979 decoders, obd_query,
# obd_detect). Frame-level tests over a recording bus (isotp_fixture.c).
foreach(t test_isotp test_isotp_send test_isotp_client test_isotp_hostile test_obd
          test_obd_query test_obd_detect)
  rsgw_unit_test(${t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/${t}.c
                 ${CMAKE_CURRENT_LIST_DIR}/isotp_fixture.c LIBS rsgw_can)
endforeach()
