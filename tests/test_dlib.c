/* envmgr/dlib: libarchive, the MySQL client and SQLite loaded on first use. A missing library or
 * function is an error naming it and what to do; once loaded, calls reach the real library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <string.h>

#include "dlib.h"

static void test_missing_library_names_it_and_the_package(void **state)
{
    (void)state;
    envmgr_error_t err = {0};
    const char *names[] = {"archive_version_number"};
    void *slots[1] = {NULL};
    assert_int_equal(
        envmgr_dl_open("libenvtest-nonexistent.so.7", "libenvtest7", names, slots, 1, &err), -1);
    assert_int_equal(err.kind, ENVMGR_E_ENV);
    assert_non_null(strstr(err.message, "cannot load libenvtest-nonexistent.so.7"));
    assert_non_null(strstr(err.hint, "apt-get install libenvtest7"));
    assert_null(slots[0]);
}

static void test_missing_function_names_it(void **state)
{
    (void)state;
    envmgr_error_t err = {0};
    const char *names[] = {"archive_version_number", "archive_no_such_function"};
    void *slots[2] = {NULL, NULL};
    assert_int_equal(
        envmgr_dl_open(ENVMGR_TEST_LIBARCHIVE_SONAME, "libarchive13", names, slots, 2, &err), -1);
    assert_non_null(strstr(err.message, "has no archive_no_such_function"));
    assert_non_null(strstr(err.hint, "rebuild envtest"));
}

static void test_loaded_libraries_answer(void **state)
{
    (void)state;
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_dl_archive(&err), 0);
    assert_int_equal(envmgr_dl_mysql(&err), 0);
    assert_int_equal(envmgr_dl_sqlite(&err), 0);
    /* the calls go through the resolved pointers to the libraries the headers describe */
    assert_int_equal(archive_version_number() / 1000000, ARCHIVE_VERSION_NUMBER / 1000000);
    assert_true(sqlite3_libversion_number() >= 3000000);
    struct archive *a = archive_read_new();
    assert_non_null(a);
    assert_int_equal(archive_read_support_format_tar(a), ARCHIVE_OK);
    assert_int_equal(archive_read_free(a), ARCHIVE_OK);
    MYSQL *m = mysql_init(NULL);
    assert_non_null(m);
    assert_int_equal(mysql_errno(m), 0);
    mysql_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_library_names_it_and_the_package),
        cmocka_unit_test(test_missing_function_names_it),
        cmocka_unit_test(test_loaded_libraries_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
