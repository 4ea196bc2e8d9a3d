# Compose loader tests (unit: no services) and the libFuzzer target (-DENVTEST_FUZZ=ON, clang).
envtest_add_test(test_compose SOURCES test_compose.c test_compose_lib.c corpus.c LIBS envmgr_compose
                 LABEL unit)
envtest_add_test(test_compose_errors SOURCES test_compose_errors.c test_compose_lib.c
                 LIBS envmgr_compose LABEL unit)
envtest_add_test(test_compose_files SOURCES test_compose_files.c test_compose_lib.c
                 LIBS envmgr_compose LABEL unit)

if(ENVTEST_FUZZ)
  # The compose sources are compiled into the fuzzer itself so that they get coverage
  # instrumentation while envmgr_compose stays a normal library.
  get_target_property(compose_sources envmgr_compose SOURCES)
  list(TRANSFORM compose_sources PREPEND ${PROJECT_SOURCE_DIR}/envmgr/compose/)
  add_executable(fuzz_compose fuzz/fuzz_compose.c ${compose_sources})
  target_include_directories(fuzz_compose PRIVATE ${PROJECT_SOURCE_DIR}/envmgr/compose)
  target_link_libraries(fuzz_compose PRIVATE envmgr_core PkgConfig::YAML PkgConfig::JANSSON)
  envtest_target_defaults(fuzz_compose)
  target_compile_options(fuzz_compose PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_compose PRIVATE -fsanitize=fuzzer,address,undefined)
  # Replays the committed corpus (no fuzzing): a quick regression check in fuzz builds.
  add_test(NAME fuzz_compose_corpus
           COMMAND fuzz_compose -runs=0 ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/compose)
  set_tests_properties(fuzz_compose_corpus PROPERTIES LABELS unit TIMEOUT 120)
endif()

# The corpus of real Compose files (tests/compose/corpus): envtest config reads >= 95 % of them
# with the services, networks, volumes and secrets an independent reader derives.
add_test(NAME test_compose_corpus
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/compose/corpus/run.sh $<TARGET_FILE:envtest>)
set_tests_properties(test_compose_corpus PROPERTIES LABELS unit TIMEOUT 300)

# Compose compatibility against the real engine: networks, secrets, configs, container_name,
# profiles, limits and wait strategies, checked inside the containers.
add_test(NAME test_compose_compat_docker
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/compose/compat/run.sh $<TARGET_FILE:envtest>)
set_tests_properties(test_compose_compat_docker PROPERTIES LABELS docker TIMEOUT 600)

# Secrets and configs with uid, gid and mode (owner and mode inside the container) and platform:
# passed to the engine, refused clearly.
add_test(NAME test_compose_files_docker
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/compose/files/run.sh $<TARGET_FILE:envtest>)
set_tests_properties(test_compose_files_docker PROPERTIES LABELS docker TIMEOUT 600)
