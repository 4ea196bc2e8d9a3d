/* The monitor (issue 14): x-envtest.monitor.alerts, the runner's measurements (a real suite that
 * allocates memory), alerts, the SQLite history and its trends, the HTML report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <envmgr/compose.h>
#include <envmgr/monitor.h>
#include <envmgr/report.h>
#include <envmgr/runner.h>
#include <envmgr/util.h>

static char dir[] = "/tmp/envtest-test-monitor-XXXXXX";

static int load(const char *yaml, envmgr_project_t **p, envmgr_error_t *err)
{
    envmgr_compose_options_t o = {.project_name = "t", .no_interpolate = true};
    return envmgr_compose_load_string(yaml, strlen(yaml), "/tmp/compose.yaml", &o, p, err);
}

static void test_compose_alerts(void **state)
{
    envmgr_project_t *p = NULL;
    envmgr_error_t err = {0};
    assert_int_equal(load("services: {a: {image: x}}\n", &p, &err), 0);
    assert_int_equal(p->alerts.duration_ms, 300000);
    assert_int_equal(p->alerts.memory_bytes, 1LL << 30);
    assert_true(p->alerts.error_rate == 0.10);
    assert_true(p->alerts.flaky_rate == 0 && p->alerts.slower_than_median == 0);
    envmgr_project_free(p);
    assert_int_equal(load("services: {a: {image: x}}\nx-envtest:\n  monitor:\n    alerts: "
                          "{duration: 90s, memory: 100MB, error_rate: 0.2, flaky_rate: 0.05, "
                          "slower_than_median: 1.5}\n",
                          &p, &err),
                     0);
    assert_int_equal(p->alerts.duration_ms, 90000);
    assert_int_equal(p->alerts.memory_bytes, 100LL << 20);
    assert_true(p->alerts.error_rate == 0.2 && p->alerts.flaky_rate == 0.05);
    assert_true(p->alerts.slower_than_median == 1.5);
    envmgr_project_free(p);
    assert_int_equal(load("services: {a: {image: x}}\nx-envtest: {monitor: {alerts: {memory: "
                          "1GiB, duration: off}}}\n",
                          &p, &err),
                     0);
    assert_int_equal(p->alerts.memory_bytes, 1LL << 30);
    assert_int_equal(p->alerts.duration_ms, 0);
    envmgr_project_free(p);

    struct {
        const char *yaml, *expect;
    } bad[] = {
        {"x-envtest:\n  monitor:\n    alerts: {memory: lots}\n",
         "compose.yaml:4:22: x-envtest.monitor.alerts.memory: 'lots' is not a size"},
        {"x-envtest:\n  monitor:\n    alerts: {cpu: 3}\n", "unknown alert 'cpu'"},
        {"x-envtest:\n  monitor:\n    alerts: {error_rate: 2}\n", "between 0 and 1"},
        {"x-envtest:\n  monitor: [1]\n", "x-envtest.monitor: expected a mapping"},
        {"x-envtest:\n  monitor: {alert: {}}\n", "unknown key 'alert'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        envmgr_cleanup_free char *yaml =
            envmgr_xasprintf("services: {a: {image: x}}\n%s", bad[i].yaml);
        envmgr_error_t e = {0};
        p = NULL;
        assert_int_equal(load(yaml, &p, &e), -1);
        if (strstr(e.message, bad[i].expect) == NULL)
            fail_msg("%s: got '%s'", bad[i].expect, e.message);
    }
}

/* ---- the runner's measurements ------------------------------------------------------------- */

static int slow_hook(void *userdata, const envmgr_suite_spec_t *suite, int attempt,
                     envmgr_kvlist_t *env, envmgr_error_t *err)
{
    usleep(400 * 1000); /* stands for the per-suite database clone */
    return 0;
}

static void test_runner_measures(void **state)
{
    const char *bin = getenv("ENVTEST_BINARY_DIR");
    envmgr_cleanup_free char *suite =
        envmgr_xasprintf("%s/tests/monitor_alloc_suite", bin ? bin : ".");
    envmgr_suite_list_t l = {0};
    const char *argv[] = {suite, "64", NULL};
    envmgr_suite_list_add(&l, "alloc", argv, true);
    envmgr_cleanup_free char *runs = envmgr_xasprintf("%s/runs", dir);
    envmgr_run_options_t o = {.jobs = 1, .runs_dir = runs, .before_suite = slow_hook};
    envmgr_run_result_t *run = NULL;
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_runner_run(&l, &o, &run, &err), 0);
    const envmgr_suite_attempt_t *a = envmgr_suite_result_last(&run->suites[0]);
    assert_int_equal(a->status, ENVMGR_SUITE_PASSED);
    assert_true(a->measured);
    print_message("# suite: %lld ms wall, %lld+%lld ms CPU, %lld KiB peak\n",
                  (long long)a->duration_ms, (long long)a->cpu_user_ms, (long long)a->cpu_system_ms,
                  (long long)a->peak_rss_kb);
#ifdef __SANITIZE_ADDRESS__
    /* the suite is an ASan build too: its shadow memory and quarantine add ~30 MB to the peak */
    assert_in_range(a->peak_rss_kb, 64 * 1024, 64 * 1024 + 48 * 1024);
#else
    assert_in_range(a->peak_rss_kb, 64 * 1024, 64 * 1024 + 16 * 1024);
#endif
    assert_true(a->cpu_user_ms + a->cpu_system_ms > 0);
    /* the 400 ms hook is before the process: not in the suite's time, nor in its first test's */
    assert_true(a->duration_ms < 400 + 10000);
    assert_int_equal(a->tap->n_tests, 2);
    const envmgr_tap_test_t *t1 = &a->tap->tests[0], *t2 = &a->tap->tests[1];
    assert_true(t1->measured && t2->measured);
    assert_true(t1->duration_ms <= a->duration_ms);
    assert_true(t1->duration_ms + t2->duration_ms <= a->duration_ms);
    assert_true(t1->peak_rss_kb < 32 * 1024);  /* the spin, before the allocation */
    assert_true(t2->peak_rss_kb >= 64 * 1024); /* the window of the allocation */
    json_t *entry = envmgr_report_suite_json(&run->suites[0]);
    assert_true(json_integer_value(json_object_get(entry, "peak_rss")) >= 64LL << 20);
    assert_true(json_is_number(json_object_get(entry, "cpu_time")));
    assert_true(json_is_number(
        json_object_get(json_array_get(json_object_get(entry, "tests"), 1), "peak_rss")));
    json_decref(entry);
    envmgr_run_result_free(run);
    envmgr_suite_list_free(&l);
}

/* ---- alerts, history, trends --------------------------------------------------------------- */

/* A report of one run: suite "s" taking `duration` s with `status`, test "t2" failing when
 * t2_fails; suite "big" at 200 MiB. */
static json_t *make_report(int i, double duration, const char *status, bool t2_fails)
{
    envmgr_cleanup_free char *id = envmgr_xasprintf("run-%03d", i);
    envmgr_cleanup_free char *start = envmgr_xasprintf("2026-11-%02dT10:00:00.000Z", 1 + i);
    json_t *r = json_pack(
        "{s:i, s:s, s:{s:s, s:s}, s:[{s:s, s:s, s:f, s:s, s:I, s:f, s:[{s:i, s:s, s:s, s:f}, "
        "{s:i, s:s, s:s, s:f, s:s, s:s, s:i}], s:[]}, {s:s, s:s, s:f, s:s, s:I, s:[{s:i, s:s, "
        "s:s, s:f}], s:[]}]}",
        "schema_version", 1, "run_id", id, "summary", "start", start, "end", start, "suites",
        "name", "s", "status", status, "duration", duration, "start", start, "peak_rss",
        (json_int_t)(10 << 20), "cpu_time", 0.5, "tests", "number", 1, "name", "t1", "status",
        "passed", "duration", duration / 2, "number", 2, "name", "t2", "status",
        t2_fails ? "failed" : "passed", "duration", 0.1, "message", "boom <b>", "file",
        "suites/s.c", "line", 42, "attempts", "name", "big", "status", "passed", "duration", 1.0,
        "start", start, "peak_rss", (json_int_t)(200 << 20), "tests", "number", 1, "name", "t",
        "status", "passed", "duration", 1.0, "attempts");
    json_t *suites = json_object_get(r, "suites");
    json_object_set_new(json_array_get(suites, 0), "tap_summary",
                        json_pack("{s:i, s:i, s:i}", "ran", 2, "passed", t2_fails ? 1 : 2, "failed",
                                  t2_fails ? 1 : 0));
    json_object_set_new(json_array_get(suites, 1), "tap_summary",
                        json_pack("{s:i, s:i, s:i}", "ran", 1, "passed", 1, "failed", 0));
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_report_analyze(r, &err), 0);
    return r;
}

static void test_alerts_history_trends(void **state)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/history.sqlite", dir);
    envmgr_history_t *h = NULL;
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_history_open(path, false, &h, &err), 0);
    /* no run yet: trends of nothing (an empty window once sorted a NULL list: UBSan) */
    json_t *none = NULL;
    assert_int_equal(envmgr_history_trends(h, 0, &none, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(none, "runs")), 0);
    assert_true(json_is_null(json_object_get(none, "pass_rate")));
    json_decref(none);
    for (int i = 0; i < 6; i++) {
        json_t *r = make_report(i, 1.0 + 0.01 * i, i % 3 == 1 ? "flaky" : "passed", i % 2 == 1);
        assert_int_equal(envmgr_history_record(h, r, &err), 0);
        json_decref(r);
    }
    /* run 6: slow, flaky, a failing test, and the 200 MiB suite */
    envmgr_alert_limits_t limits = ENVMGR_ALERT_LIMITS_DEFAULT;
    limits.duration_ms = 3000;
    limits.memory_bytes = 100 << 20;
    limits.flaky_rate = 0.05;
    limits.slower_than_median = 1.5;
    json_t *r = make_report(6, 4.0, "flaky", true);
    json_t *alerts = envmgr_monitor_alerts(r, &limits, h);
    char *text = json_dumps(alerts, JSON_INDENT(1));
    print_message("# alerts: %s\n", text);
    const char *want[] = {"duration", "memory", "error_rate", "flaky_rate", "slower_than_median"};
    for (size_t k = 0; k < 5; k++)
        if (strstr(text, want[k]) == NULL)
            fail_msg("no %s alert", want[k]);
    free(text);
    size_t i;
    json_t *a;
    json_array_foreach(alerts, i, a)
    {
        const char *type = json_string_value(json_object_get(a, "type"));
        const char *suite = json_string_value(json_object_get(a, "suite"));
        if (!strcmp(type, "memory")) {
            assert_string_equal(suite, "big");
            assert_true(json_number_value(json_object_get(a, "value")) == (double)(200 << 20));
            assert_true(json_number_value(json_object_get(a, "limit")) == (double)(100 << 20));
            assert_non_null(strstr(json_string_value(json_object_get(a, "message")), "200.0 MiB"));
        }
        if (!strcmp(type, "slower_than_median"))
            assert_string_equal(suite, "s");
    }
    json_object_set_new(r, "alerts", alerts);
    assert_int_equal(envmgr_history_record(h, r, &err), 0);
    assert_int_equal(envmgr_history_record(h, r, &err), 0); /* the same run again: replaced */

    json_t *runs = NULL;
    assert_int_equal(envmgr_history_runs(h, 50, &runs, &err), 0);
    assert_int_equal(json_array_size(runs), 7);
    assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 6), "run_id")),
                        "run-006");

    json_t *t = NULL;
    assert_int_equal(envmgr_history_trends(h, 0, &t, &err), 0);
    text = json_dumps(t, JSON_INDENT(1));
    print_message("# trends: %s\n", text);
    free(text);
    assert_int_equal(json_integer_value(json_object_get(t, "runs")), 7);
    assert_int_equal(json_integer_value(json_object_get(t, "suite_runs")), 14);
    /* flaky: runs 1, 4 and 6 of suite s */
    assert_true(json_number_value(json_object_get(t, "flaky_rate")) == 0.2143);
    const json_t *ft = json_array_get(json_object_get(t, "flakiest_tests"), 0);
    assert_string_equal(json_string_value(json_object_get(ft, "name")), "t2");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(t, "slowest_tests"), 0), "name")),
                        "t");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(t, "slower_suites"), 0), "suite")),
                        "s");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(t, "alerts"), "memory")),
                     1);
    json_decref(t);

    /* the HTML page, with suite s failed (failures show their TAP diagnostics) */
    json_object_set_new(json_array_get(json_object_get(r, "suites"), 0), "status",
                        json_string("failed"));
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    envmgr_report_html(r, runs, NULL, &b);
    const char *page = b.data;
    const char *ids[] = {"chart-pass-rate", "chart-duration", "chart-slowest-tests",
                         "chart-memory"};
    for (size_t k = 0; k < 4; k++)
        if (strstr(page, ids[k]) == NULL)
            fail_msg("no %s in the page", ids[k]);
    assert_non_null(strstr(page, "<svg"));
    assert_non_null(strstr(page, "boom &lt;b&gt;"));
    assert_non_null(strstr(page, "suites/s.c:42"));
    assert_null(strstr(page, "<script"));
    assert_null(strstr(page, " src="));
    assert_null(strstr(page, "<link"));
    envmgr_buf_free(&b);
    json_decref(runs);
    json_decref(r);
    envmgr_history_close(h);
}

static int setup(void **state)
{
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    envmgr_cleanup_free char *cmd = envmgr_xasprintf("rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compose_alerts),
        cmocka_unit_test(test_runner_measures),
        cmocka_unit_test(test_alerts_history_trends),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
