envtest_add_test(test_lifecycle_docker SOURCES test_lifecycle_docker.c docker_util.c
                 LIBS envmgr PkgConfig::MYSQL LABEL docker TIMEOUT 900)
add_dependencies(test_lifecycle_docker envtest)
envtest_add_test(test_project SOURCES test_project.c LIBS envmgr_lifecycle LABEL unit)
envtest_add_test(test_cli SOURCES test_cli.c docker_util.c LIBS envmgr LABEL unit)
add_dependencies(test_cli envtest)
