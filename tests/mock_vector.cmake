# mock-vector (compose/mock-vector): the Qdrant engine is tested alone (no sockets) and as the real
# binary on loopback; the official JavaScript client runs when node and npm are present.
set(MOCK_VECTOR_DIR ${PROJECT_SOURCE_DIR}/compose/mock-vector)
set(MOCK_VECTOR_ENGINE_SOURCES
    ${MOCK_VECTOR_DIR}/collection.c ${MOCK_VECTOR_DIR}/filter.c ${MOCK_VECTOR_DIR}/qdrant.c
    ${MOCK_VECTOR_DIR}/qdrant_points.c ${MOCK_VECTOR_DIR}/qdrant_search.c
    ${MOCK_VECTOR_DIR}/qdrant_upsert.c)

add_library(mock_vector_engine STATIC ${MOCK_VECTOR_ENGINE_SOURCES})
target_include_directories(mock_vector_engine PUBLIC ${MOCK_VECTOR_DIR})
target_include_directories(mock_vector_engine PUBLIC ${MOCK_YAJL_INCLUDE})
target_link_libraries(mock_vector_engine PUBLIC PkgConfig::JANSSON ${MOCK_YAJL_SHARED} Threads::Threads m)
envtest_target_defaults(mock_vector_engine)

envtest_add_test(test_mock_vector SOURCES test_mock_vector.c LIBS mock_vector_engine LABEL unit)
envtest_add_test(test_mock_vector_upsert SOURCES test_mock_vector_upsert.c LIBS mock_vector_engine
                 LABEL unit)

if(TARGET mock-vector AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_mock_vector_server.c)
  envtest_add_test(test_mock_vector_server SOURCES test_mock_vector_server.c
                   LIBS PkgConfig::CURL PkgConfig::JANSSON LABEL unit)
  target_compile_definitions(test_mock_vector_server PRIVATE
                             MOCK_VECTOR_BIN="$<TARGET_FILE:mock-vector>")
  add_dependencies(test_mock_vector_server mock-vector)

  find_program(NODE_EXECUTABLE node)
  find_program(NPM_EXECUTABLE npm)
  if(NODE_EXECUTABLE AND NPM_EXECUTABLE AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/clients/qdrant/run.sh)
    add_test(NAME test_mock_vector_qdrant_js
             COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/clients/qdrant/run.sh $<TARGET_FILE:mock-vector>)
    set_tests_properties(test_mock_vector_qdrant_js PROPERTIES LABELS unit TIMEOUT 300
                         SKIP_RETURN_CODE 77)
  endif()
endif()

# Throughput/latency benchmark program used by ci/bench/mock_vector.sh (not a test).
if(EXISTS ${PROJECT_SOURCE_DIR}/ci/bench/bench_mock_vector.c)
  add_executable(bench_mock_vector ${PROJECT_SOURCE_DIR}/ci/bench/bench_mock_vector.c)
  target_link_libraries(bench_mock_vector PRIVATE PkgConfig::CURL PkgConfig::JANSSON m)
  envtest_target_defaults(bench_mock_vector)
endif()

if(ENVTEST_FUZZ AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_mock_vector.c)
  add_executable(fuzz_mock_vector fuzz/fuzz_mock_vector.c ${MOCK_VECTOR_ENGINE_SOURCES})
  target_include_directories(fuzz_mock_vector PRIVATE ${MOCK_VECTOR_DIR})
  target_compile_options(fuzz_mock_vector PRIVATE -fsanitize=fuzzer,address,undefined -g)
  target_link_options(fuzz_mock_vector PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_mock_vector PRIVATE PkgConfig::JANSSON ${MOCK_YAJL_SHARED} Threads::Threads m)
  target_compile_definitions(fuzz_mock_vector PRIVATE _GNU_SOURCE)
endif()
