/* The test monitor (ADR-009's IntegrationTestMonitor and analyze_test_results): alerts on a run,
 * the run history in SQLite, trends over it, and the HTML report.
 *
 * History (`--history PATH`, else $ENVTEST_HISTORY, else .envtest/history.sqlite): schema version
 * in PRAGMA user_version (1: the suite_results table of envtest before the monitor; 2: runs,
 * suite_results with cpu_time and peak_rss, test_results, test_daily, alerts), migrated in place
 * in one transaction; WAL journal and a busy timeout, so that two runs (shards) may write at once.
 * A database that cannot be used (corrupt, locked past the timeout, read-only, a newer schema)
 * gives one warning through the monitor and the run goes on without it.
 *
 * Alerts (report.json `alerts`): [{suite, test (or null), type, value, limit, message}], types
 * duration (a suite or a test over limits->duration_ms; value and limit in seconds), memory (a
 * suite's peak RSS, bytes), error_rate (failed tests / tests of a suite, and of the run: suite
 * null), flaky_rate (a suite's flaky runs / runs over its last 20 runs, this one included),
 * slower_than_median (a suite's duration / the median of its last 20 earlier runs, with at least
 * 3 of them). */
#ifndef ENVMGR_MONITOR_H
#define ENVMGR_MONITOR_H

#include <jansson.h>
#include <stdbool.h>

#include <envmgr/compose.h>
#include <envmgr/defaults.h>
#include <envmgr/error.h>
#include <envmgr/report.h>
#include <envmgr/util.h>

#define ENVMGR_HISTORY_SCHEMA 2

/* given, else $ENVTEST_HISTORY (when set and not empty), else ENVMGR_DEFAULT_HISTORY_PATH. */
const char *envmgr_history_path(const char *given);

typedef struct envmgr_history envmgr_history_t;
/* Opens the history, creating or migrating it unless read_only. Errors name the file and say what
 * is wrong: "not an SQLite database (corrupt?)", "locked by another process", "read-only", "schema
 * version N is newer than this envtest's 2". */
int envmgr_history_open(const char *path, bool read_only, envmgr_history_t **out,
                        envmgr_error_t *err);
void envmgr_history_close(envmgr_history_t *history);
/* Records a full report (with its environment and alerts) in one transaction; a run id recorded
 * before is replaced. */
int envmgr_history_record(envmgr_history_t *history, const json_t *report, envmgr_error_t *err);
/* The same, each suite's tests taken from load(userdata, suite) (a new reference, released before
 * the next suite is loaded), e.g. envmgr_report_saved_suite over a run's compacted report: memory
 * bounded by the largest suite, whatever the run's size. load NULL: the report's own entries. */
int envmgr_history_record_suites(envmgr_history_t *history, const json_t *report,
                                 envmgr_report_suite_loader load, void *userdata,
                                 envmgr_error_t *err);
/* The last `limit` runs before now, oldest first: [{run_id, start, status, duration, pass_rate,
 * suites, failed, flaky, tests, alerts}]. */
int envmgr_history_runs(envmgr_history_t *history, int limit, json_t **out, envmgr_error_t *err);
/* Trends over the last `days` days (0: all): {days, runs, pass_rate, avg_duration, p95_duration,
 * suite_runs, flaky_rate, flaky_target: 0.05, flakiest_suites: [{suite, runs, flaky, failed,
 * rate}], flakiest_tests: [{suite, name, runs, failed, rate}], slowest_tests: [{suite, name, runs,
 * avg_duration, max_duration}], slower_suites: [{suite, before, after, ratio}] (average of the
 * window's first half vs second half, ratio >= 1.2), alerts: {type: count}}. */
int envmgr_history_trends(envmgr_history_t *history, int days, json_t **out, envmgr_error_t *err);
/* A suite's earlier runs (not run_id), newest first, at most limit: durations and statuses. */
int envmgr_history_suite_runs(envmgr_history_t *history, const char *suite, const char *run_id,
                              int limit, json_t **out, envmgr_error_t *err);

/* Alerts on a report (see the top of this file); history may be NULL (no history alerts). */
json_t *envmgr_monitor_alerts(const json_t *report, const envmgr_alert_limits_t *limits,
                              envmgr_history_t *history);
/* The environment's identity: {compose_hash (SHA-256 of the resolved model, secrets masked),
 * fixtures: [{path, digest}] (SHA-256 of each archive of x-envtest.fixtures), git_commit
 * ($GITHUB_SHA, else `git rev-parse HEAD` in the compose file's folder; null outside a
 * repository)}. project may be NULL (only git_commit, from the current folder). */
json_t *envmgr_monitor_identity(const envmgr_project_t *project);

/* The run flow's monitor: open -> analyze (before the reports are written) -> record (after). */
typedef struct envmgr_monitor_options {
    const char *history_path;        /* NULL: envmgr_history_path(NULL) */
    const envmgr_project_t *project; /* limits and identity (read by open); NULL: defaults */
} envmgr_monitor_options_t;
typedef struct envmgr_monitor envmgr_monitor_t;
envmgr_monitor_t *envmgr_monitor_open(const envmgr_monitor_options_t *opts);
/* Adds "environment" and "alerts" to report. Returns the number of alerts. */
size_t envmgr_monitor_analyze(envmgr_monitor_t *monitor, json_t *report);
/* Records a run in the history and writes <run_dir>/report.html (also into extra_dir when not
 * NULL). Fails only when the HTML cannot be written. report is the run's report as analysed, which
 * may be compacted (see envmgr_run_options_t.compact_finished): each suite's tests are recorded
 * from its saved entry in run_dir (envmgr_report_saved_suite), one suite at a time, and the HTML
 * is drawn from report itself (its failing tests and slowest ones are all there). */
int envmgr_monitor_record_run(envmgr_monitor_t *monitor, const json_t *report, const char *run_dir,
                              const char *extra_dir, envmgr_error_t *err);
/* The same for a run folder's report.json, loaded whole. */
int envmgr_monitor_record(envmgr_monitor_t *monitor, const char *run_dir, const char *extra_dir,
                          envmgr_error_t *err);
/* The one warning about the history (malloc'ed by the monitor), or NULL when it worked. */
const char *envmgr_monitor_warning(const envmgr_monitor_t *monitor);
void envmgr_monitor_close(envmgr_monitor_t *monitor);

/* Renderers. The alerts as text lines ("alert: memory: suite x: ...") for the end of a run. */
void envmgr_monitor_alerts_text(const json_t *report, envmgr_buf_t *out);
/* The HTML report: one self-contained page (inline CSS, SVG charts, no script): summary, alerts,
 * charts (pass rate and duration over history_runs, slowest tests, memory per suite), suites,
 * failures with their TAP diagnostics and the tail of their output (read from run_dir when not
 * NULL). history_runs may be NULL. */
void envmgr_report_html(const json_t *report, const json_t *history_runs, const char *run_dir,
                        envmgr_buf_t *out);

#endif
