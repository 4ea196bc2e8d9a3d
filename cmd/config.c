/* envtest config: the resolved model as JSON, without touching the engine. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include <envmgr/util.h>

int cmd_config(int argc, char **argv, envtest_globals_t *g)
{
    static const struct option longopts[] = {
        ENVTEST_COMMON_LONGOPTS,
        {"services", no_argument, NULL, 's'},
        {"show-secrets", no_argument, NULL, 'S'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool services_only = false, show_secrets = false, quiet = false;
    int opt;
    while ((opt = getopt_long(argc, argv, ENVTEST_COMMON_SHORTOPTS "qh", longopts, NULL)) != -1) {
        if (envtest_common_option(g, opt, optarg))
            continue;
        switch (opt) {
        case 's':
            services_only = true;
            break;
        case 'S':
            show_secrets = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            printf("Usage: envtest config [--services] [--quiet] [--show-secrets] [-f FILE]\n\n"
                   "Prints the resolved Compose model (after interpolation, defaults and merges) "
                   "as JSON.\nGenerated secrets are masked unless --show-secrets.\n"
                   "  --services  print the service names, one per line\n"
                   "  -q          only validate\n"
                   "Exit codes: 0 valid, 2 invalid (the error names file:line:column).\n");
            return ENVTEST_EXIT_OK;
        default:
            return envtest_usage_error("config", "invalid option");
        }
    }
    envmgr_error_t err = {0};
    envmgr_project_t *project = NULL;
    if (envtest_load_project(g, &project, &err) < 0)
        return envtest_report_error(&err);
    if (services_only) {
        for (size_t i = 0; i < project->n_services; i++)
            puts(project->services[i].name);
    } else if (!quiet) {
        json_t *j = envmgr_project_to_json(project, !show_secrets);
        char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
        puts(text);
        free(text);
        json_decref(j);
    }
    envmgr_project_free(project);
    return ENVTEST_EXIT_OK;
}
