/* envtest up [SERVICE...]: create the environment, wait for health, load fixtures. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "progress.h"
#include <envmgr/guard.h>
#include <envmgr/lifecycle.h>
#include <envmgr/log.h>
#include <envmgr/util.h>

typedef struct up_cli {
    envmgr_up_options_t up;
    const char *from; /* --from BUNDLE */
    bool session;     /* --session */
} up_cli_t;

static int up_parse(envtest_ctx_t *ctx, void *opts)
{
    up_cli_t *o = opts;
    o->up.wait_timeout_ms = ENVMGR_DEFAULT_WAIT_TIMEOUT_MS;
    const char *wait = envtest_value(ctx, "wait-timeout");
    if (wait) {
        char *end;
        double s = strtod(wait, &end);
        if (*end || s <= 0)
            return envtest_usage_error(
                "up", "--wait-timeout: '%s' is not a positive number of seconds", wait);
        o->up.wait_timeout_ms = (int64_t)(s * 1000);
    }
    o->up.keep_on_failure = envtest_flag(ctx, "keep");
    o->up.no_fixtures = envtest_flag(ctx, "no-fixtures");
    o->up.no_snapshot = envtest_flag(ctx, "no-snapshot");
    o->up.pod = envtest_flag(ctx, "pod");
    o->from = envtest_value(ctx, "from");
    o->session = envtest_flag(ctx, "session");
    if (o->session && (o->from || o->up.keep_on_failure || ctx->argc > 0))
        return envtest_usage_error("up", "--session brings up every service of this project's "
                                         "file: it takes no SERVICE, --from or --keep");
    ctx->no_setup = o->from != NULL; /* the bundle's Compose file, not this one */
    return 0;
}

/* The environment is the user's now, not a run's: no run and no reaper removes it (the mark goes
 * under the lock; the reaper is let go after it). */
static int hand_to_user(envmgr_engine_t *engine, const char *project, envmgr_error_t *err)
{
    return envmgr_env_ephemeral_set(engine, project, false, err);
}

/* Under the lock: the live project, then up. *handed: the environment is the user's now. */
static int up_locked(envtest_ctx_t *ctx, up_cli_t *o, bool owned, bool *was_ephemeral, bool *handed,
                     envmgr_error_t *err)
{
    if (envtest_load_live_project(ctx->g, ctx->engine, &ctx->project, &ctx->secrets, err) < 0)
        return -1;
    envmgr_kvlist_t network_labels = {0};
    envtest_network_labels(ctx->project, ctx->secrets, &network_labels);
    o->up.network_labels = &network_labels;
    o->up.owned = owned; /* the guard below is this up's: the reaper stays until it is let go */
    envtest_progress_t progress;
    envtest_progress_init(&progress, stderr, ctx->g->stderr_is_tty, ctx->g->quiet);
    o->up.progress = envtest_progress_cb;
    o->up.userdata = &progress;
    int r = envmgr_env_ephemeral_get(ctx->engine, ctx->project->name, was_ephemeral, err);
    if (r == 0)
        r = envmgr_up(ctx->engine, ctx->project, &o->up, err);
    if (r == 0 || o->up.keep_on_failure) {
        envmgr_error_t mark_err = {0};
        *handed = hand_to_user(ctx->engine, ctx->project->name, &mark_err) == 0;
        if (!*handed) {
            if (r == 0)
                *err = mark_err;
            r = -1;
        }
    }
    envtest_progress_finish(&progress);
    envmgr_kvlist_free(&network_labels);
    return r;
}

/* An up that may own the environment holds its reaper container's connection before it takes the
 * project's lock (<envmgr/guard.h>): killed at any point after, it leaves nothing behind. */
static int up_run(envtest_ctx_t *ctx, void *opts)
{
    up_cli_t *o = opts;
    if (ctx->argc > 0)
        o->up.services = (const char *const *)ctx->argv;
    if (o->from)
        return envtest_up_from(ctx->g, o->from, &o->up, NULL, NULL);
    if (o->session)
        return envtest_up_session(ctx, &o->up);
    const char *name = ctx->project_name;
    int64_t t0 = envmgr_now_ms();
    envmgr_error_t err = {0}, guard_err = {0};
    envmgr_guard_t *guard = NULL;
    bool wanted = false, was_ephemeral = false, handed = false;
    if (!o->up.keep_on_failure &&
        envmgr_guard_wanted(ctx->engine, name, &wanted, &guard_err) == 0 && wanted &&
        envmgr_guard_open(ctx->engine, name, &guard, &guard_err) < 0)
        envmgr_debug("up: no reaper container: %s", guard_err.message);
    envmgr_lock_t *lock = NULL;
    int r = envtest_lock_project(ctx->g, ctx->engine, name, "up", &lock, &err);
    if (r == 0)
        r = up_locked(ctx, o, guard != NULL, &was_ephemeral, &handed, &err);
    envmgr_lock_release(lock);
    if (handed && (guard || was_ephemeral) &&
        envmgr_guard_release(ctx->engine, name, guard, &guard_err) < 0 && r == 0) {
        err = guard_err; /* a reaper that was not let go would remove the user's environment */
        r = -1;
    }
    if (r < 0 && !handed) /* up removed what it made: its reaper goes now, unless things remain */
        envmgr_guard_failed(ctx->engine, name, guard, &guard_err);
    else
        envmgr_guard_close(guard);
    if (r < 0) {
        int code = envtest_report_error(&err);
        if (!o->up.keep_on_failure && err.kind != ENVMGR_E_CONFIG && ctx->project)
            fprintf(stderr, "envtest: removed what this 'up' created (use --keep to keep it)\n");
        return code;
    }
    if (!ctx->g->quiet)
        fprintf(stderr, "envtest: %s is up (%.1fs). Connection variables: envtest env\n", name,
                (envmgr_now_ms() - t0) / 1000.0);
    return ENVTEST_EXIT_OK;
}

const envtest_command_t envtest_cmd_up = {
    .name = "up",
    .parse = up_parse,
    .run = up_run,
    .opts_size = sizeof(up_cli_t),
    .flags = ENVTEST_NEEDS_PROJECT_NAME | ENVTEST_NEEDS_ENGINE, /* the rest in up_run */
    .usage = (const char *const[]){"[OPTIONS] [SERVICE...]", NULL},
    .summary = "create the environment, wait for health, load fixtures",
    .description =
        "Creates the project network and the services' containers (with their dependencies),\n"
        "starts them in dependency order, independent ones in parallel, waits until each is\n"
        "healthy, and loads the fixtures named in x-envtest.fixtures. Running it again on a\n"
        "healthy environment changes nothing; a changed service is recreated alone. It holds\n"
        "the project's lock: a second up, run or down of the project waits for it.\n"
        "When every fixture loads into MySQL, its loaded data is saved as a state snapshot, and\n"
        "a later up (any project) with the same image, configuration and fixtures puts it back\n"
        "instead of loading (\"mysql: loaded ... state from snapshot KEY\"); see `envtest "
        "snapshot`.",
    .options =
        (const envtest_option_t[]){
            {"wait-timeout", 0, "S", "seconds to wait for health (default 120)"},
            {"keep", 0, NULL, "on failure, keep what was created (for inspection)"},
            {"no-fixtures", 0, NULL, "do not load fixtures"},
            {"no-snapshot", 0, NULL,
             "load the fixtures even when a state snapshot holds them (see `envtest snapshot`)"},
            {"pod", 0, NULL,
             "one network namespace for all services, held by a pause container that publishes "
             "every port (also x-envtest.pod: true)"},
            {"session", 0, NULL,
             "stay in the foreground: Ctrl-C (or SIGTERM, SIGHUP) ends the session and removes "
             "the environment; killed outright, the reaper container removes it"},
            {"from", 0, "BUNDLE",
             "recreate the environment saved by `envtest bundle create` (or run "
             "--bundle-on-failure), with its state, under -p NAME (default <its project>-repro)"},
            {NULL, 0, NULL, NULL},
        },
    .exit_codes = "0 up and healthy, 2 invalid compose file or usage, 3 environment error\n"
                  "(engine unreachable, image missing, unhealthy service), 130 interrupted.",
};
