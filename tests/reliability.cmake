# Issue 13 (reliability): shell tests through envtest and the Engine API (curl). TAP output; they skip
# (exit 77) without an engine or the MySQL image unless ENVTEST_REQUIRE_DOCKER=1.
find_program(BASH_PROGRAM bash REQUIRED)
foreach(t test_concurrency test_reaper test_engine_restart test_session)
  add_test(NAME ${t} COMMAND ${BASH_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/${t}.sh)
  set_tests_properties(${t} PROPERTIES LABELS docker TIMEOUT 900 SKIP_RETURN_CODE 77
    ENVIRONMENT "ENVTEST_SOURCE_DIR=${PROJECT_SOURCE_DIR};ENVTEST_BINARY_DIR=${PROJECT_BINARY_DIR}")
endforeach()
# Engine faults through a proxy socket that delays and cuts the engine's replies.
envtest_add_test(test_engine_faults SOURCES test_engine_faults.c LIBS envmgr LABEL docker
                 TIMEOUT 120)
add_dependencies(test_engine_faults envtest)
