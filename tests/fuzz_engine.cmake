# libFuzzer targets (-DENVTEST_FUZZ=ON, clang) for the Engine's replies, read without a socket
# through engine_replay_open (engine_private.h): fuzz_engine_stream (progress streams, multiplexed
# logs and exec output, in pieces vs whole) and fuzz_engine_reply (JSON replies and statuses into
# typed values, and envmgr_env_inspect into envmgr_env_state_t). The engine's sources (and the env
# module's, for the second) are compiled into the fuzzers so that they are instrumented.
# Run: ./fuzz_engine_stream tests/fuzz/corpus/engine_stream -max_total_time=60
if(ENVTEST_FUZZ)
  get_target_property(engine_sources envmgr_engine SOURCES)
  list(TRANSFORM engine_sources PREPEND ${PROJECT_SOURCE_DIR}/envmgr/engine/)
  get_target_property(env_sources envmgr_env SOURCES)
  list(TRANSFORM env_sources PREPEND ${PROJECT_SOURCE_DIR}/envmgr/env/)
  add_executable(fuzz_engine_stream fuzz/fuzz_engine_stream.c ${engine_sources})
  add_executable(fuzz_engine_reply fuzz/fuzz_engine_reply.c ${engine_sources} ${env_sources})
  target_link_libraries(fuzz_engine_reply PRIVATE envmgr_compose envmgr_fixture)
  target_include_directories(fuzz_engine_reply PRIVATE ${PROJECT_SOURCE_DIR}/envmgr/env)
  get_target_property(env_definitions envmgr_env COMPILE_DEFINITIONS)
  target_compile_definitions(fuzz_engine_reply PRIVATE ${env_definitions})
  foreach(target fuzz_engine_stream fuzz_engine_reply)
    target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/envmgr/engine)
    target_link_libraries(${target} PRIVATE envmgr_core envmgr_dl PkgConfig::CURL
                                            PkgConfig::JANSSON PkgConfig::ARCHIVE PkgConfig::MYSQL
                                            PkgConfig::SQLITE)
    envtest_target_defaults(${target})
    # -fno-sanitize-recover: undefined behaviour is a finding (the input is kept)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined
                                             -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
  endforeach()
  # Replay the committed corpora (no fuzzing): a quick regression check in fuzz builds.
  add_test(NAME fuzz_engine_stream_corpus
           COMMAND fuzz_engine_stream -runs=0 ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/engine_stream)
  add_test(NAME fuzz_engine_reply_corpus
           COMMAND fuzz_engine_reply -runs=0 ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/engine_reply)
  set_tests_properties(fuzz_engine_stream_corpus fuzz_engine_reply_corpus
                       PROPERTIES LABELS unit TIMEOUT 120)
endif()

# The same checks over the committed corpora in every build (fuzz/replay_main.c, no libFuzzer), ASan
# builds included: the engine's library with its private header.
foreach(target engine_stream engine_reply)
  add_executable(${target}_fuzz_replay fuzz/fuzz_${target}.c fuzz/replay_main.c)
  target_link_libraries(${target}_fuzz_replay PRIVATE envmgr)
  target_include_directories(${target}_fuzz_replay PRIVATE ${PROJECT_SOURCE_DIR}/envmgr/engine)
  envtest_target_defaults(${target}_fuzz_replay)
  add_test(NAME ${target}_fuzz_replay
           COMMAND ${target}_fuzz_replay ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${target})
  set_tests_properties(${target}_fuzz_replay PROPERTIES LABELS unit TIMEOUT 120)
endforeach()
