/* TAP parser unit tests: every input is parsed whole, byte by byte and in odd-sized chunks, and the
 * three results must agree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <envmgr/tap.h>
#include <envmgr/util.h>

static int64_t fake_now;
static int64_t fake_clock(void)
{
    return fake_now += 5;
}

static envmgr_tap_result_t *parse_chunked(const char *data, size_t len, size_t chunk)
{
    envmgr_tap_parser_t *p = envmgr_tap_parser_new(fake_clock);
    for (size_t off = 0; off < len; off += chunk)
        envmgr_tap_parser_feed(p, data + off, len - off < chunk ? len - off : chunk);
    envmgr_tap_parser_finish(p);
    envmgr_tap_result_t *r = envmgr_tap_parser_take_result(p);
    envmgr_tap_parser_free(p);
    return r;
}

static void assert_same(const envmgr_tap_result_t *a, const envmgr_tap_result_t *b)
{
    assert_int_equal(a->version, b->version);
    assert_int_equal(a->has_plan, b->has_plan);
    assert_int_equal(a->planned, b->planned);
    assert_int_equal(a->ran, b->ran);
    assert_int_equal(a->passed, b->passed);
    assert_int_equal(a->failed, b->failed);
    assert_int_equal(a->skipped, b->skipped);
    assert_int_equal(a->todo, b->todo);
    assert_int_equal(a->garbage_lines, b->garbage_lines);
    assert_int_equal(a->truncated_lines, b->truncated_lines);
    assert_int_equal(a->out_of_order, b->out_of_order);
    assert_int_equal(a->ok, b->ok);
    assert_string_equal(a->verdict ? a->verdict : "(ok)", b->verdict ? b->verdict : "(ok)");
    assert_int_equal(a->n_tests, b->n_tests);
    for (size_t i = 0; i < a->n_tests; i++) {
        assert_string_equal(a->tests[i].description, b->tests[i].description);
        assert_int_equal(a->tests[i].status, b->tests[i].status);
        assert_string_equal(a->tests[i].message ? a->tests[i].message : "",
                            b->tests[i].message ? b->tests[i].message : "");
        assert_int_equal(a->tests[i].line, b->tests[i].line);
    }
}

/* Parses input three ways, checks they agree, returns the whole-buffer result. */
static envmgr_tap_result_t *parse(const char *input)
{
    size_t len = strlen(input);
    envmgr_tap_result_t *whole = parse_chunked(input, len, len ? len : 1);
    envmgr_tap_result_t *bytes = parse_chunked(input, len, 1);
    envmgr_tap_result_t *odd = parse_chunked(input, len, 7);
    assert_same(whole, bytes);
    assert_same(whole, odd);
    envmgr_tap_result_free(bytes);
    envmgr_tap_result_free(odd);
    return whole;
}

static void test_passing(void **state)
{
    envmgr_tap_result_t *r = parse("TAP version 13\n1..3\nok 1 - first\nok 2 second\nok\n");
    assert_int_equal(r->version, 13);
    assert_true(r->ok);
    assert_null(r->verdict);
    assert_int_equal(r->planned, 3);
    assert_int_equal(r->passed, 3);
    assert_int_equal(r->n_tests, 3);
    assert_string_equal(r->tests[0].description, "first");
    assert_string_equal(r->tests[1].description, "second");
    assert_int_equal(r->tests[2].number, 3);
    assert_int_equal(r->out_of_order, 0);
    envmgr_tap_result_free(r);
}

static void test_failing_with_yaml(void **state)
{
    envmgr_tap_result_t *r = parse("TAP version 14\n"
                                   "1..2\n"
                                   "ok 1 - fine\n"
                                   "not ok 2 - rows match\n"
                                   "  ---\n"
                                   "  message: 'expected 3 rows, got 2'\n"
                                   "  severity: fail\n"
                                   "  at:\n"
                                   "    file: suites/db.c\n"
                                   "    line: 42\n"
                                   "  ...\n");
    assert_int_equal(r->version, 14);
    assert_false(r->ok);
    assert_string_equal(r->verdict, "1 of 2 tests failed");
    assert_int_equal(r->failed, 1);
    envmgr_tap_test_t *t = &r->tests[1];
    assert_int_equal(t->status, ENVMGR_TAP_FAILED);
    assert_string_equal(t->message, "expected 3 rows, got 2");
    assert_string_equal(t->severity, "fail");
    assert_string_equal(t->file, "suites/db.c");
    assert_int_equal(t->line, 42);
    envmgr_tap_result_free(r);
}

static void test_directives(void **state)
{
    envmgr_tap_result_t *r = parse("1..4\n"
                                   "ok 1 - a # SKIP no network\n"
                                   "not ok 2 - b # TODO not written yet\n"
                                   "ok 3 - c \\# not a directive\n"
                                   "not ok 4 # skip\n");
    assert_true(r->ok);
    assert_int_equal(r->skipped, 2);
    assert_int_equal(r->todo, 1);
    assert_int_equal(r->passed, 1);
    assert_int_equal(r->failed, 0);
    assert_string_equal(r->tests[0].reason, "no network");
    assert_string_equal(r->tests[0].description, "a");
    assert_string_equal(r->tests[1].reason, "not written yet");
    assert_string_equal(r->tests[2].description, "c # not a directive");
    assert_null(r->tests[3].reason);
    envmgr_tap_result_free(r);
}

static void test_skip_all(void **state)
{
    envmgr_tap_result_t *r = parse("1..0 # SKIP no database here\n");
    assert_true(r->ok);
    assert_true(r->skip_all);
    assert_string_equal(r->skip_all_reason, "no database here");
    envmgr_tap_result_free(r);
}

static void test_plan_at_end_and_mismatch(void **state)
{
    envmgr_tap_result_t *r = parse("ok 1\nok 2\n1..2\n");
    assert_true(r->ok);
    assert_true(r->plan_at_end);
    envmgr_tap_result_free(r);

    /* a short line after a longer one must not read the longer one's leftovers */
    r = parse("ok 123456\n1..1\n");
    assert_int_equal(r->planned, 1);
    envmgr_tap_result_free(r);

    r = parse("1..10\nok 1\nok 2\nok 3\nok 4\nok 5\nok 6\nok 7\n");
    assert_false(r->ok);
    assert_string_equal(r->verdict, "planned 10, ran 7");
    envmgr_tap_result_free(r);
}

static void test_no_plan_and_garbage(void **state)
{
    envmgr_tap_result_t *r = parse("ok 1\nhello world\nok 2\n");
    assert_false(r->ok);
    assert_string_equal(r->verdict, "no plan (ran 2 tests)");
    assert_int_equal(r->garbage_lines, 1);
    assert_string_equal(r->first_garbage, "hello world");
    envmgr_tap_result_free(r);

    r = parse("");
    assert_false(r->ok);
    assert_string_equal(r->verdict, "no plan (no output)");
    envmgr_tap_result_free(r);

    r = parse("1..2\nok 1\nwarning: something odd\nok 2\n");
    assert_true(r->ok); /* garbage is noted, not fatal */
    assert_int_equal(r->garbage_lines, 1);
    envmgr_tap_result_free(r);
}

static void test_out_of_order_and_bail(void **state)
{
    envmgr_tap_result_t *r = parse("1..3\nok 1\nok 3\nok 2\n");
    assert_int_equal(r->out_of_order, 2);
    assert_true(r->ok);
    envmgr_tap_result_free(r);

    r = parse("1..3\nok 1\nBail out! database went away\n");
    assert_false(r->ok);
    assert_true(r->bailed_out);
    assert_string_equal(r->bail_reason, "database went away");
    assert_string_equal(r->verdict, "bailed out: database went away");
    envmgr_tap_result_free(r);
}

static void test_subtests(void **state)
{
    envmgr_tap_result_t *r = parse("TAP version 14\n"
                                   "1..2\n"
                                   "# Subtest: group\n"
                                   "    1..2\n"
                                   "    ok 1 - inner a\n"
                                   "    not ok 2 - inner b\n"
                                   "      ---\n"
                                   "      message: boom\n"
                                   "      file: t/x.c\n"
                                   "      line: 7\n"
                                   "      ...\n"
                                   "not ok 1 - group\n"
                                   "ok 2 - after\n");
    assert_int_equal(r->ran, 2); /* parent lines count, leaves do not */
    assert_int_equal(r->failed, 1);
    assert_string_equal(r->tests[0].description, "group");
    assert_string_equal(r->tests[0].message, "subtest 'inner b': boom at t/x.c");
    assert_string_equal(r->tests[0].file, "t/x.c");
    assert_int_equal(r->tests[0].line, 7);
    assert_string_equal(r->verdict, "1 of 2 tests failed");
    envmgr_tap_result_free(r);
}

static void test_crlf_and_no_final_newline(void **state)
{
    envmgr_tap_result_t *r = parse("1..2\r\nok 1 - a\r\nnot ok 2 - b");
    assert_int_equal(r->ran, 2);
    assert_int_equal(r->failed, 1);
    assert_string_equal(r->tests[0].description, "a");
    assert_string_equal(r->tests[1].description, "b");
    envmgr_tap_result_free(r);
}

static void test_huge_line(void **state)
{
    size_t big = 5 * 1024 * 1024;
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    envmgr_buf_adds(&b, "1..2\nok 1 - ");
    char *x = envmgr_xmalloc(big);
    memset(x, 'x', big);
    envmgr_buf_add(&b, x, big);
    envmgr_buf_adds(&b, "\nnot ok 2 - after the long line\n");
    free(x);
    envmgr_tap_result_t *r = parse_chunked(b.data, b.len, 4096);
    assert_int_equal(r->truncated_lines, 1);
    assert_int_equal(r->ran, 2);
    assert_int_equal(r->failed, 1);
    assert_true(strlen(r->tests[0].description) < ENVMGR_TAP_MAX_LINE);
    assert_string_equal(r->tests[1].description, "after the long line");
    envmgr_tap_result_free(r);
    envmgr_buf_free(&b);
}

static void test_record_cap(void **state)
{
    envmgr_tap_parser_t *p = envmgr_tap_parser_new(fake_clock);
    int n = 3 * ENVMGR_TAP_MAX_RECORDED;
    char line[64];
    int len = snprintf(line, sizeof(line), "1..%d\n", n);
    envmgr_tap_parser_feed(p, line, (size_t)len);
    for (int i = 1; i <= n; i++) {
        len = snprintf(line, sizeof(line), "%sok %d - t%d\n", i == n ? "not " : "", i, i);
        envmgr_tap_parser_feed(p, line, (size_t)len);
    }
    envmgr_tap_parser_finish(p);
    const envmgr_tap_result_t *r = envmgr_tap_parser_result(p);
    assert_int_equal(r->ran, n);
    assert_int_equal(r->passed, n - 1);
    assert_int_equal(r->n_tests, ENVMGR_TAP_MAX_RECORDED + 1); /* the failure is kept */
    assert_int_equal(r->tests_not_recorded, n - ENVMGR_TAP_MAX_RECORDED - 1);
    assert_string_equal(r->tests[r->n_tests - 1].description, "t3000");
    envmgr_tap_parser_free(p);
}

static void test_unterminated_yaml_and_durations(void **state)
{
    envmgr_tap_result_t *r = parse("1..2\nnot ok 1 - x\n  ---\n  message: cut short\nok 2 - y\n"
                                   "  ---\n  duration_ms: 1234\n  ...\n");
    assert_int_equal(r->ran, 2);
    assert_string_equal(r->tests[0].message, "cut short");
    assert_int_equal(r->tests[1].duration_ms, 1234);
    envmgr_tap_result_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_passing),
        cmocka_unit_test(test_failing_with_yaml),
        cmocka_unit_test(test_directives),
        cmocka_unit_test(test_skip_all),
        cmocka_unit_test(test_plan_at_end_and_mismatch),
        cmocka_unit_test(test_no_plan_and_garbage),
        cmocka_unit_test(test_out_of_order_and_bail),
        cmocka_unit_test(test_subtests),
        cmocka_unit_test(test_crlf_and_no_final_newline),
        cmocka_unit_test(test_huge_line),
        cmocka_unit_test(test_record_cap),
        cmocka_unit_test(test_unterminated_yaml_and_durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
