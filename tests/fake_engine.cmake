# The stateful fake Docker engine (fake_engine.h) that the `unit` tests of the engine client, the
# lifecycle, health and isolation run against: http_parser parses its requests, jansson keeps its
# objects, libcurl decodes query strings.
find_library(FAKE_ENGINE_HTTP_PARSER NAMES http_parser)
find_path(FAKE_ENGINE_HTTP_PARSER_INCLUDE http_parser.h)
if(NOT FAKE_ENGINE_HTTP_PARSER OR NOT FAKE_ENGINE_HTTP_PARSER_INCLUDE)
  message(FATAL_ERROR "http_parser not found: install it with `apt-get install libhttp-parser-dev` (or run ci/setup.sh)")
endif()
add_library(fake_engine STATIC fake_engine.c fake_engine_state.c)
envtest_target_defaults(fake_engine)
target_include_directories(fake_engine PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}
                           PRIVATE ${FAKE_ENGINE_HTTP_PARSER_INCLUDE})
target_link_libraries(fake_engine PUBLIC envmgr_core PkgConfig::JANSSON
                      PRIVATE PkgConfig::CURL ${FAKE_ENGINE_HTTP_PARSER} Threads::Threads)
