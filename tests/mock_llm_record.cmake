# mock-llm's record mode (compose/mocks_record.cmake): an upstream mock-llm, the record build
# proxying to it, and a third instance replaying what was recorded.
if(TARGET mock-llm AND TARGET mock-llm-record AND TARGET mock_child)
  envtest_add_test(test_mock_llm_record SOURCES test_mock_llm_record.c LIBS mock_child LABEL unit
                   TIMEOUT 120)
  target_compile_definitions(test_mock_llm_record PRIVATE MOCK_LLM_BIN="$<TARGET_FILE:mock-llm>"
                             MOCK_LLM_RECORD_BIN="$<TARGET_FILE:mock-llm-record>")
  add_dependencies(test_mock_llm_record mock-llm mock-llm-record)
endif()
