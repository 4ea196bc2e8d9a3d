/* envtest env [--format sh|dotenv|json|github]: connection variables for other tools. */
#include <errno.h>
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

/* One variable in $GITHUB_ENV's syntax: NAME=value, or for a value with a line break
 * NAME<<DELIMITER / the lines / DELIMITER, with a random delimiter that the value does not hold. */
static int github_env_write(FILE *out, const char *name, const char *value, envmgr_error_t *err)
{
    if (!strpbrk(value, "\r\n")) {
        fprintf(out, "%s=%s\n", name, value);
        return 0;
    }
    char token[17], delimiter[40];
    do {
        if (envmgr_random_token(token, 16, err) < 0)
            return -1;
        snprintf(delimiter, sizeof(delimiter), "ghadelimiter_%s", token);
    } while (strstr(value, delimiter));
    fprintf(out, "%s<<%s\n%s\n%s\n", name, delimiter, value, delimiter);
    return 0;
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
    if (r == 0)
        envtest_ci_mask_project(session.project, &vars);
    envtest_session_close(&session);
    if (r < 0) {
        envmgr_kvlist_free(&vars);
        return envtest_report_error(&err);
    }
    FILE *out = stdout;
    FILE *github_env = NULL;
    if (strcmp(format, "github") == 0 && getenv("GITHUB_ENV")) {
        github_env = fopen(getenv("GITHUB_ENV"), "a");
        if (!github_env) {
            envmgr_error_errno(&err, errno, "cannot append to $GITHUB_ENV (%s)",
                               getenv("GITHUB_ENV"));
            envmgr_kvlist_free(&vars);
            return envtest_report_error(&err);
        }
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
            } else if (strcmp(format, "github") == 0) {
                if (github_env_write(out, vars.items[i].key, vars.items[i].value, &err) < 0)
                    break;
            } else {
                fprintf(out, "%s=%s\n", vars.items[i].key, vars.items[i].value);
            }
        }
    }
    int code = err.kind ? envtest_report_error(&err) : ENVTEST_EXIT_OK;
    if (github_env && fclose(github_env) != 0 && code == ENVTEST_EXIT_OK) {
        envmgr_error_errno(&err, errno, "cannot write $GITHUB_ENV (%s)", getenv("GITHUB_ENV"));
        code = envtest_report_error(&err);
    }
    envmgr_kvlist_free(&vars);
    return code;
}
