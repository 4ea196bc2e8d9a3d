/* Reports of a run, all derived from one JSON document (report.json), so that a past run or a merge
 * of shard reports renders exactly like a fresh one:
 *
 *   {"schema_version": 1, "run_id", "status": "passed|failed|interrupted", "shard": {index,
 * count}|null, "summary": {total, passed, failed, skipped, flaky, timed_out, errors, interrupted,
 * not_run, pass_rate, total_execution_time, start, end, tests: {total, passed, failed, skipped,
 * todo}}, "suites": [{name, status, message, duration, start, tags, output, tap (bool: judged as
 * TAP), cpu_time, cpu_user, cpu_system, peak_rss (measured: see runner.h), rerun: [the `envtest
 * run` arguments that select it again] (when known), attempts: [{attempt, status, duration, start,
 * exit_code, signal, message, output, output_bytes, cpu_time, cpu_user, cpu_system, peak_rss}],
 *                tap_summary: {version, planned, ran, passed, failed, ...},
 *                tests: [{number, name, status, duration, message, file, line, severity,
 *                reason, cpu_time, peak_rss}]}],                                  (sorted by name)
 *    "test_breakdown": {suite: {total_tests, passed_tests, failed_tests, skipped_tests, todo_tests,
 *                               avg_execution_time (suite time / tests), attempts}},
 *    "performance_analysis": {min_execution_time, max_execution_time, avg_execution_time,
 *                             slowest_suites: [{name, execution_time}] (5),
 *                             slowest_tests: [{suite, name, execution_time}] (5)},
 *    "error_analysis": {total_errors, common_errors: [{message, count, suites}] (10)}}
 *
 * Counting: the summary counts suites (the unit that runs, retries and is flaky); `failed` includes
 * timeouts, errors and interrupted suites, which are also counted on their own. pass_rate is the
 * percentage of suites that ran (not skipped, not "not_run") and passed or were flaky. Times are in
 * seconds, dates ISO 8601 UTC. */
#ifndef ENVMGR_REPORT_H
#define ENVMGR_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include <envmgr/error.h>
#include <envmgr/runner.h>
#include <envmgr/util.h>

/* The full report of a run (with the analysis). */
json_t *envmgr_report_from_run(const envmgr_run_result_t *run);

/* (Re)computes status, summary, test_breakdown, performance_analysis and error_analysis from
 * report.suites, summary.start and summary.end. */
int envmgr_report_analyze(json_t *report, envmgr_error_t *err);

/* Combines shard reports into one (suites concatenated and sorted, start/end the extremes); fails
 * when a suite appears in two reports. */
int envmgr_report_merge(json_t *const *reports, size_t n, json_t **out, envmgr_error_t *err);

/* Renderers. */
void envmgr_report_junit(const json_t *report, envmgr_buf_t *out);
void envmgr_report_markdown(const json_t *report, envmgr_buf_t *out);
/* GitHub Actions workflow commands: one ::error (or ::warning for flaky) per failure. */
void envmgr_report_github_annotations(const json_t *report, envmgr_buf_t *out);

/* Adds an attempt's measurements to its (or its suite's) entry: cpu_time, cpu_user, cpu_system
 * (seconds) and peak_rss (bytes); nothing when it was not measured. */
void envmgr_report_add_usage(json_t *entry, const envmgr_suite_attempt_t *a);

/* One suite's entry of report.json. */
json_t *envmgr_report_suite_json(const envmgr_suite_result_t *suite);

/* Streamed reports, for runs of any size (memory independent of the number of suites and tests):
 * the CLI saves each suite's full entry when it finishes (<run_dir>/<suite>.suite.json) and lets
 * the runner compact it (envmgr_run_options_t.compact_finished); at the end, `light` =
 * envmgr_report_from_run(run) carries the same analysis, and envmgr_report_write_run writes
 * report.json and junit.xml into dir suite by suite from the saved entries, and summary.md. */
int envmgr_report_save_suite(const envmgr_suite_result_t *suite, const char *run_dir,
                             envmgr_error_t *err);
int envmgr_report_write_run(const envmgr_run_result_t *run, const json_t *light, const char *dir,
                            envmgr_error_t *err);

/* Returns a new reference to the full entry of a suite given its entry in a report (which may have
 * been compacted). */
typedef json_t *(*envmgr_report_suite_loader)(void *userdata, const json_t *suite);
/* The loader of a run's saved entries: userdata is the run folder; the entry saved by
 * envmgr_report_save_suite, else (a suite that never finished) a reference to `suite` itself. */
json_t *envmgr_report_saved_suite(void *userdata, const json_t *suite);
/* junit.xml into out, one suite at a time (each loaded with load, or the report's own entry when
 * load is NULL). Returns -1 on a write error (errno). */
int envmgr_report_junit_file(const json_t *report, envmgr_report_suite_loader load, void *userdata,
                             FILE *out);

/* Writes report.json, junit.xml and summary.md into dir (created if needed). */
int envmgr_report_write(const json_t *report, const char *dir, envmgr_error_t *err);

/* Loads a report from a run folder or a report.json path. */
int envmgr_report_load(const char *path, json_t **out, envmgr_error_t *err);

/* The folder of a run under runs_dir: run is a run id, a unique prefix of one, or NULL for the
 * latest (the `latest` symlink envtest run maintains, else the greatest run id). Malloc'ed. */
int envmgr_report_find_run(const char *runs_dir, const char *run, char **out, envmgr_error_t *err);

/* History (SQLite, e.g. .envtest/history.sqlite): one row per suite of the report (replaced when
 * the same run is appended again). */
int envmgr_report_history_append(const char *path, const json_t *report, envmgr_error_t *err);
/* Per suite over the last `last_runs` runs (0: 20): [{suite, runs, passed, flaky, failed,
 * avg_duration, max_duration, last_run}], sorted by suite. */
int envmgr_report_history_stats(const char *path, int last_runs, json_t **out, envmgr_error_t *err);

/* A copy of s with invalid UTF-8 sequences replaced by U+FFFD (suites print any bytes). */
char *envmgr_utf8_valid_dup(const char *s);

/* Appends s escaped for XML text and attributes (&<>"' escaped, invalid UTF-8 and control
 * characters replaced by U+FFFD). */
void envmgr_xml_escape(envmgr_buf_t *out, const char *s);

#endif
