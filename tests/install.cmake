# Install and packaging: the man page and completions agree with `envtest COMMAND --help`
# (unit); an installed envtest runs the Seoul environment from another folder, and cpack makes a
# Debian package (docker; tests/test_install.sh).
find_program(BASH_PROGRAM bash REQUIRED)
add_test(NAME test_man_page
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/man_check.sh $<TARGET_FILE:envtest> ${PROJECT_SOURCE_DIR})
set_tests_properties(test_man_page PROPERTIES LABELS unit TIMEOUT 60)
add_test(NAME test_install COMMAND ${BASH_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/test_install.sh)
set_tests_properties(test_install PROPERTIES LABELS docker TIMEOUT 900 SKIP_RETURN_CODE 77
  ENVIRONMENT "ENVTEST_SOURCE_DIR=${PROJECT_SOURCE_DIR};ENVTEST_BINARY_DIR=${PROJECT_BINARY_DIR}")
