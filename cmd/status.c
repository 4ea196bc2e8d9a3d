/* envtest status [--json]: services, state, health and ports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include <envmgr/env.h>
#include <envmgr/util.h>

static const char *column(const envmgr_service_state_t *s, int k)
{
    const char *v = k == 0 ? s->service : k == 1 ? s->container : k == 2 ? s->state : s->health;
    return v ? v : "-";
}

static void print_table(const envmgr_env_state_t *state)
{
    printf("project %s%s\n", state->project, state->kept ? " (kept)" : "");
    /* columns as wide as their longest value (a long service or project name) */
    int w[4] = {(int)strlen("SERVICE"), (int)strlen("CONTAINER"), (int)strlen("STATE"),
                (int)strlen("HEALTH")};
    for (size_t i = 0; i < state->n_services; i++)
        for (int k = 0; k < 4; k++)
            if ((int)strlen(column(&state->services[i], k)) > w[k])
                w[k] = (int)strlen(column(&state->services[i], k));
    printf("%-*s  %-*s  %-*s  %-*s  %s\n", w[0], "SERVICE", w[1], "CONTAINER", w[2], "STATE", w[3],
           "HEALTH", "PORTS");
    for (size_t i = 0; i < state->n_services; i++) {
        const envmgr_service_state_t *s = &state->services[i];
        envmgr_buf_t ports = ENVMGR_BUF_INIT;
        for (size_t p = 0; p < s->n_ports; p++)
            envmgr_buf_addf(&ports, "%s%s:%d->%d/%s", p ? ", " : "", s->ports[p].host_ip,
                            s->ports[p].host_port, s->ports[p].container_port,
                            s->ports[p].protocol);
        if (s->url) /* a real service: where it is */
            envmgr_buf_adds(&ports, s->url);
        printf("%-*s  %-*s  %-*s  %-*s  %s\n", w[0], column(s, 0), w[1], column(s, 1), w[2],
               column(s, 2), w[3], column(s, 3), ports.data ? ports.data : "");
        envmgr_buf_free(&ports);
    }
}

static int status_run(envtest_ctx_t *ctx, void *opts)
{
    (void)opts;
    envmgr_error_t err = {0};
    envmgr_env_state_t state;
    if (envmgr_env_inspect(ctx->engine, ctx->project, &state, &err) < 0)
        return envtest_report_error(&err);
    if (envmgr_env_check_starting(ctx->engine, ctx->project, &state, &err) < 0) {
        envmgr_env_state_free(&state);
        return envtest_report_error(&err);
    }
    bool healthy = envmgr_env_state_healthy(&state);
    if (envtest_flag(ctx, "json")) {
        json_t *status = envmgr_env_state_to_json(&state);
        char *text = json_dumps(status, JSON_INDENT(2));
        puts(text);
        free(text);
        json_decref(status);
    } else {
        print_table(&state);
    }
    envmgr_env_state_free(&state);
    return healthy ? ENVTEST_EXIT_OK : ENVTEST_EXIT_ENVIRONMENT;
}

const envtest_command_t envtest_cmd_status = {
    .name = "status",
    .run = status_run,
    .flags = ENVTEST_NEEDS_PROJECT | ENVTEST_NEEDS_LIVE_PROJECT,
    .usage = (const char *const[]){"[--json] [-f FILE] [-p NAME]", NULL},
    .summary = "show services, state, health and ports",
    .description = "Per service: container, state, health and published ports. Where the\n"
                   "engine's first check is still to come (\"starting\"), envtest runs the\n"
                   "healthcheck once itself, as `up` does.",
    .options =
        (const envtest_option_t[]){
            {"json", 0, NULL, "one JSON object"},
            {NULL, 0, NULL, NULL},
        },
    .exit_codes = "0 all services running and healthy, 3 otherwise.",
};
