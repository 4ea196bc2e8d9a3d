/* envtest env [--format sh|dotenv|json|github]: connection variables for other tools. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include <envmgr/lifecycle.h>
#include <envmgr/util.h>

static void print_sh_quoted(const char *s)
{
    putchar('\'');
    for (; *s; s++) {
        if (*s == '\'')
            fputs("'\\''", stdout);
        else
            putchar(*s);
    }
    putchar('\'');
}

int cmd_env(int argc, char **argv, envtest_globals_t *g)
{
    static const struct option longopts[] = {
        ENVTEST_COMMON_LONGOPTS,
        {"format", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *format = "sh";
    int opt;
    while ((opt = getopt_long(argc, argv, ENVTEST_COMMON_SHORTOPTS "h", longopts, NULL)) != -1) {
        if (envtest_common_option(g, opt, optarg))
            continue;
        switch (opt) {
        case 'F':
            format = optarg;
            break;
        case 'h':
            printf("Usage: envtest env [--format sh|dotenv|json|github] [-f FILE] [-p NAME]\n\n"
                   "Prints ENVTEST_<SERVICE>_HOST, ENVTEST_<SERVICE>_PORT, "
                   "ENVTEST_<SERVICE>_PORT_<containerport>\nand, for MySQL, DATABASE_URL.\n"
                   "  sh      export lines:  eval \"$(envtest env)\"\n"
                   "  dotenv  KEY=value lines\n"
                   "  json    one object\n"
                   "  github  appends to $GITHUB_ENV (or prints KEY=value lines)\n");
            return ENVTEST_EXIT_OK;
        default:
            return envtest_usage_error("env", "invalid option");
        }
    }
    if (strcmp(format, "sh") && strcmp(format, "dotenv") && strcmp(format, "json") &&
        strcmp(format, "github"))
        return envtest_usage_error("env", "--format: '%s' is not one of sh, dotenv, json, github",
                                   format);
    envmgr_error_t err = {0};
    envtest_session_t session;
    if (envtest_session_open(g, &session, &err) < 0)
        return envtest_report_error(&err);
    envmgr_kvlist_t vars = {0};
    int r = envmgr_env_vars(session.engine, session.project, &vars, &err);
    envtest_session_close(&session);
    if (r < 0) {
        envmgr_kvlist_free(&vars);
        return envtest_report_error(&err);
    }
    FILE *out = stdout;
    FILE *github_env = NULL;
    if (strcmp(format, "github") == 0 && getenv("GITHUB_ENV")) {
        github_env = fopen(getenv("GITHUB_ENV"), "a");
        if (github_env)
            out = github_env;
    }
    if (strcmp(format, "json") == 0) {
        json_t *obj = json_object();
        for (size_t i = 0; i < vars.n; i++)
            json_object_set_new(obj, vars.items[i].key, json_string(vars.items[i].value));
        char *text = json_dumps(obj, JSON_INDENT(2) | JSON_SORT_KEYS);
        puts(text);
        free(text);
        json_decref(obj);
    } else {
        for (size_t i = 0; i < vars.n; i++) {
            if (strcmp(format, "sh") == 0) {
                printf("export %s=", vars.items[i].key);
                print_sh_quoted(vars.items[i].value);
                putchar('\n');
            } else {
                fprintf(out, "%s=%s\n", vars.items[i].key, vars.items[i].value);
            }
        }
    }
    if (github_env)
        fclose(github_env);
    envmgr_kvlist_free(&vars);
    return ENVTEST_EXIT_OK;
}
