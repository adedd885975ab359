# The configuration file: parsing and its diagnostics.
rsgw_unit_test(test_config SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_config.c LIBS rsgw_core)
