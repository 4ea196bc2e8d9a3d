/* History of suite results in SQLite (.envtest/history.sqlite): one row per suite per run, so that
 * flaky and slow suites show over time. */
#include <string.h>

#include "dlib.h"
#include <envmgr/report.h>

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS suite_results ("
    " run_id TEXT NOT NULL, suite TEXT NOT NULL, status TEXT NOT NULL, start TEXT,"
    " duration REAL, attempts INTEGER, tests INTEGER, passed INTEGER, failed INTEGER,"
    " skipped INTEGER, message TEXT, PRIMARY KEY (run_id, suite));"
    "CREATE INDEX IF NOT EXISTS suite_results_suite ON suite_results (suite, start);";

static int db_error(sqlite3 *db, const char *path, const char *what, envmgr_error_t *err)
{
    envmgr_error_set(err, ENVMGR_E_SYSTEM, sqlite3_errcode(db), "history %s: %s: %s", path, what,
                     sqlite3_errmsg(db));
    sqlite3_close(db);
    return -1;
}

static int open_db(const char *path, sqlite3 **out, envmgr_error_t *err)
{
    sqlite3 *db = NULL;
    if (envmgr_dl_sqlite(err) < 0)
        return envmgr_error_wrap(err, "run history %s", path);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return db_error(db, path, "open", err);
    sqlite3_busy_timeout(db, 5000); /* shards of one CI job may write at the same time */
    if (sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK)
        return db_error(db, path, "create table", err);
    *out = db;
    return 0;
}

static json_int_t breakdown_int(const json_t *report, const char *suite, const char *key)
{
    const json_t *b = json_object_get(json_object_get(report, "test_breakdown"), suite);
    return json_integer_value(json_object_get(b, key));
}

int envmgr_report_history_append(const char *path, const json_t *report, envmgr_error_t *err)
{
    sqlite3 *db = NULL;
    if (open_db(path, &db, err) < 0)
        return -1;
    sqlite3_stmt *st = NULL;
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT OR REPLACE INTO suite_results VALUES "
                           "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                           -1, &st, NULL) != SQLITE_OK)
        return db_error(db, path, "insert", err);
    const char *run_id = json_string_value(json_object_get(report, "run_id"));
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(report, "suites"), i, s)
    {
        const char *name = json_string_value(json_object_get(s, "name"));
        sqlite3_bind_text(st, 1, run_id ? run_id : "?", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, json_string_value(json_object_get(s, "status")), -1,
                          SQLITE_STATIC);
        sqlite3_bind_text(st, 4, json_string_value(json_object_get(s, "start")), -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 5, json_number_value(json_object_get(s, "duration")));
        sqlite3_bind_int64(st, 6, (sqlite3_int64)json_array_size(json_object_get(s, "attempts")));
        sqlite3_bind_int64(st, 7, breakdown_int(report, name, "total_tests"));
        sqlite3_bind_int64(st, 8, breakdown_int(report, name, "passed_tests"));
        sqlite3_bind_int64(st, 9, breakdown_int(report, name, "failed_tests"));
        sqlite3_bind_int64(st, 10, breakdown_int(report, name, "skipped_tests"));
        sqlite3_bind_text(st, 11, json_string_value(json_object_get(s, "message")), -1,
                          SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            sqlite3_finalize(st);
            return db_error(db, path, "insert", err);
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    sqlite3_finalize(st);
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return db_error(db, path, "commit", err);
    sqlite3_close(db);
    return 0;
}

int envmgr_report_history_stats(const char *path, int last_runs, json_t **out, envmgr_error_t *err)
{
    sqlite3 *db = NULL;
    if (open_db(path, &db, err) < 0)
        return -1;
    static const char query[] =
        "SELECT suite, COUNT(*), SUM(status IN ('passed','skipped')), SUM(status = 'flaky'),"
        " SUM(status NOT IN ('passed','skipped','flaky','not_run')), AVG(duration), MAX(duration),"
        " MAX(start) FROM (SELECT * FROM suite_results WHERE run_id IN"
        " (SELECT run_id FROM suite_results GROUP BY run_id ORDER BY MAX(start) DESC LIMIT ?1))"
        " GROUP BY suite ORDER BY suite";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, query, -1, &st, NULL) != SQLITE_OK)
        return db_error(db, path, "query", err);
    sqlite3_bind_int(st, 1, last_runs > 0 ? last_runs : 20);
    json_t *rows = json_array();
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_array_append_new(rows,
                              json_pack("{s:s, s:I, s:I, s:I, s:I, s:f, s:f, s:s?}", "suite",
                                        (const char *)sqlite3_column_text(st, 0), "runs",
                                        (json_int_t)sqlite3_column_int64(st, 1), "passed",
                                        (json_int_t)sqlite3_column_int64(st, 2), "flaky",
                                        (json_int_t)sqlite3_column_int64(st, 3), "failed",
                                        (json_int_t)sqlite3_column_int64(st, 4), "avg_duration",
                                        sqlite3_column_double(st, 5), "max_duration",
                                        sqlite3_column_double(st, 6), "last_run",
                                        (const char *)sqlite3_column_text(st, 7)));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    *out = rows;
    return 0;
}
