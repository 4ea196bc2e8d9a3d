# The env module without Docker: lifecycle, health and isolation against the stateful fake engine
# (fake_engine.h). test_health tests the module's internal health.h.
envtest_add_test(test_lifecycle SOURCES test_lifecycle.c LIBS envmgr fake_engine LABEL unit TIMEOUT 120)
envtest_add_test(test_lifecycle_files SOURCES test_lifecycle_files.c
                 LIBS envmgr fake_engine PkgConfig::ARCHIVE LABEL unit TIMEOUT 120)
envtest_add_test(test_health SOURCES test_health.c LIBS envmgr_env fake_engine LABEL unit TIMEOUT 120)
target_include_directories(test_health PRIVATE ${PROJECT_SOURCE_DIR}/envmgr/env)
envtest_add_test(test_isolation SOURCES test_isolation.c LIBS envmgr fake_engine LABEL unit TIMEOUT 120)
