# Real services instead of mocks (envtest --real) and mock-llm's record mode through envtest, on the
# real engine (tests/test_real_services.sh). Skips (77) without an engine or a MySQL image unless
# ENVTEST_REQUIRE_DOCKER=1.
find_program(BASH_PROGRAM bash REQUIRED)
add_test(NAME test_real_services
         COMMAND ${BASH_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/test_real_services.sh)
set_tests_properties(test_real_services PROPERTIES LABELS docker TIMEOUT 1500 SKIP_RETURN_CODE 77
  ENVIRONMENT "ENVTEST_SOURCE_DIR=${PROJECT_SOURCE_DIR};ENVTEST_BINARY_DIR=${PROJECT_BINARY_DIR}")
