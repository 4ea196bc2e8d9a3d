# mock-llm's record build (compose/mock-llm/record/, README "Record mode"): the same service with
# libcurl for --record, which cannot link statically on Debian. It is linked dynamically and its
# image context ${CMAKE_BINARY_DIR}/compose/mock-llm/record-context/ holds rootfs/ = the binary,
# its shared libraries, the dynamic loader and the CA certificates (make-record-context.sh), for a
# FROM scratch image with the same entrypoint and healthcheck as the static one.
# compose.yaml switches to it with ENVTEST_LLM_RECORD.
if(TARGET mock-llm_core)
  set(MOCK_LLM_RECORD_DIR ${CMAKE_BINARY_DIR}/compose/mock-llm/record)
  add_executable(mock-llm-record ${CMAKE_CURRENT_LIST_DIR}/mock-llm/main.c
                                 ${CMAKE_CURRENT_LIST_DIR}/mock-llm/record/llm_record.c)
  mock_target_defaults(mock-llm-record)
  target_compile_definitions(mock-llm-record PRIVATE LLM_WITH_RECORD)
  target_include_directories(mock-llm-record PRIVATE ${CMAKE_CURRENT_LIST_DIR}/mock-llm/record)
  target_link_libraries(mock-llm-record PRIVATE mock-llm_core PkgConfig::CURL)
  set_target_properties(mock-llm-record PROPERTIES OUTPUT_NAME mock-llm
                        RUNTIME_OUTPUT_DIRECTORY ${MOCK_LLM_RECORD_DIR})
  set(MOCK_LLM_RECORD_CONTEXT ${CMAKE_BINARY_DIR}/compose/mock-llm/record-context)
  add_custom_command(
    OUTPUT ${MOCK_LLM_RECORD_CONTEXT}/Dockerfile
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/mock-llm/record/make-record-context.sh
            $<TARGET_FILE:mock-llm-record> ${MOCK_LLM_RECORD_CONTEXT}
            ${CMAKE_CURRENT_LIST_DIR}/mock-llm/record/Dockerfile
    DEPENDS mock-llm-record ${CMAKE_CURRENT_LIST_DIR}/mock-llm/record/make-record-context.sh
            ${CMAKE_CURRENT_LIST_DIR}/mock-llm/record/Dockerfile
    COMMENT "mock-llm: record image context (binary, shared libraries, loader, CA certificates)")
  add_custom_target(mock-llm-record-context ALL DEPENDS ${MOCK_LLM_RECORD_CONTEXT}/Dockerfile)
endif()
