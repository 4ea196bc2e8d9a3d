# envmgr/dlib: libraries loaded on first use.
envtest_add_test(test_dlib SOURCES test_dlib.c LIBS envmgr_dl LABEL unit)
target_compile_definitions(test_dlib PRIVATE
                           ENVMGR_TEST_LIBARCHIVE_SONAME="${ENVTEST_LIBARCHIVE_SONAME}")
