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
