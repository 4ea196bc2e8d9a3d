/* envtest logs [SERVICE...] [--tail N] [-f]: services' logs, prefixed with the service name.
 * envmgr_logs follows them (with -f every service at once) and hands over whole lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include <envmgr/logs.h>
#include <envmgr/util.h>

struct log_printer {
    bool prefix; /* several services: each line starts with its service */
};

/* Lines come whole and one at a time (envmgr_logs serialises them). */
static void print_line_cb(void *userdata, const char *service, enum envmgr_stream stream,
                          const char *line, size_t len)
{
    const struct log_printer *printer = userdata;
    FILE *out = stream == ENVMGR_STREAM_STDERR ? stderr : stdout;
    if (printer->prefix)
        fprintf(out, "%-12s | ", service);
    fwrite(line, 1, len, out);
    if (len == 0 || line[len - 1] != '\n')
        fputc('\n', out);
    fflush(out);
}

static int logs_parse(envtest_ctx_t *ctx, void *opts)
{
    envmgr_logs_options_t *o = opts;
    o->tail = -1;
    const char *tail = envtest_value(ctx, "tail");
    if (tail) {
        char *end;
        long v = strtol(tail, &end, 10);
        if (*end || v < 0)
            return envtest_usage_error("logs", "--tail: '%s' is not a number of lines", tail);
        o->tail = (int)v;
    }
    o->follow = envtest_flag(ctx, "follow");
    o->timestamps = envtest_flag(ctx, "timestamps");
    return 0;
}

static int logs_run(envtest_ctx_t *ctx, void *opts)
{
    envmgr_logs_options_t *o = opts;
    for (int i = 0; i < ctx->argc; i++)
        if (!envmgr_project_service(ctx->project, ctx->argv[i]))
            return envtest_usage_error("logs", "no such service: '%s'", ctx->argv[i]);
    struct log_printer printer = {
        .prefix = (ctx->argc ? (size_t)ctx->argc : ctx->project->n_services) > 1};
    o->services = ctx->argc ? (const char *const *)ctx->argv : NULL;
    o->line = print_line_cb;
    o->userdata = &printer;
    if (envtest_ci_masking()) {
        /* the logs may show the live environment's secrets: loading them masks them */
        envmgr_project_t *live = NULL;
        envmgr_error_t ignored = {0};
        if (envtest_load_live_project(ctx->g, ctx->engine, &live, NULL, &ignored) == 0)
            envmgr_project_free(live);
    }
    envmgr_error_t err = {0};
    if (envmgr_logs(ctx->engine, ctx->project, o, &err) == 0)
        return ENVTEST_EXIT_OK;
    /* Ctrl-C, also the end of -f: exit 130 */
    return err.kind == ENVMGR_E_INTERRUPTED ? ENVTEST_EXIT_INTERRUPTED : envtest_report_error(&err);
}

/* As in `docker compose logs -f`: after the command, -f is --follow; the Compose file is given
 * before the command (envtest -f FILE logs -f) or as --file. */
const envtest_command_t envtest_cmd_logs = {
    .name = "logs",
    .parse = logs_parse,
    .run = logs_run,
    .opts_size = sizeof(envmgr_logs_options_t),
    .flags = ENVTEST_NEEDS_PROJECT | ENVTEST_NEEDS_ENGINE,
    .usage = (const char *const[]){"[SERVICE...] [--tail N] [-f|--follow] [--timestamps]", NULL},
    .summary = "print services' logs",
    .description = "Prints the services' logs (all services when none is named), each line\n"
                   "prefixed with its service when there are several. With -f, follows them\n"
                   "all at once until Ctrl-C. The Compose file goes before the command:\n"
                   "envtest -f FILE logs -f.",
    .options =
        (const envtest_option_t[]){
            {"tail", 'n', "N", "only the last N lines of each service"},
            {"follow", 'f', NULL, "follow the logs until Ctrl-C"},
            {"timestamps", 't', NULL, "the engine's timestamp before each line"},
            {NULL, 0, NULL, NULL},
        },
    .exit_codes = "0 printed, 2 usage (an unknown service), 3 not up, 130 interrupted (the end\n"
                  "of -f).",
};
