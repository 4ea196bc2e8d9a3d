/* The run session: environment, runner, reports, keep/down policy (see <envmgr/session.h>). */
#include <envmgr/session.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <envmgr/env.h>
#include <envmgr/guard.h>
#include <envmgr/isolation.h>
#include <envmgr/lifecycle.h>
#include <envmgr/lock.h>
#include <envmgr/log.h>
#include <envmgr/report.h>

typedef struct session {
    const envmgr_session_options_t *opts;
    const char *runs_dir;
    const envmgr_project_t *project; /* the run's: opts->project, or reloaded under the lock */
    envmgr_project_t *reloaded;      /* owned, when reloaded */
    envmgr_kvlist_t network_labels;  /* owned, when reloaded */
    envmgr_kvlist_t vars;            /* what every suite gets */
    bool using;                      /* holds a use of the environment (see <envmgr/lock.h>) */
    envmgr_guard_t *guard;           /* the reaper container's connection, while runs own it */
    bool removed;                    /* the environment was removed by this session */
    pthread_mutex_t lock;            /* serialises the isolation hooks */
    envmgr_kvlist_t databases;       /* "suite\x1fattempt" -> its cloned database */
} session_t;

static void emit_event(const session_t *s, const envmgr_session_event_t *ev)
{
    if (s->opts->event)
        s->opts->event(s->opts->userdata, ev);
}

static void emit(const session_t *s, enum envmgr_session_event_kind kind, const char *message,
                 const envmgr_error_t *error)
{
    envmgr_session_event_t ev = {
        .kind = kind,
        .project = s->project ? s->project->name : NULL,
        .message = message,
        .error = error,
    };
    emit_event(s, &ev);
}

/* ---- per-suite databases (the runner's hooks, on worker threads) ---------------------------- */

static int before_suite(void *userdata, const envmgr_suite_spec_t *suite, int attempt,
                        envmgr_kvlist_t *env_to_add, envmgr_error_t *err)
{
    session_t *s = userdata;
    char *db = NULL;
    pthread_mutex_lock(&s->lock);
    int rc = envmgr_isolation_clone_db(s->opts->engine, s->project, suite->name, attempt,
                                       env_to_add, &db, err);
    if (rc == 0 && db != NULL) {
        envmgr_cleanup_free char *key = envmgr_xasprintf("%s\x1f%d", suite->name, attempt);
        envmgr_kvlist_set(&s->databases, key, db);
    }
    pthread_mutex_unlock(&s->lock);
    free(db);
    return rc;
}

static int after_suite(void *userdata, const envmgr_suite_spec_t *suite, int attempt,
                       const envmgr_suite_attempt_t *outcome, envmgr_error_t *err)
{
    session_t *s = userdata;
    envmgr_cleanup_free char *key = envmgr_xasprintf("%s\x1f%d", suite->name, attempt);
    pthread_mutex_lock(&s->lock);
    const envmgr_kv_t *kv = envmgr_kvlist_find(&s->databases, key);
    envmgr_cleanup_free char *db = kv && kv->value ? envmgr_xstrdup(kv->value) : NULL;
    bool keep = s->opts->keep_on_failure && !envmgr_suite_status_ok(outcome->status);
    int rc = 0;
    if (db != NULL && !keep)
        rc = envmgr_isolation_drop_db(s->opts->engine, s->project, db, err);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* The runner's events: a finished suite's full entry is saved (before the runner compacts it),
 * then the caller sees the event. */
static void run_progress(void *userdata, const envmgr_run_event_t *ev)
{
    session_t *s = userdata;
    if (ev->kind == ENVMGR_RUN_SUITE_FINISHED) {
        envmgr_error_t err = {0};
        if (envmgr_report_save_suite(ev->result, ev->run_dir, &err) < 0)
            envmgr_warn("%s", err.message);
    }
    if (s->opts->run_progress)
        s->opts->run_progress(s->opts->userdata, ev);
}

/* ---- the environment ------------------------------------------------------------------------ */

static void lock_wait(void *userdata, const char *project, const char *holder)
{
    (void)project;
    emit(userdata, ENVMGR_SESSION_LOCK_WAIT, holder, NULL);
}

static int take_lock(session_t *s, envmgr_lock_t **lock, envmgr_error_t *err)
{
    envmgr_lock_options_t lo = {
        .command = "run",
        .timeout_ms = s->opts->lock_timeout_ms,
        .wait = lock_wait,
        .userdata = s,
    };
    return envmgr_lock_acquire(s->opts->engine, s->opts->project->name, &lo, lock, err);
}

/* Under the lock: the project read again (a concurrent up may have made the network and its
 * secrets), up when the environment is not (then it is the runs': the ephemeral mark, the reaper
 * container), this run's use of it, the variables every suite gets. */
static int env_prepare_locked(session_t *s, envmgr_error_t *err)
{
    const envmgr_session_options_t *o = s->opts;
    const envmgr_kvlist_t *labels = o->network_labels;
    if (o->reload_project) {
        if (o->reload_project(o->userdata, &s->reloaded, &s->network_labels, err) < 0)
            return -1;
        s->project = s->reloaded;
        labels = &s->network_labels;
    }
    envmgr_env_state_t state;
    if (envmgr_env_inspect(o->engine, s->project, &state, err) < 0)
        return envmgr_error_wrap(err, "run: environment status");
    bool healthy = envmgr_env_state_healthy(&state), ephemeral = false;
    if (envmgr_env_ephemeral_get(o->engine, s->project->name, &ephemeral, err) < 0) {
        envmgr_env_state_free(&state);
        return envmgr_error_wrap(err, "run: environment status");
    }
    if ((!healthy || ephemeral) && !s->guard) { /* the runs own it: the reaper removes it if they
                                                   all die */
        envmgr_error_t guard_err = {0};
        if (envmgr_guard_open(o->engine, s->project->name, &s->guard, &guard_err) < 0)
            envmgr_debug("run: no reaper container: %s", guard_err.message);
    }
    if (!healthy) {
        envmgr_env_state_free(&state);
        emit(s, ENVMGR_SESSION_BRINGING_UP, NULL, NULL);
        /* the runs' from now on (the mark first: a reaper removes only what envtests own), removed
         * by the last run to leave it (env_finish) */
        if (envmgr_env_ephemeral_set(o->engine, s->project->name, true, err) < 0)
            return envmgr_error_wrap(err, "run: up");
        envmgr_up_options_t up = {.wait_timeout_ms = ENVMGR_DEFAULT_WAIT_TIMEOUT_MS,
                                  .network_labels = labels,
                                  .owned = s->guard != NULL,
                                  .no_snapshot = o->no_snapshot,
                                  .pod = o->pod,
                                  .progress = o->up_progress,
                                  .userdata = o->up_userdata};
        if (envmgr_up(o->engine, s->project, &up, err) < 0)
            return envmgr_error_wrap(err, "run: up");
        if (envmgr_env_inspect(o->engine, s->project, &state, err) < 0)
            return envmgr_error_wrap(err, "run: environment status");
    }
    int rc = envmgr_env_use_add(o->engine, s->project->name, err);
    s->using = rc == 0;
    if (rc == 0)
        rc = envmgr_env_state_vars(&state, s->project, &s->vars, err);
    envmgr_env_state_free(&state);
    if (rc < 0)
        return envmgr_error_wrap(err, "run: environment variables");
    envmgr_session_event_t ev = {
        .kind = ENVMGR_SESSION_VARIABLES,
        .project = s->project->name,
        .vars = &s->vars,
        .model = s->project,
    };
    emit_event(s, &ev); /* before any suite can print one */
    return 0;
}

/* Runs of one project share its environment: under the project's lock, a run brings it up when
 * it is not, and records its use of it; then it lets the next one in. */
static int env_prepare(session_t *s, envmgr_error_t *err)
{
    /* how the suites reach the services, known before a reaper or an up */
    if (envmgr_reach_prepare(s->opts->engine, err) < 0)
        return -1;
    /* a run that may own the environment holds its guard before the lock (see <envmgr/guard.h>) */
    bool wanted = false;
    envmgr_error_t guard_err = {0};
    if (envmgr_guard_wanted(s->opts->engine, s->project->name, &wanted, &guard_err) == 0 &&
        wanted && envmgr_guard_open(s->opts->engine, s->project->name, &s->guard, &guard_err) < 0)
        envmgr_debug("run: no reaper container: %s", guard_err.message);
    envmgr_lock_t *lock = NULL;
    if (take_lock(s, &lock, err) < 0)
        return -1;
    int rc = env_prepare_locked(s, err);
    envmgr_lock_release(lock);
    return rc;
}

/* The policy, under the lock: the use goes; after a failure with keep_on_failure the environment
 * is marked kept, whoever brought it up; else one runs brought up (the ephemeral mark) is removed
 * by the last run to leave it. */
static void env_finish_locked(session_t *s, bool failed)
{
    const envmgr_session_options_t *o = s->opts;
    const char *name = s->project->name;
    envmgr_error_t err = {0};
    if (s->using && envmgr_env_use_remove(o->engine, name, &err) < 0)
        emit(s, ENVMGR_SESSION_FINISH_FAILED, NULL, &err);
    if (failed && o->keep_on_failure) {
        if (envmgr_keep_set(o->engine, name, true, &err) < 0)
            emit(s, ENVMGR_SESSION_FINISH_FAILED, NULL, &err);
        emit(s, ENVMGR_SESSION_KEPT, NULL, NULL);
        return;
    }
    bool ephemeral = false, kept = false;
    int others = 0;
    if (envmgr_env_ephemeral_get(o->engine, name, &ephemeral, &err) < 0 ||
        envmgr_keep_get(o->engine, name, &kept, &err) < 0 ||
        envmgr_env_other_uses(o->engine, name, &others, &err) < 0) {
        emit(s, ENVMGR_SESSION_FINISH_FAILED, NULL, &err);
        return;
    }
    if (!ephemeral || kept)
        return;
    if (others > 0) {
        envmgr_session_event_t ev = {
            .kind = ENVMGR_SESSION_SHARED, .project = name, .count = others};
        emit_event(s, &ev);
        return;
    }
    int removed = 0;
    if (envmgr_down(o->engine, name, true, NULL, NULL, &removed, &err) < 0) {
        emit(s, ENVMGR_SESSION_FINISH_FAILED, NULL, &err);
        return;
    }
    /* its reaper container goes too when no other envtest holds it (the lock marks go with the
       lock, after this) */
    s->removed = true;
    emit(s, ENVMGR_SESSION_REMOVED, NULL, NULL);
}

static void env_finish(session_t *s, bool failed)
{
    if (s->opts->engine == NULL || s->project == NULL)
        return;
    envmgr_interrupt_reset(); /* clean up even after Ctrl-C */
    envmgr_error_t err = {0};
    envmgr_lock_t *lock = NULL;
    if (take_lock(s, &lock, &err) < 0) {
        emit(s, ENVMGR_SESSION_FINISH_FAILED, NULL, &err);
        return;
    }
    env_finish_locked(s, failed);
    envmgr_lock_release(lock);
    /* after the lock: its reaper finds nothing or what envtests own, and the lock marks are gone */
    if (s->removed && envmgr_guard_done(s->opts->engine, s->project->name, s->guard, &err) < 0)
        envmgr_debug("run: reaper container of %s: %s", s->project->name, err.message);
    else if (!s->removed)
        envmgr_guard_close(s->guard);
    s->guard = NULL;
}

/* ---- reports -------------------------------------------------------------------------------- */

static void update_latest_link(const char *runs_dir, const char *run_id)
{
    envmgr_cleanup_free char *tmp = envmgr_xasprintf("%s/.latest.tmp", runs_dir);
    envmgr_cleanup_free char *latest = envmgr_xasprintf("%s/latest", runs_dir);
    unlink(tmp);
    if (symlink(run_id, tmp) == 0 && rename(tmp, latest) < 0)
        unlink(tmp);
}

static int write_reports(const session_t *s, const envmgr_run_result_t *run, const json_t *report,
                         envmgr_monitor_t *monitor, envmgr_error_t *err)
{
    const envmgr_session_options_t *o = s->opts;
    if (envmgr_report_write_run(run, report, run->run_dir, err) < 0 ||
        (o->report_dir && envmgr_report_write_run(run, report, o->report_dir, err) < 0) ||
        envmgr_monitor_record_run(monitor, report, run->run_dir, o->report_dir, err) < 0)
        return -1;
    if (envmgr_monitor_warning(monitor))
        envmgr_warn("%s", envmgr_monitor_warning(monitor));
    update_latest_link(s->runs_dir, run->run_id);
    return 0;
}

/* The monitor's alert limits and identity come from the project; without an environment from the
 * Compose file when there is one (not for a bare command). */
static envmgr_monitor_t *open_monitor(const session_t *s)
{
    const envmgr_session_options_t *o = s->opts;
    envmgr_project_t *loaded = NULL;
    const envmgr_project_t *project = s->project;
    envmgr_error_t ignored = {0};
    if (!project && !o->command && o->load_project &&
        o->load_project(o->userdata, &loaded, &ignored) == 0)
        project = loaded;
    envmgr_monitor_options_t mo = {.history_path = o->history_path, .project = project};
    envmgr_monitor_t *monitor = envmgr_monitor_open(&mo);
    envmgr_project_free(loaded);
    return monitor;
}

static enum envmgr_session_status verdict(const envmgr_run_result_t *run, const json_t *report)
{
    const char *status = json_string_value(json_object_get(report, "status"));
    return run->interrupted ? ENVMGR_SESSION_INTERRUPTED
           : strcmp(status ?: "", "passed") != 0 ? ENVMGR_SESSION_FAILED
                                                 : ENVMGR_SESSION_PASSED;
}

/* ---- the session ---------------------------------------------------------------------------- */

static int select_suites(session_t *s, envmgr_suite_list_t *out, envmgr_error_t *err)
{
    const envmgr_session_options_t *o = s->opts;
    envmgr_project_t *loaded = NULL;
    const envmgr_project_t *project = o->project;
    /* without an environment, the Compose file is read only when a suite name needs it */
    if (!project && o->load_project && envmgr_session_needs_project(o)) {
        if (o->load_project(o->userdata, &loaded, err) < 0)
            return -1;
        project = loaded;
    }
    bool empty_shard = false;
    int rc = envmgr_session_select(o, project, out, &empty_shard, err);
    envmgr_project_free(loaded);
    if (rc == 0 && empty_shard) {
        envmgr_cleanup_free char *note =
            envmgr_xasprintf("shard %d/%d has no suite of this selection: nothing to run",
                             o->shard_index, o->shard_count);
        emit(s, ENVMGR_SESSION_EMPTY_SHARD, note, NULL);
    }
    return rc;
}

/* A service that died while the suites ran (OOM-killed, exited non-zero) makes their verdict
 * suspect: said in report.json ("service_failures") and in out->service_failures. */
static void note_service_failures(session_t *s, envmgr_session_result_t *out)
{
    json_t *failures = NULL;
    envmgr_error_t err = {0};
    if (envmgr_env_service_failures(s->opts->engine, s->project->name, &failures, &err) < 0) {
        envmgr_debug("run: service states after the suites: %s", err.message);
        return;
    }
    if (json_array_size(failures) > 0) {
        json_object_set(out->report, "service_failures", failures);
        out->service_failures = failures;
    } else {
        json_decref(failures);
    }
}

static int run_suites(session_t *s, envmgr_session_result_t *out, envmgr_error_t *err)
{
    const envmgr_session_options_t *o = s->opts;
    bool with_env = o->engine && o->project;
    envmgr_run_options_t ropts = {
        .jobs = o->jobs,
        .timeout_ms = o->timeout_ms,
        .retries = o->retries,
        .fail_fast = o->fail_fast,
        .runs_dir = s->runs_dir,
        .env = with_env ? &s->vars : NULL,
        .shard_index = o->shard_index,
        .shard_count = o->shard_count,
        .progress = run_progress,
        .compact_finished = true,
        .before_suite = with_env ? before_suite : NULL,
        .after_suite = with_env ? after_suite : NULL,
        .userdata = s,
    };
    if (envmgr_runner_run(&out->suites, &ropts, &out->run, err) < 0)
        return -1;
    out->report = envmgr_report_from_run(out->run);
    out->status = verdict(out->run, out->report);
    if (with_env)
        note_service_failures(s, out);
    envmgr_monitor_t *monitor = open_monitor(s);
    out->n_alerts = envmgr_monitor_analyze(monitor, out->report);
    int rc = write_reports(s, out->run, out->report, monitor, err);
    envmgr_monitor_close(monitor);
    if (rc == 0 && o->after_run && with_env)
        o->after_run(o->userdata, out, s->project);
    return rc;
}

int envmgr_session_run(const envmgr_session_options_t *opts, envmgr_session_result_t *out,
                       envmgr_error_t *err)
{
    memset(out, 0, sizeof(*out));
    session_t s = {.opts = opts,
                   .runs_dir = opts->runs_dir ?: ENVMGR_DEFAULT_RUNS_DIR,
                   .project = opts->project};
    pthread_mutex_init(&s.lock, NULL);
    bool with_env = opts->engine && opts->project;
    int rc = select_suites(&s, &out->suites, err);
    bool prepare = rc == 0 && with_env && out->suites.n > 0; /* an empty shard leaves it be */
    if (prepare && env_prepare(&s, err) < 0) {
        env_finish(&s, false);
        rc = -1;
    } else if (rc == 0) {
        rc = run_suites(&s, out, err);
        if (prepare)
            env_finish(&s, rc < 0 || out->status != ENVMGR_SESSION_PASSED);
    }
    envmgr_guard_close(s.guard); /* closed by env_finish, unless it could not take the lock */
    envmgr_kvlist_free(&s.vars);
    envmgr_kvlist_free(&s.databases);
    envmgr_kvlist_free(&s.network_labels);
    envmgr_project_free(s.reloaded);
    pthread_mutex_destroy(&s.lock);
    if (rc < 0)
        envmgr_session_result_free(out);
    return rc;
}

int envmgr_session_hold(const envmgr_session_options_t *opts,
                        int (*wait)(void *userdata, const envmgr_kvlist_t *vars),
                        envmgr_error_t *err)
{
    if (opts->engine == NULL || opts->project == NULL)
        return envmgr_error_set(err, ENVMGR_E_USAGE, 0, "a session needs an environment");
    session_t s = {.opts = opts, .project = opts->project};
    pthread_mutex_init(&s.lock, NULL);
    int rc = env_prepare(&s, err);
    if (rc == 0)
        rc = wait(opts->userdata, &s.vars);
    env_finish(&s, false);
    envmgr_guard_close(s.guard);
    envmgr_kvlist_free(&s.vars);
    envmgr_kvlist_free(&s.network_labels);
    envmgr_project_free(s.reloaded);
    pthread_mutex_destroy(&s.lock);
    return rc;
}

void envmgr_session_result_free(envmgr_session_result_t *result)
{
    json_decref(result->report);
    json_decref(result->service_failures);
    envmgr_run_result_free(result->run);
    envmgr_suite_list_free(&result->suites);
    memset(result, 0, sizeof(*result));
}
