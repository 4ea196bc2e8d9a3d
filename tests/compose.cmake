# Compose loader tests (unit: no services) and the libFuzzer target (-DENVTEST_FUZZ=ON, clang).
envtest_add_test(test_compose SOURCES test_compose.c LIBS envmgr_compose LABEL unit)

if(ENVTEST_FUZZ)
  add_executable(fuzz_compose fuzz/fuzz_compose.c)
  target_link_libraries(fuzz_compose PRIVATE envmgr_compose)
  envtest_target_defaults(fuzz_compose)
  target_compile_options(fuzz_compose PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_compose PRIVATE -fsanitize=fuzzer,address,undefined)
endif()
