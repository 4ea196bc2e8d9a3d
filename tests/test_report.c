/* Report tests over real runs of tests/suites/: ADR-009 fields, JUnit well-formedness (xmllint),
 * Markdown, GitHub annotations, and merge of shard reports == the unsharded report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <envmgr/monitor.h>
#include <envmgr/report.h>
#include <envmgr/runner.h>
#include <envmgr/util.h>

static char runs_dir[] = "/tmp/envtest-test-report-XXXXXX";

static void add(envmgr_suite_list_t *l, const char *name, const char *script, bool is_tap)
{
    const char *src = getenv("ENVTEST_SOURCE_DIR");
    envmgr_cleanup_free char *path =
        envmgr_xasprintf("%s/tests/suites/%s", src ? src : ".", script);
    const char *argv[] = {path, NULL};
    envmgr_suite_list_add(l, name, argv, is_tap);
}

static void make_suites(envmgr_suite_list_t *l)
{
    add(l, "pass", "pass.sh", true);
    add(l, "fail", "fail.sh", true);
    add(l, "skip", "skip.sh", true);
    add(l, "todo", "todo.sh", true);
    add(l, "flaky", "flaky.sh", true);
    add(l, "crash", "crash.sh", true);
    add(l, "plan", "plan_mismatch.sh", true);
    add(l, "exit3", "exit3.sh", false);
    add(l, "missing", "missing.sh", true);
    add(l, "pass-again", "pass.sh", true);
}

static json_t *run_report(envmgr_suite_list_t *l)
{
    envmgr_run_options_t o = {.jobs = 4, .retries = 1, .runs_dir = runs_dir};
    envmgr_run_result_t *r = NULL;
    envmgr_error_t err = {0};
    if (envmgr_runner_run(l, &o, &r, &err) < 0)
        fail_msg("%s", err.message);
    json_t *report = envmgr_report_from_run(r);
    envmgr_run_result_free(r);
    return report;
}

static json_int_t sum_int(const json_t *report, const char *key)
{
    return json_integer_value(json_object_get(json_object_get(report, "summary"), key));
}

static const json_t *suite_named(const json_t *report, const char *name)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(report, "suites"), i,
                       s) if (strcmp(json_string_value(json_object_get(s, "name")), name) ==
                              0) return s;
    fail_msg("no suite %s", name);
    return NULL;
}

static bool has_error(const json_t *report, const char *message, int count)
{
    const json_t *errors =
        json_object_get(json_object_get(report, "error_analysis"), "common_errors");
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "message")), message) == 0)
            return json_integer_value(json_object_get(e, "count")) == count;
    }
    return false;
}

static void test_report_fields(void **state)
{
    envmgr_suite_list_t l = {0};
    make_suites(&l);
    json_t *report = run_report(&l);
    assert_string_equal(json_string_value(json_object_get(report, "status")), "failed");
    assert_int_equal(sum_int(report, "total"), 10);
    assert_int_equal(sum_int(report, "passed"), 3); /* pass, todo, pass-again */
    assert_int_equal(sum_int(report, "flaky"), 1);
    assert_int_equal(sum_int(report, "skipped"), 1);
    assert_int_equal(sum_int(report, "failed"), 5); /* fail, crash, plan, exit3, missing */
    assert_int_equal(sum_int(report, "errors"), 1);
    /* (3 passed + 1 flaky) / (10 - 1 skipped) */
    assert_float_equal(
        json_real_value(json_object_get(json_object_get(report, "summary"), "pass_rate")), 44.44,
        0.001);
    assert_non_null(
        json_string_value(json_object_get(json_object_get(report, "summary"), "start")));
    const json_t *bd = json_object_get(json_object_get(report, "test_breakdown"), "fail");
    assert_int_equal(json_integer_value(json_object_get(bd, "total_tests")), 2);
    assert_int_equal(json_integer_value(json_object_get(bd, "failed_tests")), 1);
    assert_int_equal(json_integer_value(json_object_get(bd, "attempts")), 2); /* retried once */
    assert_true(has_error(report, "expected 3 rows, got 2", 1));
    assert_true(has_error(report, "killed by signal 11 (SIGSEGV)", 1));
    assert_true(has_error(report, "planned 10, ran 7", 1));
    assert_true(has_error(report, "exited with status 3", 1));
    const json_t *perf = json_object_get(report, "performance_analysis");
    assert_int_equal(json_array_size(json_object_get(perf, "slowest_suites")), 5);
    assert_true(json_real_value(json_object_get(perf, "max_execution_time")) >=
                json_real_value(json_object_get(perf, "min_execution_time")));
    assert_string_equal(json_string_value(json_object_get(suite_named(report, "flaky"), "status")),
                        "flaky");
    const json_t *fail_test =
        json_array_get(json_object_get(suite_named(report, "fail"), "tests"), 1);
    assert_string_equal(json_string_value(json_object_get(fail_test, "file")), "suites/db_test.c");

    /* write the three files; junit.xml must be well-formed and carry file/line */
    envmgr_cleanup_free char *dir = envmgr_xasprintf("%s/written", runs_dir);
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_report_write(report, dir, &err), 0);
    if (access("/usr/bin/xmllint", X_OK) == 0) {
        envmgr_cleanup_free char *cmd = envmgr_xasprintf("xmllint --noout '%s/junit.xml'", dir);
        assert_int_equal(system(cmd), 0);
    }
    envmgr_cleanup_free char *junit_path = envmgr_xasprintf("%s/junit.xml", dir);
    envmgr_cleanup_free char *junit = NULL;
    size_t len;
    assert_int_equal(envmgr_read_file(junit_path, &junit, &len, &err), 0);
    assert_non_null(strstr(junit, "file=\"suites/db_test.c\" line=\"42\""));
    assert_non_null(strstr(junit, "<failure message=\"expected 3 rows, got 2\""));
    assert_non_null(strstr(junit, "type=\"error\"")); /* missing.sh could not start */
    assert_non_null(strstr(junit, "<skipped message=\"offline\"/>"));
    assert_non_null(strstr(junit, "<skipped message=\"no GPU on this host\"/>"));

    json_t *loaded = NULL;
    assert_int_equal(envmgr_report_load(dir, &loaded, &err), 0);
    assert_true(json_equal(loaded, report));
    json_decref(loaded);

    envmgr_buf_t md = ENVMGR_BUF_INIT;
    envmgr_report_markdown(report, &md);
    assert_non_null(strstr(md.data, "| 10 | 3 | 5 | 1 | 1 | 0 | 44.44% |"));
    assert_non_null(strstr(md.data, "- **crash** (failed): killed by signal 11 (SIGSEGV)"));
    envmgr_buf_free(&md);

    envmgr_buf_t gh = ENVMGR_BUF_INIT;
    envmgr_report_github_annotations(report, &gh);
    assert_non_null(strstr(gh.data,
                           "::error file=suites/db_test.c,line=42,title=fail%3A not ok 2 - "
                           "rows match::expected 3 rows, got 2\n"));
    assert_non_null(strstr(gh.data, "::warning title=flaky::flaky: passed on attempt 2"));
    envmgr_buf_free(&gh);
    json_decref(report);
    envmgr_suite_list_free(&l);
}

/* Removes what legitimately differs between runs: ids, times, output file names. */
static void strip_variable(json_t *j)
{
    static const char *const keys[] = {
        "run_id", "start", "end", "duration", "execution_time", "avg_execution_time",
        "min_execution_time", "max_execution_time", "total_execution_time", "slowest_suites",
        "slowest_tests", "merged_from", "shard", "output",
        /* measured (runner.h) */
        "cpu_time", "cpu_user", "cpu_system", "peak_rss"};
    if (json_is_object(j)) {
        for (size_t i = 0; i < ENVMGR_ARRAY_SIZE(keys); i++)
            json_object_del(j, keys[i]);
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) strip_variable(v);
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) strip_variable(v);
    }
}

static void test_merge_equals_unsharded(void **state)
{
    envmgr_suite_list_t all = {0};
    make_suites(&all);
    json_t *whole = run_report(&all);
    enum { SHARDS = 3 };
    json_t *parts[SHARDS];
    size_t covered = 0;
    for (int k = 1; k <= SHARDS; k++) {
        envmgr_suite_list_t l = {0};
        make_suites(&l);
        envmgr_error_t err = {0};
        assert_int_equal(envmgr_suite_list_shard(&l, k, SHARDS, &err), 0);
        covered += l.n;
        parts[k - 1] = run_report(&l);
        envmgr_suite_list_free(&l);
    }
    assert_int_equal(covered, all.n);
    json_t *merged = NULL;
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_report_merge(parts, SHARDS, &merged, &err), 0);
    strip_variable(whole);
    strip_variable(merged);
    if (!json_equal(whole, merged)) {
        char *a = json_dumps(whole, JSON_INDENT(1) | JSON_SORT_KEYS);
        char *b = json_dumps(merged, JSON_INDENT(1) | JSON_SORT_KEYS);
        print_message("unsharded:\n%s\nmerged:\n%s\n", a, b);
        free(a);
        free(b);
        fail_msg("merged shard reports differ from the unsharded report");
    }
    /* a suite in two reports is refused */
    json_t *dup[2] = {parts[0], parts[0]};
    json_t *bad = NULL;
    if (json_array_size(json_object_get(parts[0], "suites")) > 0) {
        assert_int_equal(envmgr_report_merge(dup, 2, &bad, &err), -1);
        assert_non_null(strstr(err.message, "appears in two reports"));
    }
    for (int k = 0; k < SHARDS; k++)
        json_decref(parts[k]);
    json_decref(merged);
    json_decref(whole);
    envmgr_suite_list_free(&all);
}

static void save_finished(void *userdata, const envmgr_run_event_t *ev)
{
    envmgr_error_t err = {0};
    if (ev->kind == ENVMGR_RUN_SUITE_FINISHED &&
        envmgr_report_save_suite(ev->result, ev->run_dir, &err) < 0)
        fail_msg("%s", err.message);
}

/* The CLI's path: suites saved when they finish, records compacted, reports streamed. */
static void test_streamed_equals_dom(void **state)
{
    envmgr_suite_list_t l = {0};
    make_suites(&l);
    /* 50 passing tests, the slowest last (YAML durations): the run's 10 slowest are all here */
    const char *many[] = {"sh", "-c",
                          "echo 1..50; for i in $(seq 50); do echo ok $i - t$i; echo '  ---';"
                          " echo \"  duration_ms: $((i * 10))\"; echo '  ...'; done",
                          NULL};
    envmgr_suite_list_add(&l, "many", many, true);
    json_t *dom = run_report(&l);

    envmgr_run_options_t o = {.jobs = 4,
                              .retries = 1,
                              .runs_dir = runs_dir,
                              .progress = save_finished,
                              .compact_finished = true};
    envmgr_run_result_t *r = NULL;
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_runner_run(&l, &o, &r, &err), 0);
    const envmgr_suite_result_t *m = &r->suites[l.n - 1];
    assert_int_equal(envmgr_suite_result_last(m)->tap->n_tests,
                     ENVMGR_RUNNER_KEEP_SLOWEST); /* compacted */
    json_t *light = envmgr_report_from_run(r);
    envmgr_cleanup_free char *dir = envmgr_xasprintf("%s/streamed", runs_dir);
    assert_int_equal(envmgr_report_write_run(r, light, dir, &err), 0);
    json_t *streamed = NULL;
    assert_int_equal(envmgr_report_load(dir, &streamed, &err), 0);
    assert_int_equal(json_array_size(json_object_get(
                         json_array_get(json_object_get(streamed, "suites"), 4), "tests")),
                     50); /* "many", sorted 5th: the full list came back from the saved entry */
    if (access("/usr/bin/xmllint", X_OK) == 0) {
        envmgr_cleanup_free char *cmd = envmgr_xasprintf("xmllint --noout '%s/junit.xml'", dir);
        assert_int_equal(system(cmd), 0);
    }
    /* report.html is drawn from the compacted report (envmgr_monitor_record_run): the same page
     * as from the full one (slowest tests, failures) */
    envmgr_buf_t from_light = ENVMGR_BUF_INIT, from_full = ENVMGR_BUF_INIT;
    envmgr_report_html(light, NULL, r->run_dir, &from_light);
    envmgr_report_html(streamed, NULL, r->run_dir, &from_full);
    assert_non_null(strstr(from_full.data, "many: t41"));
    assert_string_equal(from_light.data, from_full.data);
    envmgr_buf_free(&from_light);
    envmgr_buf_free(&from_full);
    strip_variable(dom);
    strip_variable(streamed);
    if (!json_equal(dom, streamed)) {
        char *a = json_dumps(dom, JSON_INDENT(1) | JSON_SORT_KEYS);
        char *b = json_dumps(streamed, JSON_INDENT(1) | JSON_SORT_KEYS);
        print_message("dom:\n%s\nstreamed:\n%s\n", a, b);
        free(a);
        free(b);
        fail_msg("the streamed report differs from the one built in memory");
    }
    json_decref(streamed);
    json_decref(light);
    json_decref(dom);
    envmgr_run_result_free(r);
    envmgr_suite_list_free(&l);
}

static const json_t *stats_row(const json_t *rows, const char *suite)
{
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) if (strcmp(json_string_value(json_object_get(r, "suite")),
                                              suite) == 0) return r;
    fail_msg("no history row for %s", suite);
    return NULL;
}

static json_int_t row_int(const json_t *rows, const char *suite, const char *key)
{
    return json_integer_value(json_object_get(stats_row(rows, suite), key));
}

static void test_history(void **state)
{
    envmgr_cleanup_free char *db = envmgr_xasprintf("%s/history.sqlite", runs_dir);
    envmgr_suite_list_t l = {0};
    make_suites(&l);
    envmgr_error_t err = {0};
    json_t *first = run_report(&l);
    json_t *second = run_report(&l);
    assert_int_equal(envmgr_report_history_append(db, first, &err), 0);
    assert_int_equal(envmgr_report_history_append(db, first, &err), 0); /* replaced, not added */
    assert_int_equal(envmgr_report_history_append(db, second, &err), 0);
    json_t *rows = NULL;
    assert_int_equal(envmgr_report_history_stats(db, 0, &rows, &err), 0);
    assert_int_equal(json_array_size(rows), l.n);
    assert_int_equal(row_int(rows, "pass", "runs"), 2);
    assert_int_equal(row_int(rows, "pass", "passed"), 2);
    assert_int_equal(row_int(rows, "fail", "failed"), 2);
    assert_int_equal(row_int(rows, "flaky", "flaky"), 2);
    assert_int_equal(row_int(rows, "skip", "passed"), 2);
    json_decref(rows);
    assert_int_equal(envmgr_report_history_stats(db, 1, &rows, &err), 0);
    assert_int_equal(row_int(rows, "pass", "runs"), 1); /* the last run only */
    json_decref(rows);
    json_decref(first);
    json_decref(second);
    envmgr_suite_list_free(&l);
}

static void test_invalid_utf8(void **state)
{
    envmgr_suite_list_t l = {0};
    const char *argv[] = {
        "sh", "-c", "printf '1..2\\nok 1 - caf\\351\\n\\377garbage\\nnot ok 2 - bad \\377\\n'",
        NULL};
    envmgr_suite_list_add(&l, "bytes\377", argv, true);
    json_t *report = run_report(&l);
    const json_t *suite = json_array_get(json_object_get(report, "suites"), 0);
    assert_string_equal(json_string_value(json_object_get(suite, "name")), "bytes\xEF\xBF\xBD");
    const json_t *tests = json_object_get(suite, "tests");
    assert_int_equal(json_array_size(tests), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(tests, 0), "name")),
                        "caf\xEF\xBF\xBD");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(suite, "tap_summary"), "first_garbage")),
        "\xEF\xBF\xBDgarbage");
    assert_true(has_error(report, "not ok: bad \xEF\xBF\xBD", 1));
    json_decref(report);
    envmgr_suite_list_free(&l);
}

static void test_xml_escape(void **state)
{
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    envmgr_xml_escape(&b, "a<b>&\"c'\x01 \xff\xc3\xa9\n\xed\xa0\x80!");
    assert_string_equal(b.data, "a&lt;b&gt;&amp;&quot;c&apos;\xEF\xBF\xBD \xEF\xBF\xBD\xc3\xa9&#10;"
                                "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD!");
    envmgr_buf_free(&b);
}

static void test_find_run(void **state)
{
    envmgr_cleanup_free char *base = envmgr_xasprintf("%s/find", runs_dir);
    envmgr_error_t err = {0};
    char *found = NULL;
    assert_int_equal(envmgr_report_find_run(base, NULL, &found, &err), -1);
    assert_int_equal(err.kind, ENVMGR_E_NOT_FOUND);
    const char *ids[] = {"20261124T060000Z-aaaa", "20261124T070000Z-bbbb", "20261123T230000Z-cccc"};
    for (size_t i = 0; i < 3; i++) {
        envmgr_cleanup_free char *d = envmgr_xasprintf("%s/%s", base, ids[i]);
        assert_int_equal(envmgr_mkdir_p(d, 0755, &err), 0);
    }
    assert_int_equal(envmgr_report_find_run(base, NULL, &found, &err), 0);
    assert_non_null(strstr(found, "20261124T070000Z-bbbb"));
    free(found);
    assert_int_equal(envmgr_report_find_run(base, "20261123", &found, &err), 0);
    assert_non_null(strstr(found, "cccc"));
    free(found);
    assert_int_equal(envmgr_report_find_run(base, "20261124", &found, &err), -1);
    assert_non_null(strstr(err.message, "ambiguous"));
    char *id = envmgr_run_id_new();
    assert_int_equal(strlen(id), strlen("20261124T063012Z-1a2b"));
    assert_int_equal(id[8], 'T');
    assert_int_equal(id[16], '-');
    free(id);
}

static int setup(void **state)
{
    return mkdtemp(runs_dir) ? 0 : -1;
}

static int teardown(void **state)
{
    if (getenv("ENVTEST_KEEP_TEST_DIR")) {
        print_message("# kept %s\n", runs_dir);
        return 0;
    }
    envmgr_cleanup_free char *cmd = envmgr_xasprintf("rm -rf '%s'", runs_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_fields),
        cmocka_unit_test(test_merge_equals_unsharded),
        cmocka_unit_test(test_streamed_equals_dom),
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_xml_escape),
        cmocka_unit_test(test_find_run),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
