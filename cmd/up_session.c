/* envtest up --session: the environment for as long as this process lives. It is brought up as a
 * run brings it up (the ephemeral mark, the reaper container's connection held from before the
 * lock), then envtest waits in the foreground: Ctrl-C, SIGTERM or SIGHUP (the terminal closed)
 * ends the session and the last to leave removes the environment; killed outright, the reaper
 * removes it after its grace. An environment that was already up stays up. */
#include <signal.h>
#include <stdio.h>

#include "cmd.h"
#include "progress.h"
#include <envmgr/session.h>

typedef struct up_session {
    envtest_ctx_t *ctx;
    envtest_progress_t progress;
    int64_t t0;
    bool finish_failed; /* the environment could not be removed at the end */
} up_session_t;

static void on_event(void *userdata, const envmgr_session_event_t *ev)
{
    up_session_t *s = userdata;
    if (ev->kind == ENVMGR_SESSION_FINISH_FAILED)
        s->finish_failed = true;
    envtest_session_event_print(s->ctx->g, ev, "session");
}

static int on_reload(void *userdata, envmgr_project_t **out, envmgr_kvlist_t *labels,
                     envmgr_error_t *err)
{
    up_session_t *s = userdata;
    return envtest_reload_live_project(s->ctx->g, s->ctx->engine, out, labels, err);
}

/* Until SIGINT, SIGTERM or SIGHUP: the handler (common.c) sets envmgr_interrupted(); the signals
 * are blocked between the check and sigsuspend, so none is lost. */
static void wait_for_signal(void)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &old);
    while (!envmgr_interrupted())
        sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
}

static int on_hold(void *userdata, const envmgr_kvlist_t *vars)
{
    up_session_t *s = userdata;
    const char *name = s->ctx->project_name;
    (void)vars;
    envtest_progress_finish(&s->progress);
    if (!s->ctx->g->quiet)
        fprintf(stderr,
                "envtest: %s is up for this session (%.1fs). Connection variables: envtest -p %s "
                "env\n"
                "envtest: Ctrl-C ends the session and removes the environment\n",
                name, (envmgr_now_ms() - s->t0) / 1000.0, name);
    wait_for_signal();
    if (!s->ctx->g->quiet)
        fprintf(stderr, "envtest: session of %s ended\n", name);
    return 0;
}

int envtest_up_session(envtest_ctx_t *ctx, const envmgr_up_options_t *up)
{
    up_session_t s = {.ctx = ctx, .t0 = envmgr_now_ms()};
    envmgr_error_t err = {0};
    envmgr_kvlist_t labels = {0};
    int code = ENVTEST_EXIT_OK;
    if (envtest_load_live_project(ctx->g, ctx->engine, &ctx->project, &ctx->secrets, &err) < 0)
        return envtest_report_error(&err);
    envtest_network_labels(ctx->project, ctx->secrets, &labels);
    envtest_progress_init(&s.progress, stderr, ctx->g->stderr_is_tty, ctx->g->quiet);
    envmgr_session_options_t so = {
        .engine = ctx->engine,
        .project = ctx->project,
        .network_labels = &labels,
        .up_progress = envtest_progress_cb,
        .up_userdata = &s.progress,
        .reload_project = on_reload,
        .lock_timeout_ms = envtest_lock_timeout_ms(),
        .no_snapshot = up->no_snapshot,
        .pod = up->pod,
        .event = on_event,
        .userdata = &s,
    };
    if (envmgr_session_hold(&so, on_hold, &err) < 0) {
        envtest_progress_finish(&s.progress);
        code = envtest_report_error(&err);
    } else if (s.finish_failed) {
        code = ENVTEST_EXIT_ENVIRONMENT;
    }
    envmgr_kvlist_free(&labels);
    return code;
}
