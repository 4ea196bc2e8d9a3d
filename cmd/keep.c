/* envtest keep [--release]: keep the live environment for inspection and reproduction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include <envmgr/env.h>
#include <envmgr/lifecycle.h>
#include <envmgr/session.h>
#include <envmgr/util.h>

/* The last run's failing suites, each with the command that runs it again against this
 * environment (the compose file and project as given to keep, the run arguments the report
 * recorded). */
static void print_failing_suites(const envtest_globals_t *g, const char *project)
{
    envmgr_failed_suites_t failures;
    envmgr_error_t err = {0};
    if (envmgr_session_last_failures(NULL, &failures, &err) < 0) {
        fprintf(stderr, "envtest: warning: %s\n", err.message);
        return;
    }
    if (failures.n)
        printf("\nFailing suites of the last run (%s):\n", failures.report_path);
    for (size_t i = 0; i < failures.n; i++) {
        const envmgr_failed_suite_t *f = &failures.items[i];
        printf("  %-20s re-run: envtest", f->name);
        if (g->compose_file) {
            fputs(" -f ", stdout);
            envtest_print_shell_word(stdout, g->compose_file);
        }
        fputs(" -p ", stdout);
        envtest_print_shell_word(stdout, project);
        fputs(" run", stdout);
        for (size_t a = 0; a < f->rerun.n; a++) {
            fputc(' ', stdout);
            envtest_print_shell_word(stdout, f->rerun.items[a]);
        }
        if (f->rerun.n == 0) {
            fputs(" --suite ", stdout);
            envtest_print_shell_word(stdout, f->name);
        }
        fputc('\n', stdout);
    }
    envmgr_failed_suites_free(&failures);
}

/* scheme://user:password@host... -> scheme://user:****@host...; anything else as it is. */
static char *url_without_password(const char *value)
{
    const char *scheme_end = strstr(value, "://");
    if (!scheme_end)
        return envmgr_xstrdup(value);
    const char *userinfo = scheme_end + 3;
    size_t authority_len = strcspn(userinfo, "/?#");
    const char *at = memrchr(userinfo, '@', authority_len);
    const char *colon = at ? memchr(userinfo, ':', (size_t)(at - userinfo)) : NULL;
    if (!colon)
        return envmgr_xstrdup(value);
    return envmgr_xasprintf("%.*s:****%s", (int)(colon - value), value, at);
}

static bool is_secret(const envmgr_project_t *project, const char *value)
{
    for (size_t i = 0; value && i < project->secret_values.n; i++)
        if (project->secret_values.items[i].value &&
            strcmp(project->secret_values.items[i].value, value) == 0)
            return true;
    return false;
}

/* How to reach every service: its variables, no password nor generated secret (this lands in
 * terminals and CI logs). */
static void print_connect(const envmgr_project_t *p, const envmgr_kvlist_t *vars)
{
    const char *project = p->name;
    printf("envtest: %s is kept until 'envtest -p %s down -v'.\n\nConnect:\n", project, project);
    for (size_t i = 0; i < vars->n; i++) {
        const char *key = vars->items[i].key;
        size_t key_len = strlen(key);
        if ((key_len >= 9 && strcmp(key + key_len - 9, "_PASSWORD") == 0) ||
            is_secret(p, vars->items[i].value))
            continue;
        envmgr_cleanup_free char *shown = url_without_password(vars->items[i].value);
        printf("  %s=%s\n", key, shown);
    }
    printf("  (all variables, passwords too: eval \"$(envtest -p %s env)\")\n", project);
    const envmgr_kv_t *port = envmgr_kvlist_find(vars, "ENVTEST_MYSQL_PORT");
    const envmgr_kv_t *host = envmgr_kvlist_find(vars, "ENVTEST_MYSQL_HOST");
    if (port)
        printf("  mysql shell: mariadb -h%s -P%s -u\"$ENVTEST_MYSQL_USER\" "
               "-p\"$ENVTEST_MYSQL_PASSWORD\" \"$ENVTEST_MYSQL_DATABASE\"\n",
               host ? host->value : "127.0.0.1", port->value);
    printf("\nLogs: envtest -p %s logs [SERVICE] --tail 100 (-f to follow)\n"
           "Run a command in a service: envtest -p %s exec SERVICE COMMAND [ARG...]\n",
           project, project);
}

static int keep_run(envtest_ctx_t *ctx, void *opts)
{
    (void)opts;
    const char *name = ctx->project->name;
    bool release = envtest_flag(ctx, "release");
    envmgr_error_t err = {0};
    envmgr_kvlist_t vars = {0};
    int code = ENVTEST_EXIT_OK;
    int r = release ? 0 : envmgr_env_vars(ctx->engine, ctx->project, &vars, &err);
    if (r == 0)
        envtest_ci_mask_project(ctx->project, &vars);
    if (r < 0 || envmgr_keep_set(ctx->engine, name, !release, &err) < 0) {
        code = envtest_report_error(&err);
    } else if (release) {
        printf("envtest: %s is no longer kept\n", name);
    } else {
        print_connect(ctx->project, &vars);
        print_failing_suites(ctx->g, name);
    }
    envmgr_kvlist_free(&vars);
    return code;
}

const envtest_command_t envtest_cmd_keep = {
    .name = "keep",
    .run = keep_run,
    .flags = ENVTEST_NEEDS_PROJECT | ENVTEST_NEEDS_LIVE_PROJECT,
    .usage = (const char *const[]){"[--release] [-f FILE] [-p NAME]", NULL},
    .summary = "keep the live environment for inspection; print how to reach it",
    .description = "Marks the live environment as kept: no run, down-on-exit or clean-up removes\n"
                   "it until 'envtest down'. Prints how to connect to every service, the logs\n"
                   "command, and the failing suites of the last run with the command that re-runs\n"
                   "each against this environment.",
    .options =
        (const envtest_option_t[]){
            {"release", 0, NULL, "remove the mark"},
            {NULL, 0, NULL, NULL},
        },
    .exit_codes = "0 kept (or released), 3 the environment is not up or the engine unreachable.",
};
