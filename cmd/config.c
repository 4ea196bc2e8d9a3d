/* envtest config: the resolved model as JSON, without touching the engine. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include <envmgr/util.h>

static int config_run(envtest_ctx_t *ctx, void *opts)
{
    (void)opts;
    const envmgr_project_t *project = ctx->project;
    if (envtest_flag(ctx, "services")) {
        for (size_t i = 0; i < project->n_services; i++)
            puts(project->services[i].name);
    } else if (!envtest_flag(ctx, "quiet")) {
        char *text = envmgr_project_config_text(project, !envtest_flag(ctx, "show-secrets"));
        puts(text);
        free(text);
    }
    return ENVTEST_EXIT_OK;
}

const envtest_command_t envtest_cmd_config = {
    .name = "config",
    .run = config_run,
    .flags = ENVTEST_NEEDS_PROJECT,
    .usage = (const char *const[]){"[--services] [--quiet] [--show-secrets] [-f FILE]", NULL},
    .summary = "print the resolved Compose model as JSON (no engine needed)",
    .description =
        "Prints the resolved Compose model (after interpolation, defaults and merges) as "
        "JSON.\nGenerated secrets are masked unless --show-secrets.",
    .options =
        (const envtest_option_t[]){
            {"services", 0, NULL, "print the service names, one per line"},
            {"quiet", 'q', NULL, "only validate"},
            {"show-secrets", 0, NULL, "show generated secrets instead of ********"},
            {NULL, 0, NULL, NULL},
        },
    .exit_codes = "0 valid, 2 invalid (the error names file:line:column).",
};
