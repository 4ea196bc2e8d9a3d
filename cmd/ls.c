/* envtest ls [--json]: every envtest environment the engine has something of, as
 * `docker compose ls` lists Compose's; kept ones are marked, leftovers (a network, no container)
 * show too, so that they can be removed. Needs no Compose file. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include <envmgr/lifecycle.h>
#include <envmgr/util.h>

static void print_table(json_t *projects)
{
    printf("%-24s %-9s %-5s %s\n", "PROJECT", "RUNNING", "KEPT", "SERVICES");
    size_t i;
    json_t *p;
    json_array_foreach(projects, i, p)
    {
        char running[32];
        snprintf(running, sizeof(running), "%lld/%lld",
                 (long long)json_integer_value(json_object_get(p, "running")),
                 (long long)json_integer_value(json_object_get(p, "containers")));
        envmgr_buf_t services = ENVMGR_BUF_INIT;
        size_t j;
        json_t *s;
        json_array_foreach(json_object_get(p, "services"), j, s)
        {
            envmgr_buf_addf(&services, "%s%s", j ? ", " : "", json_string_value(s));
        }
        if (services.len == 0)
            envmgr_buf_adds(&services, "(no container: a leftover network)");
        printf("%-24s %-9s %-5s %s\n", json_string_value(json_object_get(p, "name")), running,
               json_is_true(json_object_get(p, "kept")) ? "yes" : "no", services.data);
        envmgr_buf_free(&services);
    }
}

int cmd_ls(int argc, char **argv, envtest_globals_t *g)
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
            printf("Usage: envtest ls [--json] [-H HOST]\n\n"
                   "Lists every envtest environment on the engine (no Compose file needed):\n"
                   "its containers running, whether it is kept, its services. A project with\n"
                   "a network and no container is a leftover: envtest -p NAME down removes it.\n");
            return ENVTEST_EXIT_OK;
        default:
            return envtest_usage_error("ls", "invalid option");
        }
    }
    if (optind < argc)
        return envtest_usage_error("ls", "unexpected argument '%s'", argv[optind]);
    envmgr_error_t err = {0};
    envmgr_engine_t *engine = NULL;
    if (envtest_open_engine(g, &engine, &err) < 0)
        return envtest_report_error(&err);
    json_t *projects = NULL;
    int code = ENVTEST_EXIT_OK;
    if (envmgr_projects(engine, &projects, &err) < 0) {
        code = envtest_report_error(&err);
    } else if (as_json) {
        char *text = json_dumps(projects, JSON_INDENT(2));
        printf("%s\n", text ? text : "[]");
        free(text);
    } else if (json_array_size(projects) == 0) {
        printf("no envtest environment on this engine\n");
    } else {
        print_table(projects);
    }
    json_decref(projects);
    envmgr_engine_close(engine);
    return code;
}
