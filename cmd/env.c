/* envtest env [--format sh|dotenv|json|github]: connection variables for other tools. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include <envmgr/env.h>
#include <envmgr/util.h>

static int env_parse(envtest_ctx_t *ctx, void *opts)
{
    (void)opts;
    const char *format = envtest_value(ctx, "format");
    if (format && strcmp(format, "sh") && strcmp(format, "dotenv") && strcmp(format, "json") &&
        strcmp(format, "github"))
        return envtest_usage_error("env", "--format: '%s' is not one of sh, dotenv, json, github",
                                   format);
    return 0;
}

static void print_json(const envmgr_kvlist_t *vars)
{
    json_t *obj = json_object();
    for (size_t i = 0; i < vars->n; i++)
        json_object_set_new(obj, vars->items[i].key, json_string(vars->items[i].value));
    char *text = json_dumps(obj, JSON_INDENT(2) | JSON_SORT_KEYS);
    puts(text);
    free(text);
    json_decref(obj);
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

/* sh, dotenv or github lines; github to $GITHUB_ENV when it is set (failing when it cannot be
 * written). */
static int print_lines(const envmgr_kvlist_t *vars, const char *format, envmgr_error_t *err)
{
    FILE *out = stdout;
    FILE *github_env = NULL;
    if (strcmp(format, "github") == 0 && getenv("GITHUB_ENV")) {
        github_env = fopen(getenv("GITHUB_ENV"), "a");
        if (!github_env)
            return envmgr_error_errno(err, errno, "cannot append to $GITHUB_ENV (%s)",
                                      getenv("GITHUB_ENV"));
        out = github_env;
    }
    int r = 0;
    for (size_t i = 0; i < vars->n && r == 0; i++) {
        if (strcmp(format, "sh") == 0) {
            printf("export %s=", vars->items[i].key);
            envtest_print_shell_quoted(stdout, vars->items[i].value);
            putchar('\n');
        } else if (strcmp(format, "github") == 0) {
            r = github_env_write(out, vars->items[i].key, vars->items[i].value, err);
        } else {
            fprintf(out, "%s=%s\n", vars->items[i].key, vars->items[i].value);
        }
    }
    if (github_env && fclose(github_env) != 0 && r == 0)
        r = envmgr_error_errno(err, errno, "cannot write $GITHUB_ENV (%s)", getenv("GITHUB_ENV"));
    return r;
}

static int env_run(envtest_ctx_t *ctx, void *opts)
{
    (void)opts;
    const char *format = envtest_value(ctx, "format") ?: "sh";
    envmgr_error_t err = {0};
    envmgr_kvlist_t vars = {0};
    if (envmgr_env_vars(ctx->engine, ctx->project, &vars, &err) < 0) {
        envmgr_kvlist_free(&vars);
        return envtest_report_error(&err);
    }
    envtest_ci_mask_project(ctx->project, &vars);
    int code = ENVTEST_EXIT_OK;
    if (strcmp(format, "json") == 0)
        print_json(&vars);
    else if (print_lines(&vars, format, &err) < 0)
        code = envtest_report_error(&err);
    envmgr_kvlist_free(&vars);
    return code;
}

const envtest_command_t envtest_cmd_env = {
    .name = "env",
    .parse = env_parse,
    .run = env_run,
    .flags = ENVTEST_NEEDS_PROJECT | ENVTEST_NEEDS_LIVE_PROJECT,
    .usage = (const char *const[]){"[--format sh|dotenv|json|github] [-f FILE] [-p NAME]", NULL},
    .summary = "print connection variables (sh, dotenv, json, github)",
    .description =
        "Prints ENVTEST_<SERVICE>_HOST, ENVTEST_<SERVICE>_PORT, "
        "ENVTEST_<SERVICE>_PORT_<containerport>\nand, for MySQL, DATABASE_URL.\n"
        "  sh      export lines:  eval \"$(envtest env)\"\n"
        "  dotenv  KEY=value lines\n"
        "  json    one object\n"
        "  github  appends to $GITHUB_ENV (or prints KEY=value lines); a multi-line value\n"
        "          in GitHub's NAME<<DELIMITER form; fails when it cannot be written",
    .options =
        (const envtest_option_t[]){
            {"format", 0, "F", "sh (default), dotenv, json or github"},
            {NULL, 0, NULL, NULL},
        },
    .exit_codes = "0 printed, 2 usage, 3 the environment is not up or the engine unreachable.",
};
