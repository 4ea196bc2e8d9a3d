/* The run session: environment, runner, reports, keep/down policy (see <envmgr/session.h>). */
#include <envmgr/session.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <envmgr/env.h>
#include <envmgr/isolation.h>
#include <envmgr/log.h>
#include <envmgr/report.h>

typedef struct session {
    const envmgr_session_options_t *opts;
    const char *runs_dir;
    envmgr_kvlist_t vars;      /* what every suite gets */
    bool brought_up;           /* this session brought the environment up */
    pthread_mutex_t lock;      /* serialises the isolation hooks */
    envmgr_kvlist_t databases; /* "suite\x1fattempt" -> its cloned database */
} session_t;

static void emit(const session_t *s, enum envmgr_session_event_kind kind, const char *message,
                 const envmgr_error_t *error)
{
    if (!s->opts->event)
        return;
    envmgr_session_event_t ev = {
        .kind = kind,
        .project = s->opts->project ? s->opts->project->name : NULL,
        .message = message,
        .error = error,
    };
    s->opts->event(s->opts->userdata, &ev);
}

/* ---- per-suite databases (the runner's hooks, on worker threads) ---------------------------- */

static int before_suite(void *userdata, const envmgr_suite_spec_t *suite, int attempt,
                        envmgr_kvlist_t *env_to_add, envmgr_error_t *err)
{
    session_t *s = userdata;
    char *db = NULL;
    pthread_mutex_lock(&s->lock);
    int rc = envmgr_isolation_clone_db(s->opts->engine, s->opts->project, suite->name, attempt,
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
        rc = envmgr_isolation_drop_db(s->opts->engine, s->opts->project, db, err);
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

/* Brings the environment up when it is not (and remembers it, for the policy), then reads the
 * variables every suite gets. */
static int env_prepare(session_t *s, envmgr_error_t *err)
{
    const envmgr_session_options_t *o = s->opts;
    envmgr_env_state_t state;
    if (envmgr_env_inspect(o->engine, o->project, &state, err) < 0)
        return envmgr_error_wrap(err, "run: environment status");
    bool healthy = envmgr_env_state_healthy(&state);
    if (!healthy) {
        envmgr_env_state_free(&state);
        emit(s, ENVMGR_SESSION_BRINGING_UP, NULL, NULL);
        envmgr_up_options_t up = {.wait_timeout_ms = ENVMGR_DEFAULT_WAIT_TIMEOUT_MS,
                                  .network_labels = o->network_labels,
                                  .progress = o->up_progress,
                                  .userdata = o->up_userdata};
        s->brought_up = true;
        int rc = envmgr_up(o->engine, o->project, &up, err);
        if (rc < 0)
            return envmgr_error_wrap(err, "run: up");
        if (envmgr_env_inspect(o->engine, o->project, &state, err) < 0)
            return envmgr_error_wrap(err, "run: environment status");
    }
    int rc = envmgr_env_state_vars(&state, o->project, &s->vars, err);
    envmgr_env_state_free(&state);
    if (rc < 0)
        return envmgr_error_wrap(err, "run: environment variables");
    if (o->event) { /* before any suite can print one */
        envmgr_session_event_t ev = {
            .kind = ENVMGR_SESSION_VARIABLES, .project = o->project->name, .vars = &s->vars};
        o->event(o->userdata, &ev);
    }
    return 0;
}

/* The policy: an environment this run brought up is removed, unless something failed and
 * keep_on_failure asks to keep it (then it is marked kept, whoever brought it up). */
static void env_finish(session_t *s, bool failed)
{
    const envmgr_session_options_t *o = s->opts;
    if (o->engine == NULL || o->project == NULL)
        return;
    envmgr_error_t err = {0};
    if (failed && o->keep_on_failure) {
        if (envmgr_keep_set(o->engine, o->project->name, true, &err) < 0)
            emit(s, ENVMGR_SESSION_FINISH_FAILED, NULL, &err);
        emit(s, ENVMGR_SESSION_KEPT, NULL, NULL);
        return;
    }
    if (!s->brought_up)
        return;
    envmgr_interrupt_reset(); /* clean up even after Ctrl-C */
    int removed = 0;
    if (envmgr_down(o->engine, o->project->name, true, NULL, NULL, &removed, &err) < 0)
        emit(s, ENVMGR_SESSION_FINISH_FAILED, NULL, &err);
    else
        emit(s, ENVMGR_SESSION_REMOVED, NULL, NULL);
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
                         envmgr_error_t *err)
{
    const envmgr_session_options_t *o = s->opts;
    if (envmgr_report_write_run(run, report, run->run_dir, err) < 0 ||
        (o->report_dir && envmgr_report_write_run(run, report, o->report_dir, err) < 0))
        return -1;
    envmgr_error_t history_err = {0};
    if (envmgr_report_history_append(o->history_path ? o->history_path
                                                     : ENVMGR_DEFAULT_HISTORY_PATH,
                                     report, &history_err) < 0)
        envmgr_warn("%s", history_err.message);
    update_latest_link(s->runs_dir, run->run_id);
    return 0;
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

static int run_suites(session_t *s, envmgr_session_result_t *out, envmgr_error_t *err)
{
    const envmgr_session_options_t *o = s->opts;
    bool with_env = o->engine && o->project;
    envmgr_run_options_t ropts = {
        .jobs = o->jobs,
        .timeout_ms = o->timeout_ms,
        .retries = o->retries,
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
    return write_reports(s, out->run, out->report, err);
}

int envmgr_session_run(const envmgr_session_options_t *opts, envmgr_session_result_t *out,
                       envmgr_error_t *err)
{
    memset(out, 0, sizeof(*out));
    session_t s = {.opts = opts, .runs_dir = opts->runs_dir ?: ENVMGR_DEFAULT_RUNS_DIR};
    pthread_mutex_init(&s.lock, NULL);
    bool with_env = opts->engine && opts->project;
    int rc = select_suites(&s, &out->suites, err);
    if (rc == 0 && with_env && out->suites.n > 0 && env_prepare(&s, err) < 0) {
        env_finish(&s, false);
        rc = -1;
    } else if (rc == 0) {
        rc = run_suites(&s, out, err);
        env_finish(&s, rc < 0 || out->status != ENVMGR_SESSION_PASSED);
    }
    envmgr_kvlist_free(&s.vars);
    envmgr_kvlist_free(&s.databases);
    pthread_mutex_destroy(&s.lock);
    if (rc < 0)
        envmgr_session_result_free(out);
    return rc;
}

void envmgr_session_result_free(envmgr_session_result_t *result)
{
    json_decref(result->report);
    envmgr_run_result_free(result->run);
    envmgr_suite_list_free(&result->suites);
    memset(result, 0, sizeof(*result));
}
