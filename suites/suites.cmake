# ADR-009 integration suites: compiled TAP 13 programs that `envtest run` runs against a live
# environment. They read only the environment's variables (DATABASE_URL, ENVTEST_<SERVICE>_HOST/PORT,
# OPENAI_BASE_URL, QDRANT_URL) and do not link envmgr: they are independent of envtest's library.
add_library(suites_support STATIC tap.c envconn.c)
target_include_directories(suites_support PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(suites_support PUBLIC PkgConfig::MYSQL PkgConfig::CURL PkgConfig::JANSSON m)
envtest_target_defaults(suites_support)
# file: in the TAP diagnostics relative to the repository (suites/data.c), as GitHub annotations want
target_compile_options(suites_support PUBLIC -fmacro-prefix-map=${PROJECT_SOURCE_DIR}/=)

foreach(suite component data api e2e)
  add_executable(suite_${suite} ${suite}.c)
  set_target_properties(suite_${suite} PROPERTIES OUTPUT_NAME ${suite}
                        RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/suites)
  target_link_libraries(suite_${suite} PRIVATE suites_support)
  envtest_target_defaults(suite_${suite})
endforeach()
add_custom_target(suites DEPENDS suite_component suite_data suite_api suite_e2e)
