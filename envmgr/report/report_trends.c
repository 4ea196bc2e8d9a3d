/* Trends over the history (envtest trends): see envmgr_history_trends in monitor.h. Reads the
 * runs and suite_results tables and the daily test aggregates (test_daily), never every test row,
 * so that it answers in milliseconds over thousands of runs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report_history.h"

#define TOP 5

static int query_into(envmgr_history_t *h, json_t *out, const char *key, const char *sql,
                      const char *const *names, const history_bind_t *binds, size_t n,
                      envmgr_error_t *err)
{
    json_t *rows = NULL;
    if (history_query(h, sql, names, binds, n, &rows, err) < 0)
        return -1;
    json_object_set_new(out, key, rows);
    return 0;
}

/* The window's run figures: count, pass rate (suites that ran and passed or were flaky over suites
 * that ran), average and p95 run duration. */
static int run_figures(envmgr_history_t *h, double since, json_t *out, envmgr_error_t *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(history_db(h),
                           "SELECT duration, passed + flaky, suites - skipped FROM runs"
                           " WHERE start_epoch >= ?1 ORDER BY duration",
                           -1, &st, NULL) != SQLITE_OK)
        return history_error(h, "trends", err);
    sqlite3_bind_double(st, 1, since);
    size_t n = 0, cap = 0;
    double *durations = NULL, total = 0;
    int64_t ok = 0, ran = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        durations = envmgr_xgrow(durations, n, &cap, sizeof(*durations));
        durations[n] = sqlite3_column_double(st, 0);
        total += durations[n++];
        ok += sqlite3_column_int64(st, 1);
        ran += sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(durations);
        return history_error(h, "trends", err);
    }
    /* nearest rank: the smallest duration with at least 95 % of the runs at or below it */
    size_t rank = n ? (size_t)ceil(0.95 * (double)n) : 0;
    json_object_set_new(out, "runs", json_integer((json_int_t)n));
    json_object_set_new(out, "pass_rate",
                        ran ? json_real(round(10000.0 * (double)ok / (double)ran) / 100.0)
                            : json_null());
    json_object_set_new(out, "avg_duration", n ? json_real(total / (double)n) : json_null());
    json_object_set_new(out, "p95_duration", n ? json_real(durations[rank - 1]) : json_null());
    free(durations);
    return 0;
}

static int suite_figures(envmgr_history_t *h, double since, json_t *out, envmgr_error_t *err)
{
    history_bind_t bind = {.number = since};
    json_t *rows = NULL;
    static const char *const totals[] = {"suite_runs", "flaky", NULL};
    if (history_query(h,
                      "SELECT COUNT(*), SUM(s.status = 'flaky') FROM suite_results s JOIN runs r"
                      " USING (run_id) WHERE r.start_epoch >= ?1 AND s.status <> 'not_run'",
                      totals, &bind, 1, &rows, err) < 0)
        return -1;
    const json_t *row = json_array_get(rows, 0);
    json_int_t runs = json_integer_value(json_object_get(row, "suite_runs"));
    json_int_t flaky = json_integer_value(json_object_get(row, "flaky"));
    json_object_set_new(out, "suite_runs", json_integer(runs));
    json_object_set_new(out, "flaky_rate",
                        runs ? json_real(round(10000.0 * (double)flaky / (double)runs) / 10000.0)
                             : json_null());
    json_object_set_new(out, "flaky_target", json_real(0.05));
    json_decref(rows);
    static const char *const flakiest[] = {"suite", "runs", "flaky", "failed", "rate", NULL};
    static const char *const slower[] = {"suite", "before", "after", "ratio", NULL};
    char sql_slower[] =
        "WITH w AS (SELECT s.suite, s.duration, r.start_epoch,"
        " NTILE(2) OVER (PARTITION BY s.suite ORDER BY r.start_epoch) AS half"
        " FROM suite_results s JOIN runs r USING (run_id) WHERE r.start_epoch >= ?1"
        " AND s.status IN ('passed','flaky')),"
        " a AS (SELECT suite, AVG(CASE WHEN half = 1 THEN duration END) AS before,"
        " AVG(CASE WHEN half = 2 THEN duration END) AS after, COUNT(*) AS n FROM w GROUP BY suite)"
        " SELECT suite, before, after, after / before AS ratio FROM a WHERE n >= 4 AND before > 0"
        " AND after / before >= 1.2 ORDER BY ratio DESC LIMIT 5";
    return query_into(h, out, "flakiest_suites",
                      "SELECT s.suite, COUNT(*) AS n, SUM(s.status = 'flaky') AS f,"
                      " SUM(s.status NOT IN ('passed','skipped','flaky','not_run')),"
                      " ROUND(1.0 * SUM(s.status = 'flaky') / COUNT(*), 4)"
                      " FROM suite_results s JOIN runs r USING (run_id) WHERE r.start_epoch >= ?1"
                      " AND s.status <> 'not_run' GROUP BY s.suite HAVING f > 0"
                      " ORDER BY 1.0 * f / n DESC, s.suite LIMIT 5",
                      flakiest, &bind, 1, err) < 0 ||
                   query_into(h, out, "slower_suites", sql_slower, slower, &bind, 1, err) < 0
               ? -1
               : 0;
}

static int test_figures(envmgr_history_t *h, double since, json_t *out, envmgr_error_t *err)
{
    history_bind_t bind = {.number = floor(since / 86400.0)};
    static const char *const flakiest[] = {"suite", "name", "runs", "failed", "rate", NULL};
    static const char *const slowest[] = {"suite",        "name",         "runs",
                                          "avg_duration", "max_duration", NULL};
    /* a flaky test passes in some runs and fails in others, over the window */
    return query_into(h, out, "flakiest_tests",
                      "SELECT suite, name, SUM(runs), SUM(failed),"
                      " ROUND(1.0 * MIN(SUM(passed), SUM(failed)) / SUM(runs), 4) AS rate"
                      " FROM test_daily WHERE day >= ?1 GROUP BY suite, name"
                      " HAVING SUM(passed) > 0 AND SUM(failed) > 0"
                      " ORDER BY rate DESC, suite, name LIMIT 5",
                      flakiest, &bind, 1, err) < 0 ||
                   query_into(h, out, "slowest_tests",
                              "SELECT suite, name, SUM(runs), SUM(total_duration) / SUM(runs) AS a,"
                              " MAX(max_duration) FROM test_daily WHERE day >= ?1"
                              " GROUP BY suite, name ORDER BY a DESC, suite, name LIMIT 5",
                              slowest, &bind, 1, err) < 0
               ? -1
               : 0;
}

static int alert_counts(envmgr_history_t *h, double since, json_t *out, envmgr_error_t *err)
{
    history_bind_t bind = {.number = since};
    static const char *const names[] = {"type", "count", NULL};
    json_t *rows = NULL;
    if (history_query(h,
                      "SELECT a.type, COUNT(*) FROM alerts a JOIN runs r USING (run_id)"
                      " WHERE r.start_epoch >= ?1 GROUP BY a.type ORDER BY a.type",
                      names, &bind, 1, &rows, err) < 0)
        return -1;
    json_t *counts = json_object();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) json_object_set(
        counts, json_string_value(json_object_get(row, "type")), json_object_get(row, "count"));
    json_decref(rows);
    json_object_set_new(out, "alerts", counts);
    return 0;
}

int envmgr_history_trends(envmgr_history_t *h, int days, json_t **out, envmgr_error_t *err)
{
    double since = 0;
    if (days > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        since = (double)ts.tv_sec - (double)days * 86400.0;
    }
    json_t *t = json_pack("{s:i}", "days", days);
    if (run_figures(h, since, t, err) < 0 || suite_figures(h, since, t, err) < 0 ||
        test_figures(h, since, t, err) < 0 || alert_counts(h, since, t, err) < 0) {
        json_decref(t);
        return -1;
    }
    *out = t;
    return 0;
}
