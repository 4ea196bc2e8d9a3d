# The monitor (issue 14): measurements, alerts, history, trends, the HTML report (in a browser).
add_executable(monitor_alloc_suite monitor/alloc_suite.c)
envtest_target_defaults(monitor_alloc_suite)
envtest_add_test(test_monitor SOURCES test_monitor.c LIBS envmgr_report envmgr_compose LABEL unit
                 TIMEOUT 120)
add_dependencies(test_monitor monitor_alloc_suite)
if(TARGET envtest)
  add_test(NAME test_monitor_cli
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/monitor/cli_monitor_test.sh $<TARGET_FILE:envtest>
                   $<TARGET_FILE:monitor_alloc_suite> ${CMAKE_CURRENT_BINARY_DIR}/monitor_cli)
  set_tests_properties(test_monitor_cli PROPERTIES LABELS unit TIMEOUT 300)
  # A run of 40 x 1,201 tests: every report and the history complete, peak RSS not growing.
  add_test(NAME test_monitor_flood
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/monitor/flood_test.sh $<TARGET_FILE:envtest>
                   ${CMAKE_CURRENT_BINARY_DIR}/monitor_flood)
  set_tests_properties(test_monitor_flood PROPERTIES LABELS unit TIMEOUT 300)
  # Chromium from Debian (ci/setup.sh installs it); skipped (77) with a message where it is absent.
  add_test(NAME test_monitor_html_browser
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/monitor/html_browser_test.sh
                   $<TARGET_FILE:envtest> $<TARGET_FILE:monitor_alloc_suite>
                   ${CMAKE_CURRENT_BINARY_DIR}/monitor_html)
  set_tests_properties(test_monitor_html_browser PROPERTIES LABELS unit TIMEOUT 300
                                                            SKIP_RETURN_CODE 77)
endif()
