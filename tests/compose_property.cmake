# Issue 13, item 6: `config` of a random valid Compose model, loaded again, gives the same model.
envtest_add_test(test_compose_property
                 SOURCES test_compose_property.c compose_model_diff.c test_compose_lib.c
                 LIBS envmgr_compose LABEL unit TIMEOUT 300)
