# envtest inside a container of the engine it drives (tests/test_in_container.sh): refused at once
# in a network namespace of its own, working in the host's. Skip (77) without an engine or the
# MySQL image unless ENVTEST_REQUIRE_DOCKER=1.
find_program(BASH_PROGRAM bash REQUIRED)
add_test(NAME test_in_container COMMAND ${BASH_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/test_in_container.sh)
set_tests_properties(test_in_container PROPERTIES LABELS docker TIMEOUT 600 SKIP_RETURN_CODE 77
  ENVIRONMENT "ENVTEST_SOURCE_DIR=${PROJECT_SOURCE_DIR};ENVTEST_BINARY_DIR=${PROJECT_BINARY_DIR}")
