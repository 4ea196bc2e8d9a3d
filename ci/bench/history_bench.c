/* Benchmark of the run history (issue 14): seeds a history with RUNS runs (4 suites x 8 tests
 * each, one an hour back from now, some flaky or failing), then times recording one run of TESTS
 * tests: envmgr_history_record alone, and envmgr_monitor_record (load report.json, record, read
 * the runs for the charts, write report.html), median of 5. `envtest trends` is timed by
 * ci/bench/history.sh on the seeded file.
 * Usage: history_bench DB [RUNS] [TESTS]   (default 10000 10000). Prints one line per figure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <envmgr/monitor.h>
#include <envmgr/report.h>
#include <envmgr/util.h>

static char *iso(time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[32];
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
    return envmgr_xstrdup(buf);
}

/* A report with n_suites suites of n_tests tests each. */
static json_t *make_report(const char *run_id, time_t start, int n_suites, int n_tests, int seed)
{
    envmgr_cleanup_free char *when = iso(start);
    json_t *suites = json_array();
    for (int s = 0; s < n_suites; s++) {
        json_t *tests = json_array();
        int failed = 0;
        for (int t = 0; t < n_tests; t++) {
            bool fail = (seed + s * 7 + t) % 97 == 0;
            failed += fail;
            envmgr_cleanup_free char *name = envmgr_xasprintf("test %d of suite %d", t + 1, s);
            json_t *test =
                json_pack("{s:i, s:s, s:s, s:f, s:f, s:I}", "number", t + 1, "name", name, "status",
                          fail ? "failed" : "passed", "duration", 0.001 * ((t * 13 + seed) % 50),
                          "cpu_time", 0.0005, "peak_rss", (json_int_t)(8 << 20));
            if (fail)
                json_object_set_new(test, "message", json_string("expected 3 rows, got 2"));
            json_array_append_new(tests, test);
        }
        envmgr_cleanup_free char *name = envmgr_xasprintf("suite-%d", s);
        const char *status = failed ? ((seed + s) % 3 ? "failed" : "flaky") : "passed";
        json_t *suite = json_pack(
            "{s:s, s:s, s:f, s:s, s:f, s:I, s:[], s:{s:i, s:i, s:i}, s:o}", "name", name, "status",
            status, "duration", 1.0 + 0.01 * ((seed + s) % 100), "start", when, "cpu_time", 0.5,
            "peak_rss", (json_int_t)(50 << 20), "attempts", "tap_summary", "ran", n_tests, "passed",
            n_tests - failed, "failed", failed, "tests", tests);
        json_array_append_new(suites, suite);
    }
    json_t *r =
        json_pack("{s:i, s:s, s:{s:s, s:s}, s:o, s:{s:s, s:[], s:n}, s:[]}", "schema_version", 1,
                  "run_id", run_id, "summary", "start", when, "end", when, "suites", suites,
                  "environment", "compose_hash", "0123abcd", "fixtures", "git_commit", "alerts");
    envmgr_error_t err = {0};
    envmgr_report_analyze(r, &err);
    return r;
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), by_value);
    return v[n / 2];
}

static int die(const envmgr_error_t *err)
{
    fprintf(stderr, "history_bench: %s\n", err->message);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: history_bench DB [RUNS] [TESTS]\n");
        return 2;
    }
    const char *db = argv[1];
    int runs = argc > 2 ? atoi(argv[2]) : 10000, n_tests = argc > 3 ? atoi(argv[3]) : 10000;
    envmgr_error_t err = {0};
    envmgr_history_t *h = NULL;
    if (runs > 0)
        remove(db); /* RUNS=0: time an existing history */
    if (envmgr_history_open(db, false, &h, &err) < 0)
        return die(&err);
    time_t now = time(NULL);
    int64_t t0 = envmgr_now_ms();
    for (int i = 0; i < runs; i++) {
        envmgr_cleanup_free char *id = envmgr_xasprintf("seed-%06d", i);
        json_t *r = make_report(id, now - (time_t)(runs - i) * 3600, 4, 8, i);
        int rc = envmgr_history_record(h, r, &err);
        json_decref(r);
        if (rc < 0)
            return die(&err);
    }
    printf("seeded %d runs (4 suites x 8 tests) in %.1f s\n", runs,
           (envmgr_now_ms() - t0) / 1000.0);

    /* one run of n_tests tests: 10 suites, written as report.json in a run folder */
    char dir[] = "/tmp/envtest-history-bench-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    double record[5], monitor[5], record_cpu[5], monitor_cpu[5];
    envmgr_monitor_options_t mo = {.history_path = db};
    for (int k = 0; k < 5; k++) {
        envmgr_cleanup_free char *id = envmgr_xasprintf("big-%d", k);
        json_t *r = make_report(id, now, 10, n_tests / 10, k);
        int64_t a = envmgr_now_ms();
        double c = cpu_ms();
        if (envmgr_history_record(h, r, &err) < 0)
            return die(&err);
        record[k] = (double)(envmgr_now_ms() - a);
        record_cpu[k] = cpu_ms() - c;
        envmgr_cleanup_free char *big = envmgr_xasprintf("bigm-%d", k);
        json_object_set_new(r, "run_id", json_string(big));
        if (envmgr_report_write(r, dir, &err) < 0)
            return die(&err);
        json_decref(r);
        a = envmgr_now_ms();
        c = cpu_ms();
        envmgr_monitor_t *m = envmgr_monitor_open(&mo);
        if (envmgr_monitor_record(m, dir, NULL, &err) < 0 || envmgr_monitor_warning(m)) {
            fprintf(stderr, "history_bench: %s\n",
                    envmgr_monitor_warning(m) ? envmgr_monitor_warning(m) : err.message);
            return 1;
        }
        envmgr_monitor_close(m);
        monitor[k] = (double)(envmgr_now_ms() - a);
        monitor_cpu[k] = cpu_ms() - c;
    }
    envmgr_history_close(h);
    printf("record a run of %d tests (medians of 5; target <= 100 ms): history only %.0f ms wall, "
           "%.0f ms CPU; envtest run's whole monitor step (report.json loaded, recorded, "
           "report.html written) %.0f ms wall, %.0f ms CPU\n",
           n_tests, median(record, 5), median(record_cpu, 5), median(monitor, 5),
           median(monitor_cpu, 5));
    envmgr_cleanup_free char *rm = envmgr_xasprintf("rm -rf '%s'", dir);
    return system(rm) == 0 ? 0 : 1;
}
