# Process-level integration tests: the real rsgw binary, real Modbus servers
# (rsgw sim rsu) on loopback or a pty pair, a real SQLite store.
foreach(t crash lanes rtu cli demo)
  add_test(NAME it_${t} COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/${t}.sh)
  set_tests_properties(it_${t} PROPERTIES LABELS integration TIMEOUT 300
    ENVIRONMENT "RSGW=$<TARGET_FILE:rsgw>;TZ=Asia/Shanghai;ASAN_OPTIONS=detect_leaks=1")
endforeach()
