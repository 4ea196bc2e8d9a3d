# Docker Engine API client (libcurl over the Unix socket, jansson, libarchive for build contexts).
add_library(envmgr_engine STATIC
  ${CMAKE_CURRENT_LIST_DIR}/engine.c
  ${CMAKE_CURRENT_LIST_DIR}/engine_demux.c
  ${CMAKE_CURRENT_LIST_DIR}/engine_build.c)
target_link_libraries(envmgr_engine PUBLIC envmgr_core PkgConfig::CURL envmgr_dl)
envtest_target_defaults(envmgr_engine)
target_link_libraries(envmgr INTERFACE envmgr_engine)

# Latency benchmark: median ping and exec round trip (ci/bench/engine_bench.c).
add_executable(engine_bench ${PROJECT_SOURCE_DIR}/ci/bench/engine_bench.c)
target_link_libraries(engine_bench PRIVATE envmgr_engine)
envtest_target_defaults(engine_bench)
target_compile_definitions(engine_bench PRIVATE ENVTEST_SOURCE_DIR_DEFAULT="${PROJECT_SOURCE_DIR}")
