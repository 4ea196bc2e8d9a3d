# Issue 13, item 4: SIGINT, SIGTERM and SIGHUP at random points of up (fixture load included), run
# and down (tests/test_signals.sh; TAP; skips with 77 without an engine unless ENVTEST_REQUIRE_DOCKER=1).
find_program(BASH_PROGRAM bash REQUIRED)
add_test(NAME test_signals COMMAND ${BASH_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/test_signals.sh)
set_tests_properties(test_signals PROPERTIES LABELS docker TIMEOUT 600 SKIP_RETURN_CODE 77
  ENVIRONMENT "ENVTEST_SOURCE_DIR=${PROJECT_SOURCE_DIR};ENVTEST_BINARY_DIR=${PROJECT_BINARY_DIR}")
