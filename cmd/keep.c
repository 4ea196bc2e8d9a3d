/* envtest keep [--release]: keep the live environment for inspection and reproduction. */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include <envmgr/lifecycle.h>
#include <envmgr/util.h>

/* The newest run folder under .envtest/runs (names sort by time). */
static char *latest_run_report(void)
{
    DIR *d = opendir(".envtest/runs");
    if (!d)
        return NULL;
    char *best = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "latest") == 0)
            continue;
        if (!best || strcmp(e->d_name, best) > 0) {
            free(best);
            best = envmgr_xstrdup(e->d_name);
        }
    }
    closedir(d);
    if (!best)
        return NULL;
    char *path = envmgr_xasprintf(".envtest/runs/%s/report.json", best);
    free(best);
    return path;
}

static void print_failing_suites(const envtest_globals_t *g, const char *project)
{
    envmgr_cleanup_free char *path = latest_run_report();
    if (!path)
        return;
    envmgr_cleanup_json json_t *report = json_load_file(path, 0, NULL);
    json_t *suites = json_object_get(report, "suites");
    bool header = false;
    for (size_t i = 0; i < json_array_size(suites); i++) {
        json_t *s = json_array_get(suites, i);
        const char *status = json_string_value(json_object_get(s, "status"));
        if (!status || (strcmp(status, "failed") && strcmp(status, "timeout") &&
                        strcmp(status, "crashed") && strcmp(status, "error")))
            continue;
        if (!header) {
            printf("\nFailing suites of the last run (%s):\n", path);
            header = true;
        }
        const char *name = json_string_value(json_object_get(s, "name"));
        printf("  %-20s re-run: envtest%s%s -p %s run --suite %s\n", name ? name : "?",
               g->compose_file ? " -f " : "", g->compose_file ? g->compose_file : "", project,
               name ? name : "?");
    }
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

int cmd_keep(int argc, char **argv, envtest_globals_t *g)
{
    static const struct option longopts[] = {
        ENVTEST_COMMON_LONGOPTS,
        {"release", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool release = false;
    int opt;
    while ((opt = getopt_long(argc, argv, ENVTEST_COMMON_SHORTOPTS "h", longopts, NULL)) != -1) {
        if (envtest_common_option(g, opt, optarg))
            continue;
        switch (opt) {
        case 'r':
            release = true;
            break;
        case 'h':
            printf("Usage: envtest keep [--release] [-f FILE] [-p NAME]\n\n"
                   "Marks the live environment as kept: no run, down-on-exit or clean-up removes\n"
                   "it until 'envtest down'. Prints how to connect to every service, the logs\n"
                   "command, and the failing suites of the last run with the command that re-runs\n"
                   "each against this environment. --release removes the mark.\n");
            return ENVTEST_EXIT_OK;
        default:
            return envtest_usage_error("keep", "invalid option");
        }
    }
    envmgr_error_t err = {0};
    cleanup_session envtest_session_t session;
    if (envtest_session_open(g, &session, &err) < 0)
        return envtest_report_error(&err);
    envmgr_engine_t *engine = session.engine;
    const envmgr_project_t *project = session.project;
    int code = ENVTEST_EXIT_OK;
    envmgr_kvlist_t vars = {0};
    if (!release && envmgr_env_vars(engine, project, &vars, &err) < 0) {
        code = envtest_report_error(&err);
        goto out;
    }
    envtest_ci_mask_project(project, &vars);
    if (envmgr_keep_set(engine, project->name, !release, &err) < 0) {
        code = envtest_report_error(&err);
        goto out;
    }
    if (release) {
        printf("envtest: %s is no longer kept\n", project->name);
        goto out;
    }
    printf("envtest: %s is kept until 'envtest -p %s down -v'.\n\nConnect:\n", project->name,
           project->name);
    /* This summary lands in terminals and CI logs: no password, not even inside a URL. */
    for (size_t i = 0; i < vars.n; i++) {
        const char *key = vars.items[i].key;
        size_t key_len = strlen(key);
        if ((key_len >= 9 && strcmp(key + key_len - 9, "_PASSWORD") == 0) ||
            is_secret(project, vars.items[i].value))
            continue;
        envmgr_cleanup_free char *shown = url_without_password(vars.items[i].value);
        printf("  %s=%s\n", key, shown);
    }
    printf("  (all variables, passwords too: eval \"$(envtest -p %s env)\")\n", project->name);
    const envmgr_kv_t *port = envmgr_kvlist_find(&vars, "ENVTEST_MYSQL_PORT");
    if (port)
        printf("  mysql shell: mariadb -h127.0.0.1 -P%s -u\"$ENVTEST_MYSQL_USER\" "
               "-p\"$ENVTEST_MYSQL_PASSWORD\" \"$ENVTEST_MYSQL_DATABASE\"\n",
               port->value);
    printf("\nLogs: envtest -p %s logs [SERVICE] --tail 100 (-f to follow)\n"
           "Run a command in a service: envtest -p %s exec SERVICE COMMAND [ARG...]\n",
           project->name, project->name);
    print_failing_suites(g, project->name);
out:
    envmgr_kvlist_free(&vars);
    return code;
}
