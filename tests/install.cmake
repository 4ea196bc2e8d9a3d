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
# Images shared by content (tests/test_images.sh): 20 CI-style runs, down --rmi local, failed up.
add_test(NAME test_images COMMAND ${BASH_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/test_images.sh)
set_tests_properties(test_images PROPERTIES LABELS docker TIMEOUT 1200 SKIP_RETURN_CODE 77
  ENVIRONMENT "ENVTEST_SOURCE_DIR=${PROJECT_SOURCE_DIR};ENVTEST_BINARY_DIR=${PROJECT_BINARY_DIR}")
# images.h and the fixture progress words without an engine (unit)
envtest_add_test(test_images_unit SOURCES test_images_unit.c LIBS envmgr LABEL unit TIMEOUT 60)
# The static mocks carry no glibc NSS (whose getpwuid_r made the static link warn and would need
# glibc's shared libraries at run time): compose/mock-common/mock_static_nss.c.
if(TARGET mock-llm)
  add_test(NAME test_mock_static_nss COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/mock_static_nss.sh
                                             $<TARGET_FILE:mock-llm> $<TARGET_FILE:mock-vector>)
  set_tests_properties(test_mock_static_nss PROPERTIES LABELS unit TIMEOUT 60 SKIP_RETURN_CODE 77)
endif()
# ci/main-job.sh: a project of its own per job, global options to up/run/down (unit)
add_test(NAME test_main_job_args COMMAND ${BASH_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/main_job_args.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(test_main_job_args PROPERTIES LABELS unit TIMEOUT 60)
# The stumbles of issue 15 with a small environment (tests/test_stumbles.sh)
add_test(NAME test_stumbles COMMAND ${BASH_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/test_stumbles.sh)
set_tests_properties(test_stumbles PROPERTIES LABELS docker TIMEOUT 600 SKIP_RETURN_CODE 77
  ENVIRONMENT "ENVTEST_SOURCE_DIR=${PROJECT_SOURCE_DIR};ENVTEST_BINARY_DIR=${PROJECT_BINARY_DIR}")
# Remote engines (tcp:// + TLS, Docker contexts) and gc --images, against a second dockerd of the
# test's own (tests/test_remote_engine.sh)
add_test(NAME test_remote_engine COMMAND ${BASH_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/test_remote_engine.sh)
set_tests_properties(test_remote_engine PROPERTIES LABELS docker TIMEOUT 600 SKIP_RETURN_CODE 77
  ENVIRONMENT "ENVTEST_SOURCE_DIR=${PROJECT_SOURCE_DIR};ENVTEST_BINARY_DIR=${PROJECT_BINARY_DIR}")
