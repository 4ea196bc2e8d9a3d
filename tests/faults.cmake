# Issue 13, item 3 (engine faults): a service killed by the OOM killer, the engine's disk full during
# an image build. Shell tests through envtest and the Engine API; TAP output; they skip (77) without
# an engine unless ENVTEST_REQUIRE_DOCKER=1.
# The OOM test's service: a static program for a FROM scratch image (tests/images/oom/).
add_executable(oom_hog images/oom/hog.c)
target_compile_options(oom_hog PRIVATE -Wall -Wextra)
if(ENVTEST_WERROR)
  target_compile_options(oom_hog PRIVATE -Werror)
endif()
target_link_options(oom_hog PRIVATE -static)
find_program(BASH_PROGRAM bash REQUIRED)
foreach(t test_oom_kill test_disk_full)
  add_test(NAME ${t} COMMAND ${BASH_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/${t}.sh)
  set_tests_properties(${t} PROPERTIES LABELS docker TIMEOUT 300 SKIP_RETURN_CODE 77
    ENVIRONMENT "ENVTEST_SOURCE_DIR=${PROJECT_SOURCE_DIR};ENVTEST_BINARY_DIR=${PROJECT_BINARY_DIR};ENVTEST_OOM_HOG=$<TARGET_FILE:oom_hog>")
endforeach()
