/* envtest status [--json]: services, state, health and ports. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include <envmgr/env.h>
#include <envmgr/util.h>

static void print_table(const envmgr_env_state_t *state)
{
    printf("project %s%s\n", state->project, state->kept ? " (kept)" : "");
    printf("%-14s %-26s %-9s %-10s %s\n", "SERVICE", "CONTAINER", "STATE", "HEALTH", "PORTS");
    for (size_t i = 0; i < state->n_services; i++) {
        const envmgr_service_state_t *s = &state->services[i];
        envmgr_buf_t ports = ENVMGR_BUF_INIT;
        for (size_t p = 0; p < s->n_ports; p++)
            envmgr_buf_addf(&ports, "%s%s:%d->%d/%s", p ? ", " : "", s->ports[p].host_ip,
                            s->ports[p].host_port, s->ports[p].container_port,
                            s->ports[p].protocol);
        printf("%-14s %-26s %-9s %-10s %s\n", s->service, s->container ? s->container : "-",
               s->state, s->health, ports.data ? ports.data : "");
        envmgr_buf_free(&ports);
    }
}

int cmd_status(int argc, char **argv, envtest_globals_t *g)
{
    static const struct option longopts[] = {
        ENVTEST_COMMON_LONGOPTS,
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool as_json = false;
    int opt;
    while ((opt = getopt_long(argc, argv, ENVTEST_COMMON_SHORTOPTS "h", longopts, NULL)) != -1) {
        if (envtest_common_option(g, opt, optarg))
            continue;
        switch (opt) {
        case 'j':
            as_json = true;
            break;
        case 'h':
            printf("Usage: envtest status [--json] [-f FILE] [-p NAME]\n\n"
                   "Per service: container, state, health and published ports. Where the\n"
                   "engine's first check is still to come (\"starting\"), envtest runs the\n"
                   "healthcheck once itself, as `up` does.\n"
                   "Exit codes: 0 all services running and healthy, 3 otherwise.\n");
            return ENVTEST_EXIT_OK;
        default:
            return envtest_usage_error("status", "invalid option");
        }
    }
    envmgr_error_t err = {0};
    envtest_session_t session;
    if (envtest_session_open(g, &session, &err) < 0)
        return envtest_report_error(&err);
    envmgr_env_state_t state;
    int r = envmgr_env_inspect(session.engine, session.project, &state, &err);
    if (r == 0 && envmgr_env_check_starting(session.engine, session.project, &state, &err) < 0) {
        envmgr_env_state_free(&state);
        r = -1;
    }
    envtest_session_close(&session);
    if (r < 0)
        return envtest_report_error(&err);
    bool healthy = envmgr_env_state_healthy(&state);
    if (as_json) {
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
