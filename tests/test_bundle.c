/* The bundle module's pieces that need no engine: secrets.enc (AES-256-GCM under a PBKDF2 key)
 * and the refusal of what is not a bundle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <envmgr/bundle.h>

#include "bundle_internal.h"

static void test_secrets_round_trip(void **state)
{
    (void)state;
    const char plain[] = "{\"ENVTEST_MYSQL_PASSWORD\":\"s3cret-value\"}";
    envmgr_buf_t enc = ENVMGR_BUF_INIT, dec = ENVMGR_BUF_INIT;
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_bundle_encrypt("pass", plain, strlen(plain), &enc, &err), 0);
    assert_null(memmem(enc.data, enc.len, "s3cret", 6)); /* not in clear */
    assert_int_equal(envmgr_bundle_decrypt("pass", enc.data, enc.len, &dec, &err), 0);
    assert_string_equal(dec.data, plain);
    envmgr_buf_reset(&dec);
    assert_int_equal(envmgr_bundle_decrypt("wrong", enc.data, enc.len, &dec, &err), -1);
    assert_int_equal(err.kind, ENVMGR_E_USAGE);
    assert_non_null(strstr(err.message, "wrong passphrase"));
    enc.data[enc.len - 1] ^= 1; /* altered: the tag no longer matches */
    assert_int_equal(envmgr_bundle_decrypt("pass", enc.data, enc.len, &dec, &err), -1);
    assert_int_equal(envmgr_bundle_decrypt("pass", "junk", 4, &dec, &err), -1);
    assert_int_equal(err.kind, ENVMGR_E_CONFIG);
    envmgr_buf_free(&enc);
    envmgr_buf_free(&dec);
}

static void test_not_a_bundle_leaves_nothing(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_bundle_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64], out[80];
    snprintf(path, sizeof(path), "%s/x.tar.zst", dir);
    snprintf(out, sizeof(out), "%s/out", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("not a bundle\n", f);
    fclose(f);
    envmgr_bundle_t *b = NULL;
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_bundle_extract(path, out, NULL, &b, &err), -1);
    assert_null(b);
    assert_non_null(strstr(err.message, path));
    assert_int_equal(access(out, F_OK), -1); /* removed */
    assert_int_equal(envmgr_bundle_remove_tree(dir, &err), 0);
    assert_int_equal(access(dir, F_OK), -1);
}

/* A bundle restored under another project gets its own network and volumes: the names Compose
 * derived from the source project go; a name the file gave, or an external one, stays. */
static void test_unpin_project_names(void **state)
{
    (void)state;
    json_error_t je;
    json_t *c = json_loads("{\"name\":\"p\",\"networks\":{\"default\":{\"name\":\"p_default\"},"
                           "\"back\":{\"name\":\"custom\"},"
                           "\"ext\":{\"name\":\"p_ext\",\"external\":true},"
                           "\"other\":{\"name\":\"p_default\"}},"
                           "\"volumes\":{\"data\":{\"name\":\"p_data\"}}}",
                           0, &je);
    assert_non_null(c);
    assert_true(bun_unpin_project_names(c));
    char *out = json_dumps(c, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(out, "{\"name\":\"p\",\"networks\":{\"back\":{\"name\":\"custom\"},"
                             "\"default\":{},\"ext\":{\"external\":true,\"name\":\"p_ext\"},"
                             "\"other\":{\"name\":\"p_default\"}},\"volumes\":{\"data\":{}}}");
    free(out);
    assert_false(bun_unpin_project_names(c)); /* nothing left to change */
    json_decref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secrets_round_trip),
        cmocka_unit_test(test_not_a_bundle_leaves_nothing),
        cmocka_unit_test(test_unpin_project_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
