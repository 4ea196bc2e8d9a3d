# Real services instead of mocks in the Compose model (unit; the lifecycle side is
# tests/test_real_services.sh, docker).
envtest_add_test(test_compose_real SOURCES test_compose_real.c test_compose_lib.c
                 LIBS envmgr_compose LABEL unit)
