# The runner: streaming TAP parser, libuv process pool, reports (JSON, JUnit, Markdown, GitHub).
add_library(envmgr_tap STATIC tap.c)
target_link_libraries(envmgr_tap PUBLIC envmgr_core PkgConfig::YAML)
envtest_target_defaults(envmgr_tap)
target_link_libraries(envmgr INTERFACE envmgr_tap)

add_library(envmgr_runner STATIC runner.c runner_config.c)
target_link_libraries(envmgr_runner PUBLIC envmgr_tap envmgr_core PkgConfig::UV)
envtest_target_defaults(envmgr_runner)
target_link_libraries(envmgr INTERFACE envmgr_runner)

add_library(envmgr_report STATIC report.c report_junit.c report_md.c report_history.c)
target_link_libraries(envmgr_report PUBLIC envmgr_runner envmgr_core envmgr_dl)
envtest_target_defaults(envmgr_report)
target_link_libraries(envmgr INTERFACE envmgr_report)

if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/isolation.c)
  # cmd/run.c gives each suite its own database when the isolation module exists (isolation.h).
  target_compile_definitions(envmgr_runner PUBLIC ENVTEST_HAVE_ISOLATION=1)
endif()
