# Repro bundles (issue 16) on the real engine: a bundle restored in another project holds the same
# MySQL rows, vector points and mock-llm journal; bad or truncated bundles are refused, nothing left.
add_test(NAME bundle_docker COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/bundle_docker.sh
                                    $<TARGET_FILE:envtest>)
set_tests_properties(bundle_docker PROPERTIES LABELS docker TIMEOUT 900
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
  ENVIRONMENT "ENVTEST_BUILD_DIR=${PROJECT_BINARY_DIR}")
envtest_add_test(test_bundle SOURCES test_bundle.c LIBS envmgr LABEL unit)
