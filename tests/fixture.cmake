# envmgr_fixture: unit tests (archives, manifest, CSV; no services) and the MySQL/mocks test
# (label docker: a real MariaDB in a container, the mock-llm/mock-vector binaries on loopback).
# Unit tests of the module's internals: they add its private folder (and envmgr_dl, which
# fixture_internal.h includes) explicitly.
envtest_add_test(test_fixture SOURCES test_fixture.c csv_differential.c corpus.c
                 LIBS envmgr_fixture envmgr_dl PkgConfig::ARCHIVE LABEL unit)
target_include_directories(test_fixture PRIVATE ${PROJECT_SOURCE_DIR}/envmgr/fixture)

envtest_add_test(test_fixture_mysql SOURCES test_fixture_mysql.c
                 LIBS envmgr_fixture envmgr_engine envmgr_dl PkgConfig::ARCHIVE PkgConfig::MYSQL
                 LABEL docker TIMEOUT 900)
target_include_directories(test_fixture_mysql PRIVATE ${PROJECT_SOURCE_DIR}/envmgr/fixture)
# the test loads the built Seoul fixture and runs the real mocks
foreach(dep seoul-small mock-llm mock-vector)
  if(TARGET ${dep})
    add_dependencies(test_fixture_mysql ${dep})
  endif()
endforeach()

if(ENVTEST_FUZZ)
  # The readers' sources are compiled into each fuzzer so that they get coverage instrumentation.
  set(fixture_fuzz_sources ${PROJECT_SOURCE_DIR}/envmgr/fixture/fixture_manifest.c
                           ${PROJECT_SOURCE_DIR}/envmgr/fixture/fixture_csv.c)
  foreach(target fuzz_manifest fuzz_csv)
    add_executable(${target} fuzz/${target}.c ${fixture_fuzz_sources})
    if(target STREQUAL fuzz_csv)
      target_sources(${target} PRIVATE csv_differential.c)
      target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
    endif()
    # (the MySQL and SQLite packages for the headers dlib.h includes)
    target_link_libraries(${target} PRIVATE envmgr_core envmgr_dl PkgConfig::YAML PkgConfig::JANSSON
                                            PkgConfig::ARCHIVE PkgConfig::MYSQL PkgConfig::SQLITE)
    target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/envmgr/fixture)
    envtest_target_defaults(${target})
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
  endforeach()
  # Replay the committed corpora (no fuzzing): a quick regression check in fuzz builds.
  add_test(NAME fuzz_manifest_corpus
           COMMAND fuzz_manifest -runs=0 ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/manifest)
  add_test(NAME fuzz_csv_corpus COMMAND fuzz_csv -runs=0 ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/csv)
  set_tests_properties(fuzz_manifest_corpus fuzz_csv_corpus PROPERTIES LABELS unit)
endif()
