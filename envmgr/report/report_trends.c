/* Trends over the history (envtest trends): see envmgr_history_trends in monitor.h. Reads the
 * runs and suite_results tables and the daily test aggregates (test_daily), never every test row,
 * so that it answers in milliseconds over thousands of runs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report_history.h"

#define TOP 5

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

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
 * that ran), average and p95 run duration; *mid: the middle of the window's time span. */
static int run_figures(envmgr_history_t *h, double since, json_t *out, double *mid,
                       envmgr_error_t *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(
            history_db(h),
            "SELECT duration, passed + flaky, suites - skipped, start_epoch FROM runs"
            " WHERE start_epoch >= ?1",
            -1, &st, NULL) != SQLITE_OK)
        return history_error(h, "trends", err);
    sqlite3_bind_double(st, 1, since);
    size_t n = 0, cap = 0;
    double *durations = NULL, total = 0, first = 0, last = 0;
    int64_t ok = 0, ran = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        durations = envmgr_xgrow(durations, n, &cap, sizeof(*durations));
        durations[n] = sqlite3_column_double(st, 0);
        total += durations[n];
        ok += sqlite3_column_int64(st, 1);
        ran += sqlite3_column_int64(st, 2);
        double t = sqlite3_column_double(st, 3);
        first = n == 0 || t < first ? t : first;
        last = n == 0 || t > last ? t : last;
        n++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(durations);
        return history_error(h, "trends", err);
    }
    if (n > 1) /* none in the window: durations is NULL (qsort of NULL is undefined) */
        qsort(durations, n, sizeof(*durations), compare_double);
    /* nearest rank: the smallest duration with at least 95 % of the runs at or below it */
    size_t rank = n ? (size_t)ceil(0.95 * (double)n) : 0;
    json_object_set_new(out, "runs", json_integer((json_int_t)n));
    json_object_set_new(out, "pass_rate",
                        ran ? json_real(round(10000.0 * (double)ok / (double)ran) / 100.0)
                            : json_null());
    json_object_set_new(out, "avg_duration", n ? json_real(total / (double)n) : json_null());
    json_object_set_new(out, "p95_duration", n ? json_real(durations[rank - 1]) : json_null());
    free(durations);
    *mid = (first + last) / 2;
    return 0;
}

typedef struct suite_row {
    json_t *name;
    int64_t runs, flaky, failed, ok;
    double before, after;
    bool has_before, has_after;
} suite_row_t;

static int by_flaky_rate(const void *a, const void *b)
{
    const suite_row_t *x = a, *y = b;
    double rx = (double)x->flaky / (double)x->runs, ry = (double)y->flaky / (double)y->runs;
    return rx < ry   ? 1
           : rx > ry ? -1
                     : strcmp(json_string_value(x->name), json_string_value(y->name));
}

static int by_slowdown(const void *a, const void *b)
{
    const suite_row_t *x = a, *y = b;
    double rx = x->after / x->before, ry = y->after / y->before;
    return rx < ry ? 1 : rx > ry ? -1 : 0;
}

static void suite_lists(suite_row_t *rows, size_t n, json_t *out)
{
    json_t *flakiest = json_array(), *slower = json_array();
    if (n > 1)
        qsort(rows, n, sizeof(*rows), by_flaky_rate);
    for (size_t i = 0; i < n && json_array_size(flakiest) < TOP; i++)
        if (rows[i].flaky > 0)
            json_array_append_new(
                flakiest,
                json_pack("{s:O, s:I, s:I, s:I, s:f}", "suite", rows[i].name, "runs",
                          (json_int_t)rows[i].runs, "flaky", (json_int_t)rows[i].flaky, "failed",
                          (json_int_t)rows[i].failed, "rate",
                          round(10000.0 * (double)rows[i].flaky / (double)rows[i].runs) / 10000.0));
    /* getting slower: the average of the window's second half over its first, >= 1.2 */
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (rows[i].ok >= 4 && rows[i].has_before && rows[i].has_after && rows[i].before > 0 &&
            rows[i].after / rows[i].before >= 1.2)
            rows[m++] = rows[i];
    if (m > 1)
        qsort(rows, m, sizeof(*rows), by_slowdown);
    for (size_t i = 0; i < m && i < TOP; i++)
        json_array_append_new(slower, json_pack("{s:O, s:f, s:f, s:f}", "suite", rows[i].name,
                                                "before", rows[i].before, "after", rows[i].after,
                                                "ratio", rows[i].after / rows[i].before));
    json_object_set_new(out, "flakiest_suites", flakiest);
    json_object_set_new(out, "slower_suites", slower);
}

/* One pass over the suites of the window (the covering index suite_results_window). */
static int suite_figures(envmgr_history_t *h, double since, double mid, json_t *out,
                         envmgr_error_t *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(
            history_db(h),
            "SELECT suite, COUNT(*), SUM(status = 'flaky'),"
            " SUM(status NOT IN ('passed','skipped','flaky')), SUM(status IN ('passed','flaky')),"
            " AVG(CASE WHEN status IN ('passed','flaky') AND start_epoch < ?2 THEN duration END),"
            " AVG(CASE WHEN status IN ('passed','flaky') AND start_epoch >= ?2 THEN duration END)"
            " FROM suite_results WHERE start_epoch >= ?1 AND status <> 'not_run' GROUP BY suite",
            -1, &st, NULL) != SQLITE_OK)
        return history_error(h, "trends", err);
    sqlite3_bind_double(st, 1, since);
    sqlite3_bind_double(st, 2, mid);
    suite_row_t *rows = NULL;
    size_t n = 0, cap = 0;
    int64_t runs = 0, flaky = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        rows = envmgr_xgrow(rows, n, &cap, sizeof(*rows));
        suite_row_t *r = &rows[n++];
        r->name = json_string((const char *)sqlite3_column_text(st, 0));
        r->runs = sqlite3_column_int64(st, 1);
        r->flaky = sqlite3_column_int64(st, 2);
        r->failed = sqlite3_column_int64(st, 3);
        r->ok = sqlite3_column_int64(st, 4);
        r->has_before = sqlite3_column_type(st, 5) != SQLITE_NULL;
        r->has_after = sqlite3_column_type(st, 6) != SQLITE_NULL;
        r->before = sqlite3_column_double(st, 5);
        r->after = sqlite3_column_double(st, 6);
        runs += r->runs;
        flaky += r->flaky;
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE) {
        json_object_set_new(out, "suite_runs", json_integer((json_int_t)runs));
        json_object_set_new(out, "flaky_rate",
                            runs
                                ? json_real(round(10000.0 * (double)flaky / (double)runs) / 10000.0)
                                : json_null());
        json_object_set_new(out, "flaky_target", json_real(0.05));
        suite_lists(rows, n, out);
    }
    for (size_t i = 0; i < n; i++)
        json_decref(rows[i].name);
    free(rows);
    return rc == SQLITE_DONE ? 0 : history_error(h, "trends", err);
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
    double mid = 0;
    if (run_figures(h, since, t, &mid, err) < 0 || suite_figures(h, since, mid, t, err) < 0 ||
        test_figures(h, since, t, err) < 0 || alert_counts(h, since, t, err) < 0) {
        json_decref(t);
        return -1;
    }
    *out = t;
    return 0;
}
