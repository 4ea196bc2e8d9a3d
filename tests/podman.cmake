# The Seoul environment's whole cycle (up, status, env, run, down) on the engine DOCKER_HOST names,
# when that engine is Podman (tests/test_podman_seoul.sh; ci/test.sh's "docker tests (podman)" step).
# Skips (77) on Docker (test_install and test_real_services cover the Seoul environment there) and,
# unless ENVTEST_REQUIRE_DOCKER=1, without an engine or a MySQL image.
find_program(BASH_PROGRAM bash REQUIRED)
add_test(NAME test_podman_seoul COMMAND ${BASH_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/test_podman_seoul.sh)
set_tests_properties(test_podman_seoul PROPERTIES LABELS docker TIMEOUT 900 SKIP_RETURN_CODE 77
  ENVIRONMENT "ENVTEST_SOURCE_DIR=${PROJECT_SOURCE_DIR};ENVTEST_BINARY_DIR=${PROJECT_BINARY_DIR}")
