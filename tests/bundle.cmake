# Repro bundles (issue 16) on the real engine: a bundle restored in another project holds the same
# MySQL rows, vector points and mock-llm journal; bad or truncated bundles are refused, nothing left.
add_test(NAME bundle_docker COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/bundle_docker.sh
                                    $<TARGET_FILE:envtest>)
set_tests_properties(bundle_docker PROPERTIES LABELS docker TIMEOUT 900
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
  ENVIRONMENT "ENVTEST_BUILD_DIR=${PROJECT_BINARY_DIR}")
envtest_add_test(test_bundle SOURCES test_bundle.c LIBS envmgr LABEL unit)
target_include_directories(test_bundle PRIVATE ${PROJECT_SOURCE_DIR}/envmgr/bundle) # bun_ helpers
# From a red run to a local reproduction: run --bundle-on-failure, run --from --failed elsewhere,
# down removes the restored environment and its extracted bundle.
add_test(NAME test_bundle_failed COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/bundle_failed_docker.sh)
set_tests_properties(test_bundle_failed PROPERTIES LABELS docker TIMEOUT 600 SKIP_RETURN_CODE 77
  ENVIRONMENT "ENVTEST_SOURCE_DIR=${PROJECT_SOURCE_DIR};ENVTEST_BINARY_DIR=${PROJECT_BINARY_DIR}")
