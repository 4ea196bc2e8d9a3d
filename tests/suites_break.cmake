# The suites can fail: the Seoul environment broken four ways (MySQL stopped, a permanent 500 from
# mock-llm, a corrupted fixture row, a wrong cassette answer), each failing exactly the expected
# test points of ADR-009's 32 tests and the environment suite (tests/test_suites_break.sh).
# It skips (exit 77) without an engine, a MySQL image or the built suites unless
# ENVTEST_REQUIRE_DOCKER=1.
find_program(BASH_PROGRAM bash REQUIRED)
add_test(NAME test_suites_break COMMAND ${BASH_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/test_suites_break.sh)
set_tests_properties(test_suites_break PROPERTIES LABELS docker TIMEOUT 1200 SKIP_RETURN_CODE 77
  ENVIRONMENT "ENVTEST_SOURCE_DIR=${PROJECT_SOURCE_DIR};ENVTEST_BINARY_DIR=${PROJECT_BINARY_DIR}")
