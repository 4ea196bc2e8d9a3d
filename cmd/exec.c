/* envtest exec [-e K=V]... SERVICE CMD [ARG...]: runs a command in a service's container through
 * the Engine's exec endpoint, its output on envtest's stdout and stderr, and exits with its status,
 * as `docker compose exec -T` does. No stdin and no TTY. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include <envmgr/env.h>
#include <envmgr/util.h>

static int write_output_cb(void *userdata, enum envmgr_stream stream, const char *data, size_t len)
{
    (void)userdata;
    FILE *out = stream == ENVMGR_STREAM_STDERR ? stderr : stdout;
    fwrite(data, 1, len, out);
    fflush(out);
    return envmgr_interrupted() ? 1 : 0;
}

/* -e NAME=VALUE pairs that hand a secret to the command (by name, or a URL's password) are masked
 * in CI logs as the project's own secrets are. */
static void mask_exec_env(const envmgr_project_t *project, const envmgr_strv_t *env)
{
    envmgr_kvlist_t vars = {0};
    for (size_t i = 0; i < env->n; i++) {
        const char *eq = strchr(env->items[i], '=');
        envmgr_cleanup_free char *name =
            envmgr_xstrndup(env->items[i], (size_t)(eq - env->items[i]));
        envmgr_kvlist_set(&vars, name, eq + 1);
    }
    envtest_ci_mask_project(project, &vars);
    envmgr_kvlist_free(&vars);
}

static int exec_parse(envtest_ctx_t *ctx, void *opts)
{
    (void)opts;
    const envmgr_strv_t *env = envtest_values(ctx, "env");
    for (size_t i = 0; i < env->n; i++)
        if (!strchr(env->items[i], '=') || env->items[i][0] == '=')
            return envtest_usage_error("exec", "-e: '%s' is not NAME=VALUE", env->items[i]);
    if (ctx->argc < 2)
        return envtest_usage_error("exec", "give a service and a command");
    return 0;
}

/* The engine's errors, said in the user's terms. */
static void explain(envmgr_error_t *err, const char *service, const char *project)
{
    if (err->kind == ENVMGR_E_NOT_FOUND) {
        envmgr_error_clear(err);
        envmgr_error_set(err, ENVMGR_E_ENV, 0, "service %s of project %s is not up", service,
                         project);
        envmgr_error_hint(err, "run `envtest up` first");
    } else if (err->code == 409 && strstr(err->message, "is not running")) {
        envmgr_error_clear(err);
        envmgr_error_set(err, ENVMGR_E_ENV, 409,
                         "service %s is not running (its container has stopped)", service);
        envmgr_error_hint(err, "`envtest logs %s` shows why; `envtest up` starts it again",
                          service);
    }
}

static int exec_run(envtest_ctx_t *ctx, void *opts)
{
    (void)opts;
    const char *service = ctx->argv[0];
    if (!envmgr_project_service(ctx->project, service))
        return envtest_usage_error("exec", "no such service: '%s'", service);
    const envmgr_strv_t *env = envtest_values(ctx, "env");
    mask_exec_env(ctx->project, env);
    envmgr_error_t err = {0};
    envmgr_cleanup_free char *id = NULL;
    int exit_code = -1;
    if (envmgr_service_container(ctx->engine, ctx->project->name, service, &id, &err) == 0 &&
        envmgr_engine_exec(ctx->engine, id, (const char *const *)ctx->argv + 1,
                           env->n ? (const char *const *)env->items : NULL, 0, write_output_cb,
                           NULL, &exit_code, &err) == 0)
        return exit_code;
    if (id && envmgr_interrupted())
        return ENVTEST_EXIT_INTERRUPTED;
    explain(&err, service, ctx->project->name);
    return envtest_report_error(&err);
}

const envtest_command_t envtest_cmd_exec = {
    .name = "exec",
    .parse = exec_parse,
    .run = exec_run,
    .flags = ENVTEST_NEEDS_PROJECT | ENVTEST_NEEDS_LIVE_PROJECT | ENVTEST_OPTIONS_FIRST,
    .usage = (const char *const[]){"[-e NAME=VALUE]... SERVICE COMMAND [ARG...]", NULL},
    .summary = "run a command in a service's container, exit with its status",
    .description = "Runs COMMAND in SERVICE's container and exits with its status. Its output\n"
                   "goes to envtest's stdout and stderr; there is no stdin and no TTY (for an\n"
                   "interactive shell: docker exec -it CONTAINER sh, with the container from\n"
                   "`envtest status`). Example:\n"
                   "  envtest exec mysql sh -c 'mariadb -uroot -p\"$MYSQL_ROOT_PASSWORD\" seoul "
                   "-e \"SHOW TABLES\"'",
    .options =
        (const envtest_option_t[]){
            {"env", 'e', "NAME=VALUE", "set a variable for COMMAND (repeatable)"},
            {NULL, 0, NULL, NULL},
        },
    .exit_codes = "COMMAND's own, or envtest's: 2 usage, 3 the service is not up\n"
                  "or not running.",
};
