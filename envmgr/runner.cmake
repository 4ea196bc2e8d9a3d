# The runner: streaming TAP parser, libuv process pool, reports (JSON, JUnit, Markdown, GitHub).
add_library(envmgr_tap STATIC tap.c)
target_link_libraries(envmgr_tap PUBLIC envmgr_core PkgConfig::YAML)
envtest_target_defaults(envmgr_tap)
target_link_libraries(envmgr INTERFACE envmgr_tap)
