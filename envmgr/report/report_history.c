/* The run history in SQLite (see monitor.h): open with migration, record a run, read runs and
 * suites back. Trends are in report_trends.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlib.h"
#include "report_history.h"
#include "report_json.h"
#include <envmgr/monitor.h>
#include <envmgr/report.h>

#define BUSY_TIMEOUT_MS                                                                            \
    10000 /* another run writing its history; 3 s was short on a loaded machine */

/* Version 1: what envtest wrote before the monitor (no user_version). */
static const char schema_v1[] =
    "CREATE TABLE IF NOT EXISTS suite_results ("
    " run_id TEXT NOT NULL, suite TEXT NOT NULL, status TEXT NOT NULL, start TEXT,"
    " duration REAL, attempts INTEGER, tests INTEGER, passed INTEGER, failed INTEGER,"
    " skipped INTEGER, message TEXT, PRIMARY KEY (run_id, suite));"
    "CREATE INDEX IF NOT EXISTS suite_results_suite ON suite_results (suite, start);";

/* 1 -> 2: resources and the start as a number per suite, runs with the environment's identity,
 * tests, daily test aggregates (trends read them instead of every test row), alerts. Existing rows
 * get their run. */
static const char migrate_v2[] =
    "ALTER TABLE suite_results ADD COLUMN cpu_time REAL;"
    "ALTER TABLE suite_results ADD COLUMN peak_rss INTEGER;"
    "ALTER TABLE suite_results ADD COLUMN start_epoch REAL;"
    "UPDATE suite_results SET start_epoch = (julianday(start) - 2440587.5) * 86400.0;"
    /* trends read this index alone, in suite order */
    "CREATE INDEX suite_results_window ON suite_results (suite, start_epoch, status, duration);"
    "CREATE TABLE runs (run_id TEXT PRIMARY KEY, start TEXT, start_epoch REAL, end TEXT,"
    " status TEXT, duration REAL, suites INTEGER, passed INTEGER, failed INTEGER, flaky INTEGER,"
    " skipped INTEGER, tests INTEGER, tests_passed INTEGER, tests_failed INTEGER,"
    " pass_rate REAL, alerts INTEGER, compose_hash TEXT, fixtures TEXT, git_commit TEXT,"
    " shard TEXT);"
    "CREATE INDEX runs_start ON runs (start_epoch);"
    "INSERT INTO runs (run_id, start, start_epoch, status, duration, suites, passed, failed,"
    " flaky, skipped, tests, tests_passed, tests_failed, pass_rate, alerts)"
    " SELECT run_id, MIN(start), (julianday(MIN(start)) - 2440587.5) * 86400.0,"
    " CASE WHEN SUM(status NOT IN ('passed','skipped','flaky')) > 0 THEN 'failed'"
    " ELSE 'passed' END, MAX(duration), COUNT(*), SUM(status = 'passed'),"
    " SUM(status NOT IN ('passed','skipped','flaky','not_run')), SUM(status = 'flaky'),"
    " SUM(status = 'skipped'), SUM(tests), SUM(passed), SUM(failed),"
    " 100.0 * SUM(status IN ('passed','flaky')) / MAX(1, SUM(status NOT IN ('skipped','not_run'))),"
    " 0 FROM suite_results GROUP BY run_id;"
    "CREATE TABLE test_results (run_id TEXT NOT NULL, suite TEXT NOT NULL, number INTEGER NOT NULL,"
    " name TEXT, status TEXT, duration REAL, cpu_time REAL, peak_rss INTEGER, message TEXT,"
    " file TEXT, line INTEGER, PRIMARY KEY (run_id, suite, number)) WITHOUT ROWID;"
    "CREATE TABLE test_daily (suite TEXT NOT NULL, name TEXT NOT NULL, day INTEGER NOT NULL,"
    " runs INTEGER, passed INTEGER, failed INTEGER, total_duration REAL, max_duration REAL,"
    " PRIMARY KEY (suite, name, day)) WITHOUT ROWID;"
    "CREATE TABLE alerts (run_id TEXT NOT NULL, suite TEXT, test TEXT, type TEXT, value REAL,"
    " limit_value REAL, message TEXT);"
    "CREATE INDEX alerts_run ON alerts (run_id);";

struct envmgr_history {
    sqlite3 *db;
    char *path;
};

sqlite3 *history_db(envmgr_history_t *h)
{
    return h->db;
}

int history_error(envmgr_history_t *h, const char *what, envmgr_error_t *err)
{
    int code = sqlite3_errcode(h->db);
    const char *why = code == SQLITE_NOTADB || code == SQLITE_CORRUPT
                          ? "not a usable SQLite database (corrupt?)"
                      : code == SQLITE_BUSY || code == SQLITE_LOCKED
                          ? "locked by another process for longer than 3 s"
                      : code == SQLITE_READONLY ? "read-only"
                      : code == SQLITE_CANTOPEN ? "cannot be opened"
                                                : "error";
    return envmgr_error_set(err, ENVMGR_E_SYSTEM, code, "history %s: %s: %s (%s)", h->path, what,
                            why, sqlite3_errmsg(h->db));
}

const char *envmgr_history_path(const char *given)
{
    if (given && *given)
        return given;
    const char *env = getenv("ENVTEST_HISTORY");
    return env && *env ? env : ENVMGR_DEFAULT_HISTORY_PATH;
}

void envmgr_history_close(envmgr_history_t *h)
{
    if (h == NULL)
        return;
    sqlite3_close(h->db);
    free(h->path);
    free(h);
}

static int query_int(envmgr_history_t *h, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int migrate(envmgr_history_t *h, envmgr_error_t *err)
{
    int64_t version = 0, has_v1 = 0;
    if (query_int(h, "PRAGMA user_version", &version) < 0)
        return history_error(h, "reading the schema version", err);
    if (version > ENVMGR_HISTORY_SCHEMA)
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                "history %s: schema version %lld is newer than this envtest's %d "
                                "(written by a newer envtest: use it, or another --history)",
                                h->path, (long long)version, ENVMGR_HISTORY_SCHEMA);
    if (version == ENVMGR_HISTORY_SCHEMA)
        return 0;
    if (sqlite3_exec(h->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return history_error(h, "migrating", err);
    /* another process may have migrated it while we waited for the lock */
    if (query_int(h, "PRAGMA user_version", &version) < 0 || version == ENVMGR_HISTORY_SCHEMA)
        return sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK
                   ? 0
                   : history_error(h, "migrating", err);
    if (query_int(h,
                  "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = "
                  "'suite_results'",
                  &has_v1) < 0 ||
        (!has_v1 && sqlite3_exec(h->db, schema_v1, NULL, NULL, NULL) != SQLITE_OK) ||
        sqlite3_exec(h->db, migrate_v2, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(h->db, "PRAGMA user_version = 2", NULL, NULL, NULL) != SQLITE_OK) {
        history_error(h, "migrating to schema 2", err);
        sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    if (sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return history_error(h, "migrating", err);
    return 0;
}

int envmgr_history_open(const char *path, bool read_only, envmgr_history_t **out,
                        envmgr_error_t *err)
{
    if (envmgr_dl_sqlite(err) < 0)
        return envmgr_error_wrap(err, "history %s", path);
    if (read_only && access(path, F_OK) != 0)
        return envmgr_error_errno(err, errno, "history %s", path);
    envmgr_history_t *h = envmgr_xcalloc(1, sizeof(*h));
    h->path = envmgr_xstrdup(path);
    int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &h->db, flags, NULL) != SQLITE_OK) {
        history_error(h, "open", err);
        envmgr_history_close(h);
        return -1;
    }
    sqlite3_busy_timeout(h->db, BUSY_TIMEOUT_MS);
    int64_t version = 0;
    if (read_only) {
        if (query_int(h, "PRAGMA user_version", &version) < 0) {
            history_error(h, "open", err);
            envmgr_history_close(h);
            return -1;
        }
        if (version != ENVMGR_HISTORY_SCHEMA) {
            envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                             "history %s: schema version %lld, this envtest reads %d%s", path,
                             (long long)version, ENVMGR_HISTORY_SCHEMA,
                             version < ENVMGR_HISTORY_SCHEMA ? " (the next envtest run migrates it)"
                                                             : " (written by a newer envtest)");
            envmgr_history_close(h);
            return -1;
        }
        *out = h;
        return 0;
    }
    /* WAL: readers do not block the writer; NORMAL: a commit does not wait for fsync in WAL mode */
    if (sqlite3_exec(h->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL", NULL, NULL,
                     NULL) != SQLITE_OK ||
        migrate(h, err) < 0) {
        if (err->message[0] == '\0')
            history_error(h, "open", err);
        envmgr_history_close(h);
        return -1;
    }
    *out = h;
    return 0;
}

/* ---- recording ----------------------------------------------------------------------------- */

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static void bind_json_number(sqlite3_stmt *st, int i, const json_t *v)
{
    if (json_is_number(v))
        sqlite3_bind_double(st, i, json_number_value(v));
}

/* Binds members of o to the parameters from first on, one a letter of kinds: 's' text (absent:
 * NULL), 'i' an integer, 'd' a double (absent: 0). */
static void bind_members(sqlite3_stmt *st, int first, const json_t *o, const char *kinds,
                         const char *const keys[])
{
    for (int k = 0; kinds[k]; k++) {
        if (kinds[k] == 's')
            bind_text(st, first + k, str_at(o, keys[k]));
        else if (kinds[k] == 'i')
            sqlite3_bind_int64(st, first + k, int_at(o, keys[k]));
        else
            sqlite3_bind_double(st, first + k, real_at(o, keys[k]));
    }
}

static int step_reset(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

typedef struct statements {
    sqlite3_stmt *run, *suite, *test, *daily, *alert;
} statements_t;

static void statements_free(statements_t *s)
{
    sqlite3_finalize(s->run);
    sqlite3_finalize(s->suite);
    sqlite3_finalize(s->test);
    sqlite3_finalize(s->daily);
    sqlite3_finalize(s->alert);
}

static int prepare(sqlite3 *db, statements_t *s)
{
    return sqlite3_prepare_v2(
               db,
               "INSERT OR REPLACE INTO runs VALUES (?1, ?2, (julianday(?2) - 2440587.5) * 86400.0,"
               " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
               -1, &s->run, NULL) != SQLITE_OK ||
                   sqlite3_prepare_v2(db,
                                      "INSERT OR REPLACE INTO suite_results VALUES (?1, ?2, ?3, "
                                      "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                                      "(julianday(?4) - 2440587.5) * 86400.0)",
                                      -1, &s->suite, NULL) != SQLITE_OK ||
                   sqlite3_prepare_v2(db,
                                      "INSERT OR REPLACE INTO test_results VALUES (?1, ?2, ?3, "
                                      "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                                      -1, &s->test, NULL) != SQLITE_OK ||
                   sqlite3_prepare_v2(
                       db,
                       "INSERT INTO test_daily VALUES (?1, ?2,"
                       " CAST(julianday(?3) - 2440587.5 AS INTEGER), 1, ?4, ?5, ?6, ?6)"
                       " ON CONFLICT (suite, name, day) DO UPDATE SET runs = runs + 1,"
                       " passed = passed + excluded.passed, failed = failed + excluded.failed,"
                       " total_duration = total_duration + excluded.total_duration,"
                       " max_duration = MAX(max_duration, excluded.max_duration)",
                       -1, &s->daily, NULL) != SQLITE_OK ||
                   sqlite3_prepare_v2(db, "INSERT INTO alerts VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                                      -1, &s->alert, NULL) != SQLITE_OK
               ? -1
               : 0;
}

static int record_run(statements_t *s, const json_t *report, const char *run_id)
{
    const json_t *sum = json_object_get(report, "summary");
    const json_t *tests = json_object_get(sum, "tests");
    const json_t *env = json_object_get(report, "environment");
    sqlite3_stmt *st = s->run;
    bind_text(st, 1, run_id);
    bind_text(st, 2, str_at(sum, "start"));
    bind_text(st, 3, str_at(sum, "end"));
    bind_text(st, 4, str_at(report, "status"));
    sqlite3_bind_double(st, 5, real_at(sum, "total_execution_time"));
    bind_members(st, 6, sum, "iiiii",
                 (const char *const[]){"total", "passed", "failed", "flaky", "skipped"});
    bind_members(st, 11, tests, "iii", (const char *const[]){"total", "passed", "failed"});
    sqlite3_bind_double(st, 14, real_at(sum, "pass_rate"));
    sqlite3_bind_int64(st, 15, (sqlite3_int64)json_array_size(json_object_get(report, "alerts")));
    bind_text(st, 16, str_at(env, "compose_hash"));
    envmgr_cleanup_free char *fixtures =
        json_object_get(env, "fixtures") ? json_dumps(json_object_get(env, "fixtures"), 0) : NULL;
    bind_text(st, 17, fixtures);
    bind_text(st, 18, str_at(env, "git_commit"));
    envmgr_cleanup_free char *shard =
        json_is_object(json_object_get(report, "shard"))
            ? envmgr_xasprintf("%lld/%lld",
                               (long long)int_at(json_object_get(report, "shard"), "index"),
                               (long long)int_at(json_object_get(report, "shard"), "count"))
            : NULL;
    bind_text(st, 19, shard);
    return step_reset(st);
}

static int record_tests(statements_t *s, const json_t *suite, const char *run_id, const char *start)
{
    const char *name = str_at(suite, "name");
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(suite, "tests"), i, t)
    {
        const char *status = str_at(t, "status");
        sqlite3_stmt *st = s->test;
        bind_text(st, 1, run_id);
        bind_text(st, 2, name);
        sqlite3_bind_int64(st, 3, int_at(t, "number"));
        bind_text(st, 4, str_at(t, "name"));
        bind_text(st, 5, status);
        sqlite3_bind_double(st, 6, real_at(t, "duration"));
        bind_json_number(st, 7, json_object_get(t, "cpu_time"));
        bind_json_number(st, 8, json_object_get(t, "peak_rss"));
        bind_text(st, 9, str_at(t, "message"));
        bind_text(st, 10, str_at(t, "file"));
        if (int_at(t, "line") > 0)
            sqlite3_bind_int64(st, 11, int_at(t, "line"));
        if (step_reset(st) < 0)
            return -1;
        st = s->daily;
        bind_text(st, 1, name);
        bind_text(st, 2, str_at(t, "name") ? str_at(t, "name") : "");
        bind_text(st, 3, start);
        sqlite3_bind_int(st, 4, status && strcmp(status, "passed") == 0);
        sqlite3_bind_int(st, 5, status && strcmp(status, "failed") == 0);
        sqlite3_bind_double(st, 6, real_at(t, "duration"));
        if (step_reset(st) < 0)
            return -1;
    }
    return 0;
}

/* The suites' rows, and their tests from each suite's full entry (load, one at a time: a run of
 * 100,000 tests is never in memory at once), then the alerts. */
static int record_suites(statements_t *s, const json_t *report, const char *run_id,
                         envmgr_report_suite_loader load, void *userdata)
{
    const char *start = str_at(json_object_get(report, "summary"), "start");
    const json_t *breakdown = json_object_get(report, "test_breakdown");
    size_t i;
    json_t *suite;
    json_array_foreach(json_object_get(report, "suites"), i, suite)
    {
        const char *name = str_at(suite, "name");
        const json_t *b = json_object_get(breakdown, name);
        sqlite3_stmt *st = s->suite;
        bind_text(st, 1, run_id);
        bind_text(st, 2, name);
        bind_text(st, 3, str_at(suite, "status"));
        bind_text(st, 4, str_at(suite, "start"));
        sqlite3_bind_double(st, 5, real_at(suite, "duration"));
        sqlite3_bind_int64(st, 6,
                           (sqlite3_int64)json_array_size(json_object_get(suite, "attempts")));
        bind_members(
            st, 7, b, "iiii",
            (const char *const[]){"total_tests", "passed_tests", "failed_tests", "skipped_tests"});
        bind_text(st, 11, str_at(suite, "message"));
        bind_json_number(st, 12, json_object_get(suite, "cpu_time"));
        bind_json_number(st, 13, json_object_get(suite, "peak_rss"));
        if (step_reset(st) < 0)
            return -1;
        json_t *full = load ? load(userdata, suite) : json_incref(suite);
        int rc = record_tests(s, full, run_id, start ? start : "now");
        json_decref(full);
        if (rc < 0)
            return -1;
    }
    json_t *a;
    json_array_foreach(json_object_get(report, "alerts"), i, a)
    {
        sqlite3_stmt *st = s->alert;
        bind_text(st, 1, run_id);
        bind_members(st, 2, a, "sssdds",
                     (const char *const[]){"suite", "test", "type", "value", "limit", "message"});
        if (step_reset(st) < 0)
            return -1;
    }
    return 0;
}

/* A run recorded again: its rows go first (test_daily keeps its counts: a re-recorded run counts
 * twice there, which only a merge of shard reports under an existing id does). */
static int forget_run(sqlite3 *db, const char *run_id)
{
    static const char *const tables[] = {"suite_results", "test_results", "alerts"};
    for (size_t i = 0; i < ENVMGR_ARRAY_SIZE(tables); i++) {
        envmgr_cleanup_free char *sql =
            envmgr_xasprintf("DELETE FROM %s WHERE run_id = ?1", tables[i]);
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
            return -1;
        sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return -1;
    }
    return 0;
}

int envmgr_history_record(envmgr_history_t *h, const json_t *report, envmgr_error_t *err)
{
    return envmgr_history_record_suites(h, report, NULL, NULL, err);
}

int envmgr_history_record_suites(envmgr_history_t *h, const json_t *report,
                                 envmgr_report_suite_loader load, void *userdata,
                                 envmgr_error_t *err)
{
    const char *run_id = str_at(report, "run_id") ? str_at(report, "run_id") : "?";
    statements_t s = {0};
    if (sqlite3_exec(h->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return history_error(h, "recording", err);
    if (forget_run(h->db, run_id) < 0 || prepare(h->db, &s) < 0 ||
        record_run(&s, report, run_id) < 0 ||
        record_suites(&s, report, run_id, load, userdata) < 0) {
        history_error(h, "recording", err);
        statements_free(&s);
        sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    statements_free(&s);
    if (sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        history_error(h, "commit", err);
        sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

/* ---- reading ------------------------------------------------------------------------------- */

json_t *history_column(sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        return json_integer((json_int_t)sqlite3_column_int64(st, i));
    case SQLITE_FLOAT:
        return json_real(sqlite3_column_double(st, i));
    case SQLITE_TEXT:
        return json_string((const char *)sqlite3_column_text(st, i));
    default:
        return json_null();
    }
}

int history_query(envmgr_history_t *h, const char *sql, const char *const *names,
                  const history_bind_t *binds, size_t n_binds, json_t **out, envmgr_error_t *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) != SQLITE_OK)
        return history_error(h, "query", err);
    for (size_t i = 0; i < n_binds; i++) {
        if (binds[i].text)
            sqlite3_bind_text(st, (int)i + 1, binds[i].text, -1, SQLITE_STATIC);
        else if (binds[i].number == (double)(sqlite3_int64)binds[i].number)
            sqlite3_bind_int64(st, (int)i + 1, (sqlite3_int64)binds[i].number);
        else
            sqlite3_bind_double(st, (int)i + 1, binds[i].number);
    }
    json_t *rows = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *row = json_object();
        for (int i = 0; names[i]; i++)
            json_object_set_new(row, names[i], history_column(st, i));
        json_array_append_new(rows, row);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        json_decref(rows);
        return history_error(h, "query", err);
    }
    *out = rows;
    return 0;
}

int envmgr_history_runs(envmgr_history_t *h, int limit, json_t **out, envmgr_error_t *err)
{
    static const char *const names[] = {"run_id",    "start",  "status", "duration",
                                        "pass_rate", "suites", "failed", "flaky",
                                        "tests",     "alerts", NULL};
    history_bind_t bind = {.number = limit > 0 ? limit : 50};
    json_t *rows = NULL;
    if (history_query(h,
                      "SELECT * FROM (SELECT run_id, start, status, duration, pass_rate, suites,"
                      " failed, flaky, tests, alerts FROM runs ORDER BY start_epoch DESC LIMIT ?1)"
                      " ORDER BY start",
                      names, &bind, 1, &rows, err) < 0)
        return -1;
    *out = rows;
    return 0;
}

int envmgr_history_suite_runs(envmgr_history_t *h, const char *suite, const char *run_id, int limit,
                              json_t **out, envmgr_error_t *err)
{
    static const char *const names[] = {"run_id", "status", "duration", NULL};
    history_bind_t binds[] = {{.text = suite}, {.text = run_id ? run_id : ""}, {.number = limit}};
    return history_query(h,
                         "SELECT run_id, status, duration FROM suite_results WHERE suite = ?1"
                         " AND run_id <> ?2 ORDER BY start DESC LIMIT ?3",
                         names, binds, 3, out, err);
}

/* ---- the API envtest had before the monitor ------------------------------------------------ */

int envmgr_report_history_append(const char *path, const json_t *report, envmgr_error_t *err)
{
    envmgr_history_t *h = NULL;
    if (envmgr_history_open(path, false, &h, err) < 0)
        return -1;
    int rc = envmgr_history_record(h, report, err);
    envmgr_history_close(h);
    return rc;
}

int envmgr_report_history_stats(const char *path, int last_runs, json_t **out, envmgr_error_t *err)
{
    envmgr_history_t *h = NULL;
    if (envmgr_history_open(path, false, &h, err) < 0)
        return -1;
    static const char *const names[] = {"suite",        "runs",     "passed",
                                        "flaky",        "failed",   "avg_duration",
                                        "max_duration", "last_run", NULL};
    history_bind_t bind = {.number = last_runs > 0 ? last_runs : 20};
    int rc = history_query(
        h,
        "SELECT suite, COUNT(*), SUM(status IN ('passed','skipped')), SUM(status = 'flaky'),"
        " SUM(status NOT IN ('passed','skipped','flaky','not_run')), AVG(duration), MAX(duration),"
        " MAX(start) FROM (SELECT * FROM suite_results WHERE run_id IN"
        " (SELECT run_id FROM suite_results GROUP BY run_id ORDER BY MAX(start) DESC LIMIT ?1))"
        " GROUP BY suite ORDER BY suite",
        names, &bind, 1, out, err);
    envmgr_history_close(h);
    return rc;
}
