# sca-api (compose/sca-api): the SQL guard / extraction / ETL checks (unit), the request fuzzer's
# corpus replay (unit) and, with -DENVTEST_FUZZ=ON (clang), the libFuzzer target fuzz_sca_request.
if(TARGET sca_api_core)
  envtest_add_test(test_sca_guard SOURCES test_sca_guard.c LIBS sca_api_core LABEL unit TIMEOUT 60)

  add_executable(sca_request_fuzz_replay fuzz/fuzz_sca_request.c)
  target_compile_definitions(sca_request_fuzz_replay PRIVATE MOCK_FUZZ_REPLAY)
  target_link_libraries(sca_request_fuzz_replay PRIVATE sca_api_core)
  envtest_target_defaults(sca_request_fuzz_replay)
  add_test(NAME sca_request_fuzz_corpus
           COMMAND sca_request_fuzz_replay ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/sca_request)
  set_tests_properties(sca_request_fuzz_corpus PROPERTIES LABELS unit TIMEOUT 120)

  if(ENVTEST_FUZZ)
    add_executable(fuzz_sca_request fuzz/fuzz_sca_request.c)
    target_link_libraries(fuzz_sca_request PRIVATE sca_api_core)
    envtest_target_defaults(fuzz_sca_request)
    target_compile_options(fuzz_sca_request PRIVATE -fsanitize=fuzzer,address,undefined -g)
    target_link_options(fuzz_sca_request PRIVATE -fsanitize=fuzzer,address,undefined)
    add_test(NAME fuzz_sca_request_corpus
             COMMAND fuzz_sca_request -runs=0 ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/sca_request)
    set_tests_properties(fuzz_sca_request_corpus PROPERTIES LABELS unit TIMEOUT 120)
  endif()
endif()

# docker: sca-api is valgrind-clean over ADR-009's 32 tests (tests/sca_api_valgrind.sh; the same
# script with ENVTEST_SCA_CHECK=asan checks an ASan/UBSan build of the service).
if(TARGET sca-api)
  find_program(BASH_PROGRAM bash REQUIRED)
  add_test(NAME test_sca_api_valgrind COMMAND ${BASH_PROGRAM} ${CMAKE_CURRENT_SOURCE_DIR}/sca_api_valgrind.sh)
  set_tests_properties(test_sca_api_valgrind PROPERTIES LABELS docker TIMEOUT 900 SKIP_RETURN_CODE 77
    ENVIRONMENT "ENVTEST_SOURCE_DIR=${PROJECT_SOURCE_DIR};ENVTEST_BINARY_DIR=${PROJECT_BINARY_DIR}")
endif()
