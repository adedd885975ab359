# sensing/: register-map profiles, decode/encode, simulator scenarios.
rsgw_unit_test(test_rsu_profile SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_rsu_profile.c
               LIBS rsgw_sensing m)
rsgw_unit_test(test_rsusim_scenario SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_rsusim_scenario.c
               LIBS rsgw_sensing m)
