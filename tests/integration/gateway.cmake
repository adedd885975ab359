# Process-level integration tests: the real rsgw binary, real Modbus servers
# (rsgw sim rsu) on loopback or a pty pair, a real SQLite store, the reference
# platform (rsgw-platform), and nginx with real TLS.
foreach(t crash lanes rtu cli demo tls sync_crash sync_outage replay)
  add_test(NAME it_${t} COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/${t}.sh)
  set_tests_properties(it_${t} PROPERTIES LABELS integration TIMEOUT 400
    ENVIRONMENT "RSGW=$<TARGET_FILE:rsgw>;RSGW_PLATFORM=$<TARGET_FILE:rsgw-platform>;TZ=Asia/Shanghai")
endforeach()
