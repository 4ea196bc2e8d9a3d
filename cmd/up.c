/* envtest up [SERVICE...]: create the environment, wait for health, load fixtures. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "progress.h"
#include <envmgr/lifecycle.h>
#include <envmgr/util.h>

static int up_parse(envtest_ctx_t *ctx, void *opts)
{
    envmgr_up_options_t *o = opts;
    o->wait_timeout_ms = ENVMGR_DEFAULT_WAIT_TIMEOUT_MS;
    const char *wait = envtest_value(ctx, "wait-timeout");
    if (wait) {
        char *end;
        double s = strtod(wait, &end);
        if (*end || s <= 0)
            return envtest_usage_error(
                "up", "--wait-timeout: '%s' is not a positive number of seconds", wait);
        o->wait_timeout_ms = (int64_t)(s * 1000);
    }
    o->keep_on_failure = envtest_flag(ctx, "keep");
    o->no_fixtures = envtest_flag(ctx, "no-fixtures");
    return 0;
}

static int up_run(envtest_ctx_t *ctx, void *opts)
{
    envmgr_up_options_t *o = opts;
    if (ctx->argc > 0)
        o->services = (const char *const *)ctx->argv;
    envmgr_kvlist_t network_labels = {0};
    envtest_network_labels(ctx->project, ctx->secrets, &network_labels);
    o->network_labels = &network_labels;
    envtest_progress_t progress;
    envtest_progress_init(&progress, stderr, ctx->g->stderr_is_tty, ctx->g->quiet);
    o->progress = envtest_progress_cb;
    o->userdata = &progress;
    int64_t t0 = envmgr_now_ms();
    envmgr_error_t err = {0};
    int r = envmgr_up(ctx->engine, ctx->project, o, &err);
    envtest_progress_finish(&progress);
    envmgr_kvlist_free(&network_labels);
    if (r < 0) {
        int code = envtest_report_error(&err);
        if (!o->keep_on_failure && err.kind != ENVMGR_E_CONFIG)
            fprintf(stderr, "envtest: removed what this 'up' created (use --keep to keep it)\n");
        return code;
    }
    if (!ctx->g->quiet)
        fprintf(stderr, "envtest: %s is up (%.1fs). Connection variables: envtest env\n",
                ctx->project->name, (envmgr_now_ms() - t0) / 1000.0);
    return ENVTEST_EXIT_OK;
}

const envtest_command_t envtest_cmd_up = {
    .name = "up",
    .parse = up_parse,
    .run = up_run,
    .opts_size = sizeof(envmgr_up_options_t),
    .flags = ENVTEST_NEEDS_LIVE_PROJECT,
    .usage = (const char *const[]){"[OPTIONS] [SERVICE...]", NULL},
    .summary = "create the environment, wait for health, load fixtures",
    .description =
        "Creates the project network and the services' containers (with their dependencies),\n"
        "starts them in dependency order, independent ones in parallel, waits until each is\n"
        "healthy, and loads the fixtures named in x-envtest.fixtures. Running it again on a\n"
        "healthy environment changes nothing; a changed service is recreated alone.",
    .options =
        (const envtest_option_t[]){
            {"wait-timeout", 0, "S", "seconds to wait for health (default 120)"},
            {"keep", 0, NULL, "on failure, keep what was created (for inspection)"},
            {"no-fixtures", 0, NULL, "do not load fixtures"},
            {NULL, 0, NULL, NULL},
        },
    .exit_codes = "0 up and healthy, 2 invalid compose file or usage, 3 environment error\n"
                  "(engine unreachable, image missing, unhealthy service), 130 interrupted.",
};
