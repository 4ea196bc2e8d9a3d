add_library(envmgr_lifecycle STATIC project.c health.c lifecycle.c lifecycle_state.c
                                    lifecycle_fixtures.c isolation.c reaper.c)
target_link_libraries(envmgr_lifecycle PUBLIC envmgr_core envmgr_engine envmgr_compose envmgr_fixture
                      envmgr_dl)
envtest_target_defaults(envmgr_lifecycle)
target_link_libraries(envmgr INTERFACE envmgr_lifecycle)
