# The integration suites: compiled TAP 13 programs that `envtest run` runs against a live
# environment. They read only environment variables and do not link envmgr.
#   component, data, api, e2e: ADR-009's 32 tests (its four classes) of the Seoul analysis service
#                              (sca-api at SCA_API_URL), 8 each
#   environment:               the checks of the test environment itself (MySQL and the fixture,
#                              mock-llm, mock-vector)
add_library(suites_support STATIC tap.c envconn.c)
target_include_directories(suites_support PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(suites_support PUBLIC PkgConfig::MYSQL PkgConfig::CURL PkgConfig::JANSSON m)
envtest_target_defaults(suites_support)
# file: in the TAP diagnostics relative to the repository (suites/data.c), as GitHub annotations want
target_compile_options(suites_support PUBLIC -fmacro-prefix-map=${PROJECT_SOURCE_DIR}/=)

# The startup-policy PDF compiled in (the suites upload it): from the fixtures' documents when
# the build makes them, else an empty stand-in the RAG tests report as missing.
set(suites_pdf ${PROJECT_BINARY_DIR}/fixtures/documents/startup_policy.pdf)
set(suites_pdf_c ${CMAKE_CURRENT_BINARY_DIR}/startup_pdf.c)
set(suites_pdf_depends)
if(TARGET seoul-documents) # fixtures/documents.cmake
  set(suites_pdf_depends seoul-documents ${suites_pdf})
endif()
add_custom_command(
  OUTPUT ${suites_pdf_c}
  COMMAND ${CMAKE_COMMAND} -DPDF=${suites_pdf} -DOUT=${suites_pdf_c} -P
          ${CMAKE_CURRENT_SOURCE_DIR}/cmake/embed_pdf.cmake
  DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/cmake/embed_pdf.cmake ${suites_pdf_depends}
  COMMENT "Embedding the startup-policy PDF into the suites")
add_custom_target(suites_pdf_embed DEPENDS ${suites_pdf_c})

add_library(suites_sca STATIC sca.c ${suites_pdf_c})
target_link_libraries(suites_sca PUBLIC suites_support)
envtest_target_defaults(suites_sca)
target_include_directories(suites_sca PUBLIC ${PROJECT_SOURCE_DIR}/fixtures) # documents.h

foreach(suite component data api e2e)
  add_executable(suite_${suite} ${suite}.c)
  target_link_libraries(suite_${suite} PRIVATE suites_sca)
endforeach()
add_executable(suite_environment environment.c env_component.c env_data.c env_api.c env_e2e.c)
target_link_libraries(suite_environment PRIVATE suites_support)
target_include_directories(suite_environment PRIVATE ${PROJECT_SOURCE_DIR}/fixtures) # documents.h
foreach(suite component data api e2e environment)
  set_target_properties(suite_${suite} PROPERTIES OUTPUT_NAME ${suite}
                        RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/suites)
  envtest_target_defaults(suite_${suite})
endforeach()
add_custom_target(suites DEPENDS suite_component suite_data suite_api suite_e2e suite_environment)
