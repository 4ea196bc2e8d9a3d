# mock-vector (compose/mock-vector): the Qdrant engine is tested alone (no sockets) and as the real
# binary on loopback; the official JavaScript client runs when node and npm are present.
# The tests link mock-vector_core, the library the executable is built from (compose/mocks.cmake).
if(TARGET mock-vector)
  envtest_add_test(test_mock_vector SOURCES test_mock_vector.c LIBS mock-vector_core LABEL unit)
  envtest_add_test(test_mock_vector_upsert SOURCES test_mock_vector_upsert.c LIBS mock-vector_core
                   LABEL unit)

  envtest_add_test(test_mock_vector_server SOURCES test_mock_vector_server.c
                   LIBS PkgConfig::CURL PkgConfig::JANSSON LABEL unit)
  target_compile_definitions(test_mock_vector_server PRIVATE
                             MOCK_VECTOR_BIN="$<TARGET_FILE:mock-vector>")
  add_dependencies(test_mock_vector_server mock-vector)

  find_program(NODE_EXECUTABLE node)
  find_program(NPM_EXECUTABLE npm)
  if(NODE_EXECUTABLE AND NPM_EXECUTABLE AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/clients/qdrant/run.sh)
    add_test(NAME test_mock_vector_qdrant_js
             COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/clients/qdrant/run.sh $<TARGET_FILE:mock-vector>
                     ${CMAKE_BINARY_DIR}/tests/clients/qdrant)
    set_tests_properties(test_mock_vector_qdrant_js PROPERTIES LABELS unit TIMEOUT 300
                         SKIP_RETURN_CODE 77)
  endif()
endif()

# The fuzzer compiles the engine's sources itself, for coverage instrumentation (fuzz builds only).
if(ENVTEST_FUZZ AND TARGET mock-vector)
  set(MOCK_VECTOR_DIR ${PROJECT_SOURCE_DIR}/compose/mock-vector)
  get_target_property(mock_vector_sources mock-vector_core SOURCES)
  list(TRANSFORM mock_vector_sources PREPEND ${PROJECT_SOURCE_DIR}/compose/)
  add_executable(fuzz_mock_vector fuzz/fuzz_mock_vector.c ${mock_vector_sources})
  target_include_directories(fuzz_mock_vector PRIVATE ${MOCK_VECTOR_DIR} ${MOCK_YAJL_INCLUDE})
  target_compile_options(fuzz_mock_vector PRIVATE -fsanitize=fuzzer,address,undefined -g)
  target_link_options(fuzz_mock_vector PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_mock_vector PRIVATE PkgConfig::JANSSON ${MOCK_YAJL_SHARED} Threads::Threads m)
  target_compile_definitions(fuzz_mock_vector PRIVATE _GNU_SOURCE)
endif()
