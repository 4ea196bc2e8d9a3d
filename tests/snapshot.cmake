# State snapshots (issue 16) on the real engine: saved by the first up, restored by an up in another
# project with the same rows, vector points and cassette; a changed fixture, a truncated or garbage
# snapshot and --no-snapshot load instead; snapshot ls / rm / prune.
add_test(NAME snapshot_docker COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/snapshot_docker.sh
                                      $<TARGET_FILE:envtest>)
set_tests_properties(snapshot_docker PROPERTIES LABELS docker TIMEOUT 1500
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
  ENVIRONMENT "ENVTEST_BUILD_DIR=${PROJECT_BINARY_DIR}")
# Init snapshots (a project without fixtures): restored with the new project's generated passwords,
# skipped by --no-snapshot, a truncated or garbage one removed with a warning.
add_test(NAME snapshot_init_docker COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/snapshot_init_docker.sh
                                           $<TARGET_FILE:envtest>)
set_tests_properties(snapshot_init_docker PROPERTIES LABELS docker TIMEOUT 900
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
  ENVIRONMENT "ENVTEST_BUILD_DIR=${PROJECT_BINARY_DIR}")
