/* envtest ls [--json]: every envtest environment the engine has something of, as
 * `docker compose ls` lists Compose's; kept ones are marked, leftovers (a network, no container)
 * show too, so that they can be removed. Needs no Compose file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include <envmgr/env.h>
#include <envmgr/util.h>

static void print_table(const envmgr_project_list_t *projects)
{
    printf("%-24s %-9s %-5s %s\n", "PROJECT", "RUNNING", "KEPT", "SERVICES");
    for (size_t i = 0; i < projects->n; i++) {
        const envmgr_project_summary_t *p = &projects->items[i];
        char running[32];
        snprintf(running, sizeof(running), "%d/%d", p->running, p->containers);
        envmgr_buf_t services = ENVMGR_BUF_INIT;
        for (size_t j = 0; j < p->services.n; j++)
            envmgr_buf_addf(&services, "%s%s", j ? ", " : "", p->services.items[j]);
        if (services.len == 0)
            envmgr_buf_adds(&services, "(no container: a leftover network)");
        printf("%-24s %-9s %-5s %s\n", p->name, running, p->kept ? "yes" : "no", services.data);
        envmgr_buf_free(&services);
    }
}

static int ls_run(envtest_ctx_t *ctx, void *opts)
{
    (void)opts;
    envmgr_error_t err = {0};
    envmgr_project_list_t projects = {0};
    if (envmgr_projects_list(ctx->engine, &projects, &err) < 0)
        return envtest_report_error(&err);
    if (envtest_flag(ctx, "json")) {
        json_t *list = envmgr_project_list_to_json(&projects);
        char *text = json_dumps(list, JSON_INDENT(2));
        printf("%s\n", text ? text : "[]");
        free(text);
        json_decref(list);
    } else if (projects.n == 0) {
        printf("no envtest environment on this engine\n");
    } else {
        print_table(&projects);
    }
    envmgr_project_list_free(&projects);
    return ENVTEST_EXIT_OK;
}

const envtest_command_t envtest_cmd_ls = {
    .name = "ls",
    .run = ls_run,
    .flags = ENVTEST_NEEDS_ENGINE | ENVTEST_NO_ARGUMENTS,
    .usage = (const char *const[]){"[--json] [-H HOST]", NULL},
    .summary = "list the envtest environments on the engine (kept ones, leftovers)",
    .description = "Lists every envtest environment on the engine (no Compose file needed):\n"
                   "its containers running, whether it is kept, its services. A project with\n"
                   "a network and no container is a leftover: envtest -p NAME down removes it.",
    .options =
        (const envtest_option_t[]){
            {"json", 0, NULL, "one JSON array"},
            {NULL, 0, NULL, NULL},
        },
    .exit_codes = "0 listed, 3 engine unreachable.",
};
