# Tests of the mock services' HTTP layer and of mock-llm (see compose/mocks.cmake), the official
# OpenAI client acceptance test (when node is found), and the mock-llm fuzzer.
if(TARGET mock-llm)
  add_library(mock_child STATIC ${CMAKE_CURRENT_LIST_DIR}/mock_child.c)
  target_link_libraries(mock_child PUBLIC PkgConfig::CURL PkgConfig::JANSSON m)
  envtest_target_defaults(mock_child)

  foreach(t test_mock_http test_mock_llm)
    envtest_add_test(${t} SOURCES ${t}.c LIBS mock_child LABEL unit TIMEOUT 120)
    target_compile_definitions(${t} PRIVATE MOCK_LLM_BIN="$<TARGET_FILE:mock-llm>")
    add_dependencies(${t} mock-llm)
  endforeach()
endif()

# The official OpenAI node client against mock-llm (tests/clients/): only where node and npm are.
find_program(ENVTEST_NODE node)
find_program(ENVTEST_NPM npm)
if(TARGET mock-llm AND ENVTEST_NODE AND ENVTEST_NPM)
  add_test(NAME mock_llm_openai_client
           COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/clients/run.sh $<TARGET_FILE:mock-llm>
                   ${CMAKE_BINARY_DIR}/tests/clients)
  set_tests_properties(mock_llm_openai_client PROPERTIES LABELS unit TIMEOUT 300
                       SKIP_RETURN_CODE 77)
endif()

# mock-llm fuzzing: the corpus is replayed in every build (unit test); with -DENVTEST_FUZZ=ON
# (clang) fuzz_mock_llm is the libFuzzer target, the mock sources compiled in for coverage.
if(TARGET mock-llm)
  add_executable(mock_llm_fuzz_replay fuzz/fuzz_mock_llm.c)
  target_compile_definitions(mock_llm_fuzz_replay PRIVATE MOCK_FUZZ_REPLAY)
  target_link_libraries(mock_llm_fuzz_replay PRIVATE mock-llm_core)
  envtest_target_defaults(mock_llm_fuzz_replay)
  add_test(NAME mock_llm_fuzz_corpus
           COMMAND mock_llm_fuzz_replay ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/mock_llm)
  set_tests_properties(mock_llm_fuzz_corpus PROPERTIES LABELS unit TIMEOUT 120)

  if(ENVTEST_FUZZ)
    get_target_property(llm_core_sources mock-llm_core SOURCES)
    list(TRANSFORM llm_core_sources PREPEND ${PROJECT_SOURCE_DIR}/compose/)
    get_target_property(common_sources mock_common SOURCES)
    list(TRANSFORM common_sources PREPEND ${PROJECT_SOURCE_DIR}/compose/)
    add_executable(fuzz_mock_llm fuzz/fuzz_mock_llm.c ${llm_core_sources} ${common_sources})
    target_include_directories(fuzz_mock_llm PRIVATE ${PROJECT_SOURCE_DIR}/compose/mock-llm
                               ${PROJECT_SOURCE_DIR}/compose/mock-common ${MOCK_HTTP_PARSER_INCLUDE})
    target_link_libraries(fuzz_mock_llm PRIVATE PkgConfig::UV ${MOCK_HTTP_PARSER_SHARED}
                          PkgConfig::JANSSON m)
    envtest_target_defaults(fuzz_mock_llm)
    target_compile_options(fuzz_mock_llm PRIVATE -fsanitize=fuzzer,address,undefined -g)
    target_link_options(fuzz_mock_llm PRIVATE -fsanitize=fuzzer,address,undefined)
    add_test(NAME fuzz_mock_llm_corpus
             COMMAND fuzz_mock_llm -runs=0 ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/mock_llm)
    set_tests_properties(fuzz_mock_llm_corpus PROPERTIES LABELS unit TIMEOUT 120)
  endif()
endif()

# docker: the FROM scratch image built from the context (needs the engine; skipped without).
if(TARGET mock-llm)
  add_test(NAME test_mock_llm_image
           COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/test_mock_llm_image.sh
                   ${CMAKE_BINARY_DIR}/compose/mock-llm/context)
  set_tests_properties(test_mock_llm_image PROPERTIES LABELS docker TIMEOUT 120 SKIP_RETURN_CODE 77)
endif()

# Deferred answers of the shared layer (in process: the server on the test's loop).
if(TARGET mock_common)
  envtest_add_test(test_mock_defer SOURCES test_mock_defer.c LIBS mock_common LABEL unit TIMEOUT 60)
endif()
