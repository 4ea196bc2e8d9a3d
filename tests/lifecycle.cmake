envtest_add_test(test_lifecycle_docker SOURCES test_lifecycle_docker.c docker_util.c
                 LIBS envmgr PkgConfig::MYSQL LABEL docker TIMEOUT 900)
add_dependencies(test_lifecycle_docker envtest)
# test_project tests the env module's internal project.h (names, plan, config hash).
envtest_add_test(test_project SOURCES test_project.c LIBS envmgr_env LABEL unit)
target_include_directories(test_project PRIVATE ${PROJECT_SOURCE_DIR}/envmgr/env)
envtest_add_test(test_cli SOURCES test_cli.c docker_util.c LIBS envmgr LABEL unit)
add_dependencies(test_cli envtest)
add_test(NAME valgrind_e2e COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/valgrind_e2e.sh $<TARGET_FILE:envtest>)
set_tests_properties(valgrind_e2e PROPERTIES LABELS docker TIMEOUT 600
  ENVIRONMENT "ENVTEST_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
