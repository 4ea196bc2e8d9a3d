# Pod mode (envtest up --pod, x-envtest.pod) on the real engine (tests/test_pod.sh): a 3-service
# pod environment end to end, and what pod mode refuses. Skip (77) without an engine or a MySQL
# image unless ENVTEST_REQUIRE_DOCKER=1.
find_program(BASH_PROGRAM bash REQUIRED)
foreach(mode up clash)
  add_test(NAME test_pod_${mode}
           COMMAND ${BASH_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/test_pod.sh ${mode})
  set_tests_properties(test_pod_${mode} PROPERTIES LABELS docker TIMEOUT 600 SKIP_RETURN_CODE 77
    ENVIRONMENT "ENVTEST_SOURCE_DIR=${PROJECT_SOURCE_DIR};ENVTEST_BINARY_DIR=${PROJECT_BINARY_DIR}")
endforeach()
