# Engine client tests: `unit` against the stateful fake engine (fake_engine.h), `docker` against the real one.
envtest_add_test(test_engine SOURCES test_engine.c LIBS envmgr_engine fake_engine PkgConfig::ARCHIVE LABEL unit
                 TIMEOUT 120)
envtest_add_test(test_engine_docker SOURCES test_engine_docker.c LIBS envmgr_engine PkgConfig::ARCHIVE LABEL docker
                 TIMEOUT 600)
target_compile_definitions(test_engine_docker PRIVATE
                           ENVTEST_SOURCE_DIR_DEFAULT="${PROJECT_SOURCE_DIR}")
