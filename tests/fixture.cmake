# envmgr_fixture: unit tests (archives, manifest, CSV; no services) and the MySQL/mocks test
# (label docker: a real MariaDB in a container, the mock-llm/mock-vector binaries on loopback).
envtest_add_test(test_fixture SOURCES test_fixture.c LIBS envmgr_fixture LABEL unit)
target_include_directories(test_fixture PRIVATE ${PROJECT_SOURCE_DIR}/envmgr)

if(TARGET envmgr_engine AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_fixture_mysql.c)
  envtest_add_test(test_fixture_mysql SOURCES test_fixture_mysql.c
                   LIBS envmgr_fixture envmgr_engine LABEL docker TIMEOUT 900)
  target_include_directories(test_fixture_mysql PRIVATE ${PROJECT_SOURCE_DIR}/envmgr)
  # the test loads the built Seoul fixture and runs the real mocks
  foreach(dep seoul-small mock-llm mock-vector)
    if(TARGET ${dep})
      add_dependencies(test_fixture_mysql ${dep})
    endif()
  endforeach()
endif()

if(ENVTEST_FUZZ)
  foreach(target fuzz_manifest fuzz_csv)
    add_executable(${target} fuzz/${target}.c)
    target_link_libraries(${target} PRIVATE envmgr_fixture)
    target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/envmgr)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined -g)
    target_link_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
  endforeach()
endif()
