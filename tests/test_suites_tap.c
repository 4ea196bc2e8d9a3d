/* Unit tests of the suites' TAP emitter (suites/tap.c) and environment parsing (suites/envconn.c).
 */
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on
#include <stdlib.h>
#include <string.h>

#include "envconn.h"
#include "tap.h"

static char *out_buf;
static size_t out_len;

static FILE *capture(void)
{
    free(out_buf);
    out_buf = NULL;
    FILE *f = open_memstream(&out_buf, &out_len);
    assert_non_null(f);
    tap_set_output(f);
    return f;
}

static void finish(FILE *f)
{
    fclose(f);
    tap_set_output(stdout);
}

static void t_pass(void *ctx)
{
    int *n = ctx;
    TAP_ASSERT_INT_EQ(*n, 3);
    tap_note("three is %d", *n);
}

static void t_fail_int(void *ctx)
{
    int *n = ctx;
    TAP_ASSERT_INT_EQ(*n, 4);
    *n = 100; /* not reached: the failed assertion returns */
}

static void t_fail_str(void *ctx)
{
    (void)ctx;
    TAP_ASSERT_STR_EQ("강남구 \"한식\"\n", "서초구");
}

static void t_skip(void *ctx)
{
    (void)ctx;
    tap_skip("no %s here", "cassette");
}

static void test_run_output(void **state)
{
    (void)state;
    int n = 3;
    static const tap_test_t tests[] = {{"passes", t_pass},
                                       {"fails int", t_fail_int},
                                       {"fails str", t_fail_str},
                                       {"skips", t_skip}};
    FILE *f = capture();
    int rc = tap_run(tests, TAP_COUNT(tests), &n);
    assert_int_equal(tap_count_run(), 4);
    assert_int_equal(tap_count_failed(), 2);
    finish(f);
    assert_int_equal(rc, 1);
    assert_int_equal(n, 3);
    assert_true(strncmp(out_buf, "TAP version 13\n1..4\n", 20) == 0);
    assert_non_null(strstr(out_buf, "\nok 1 - passes\n"));
    assert_non_null(strstr(out_buf, "# three is 3\n"));
    assert_non_null(strstr(out_buf, "\nnot ok 2 - fails int\n  ---\n  message: \"*n == 4\"\n"));
    assert_non_null(strstr(out_buf, "  got: \"3\"\n  expected: \"== 4\"\n"));
    assert_non_null(strstr(out_buf, "  file: \"" __FILE__ "\"\n  line: "));
    assert_non_null(strstr(out_buf, "\nnot ok 3 - fails str\n"));
    assert_non_null(strstr(out_buf, "  got: \"강남구 \\\"한식\\\"\\n\"\n  expected: \"서초구\"\n"));
    assert_non_null(strstr(out_buf, "\nok 4 - skips # SKIP no cassette here\n"));
    assert_non_null(strstr(out_buf, "# failed 2 of 4 tests\n"));
}

static void test_all_pass_exit_zero(void **state)
{
    (void)state;
    int n = 3;
    static const tap_test_t tests[] = {{"a", t_pass}, {"b", t_pass}};
    FILE *f = capture();
    int rc = tap_run(tests, TAP_COUNT(tests), &n);
    finish(f);
    assert_int_equal(rc, 0);
    assert_null(strstr(out_buf, "not ok"));
    assert_non_null(strstr(out_buf, "1..2\n# three is 3\nok 1 - a\n"));
}

static void test_yaml_quote_cut_at_utf8_boundary(void **state)
{
    (void)state;
    FILE *f = capture();
    tap_yaml_quote(f, "a\tb\x01강남구", 5); /* cut inside 강 (3 bytes from offset 4) */
    finish(f);
    assert_string_equal(out_buf, "\"a\\tb\\x01강... (6 more bytes)\"");
}

static void test_database_url(void **state)
{
    (void)state;
    envconn_t env = {0};
    char *why = NULL;
    assert_int_equal(
        envconn_parse_database_url(
            "mysql://envtest:p%40ss%3Aw%2Frd%25@127.0.0.1:49153/suite_data_1?x=1", &env, &why),
        0);
    assert_string_equal(env.db_user, "envtest");
    assert_string_equal(env.db_password, "p@ss:w/rd%");
    assert_string_equal(env.db_host, "127.0.0.1");
    assert_int_equal(env.db_port, 49153);
    assert_string_equal(env.db_name, "suite_data_1");
    envconn_free(&env);

    assert_int_equal(envconn_parse_database_url("mysql://root@[::1]/db", &env, &why), 0);
    assert_string_equal(env.db_host, "::1");
    assert_string_equal(env.db_password, "");
    assert_int_equal(env.db_port, 3306);
    envconn_free(&env);

    static const char *const bad[] = {"postgres://u:p@h:1/db", "mysql://u:p@h:1",
                                      "mysql://h:1/db",        "mysql://u:p@h:99999/db",
                                      "mysql://u:p%4@h:1/db",  "mysql://u:p@h:1/"};
    for (size_t i = 0; i < TAP_COUNT(bad); i++) {
        why = NULL;
        assert_int_equal(envconn_parse_database_url(bad[i], &env, &why), -1);
        assert_non_null(why);
        assert_non_null(strstr(why, "DATABASE_URL"));
        free(why);
        envconn_free(&env);
    }
}

static void test_missing_variable_fails_loudly(void **state)
{
    (void)state;
    unsetenv("DATABASE_URL");
    envconn_t env;
    FILE *f = capture();
    int rc = envconn_load(&env, ENVCONN_NEED_MYSQL);
    finish(f);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(out_buf, "1..1\nnot ok 1 - environment: DATABASE_URL is not set (run it "
                                    "with envtest run)\n"));
    envconn_free(&env);

    setenv("DATABASE_URL", "mysql://u:p@127.0.0.1:3306/d", 1);
    setenv("ENVTEST_MOCK_LLM_HOST", "127.0.0.1", 1);
    setenv("ENVTEST_MOCK_LLM_PORT", "8080", 1);
    unsetenv("OPENAI_BASE_URL");
    unsetenv("ENVTEST_MOCK_VECTOR_PORT");
    setenv("ENVTEST_MOCK_VECTOR_HOST", "127.0.0.1", 1);
    f = capture();
    rc = envconn_load(&env, ENVCONN_NEED_MYSQL | ENVCONN_NEED_LLM | ENVCONN_NEED_VECTOR);
    finish(f);
    assert_int_equal(rc, -1);
    assert_string_equal(env.openai_url, "http://127.0.0.1:8080/v1");
    assert_non_null(strstr(out_buf, "environment: ENVTEST_MOCK_VECTOR_PORT is not set"));
    envconn_free(&env);
}

static void test_extract_sql(void **state)
{
    (void)state;
    char *s = suite_extract_sql("Here:\n```sql\nSELECT 1;\n```\nDone");
    assert_string_equal(s, "SELECT 1");
    free(s);
    s = suite_extract_sql("  SELECT a FROM t;  \n");
    assert_string_equal(s, "SELECT a FROM t");
    free(s);
}

static void test_bad_port_fails_loudly(void **state)
{
    (void)state;
    setenv("ENVTEST_MOCK_LLM_HOST", "127.0.0.1", 1);
    setenv("ENVTEST_MOCK_LLM_PORT", "80a", 1);
    envconn_t env;
    FILE *f = capture();
    int rc = envconn_load(&env, ENVCONN_NEED_LLM);
    finish(f);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(out_buf, "not ok 1 - environment: ENVTEST_MOCK_LLM_PORT is not a port"));
    assert_non_null(strstr(out_buf, "ENVTEST_MOCK_LLM_PORT='80a': expected 1-65535"));
    envconn_free(&env);
}

static void test_sse_parse(void **state)
{
    (void)state;
    bool done;
    char *bad;
    json_t *ev = suite_sse_parse(": comment\r\ndata: {\"a\":1}\r\n\r\ndata:{\"b\":2}\n\n"
                                 "data: [DONE]\n\n",
                                 &done, &bad);
    assert_true(done);
    assert_null(bad);
    assert_int_equal(json_array_size(ev), 2);
    assert_string_equal(json_string_value(json_array_get(ev, 0)), "{\"a\":1}");
    assert_string_equal(json_string_value(json_array_get(ev, 1)), "{\"b\":2}");
    json_decref(ev);

    ev = suite_sse_parse("data: x\n\nHTTP/1.1 oops\n", &done, &bad);
    assert_false(done);
    assert_non_null(bad);
    assert_non_null(strstr(bad, "not an SSE data line: HTTP/1.1 oops"));
    free(bad);
    json_decref(ev);

    ev = suite_sse_parse("data: [DONE]\n\ndata: late\n\n", &done, &bad);
    assert_true(done);
    assert_non_null(bad);
    assert_non_null(strstr(bad, "event after [DONE]: late"));
    free(bad);
    json_decref(ev);
}

static int fails_twice(void *ud)
{
    int *calls = ud;
    return ++*calls <= 2 ? -1 : 0;
}

static int always_fails(void *ud)
{
    int *calls = ud;
    ++*calls;
    return -7;
}

static void test_retry_backoff(void **state)
{
    (void)state;
    int calls = 0, used = 0;
    long slept = 0;
    assert_int_equal(envconn_retry(5, 10, fails_twice, &calls, &used, &slept), 0);
    assert_int_equal(calls, 3);
    assert_int_equal(used, 3);
    assert_int_equal(slept, 10 + 20); /* doubling backoff */
    calls = 0;
    assert_int_equal(envconn_retry(3, 1, always_fails, &calls, &used, &slept), -7);
    assert_int_equal(calls, 3);
    assert_int_equal(used, 3);
    assert_int_equal(slept, 1 + 2); /* no sleep after the last attempt */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_output),
        cmocka_unit_test(test_all_pass_exit_zero),
        cmocka_unit_test(test_yaml_quote_cut_at_utf8_boundary),
        cmocka_unit_test(test_database_url),
        cmocka_unit_test(test_missing_variable_fails_loudly),
        cmocka_unit_test(test_extract_sql),
        cmocka_unit_test(test_bad_port_fails_loudly),
        cmocka_unit_test(test_sse_parse),
        cmocka_unit_test(test_retry_backoff),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(out_buf);
    return rc;
}
