# The offline MySQL image (ci/mysql-image/): a shell test through the Engine API and the mariadb client.
# It skips (exit 77) without an engine or image unless ENVTEST_REQUIRE_DOCKER=1.
find_program(BASH_PROGRAM bash REQUIRED)
add_test(NAME test_mysql_image COMMAND ${BASH_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/test_mysql_image.sh)
set_tests_properties(test_mysql_image PROPERTIES LABELS docker TIMEOUT 600 SKIP_RETURN_CODE 77
  ENVIRONMENT "ENVTEST_SOURCE_DIR=${PROJECT_SOURCE_DIR};ENVTEST_BINARY_DIR=${PROJECT_BINARY_DIR}")
