# Tests of the runner area: TAP parser, process pool, reports. Real processes, no services.
envtest_add_test(test_tap SOURCES test_tap.c LIBS envmgr_runner LABEL unit)

# libFuzzer target (cmake -DENVTEST_FUZZ=ON -DCMAKE_C_COMPILER=clang); the parser is compiled into it
# so that it is instrumented. Run: ./fuzz_tap tests/fuzz/corpus/tap -max_total_time=60
if(ENVTEST_FUZZ)
  add_executable(fuzz_tap fuzz/fuzz_tap.c ${PROJECT_SOURCE_DIR}/envmgr/runner/tap.c)
  target_link_libraries(fuzz_tap PRIVATE envmgr_core PkgConfig::YAML)
  envtest_target_defaults(fuzz_tap)
  # -fno-sanitize-recover: undefined behaviour is a finding (the input is kept), not a line in a log
  target_compile_options(fuzz_tap PRIVATE -fsanitize=fuzzer,address,undefined
                                          -fno-sanitize-recover=undefined)
  target_link_options(fuzz_tap PRIVATE -fsanitize=fuzzer,address,undefined)
  add_test(NAME fuzz_tap_corpus COMMAND fuzz_tap -runs=0 ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/tap)
  set_tests_properties(fuzz_tap_corpus PROPERTIES LABELS unit TIMEOUT 120)
endif()
envtest_add_test(test_runner SOURCES test_runner.c LIBS envmgr_runner LABEL unit TIMEOUT 120)
envtest_add_test(test_report SOURCES test_report.c LIBS envmgr_report LABEL unit TIMEOUT 120)

# The CLI (envtest run / report) without an environment; TAP output.
if(TARGET envtest)
  add_test(NAME test_run_cli
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/suites/cli_run_test.sh $<TARGET_FILE:envtest>)
  set_tests_properties(test_run_cli PROPERTIES LABELS unit TIMEOUT 120)
endif()
if(TARGET envtest)
  add_test(NAME test_run_isolation
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/suites/cli_isolation_test.sh $<TARGET_FILE:envtest>)
  set_tests_properties(test_run_isolation PROPERTIES LABELS docker TIMEOUT 400)
endif()
if(TARGET envtest)
  add_test(NAME test_keep_rerun
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/suites/cli_keep_test.sh $<TARGET_FILE:envtest>)
  set_tests_properties(test_keep_rerun PROPERTIES LABELS docker TIMEOUT 400)
endif()

# fuzz_tap's checks over its corpus in every build (fuzz/replay_main.c), ASan builds included.
add_executable(tap_fuzz_replay fuzz/fuzz_tap.c fuzz/replay_main.c)
target_link_libraries(tap_fuzz_replay PRIVATE envmgr_runner)
envtest_target_defaults(tap_fuzz_replay)
add_test(NAME tap_fuzz_replay COMMAND tap_fuzz_replay ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/tap)
set_tests_properties(tap_fuzz_replay PROPERTIES LABELS unit TIMEOUT 120)
