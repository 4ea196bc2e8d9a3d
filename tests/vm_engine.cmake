# A VM engine's way to reach services (published ports behind a port forwarder; envmgr/env/probe.h)
# on the real engine (tests/test_vm_engine.sh, ENVTEST_PROBE=published). Skip (77) without an
# engine, the MySQL image or the mariadb client unless ENVTEST_REQUIRE_DOCKER=1.
find_program(BASH_PROGRAM bash REQUIRED)
add_test(NAME test_vm_engine COMMAND ${BASH_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/test_vm_engine.sh)
set_tests_properties(test_vm_engine PROPERTIES LABELS docker TIMEOUT 600 SKIP_RETURN_CODE 77
  ENVIRONMENT "ENVTEST_SOURCE_DIR=${PROJECT_SOURCE_DIR};ENVTEST_BINARY_DIR=${PROJECT_BINARY_DIR}")
