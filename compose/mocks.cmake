# The mock services (mock-llm, mock-vector): standalone programs on the shared HTTP layer in
# mock-common/, linked fully statically so that they run in FROM scratch images. Each service's
# image build context is ${CMAKE_BINARY_DIR}/compose/<service>/context/ = {Dockerfile, binary}:
# compose.yaml's build.context points there (see mock-llm/README.md).
#
# With ENVTEST_SANITIZE the mocks link dynamically (ASan cannot link statically): their image
# contexts then get the shared libraries and the loader too (mock-common/dynamic-context.sh), so
# the docker tests of a sanitizer build run sanitized mocks.

find_library(MOCK_UV_STATIC NAMES libuv_a.a libuv.a)
find_library(MOCK_HTTP_PARSER_STATIC NAMES libhttp_parser.a)
find_library(MOCK_HTTP_PARSER_SHARED NAMES http_parser)
find_library(MOCK_JANSSON_STATIC NAMES libjansson.a)
find_path(MOCK_HTTP_PARSER_INCLUDE http_parser.h)
if(NOT MOCK_HTTP_PARSER_INCLUDE OR NOT MOCK_HTTP_PARSER_SHARED)
  message(FATAL_ERROR "http_parser not found: install it with `apt-get install libhttp-parser-dev` (or run ci/setup.sh)")
endif()
# YAJL: mock-vector streams large upsert bodies through its SAX parser.
find_library(MOCK_YAJL_STATIC NAMES libyajl_s.a)
find_library(MOCK_YAJL_SHARED NAMES yajl)
find_path(MOCK_YAJL_INCLUDE yajl/yajl_parse.h)
if(NOT MOCK_YAJL_INCLUDE OR NOT MOCK_YAJL_SHARED)
  message(FATAL_ERROR "yajl not found: install it with `apt-get install libyajl-dev` (or run ci/setup.sh)")
endif()

option(ENVTEST_MOCK_STATIC "Link the mock services statically (needed for their FROM scratch images)" ON)
set(MOCK_STATIC OFF)
if(NOT ENVTEST_MOCK_STATIC)
  # dynamic on purpose (e.g. valgrind, which cannot follow malloc in a static binary)
elseif(NOT ENVTEST_SANITIZE AND MOCK_UV_STATIC AND MOCK_HTTP_PARSER_STATIC AND MOCK_JANSSON_STATIC
       AND MOCK_YAJL_STATIC)
  set(MOCK_STATIC ON)
elseif(NOT ENVTEST_SANITIZE)
  message(WARNING "static libuv/http_parser/jansson/yajl archives not found (libuv1-dev, libhttp-parser-dev, "
                  "libjansson-dev, libyajl-dev): the mocks link dynamically and cannot run in FROM scratch images")
endif()

# Compile flags for code that goes into the mocks (and their tests/fuzzers).
function(mock_target_defaults target)
  envtest_target_defaults(${target})
  target_include_directories(${target} PUBLIC ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/mock-common
                             ${MOCK_HTTP_PARSER_INCLUDE} ${UV_INCLUDE_DIRS} ${JANSSON_INCLUDE_DIRS}
                             ${MOCK_YAJL_INCLUDE})
endfunction()

add_library(mock_common STATIC mock-common/mock_server.c mock-common/mock_response.c mock-common/mock_admin.c
                               mock-common/mock_util.c)
mock_target_defaults(mock_common)
if(MOCK_STATIC)
  target_link_libraries(mock_common PUBLIC ${MOCK_UV_STATIC} ${MOCK_HTTP_PARSER_STATIC}
                        ${MOCK_JANSSON_STATIC} ${MOCK_YAJL_STATIC} Threads::Threads m dl rt)
else()
  target_link_libraries(mock_common PUBLIC PkgConfig::UV ${MOCK_HTTP_PARSER_SHARED}
                        PkgConfig::JANSSON ${MOCK_YAJL_SHARED} Threads::Threads m)
endif()

# mock_add_service(<name> CORE <sources without main> MAIN <main source>)
# Gives <name>_core (a library the tests and fuzzers link) and the executable <name> in
# ${CMAKE_BINARY_DIR}/compose/<name>/context/ beside a copy of the service's Dockerfile.
function(mock_add_service name)
  cmake_parse_arguments(S "" "" "CORE;MAIN" ${ARGN})
  set(context ${CMAKE_BINARY_DIR}/compose/${name}/context)
  add_library(${name}_core STATIC ${S_CORE})
  mock_target_defaults(${name}_core)
  target_include_directories(${name}_core PUBLIC ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/${name})
  target_link_libraries(${name}_core PUBLIC mock_common)
  add_executable(${name} ${S_MAIN})
  mock_target_defaults(${name})
  target_link_libraries(${name} PRIVATE ${name}_core)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${context})
  if(MOCK_STATIC)
    target_link_options(${name} PRIVATE -static)
    # no NSS in a FROM scratch binary (and no link warning about getpwuid_r): mock_static_nss.c
    target_sources(${name} PRIVATE ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/mock-common/mock_static_nss.c)
  endif()
  set(dockerfile ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/${name}/Dockerfile)
  if(EXISTS ${dockerfile} AND NOT MOCK_STATIC)
    # dynamic (a sanitizer build): the image gets the shared libraries and the loader too
    add_custom_command(TARGET ${name} POST_BUILD
      COMMAND sh ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/mock-common/dynamic-context.sh ${context}
              $<TARGET_FILE:${name}> ${dockerfile}
      COMMENT "${name}: image context with its shared libraries (dynamic build)")
  elseif(EXISTS ${dockerfile})
    configure_file(${dockerfile} ${context}/Dockerfile COPYONLY)
  endif()
endfunction()

mock_add_service(mock-llm
  CORE mock-llm/llm_cassette.c mock-llm/llm_chat.c mock-llm/llm_embed.c mock-llm/llm_service.c
  MAIN mock-llm/main.c)

# mock-vector_core (the Qdrant engine, no sockets of its own) is the one library of mock-vector's
# sources: the executable, its tests and its benchmark link it.
mock_add_service(mock-vector
  CORE mock-vector/collection.c mock-vector/filter.c mock-vector/qdrant.c
       mock-vector/qdrant_points.c mock-vector/qdrant_search.c mock-vector/qdrant_upsert.c
  MAIN mock-vector/main.c)
