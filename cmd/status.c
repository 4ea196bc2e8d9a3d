/* envtest status [--json]: services, state, health and ports. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include <envmgr/lifecycle.h>
#include <envmgr/util.h>

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
    json_t *status = NULL;
    int r = envmgr_status(session.engine, session.project, &status, &err);
    if (r == 0)
        r = envmgr_status_check_starting(session.engine, session.project, status, &err);
    envtest_session_close(&session);
    if (r < 0) {
        json_decref(status);
        return envtest_report_error(&err);
    }
    bool healthy = envmgr_status_all_healthy(status);
    if (as_json) {
        char *text = json_dumps(status, JSON_INDENT(2));
        puts(text);
        free(text);
    } else {
        json_t *services = json_object_get(status, "services");
        printf("project %s%s\n", json_string_value(json_object_get(status, "project")),
               json_is_true(json_object_get(status, "kept")) ? " (kept)" : "");
        /* columns as wide as their longest value (a long service or project name) */
        int w[4] = {(int)strlen("SERVICE"), (int)strlen("CONTAINER"), (int)strlen("STATE"),
                    (int)strlen("HEALTH")};
        static const char *const keys[4] = {"service", "container", "state", "health"};
        for (size_t i = 0; i < json_array_size(services); i++)
            for (int k = 0; k < 4; k++) {
                const char *v =
                    json_string_value(json_object_get(json_array_get(services, i), keys[k]));
                int len = v ? (int)strlen(v) : 1;
                if (len > w[k])
                    w[k] = len;
            }
        printf("%-*s  %-*s  %-*s  %-*s  %s\n", w[0], "SERVICE", w[1], "CONTAINER", w[2], "STATE",
               w[3], "HEALTH", "PORTS");
        for (size_t i = 0; i < json_array_size(services); i++) {
            json_t *s = json_array_get(services, i);
            envmgr_buf_t ports = ENVMGR_BUF_INIT;
            json_t *pl = json_object_get(s, "ports");
            for (size_t p = 0; p < json_array_size(pl); p++) {
                json_t *pj = json_array_get(pl, p);
                envmgr_buf_addf(&ports, "%s%s:%lld->%lld/%s", p ? ", " : "",
                                json_string_value(json_object_get(pj, "host_ip")),
                                json_integer_value(json_object_get(pj, "host_port")),
                                json_integer_value(json_object_get(pj, "container_port")),
                                json_string_value(json_object_get(pj, "protocol")));
            }
            const char *v[4];
            for (int k = 0; k < 4; k++) {
                v[k] = json_string_value(json_object_get(s, keys[k]));
                if (!v[k])
                    v[k] = "-";
            }
            printf("%-*s  %-*s  %-*s  %-*s  %s\n", w[0], v[0], w[1], v[1], w[2], v[2], w[3], v[3],
                   ports.data ? ports.data : "");
            envmgr_buf_free(&ports);
        }
    }
    json_decref(status);
    return healthy ? ENVTEST_EXIT_OK : ENVTEST_EXIT_ENVIRONMENT;
}
