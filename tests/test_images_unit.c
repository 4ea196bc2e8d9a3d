/* images.h without an engine: content tags, build digests, built-in image names and the data dir;
 * and the fixture progress words (envmgr_fixture_progress_format: "0 rows, 0.0 MB" no more for
 * steps that have no rows). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <envmgr/fixture.h>
#include <envmgr/images.h>
#include <envmgr/util.h>

static void test_content_tag(void **state)
{
    (void)state;
    const char *d = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char *t = envmgr_image_content_tag("envtest/mock-llm", d);
    assert_string_equal(t, "envtest/mock-llm:0123456789abcdef");
    free(t);
    t = envmgr_image_content_tag("envtest/mock-llm:latest", d);
    assert_string_equal(t, "envtest/mock-llm:0123456789abcdef");
    free(t);
    t = envmgr_image_content_tag("localhost:5000/x", d);
    assert_string_equal(t, "localhost:5000/x:0123456789abcdef");
    free(t);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char *path = envmgr_xasprintf("%s/%s", dir, name);
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_write_file(path, text, strlen(text), &err), 0);
    free(path);
}

static void test_build_digest_and_builtin(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/envtest-images-XXXXXX";
    char *root = mkdtemp(tmpl);
    assert_non_null(root);
    char *ctx = envmgr_xasprintf("%s/compose/mock-llm/context", root);
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_mkdir_p(ctx, 0755, &err), 0);
    write_file(ctx, "Dockerfile", "FROM scratch\n");
    write_file(ctx, "bin", "1");
    char a[65], b[65], c[65];
    assert_int_equal(envmgr_image_build_digest(ctx, NULL, NULL, a, &err), 0);
    assert_int_equal(envmgr_image_build_digest(ctx, NULL, NULL, b, &err), 0);
    assert_string_equal(a, b); /* same content, same digest */
    envmgr_kvlist_t args = {0};
    envmgr_kvlist_set(&args, "V", "2");
    assert_int_equal(envmgr_image_build_digest(ctx, NULL, &args, c, &err), 0);
    assert_string_not_equal(a, c); /* build args count */
    envmgr_kvlist_free(&args);
    write_file(ctx, "bin", "2");
    assert_int_equal(envmgr_image_build_digest(ctx, NULL, NULL, b, &err), 0);
    assert_string_not_equal(a, b); /* contents count */

    setenv("ENVTEST_DATA_DIR", root, 1);
    char *data = envmgr_data_dir();
    assert_string_equal(data, root);
    free(data);
    bool builtin = false;
    char *found = envmgr_builtin_image_context("envtest/mock-llm", &builtin);
    assert_true(builtin);
    assert_string_equal(found, ctx);
    free(found);
    found = envmgr_builtin_image_context("envtest/mock-llm:latest", NULL);
    assert_string_equal(found, ctx);
    free(found);
    /* built in, but no context where the data dir says: NULL and is_builtin */
    assert_null(envmgr_builtin_image_context("envtest/mock-vector", &builtin));
    assert_true(builtin);
    /* not built in: another tag, another repository */
    assert_null(envmgr_builtin_image_context("envtest/mock-llm:1.0", &builtin));
    assert_false(builtin);
    assert_null(envmgr_builtin_image_context("mock-llm", &builtin));
    assert_false(builtin);
    assert_null(envmgr_builtin_image_context("envtest/mysql-offline:10.11", &builtin));
    assert_false(builtin);
    unsetenv("ENVTEST_DATA_DIR");
    unsetenv("ENVTEST_BUILD_DIR");
    /* found from the executable: this test runs in <build>/tests, so <build> */
    data = envmgr_data_dir();
    assert_non_null(data);
    char *cache = envmgr_xasprintf("%s/CMakeCache.txt", data);
    assert_int_equal(access(cache, F_OK), 0);
    free(cache);
    free(data);
    char *cmd = envmgr_xasprintf("rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(ctx);
}

static void test_fixture_progress_words(void **state)
{
    (void)state;
    char buf[200];
    envmgr_fixture_progress_t p = {
        .type = "http", .target = "/__admin/cassette", .bytes = 18234, .done = true};
    envmgr_fixture_progress_format(&p, buf, sizeof(buf));
    assert_string_equal(buf, "http /__admin/cassette: 18.2 kB sent");
    p = (envmgr_fixture_progress_t){
        .type = "mysql", .target = "sales", .rows = 5000, .bytes = 1234567, .rows_per_s = 41000};
    envmgr_fixture_progress_format(&p, buf, sizeof(buf));
    assert_string_equal(buf, "mysql sales: 5000 rows, 1.2 MB, 41000 rows/s");
    p = (envmgr_fixture_progress_t){
        .type = "documents", .target = "docs", .rows = 40, .rows_per_s = 90};
    envmgr_fixture_progress_format(&p, buf, sizeof(buf));
    assert_string_equal(buf, "documents docs: 40 passages, 90 passages/s");
    p = (envmgr_fixture_progress_t){.type = "copy", .target = "/data/x", .bytes = 512};
    envmgr_fixture_progress_format(&p, buf, sizeof(buf));
    assert_string_equal(buf, "copy /data/x: 512 bytes");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_tag),
        cmocka_unit_test(test_build_digest_and_builtin),
        cmocka_unit_test(test_fixture_progress_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
