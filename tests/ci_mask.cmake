# Secrets stay out of CI logs (issue 17): with GITHUB_ACTIONS=true, up/env/run/keep/exec/logs print
# `::add-mask::` for every secret before it can appear, and $GITHUB_ENV is well formed
# (tests/test_ci_mask.sh). Skips (77) without an engine or a MySQL image unless
# ENVTEST_REQUIRE_DOCKER=1.
find_program(BASH_PROGRAM bash REQUIRED)
add_test(NAME test_ci_mask COMMAND ${BASH_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/test_ci_mask.sh)
set_tests_properties(test_ci_mask PROPERTIES LABELS docker TIMEOUT 300 SKIP_RETURN_CODE 77
  ENVIRONMENT "ENVTEST_SOURCE_DIR=${PROJECT_SOURCE_DIR};ENVTEST_BINARY_DIR=${PROJECT_BINARY_DIR}")
