/* The run session (`envtest run`): which suites, then, under the project's lock, up if the
 * environment is not (guarded by the reaper container while the runs own it) and a use of it, the
 * variables every suite gets, a database per suite (isolation hooks), the runner, the monitor's
 * alerts, the reports (report.json, report.html, junit.xml, summary.md, the `latest` link, the
 * history), and the keep/down policy: an environment runs brought up is removed by the last run to
 * leave it. It never prints: progress goes through the callbacks, warnings through the log
 * handler. */
#ifndef ENVMGR_SESSION_H
#define ENVMGR_SESSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include <envmgr/compose.h>
#include <envmgr/defaults.h>
#include <envmgr/engine.h>
#include <envmgr/error.h>
#include <envmgr/lifecycle.h>
#include <envmgr/monitor.h>
#include <envmgr/runner.h>
#include <envmgr/util.h>

enum envmgr_session_event_kind {
    ENVMGR_SESSION_BRINGING_UP,   /* the environment is not up: brought up for this run */
    ENVMGR_SESSION_EMPTY_SHARD,   /* this shard of a non-empty selection has no suite (message) */
    ENVMGR_SESSION_KEPT,          /* something failed and keep_on_failure: the environment stays */
    ENVMGR_SESSION_REMOVED,       /* the environment this run brought up was removed */
    ENVMGR_SESSION_FINISH_FAILED, /* keeping or removing it failed (error) */
    ENVMGR_SESSION_VARIABLES,     /* the variables every suite gets (vars), before any suite runs
                                     (for CI log masking) */
    ENVMGR_SESSION_LOCK_WAIT,     /* waiting for the project's lock: message names its holder */
    ENVMGR_SESSION_SHARED,        /* the environment stays up: count other runs use it */
};

typedef struct envmgr_session_event {
    enum envmgr_session_event_kind kind;
    const char *project;           /* the project's name, or NULL without an environment */
    const char *message;           /* EMPTY_SHARD: the note */
    const envmgr_error_t *error;   /* FINISH_FAILED */
    const envmgr_kvlist_t *vars;   /* VARIABLES */
    const envmgr_project_t *model; /* VARIABLES: the project the run uses */
    int count;                     /* SHARED */
} envmgr_session_event_t;

typedef void (*envmgr_session_event_cb)(void *userdata, const envmgr_session_event_t *event);

struct envmgr_session_result;

typedef struct envmgr_session_options {
    /* The environment: engine and project (loaded with the live environment's secrets), or both
     * NULL to run without one (--no-env). network_labels: what `up` stores on a new network (the
     * generated secrets, the real services; may be NULL). up_progress: the per-service progress
     * of that up, as `envtest up` shows it (may be NULL). */
    envmgr_engine_t *engine;
    const envmgr_project_t *project;
    const envmgr_kvlist_t *network_labels;
    envmgr_progress_cb up_progress;
    void *up_userdata;
    /* Without an environment, the project whose x-envtest.suites are read when needed (loaded
     * by the caller's load_project on first use), or NULL. */
    int (*load_project)(void *userdata, envmgr_project_t **out, envmgr_error_t *err);
    /* Under the project's lock, the project read again with the live environment's secrets (a
     * concurrent up may have made its network meanwhile) and the labels of a new network; the
     * session owns both. NULL: project and network_labels as given. */
    int (*reload_project)(void *userdata, envmgr_project_t **out, envmgr_kvlist_t *network_labels,
                          envmgr_error_t *err);
    int64_t lock_timeout_ms; /* 0: wait for the lock until its holder is done or gone */

    /* What to run: names or paths (--suite), tags (--tag), or one command (after --). */
    const char *const *suites;    /* NULL-terminated, or NULL */
    const char *const *tags;      /* NULL-terminated, or NULL */
    const char *const *command;   /* NULL-terminated, or NULL */
    int shard_index, shard_count; /* K/N, or 0/0 */

    int jobs;           /* 0: the number of CPUs */
    int64_t timeout_ms; /* 0: ENVMGR_RUNNER_DEFAULT_TIMEOUT_MS */
    int retries;
    bool fail_fast; /* envmgr_run_options_t.fail_fast */
    bool keep_on_failure;
    bool no_snapshot;         /* the up it does loads the fixtures, not a state snapshot */
    bool pod;                 /* the up it does is in pod mode (envmgr_up_options_t.pod) */
    const char *runs_dir;     /* NULL: ENVMGR_DEFAULT_RUNS_DIR */
    const char *history_path; /* NULL: envmgr_history_path(NULL) (<envmgr/monitor.h>) */
    const char *report_dir;   /* also write the reports there, or NULL */

    envmgr_run_progress_cb run_progress; /* the runner's events (after the suite is saved) */
    envmgr_session_event_cb event;
    /* After the reports, before the keep/down policy, while the environment is still there (e.g.
     * for a repro bundle of a failed run); project is the one the run used. May be NULL. */
    void (*after_run)(void *userdata, const struct envmgr_session_result *result,
                      const envmgr_project_t *project);
    void *userdata;
} envmgr_session_options_t;

enum envmgr_session_status {
    ENVMGR_SESSION_PASSED, /* every suite passed, was skipped or flaky */
    ENVMGR_SESSION_FAILED,
    ENVMGR_SESSION_INTERRUPTED,
};

typedef struct envmgr_session_result {
    envmgr_suite_list_t suites; /* what ran */
    envmgr_run_result_t *run;
    json_t *report; /* report.json's analysis (envmgr_report_from_run), with the monitor's
                       "environment" and "alerts" */
    size_t n_alerts;
    enum envmgr_session_status status;
    /* services that died while the suites ran (envmgr_env_service_failures; also report.json's
       "service_failures"), or NULL: the CLI reports them and exits 3 */
    json_t *service_failures;
} envmgr_session_result_t;

/* Selects the suites, prepares the environment, runs, writes the reports and applies the keep/down
 * policy. Returns 0 with *out filled when the run happened (whatever its verdict: out->status);
 * negative when it could not: ENVMGR_E_USAGE for a selection that matches no suite (the message
 * names the known suites and tags), ENVMGR_E_ENV when the environment could not be brought up
 * (what this session brought up is removed again), ... */
int envmgr_session_run(const envmgr_session_options_t *opts, envmgr_session_result_t *out,
                       envmgr_error_t *err);
void envmgr_session_result_free(envmgr_session_result_t *result);

/* `envtest up --session`: the environment for as long as wait() lasts, as a run without suites
 * holds it. Under the project's lock it is brought up when it is not (then it is the sessions' and
 * runs': the ephemeral mark, held by the reaper container, so that a killed session leaves nothing)
 * and this session's use is recorded; wait(userdata, vars) is called with the connection variables
 * once the lock is released (opts->event sees VARIABLES first); then the last to leave removes an
 * environment the runs and sessions own, as after a run. Uses opts' environment fields (engine,
 * project, network_labels, up_progress, reload_project, lock_timeout_ms, no_snapshot, event,
 * userdata); the suite and report fields are ignored. Returns wait()'s value, or negative with
 * *err when the environment could not be brought up (what the session brought up is removed). */
int envmgr_session_hold(const envmgr_session_options_t *opts,
                        int (*wait)(void *userdata, const envmgr_kvlist_t *vars),
                        envmgr_error_t *err);

/* The suites the options select (without running anything): x-envtest.suites of project (when
 * needed and project is non-NULL), --suite names or paths, tags, shard. Sets each suite's rerun
 * arguments. *empty_shard is set when the shard leaves none of a non-empty selection. */
int envmgr_session_select(const envmgr_session_options_t *opts, const envmgr_project_t *project,
                          envmgr_suite_list_t *out, bool *empty_shard, envmgr_error_t *err);

/* True when the selection reads x-envtest.suites (no command, and no suites or a name among them):
 * only then does a run without an environment need the Compose file. */
bool envmgr_session_needs_project(const envmgr_session_options_t *opts);

/* ---- the last run's failures (`envtest keep`) ------------------------------------------- */

typedef struct envmgr_failed_suite {
    char *name;
    char *status;        /* "failed", "timeout", "error", "interrupted" */
    envmgr_strv_t rerun; /* the `envtest run` arguments that run it again (empty if unknown) */
} envmgr_failed_suite_t;

typedef struct envmgr_failed_suites {
    char *report_path; /* the report.json read */
    envmgr_failed_suite_t *items;
    size_t n;
} envmgr_failed_suites_t;

/* The suites that did not pass in the latest run under runs_dir (NULL: the default). No run yet
 * is not an error: 0 with out->report_path NULL. */
int envmgr_session_last_failures(const char *runs_dir, envmgr_failed_suites_t *out,
                                 envmgr_error_t *err);
void envmgr_failed_suites_free(envmgr_failed_suites_t *list);

#endif
