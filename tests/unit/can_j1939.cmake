# can/: SAE J1939 (identifiers, address claim, transport protocol, decoders), frame by frame.
foreach(t test_j1939_addr test_j1939_tp_rx test_j1939_tp_tx test_j1939_decode)
  rsgw_unit_test(${t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/${t}.c LIBS rsgw_can m)
endforeach()
