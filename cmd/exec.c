/* envtest exec [-e K=V]... SERVICE CMD [ARG...]: runs a command in a service's container through
 * the Engine's exec endpoint, its output on envtest's stdout and stderr, and exits with its status,
 * as `docker compose exec -T` does. No stdin and no TTY. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include <envmgr/lifecycle.h>
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

int cmd_exec(int argc, char **argv, envtest_globals_t *g)
{
    static const struct option longopts[] = {
        ENVTEST_COMMON_LONGOPTS,
        {"env", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    envmgr_strv_t env = {0};
    int opt;
    /* '+': the options end at SERVICE; what follows is the command's, e.g. mariadb -uroot. */
    while ((opt = getopt_long(argc, argv, "+" ENVTEST_COMMON_SHORTOPTS "e:h", longopts, NULL)) !=
           -1) {
        if (envtest_common_option(g, opt, optarg))
            continue;
        switch (opt) {
        case 'e':
            if (!strchr(optarg, '=') || optarg[0] == '=') {
                envmgr_strv_free(&env);
                return envtest_usage_error("exec", "-e: '%s' is not NAME=VALUE", optarg);
            }
            envmgr_strv_push(&env, optarg);
            break;
        case 'h':
            printf("Usage: envtest exec [-e NAME=VALUE]... SERVICE COMMAND [ARG...]\n\n"
                   "Runs COMMAND in SERVICE's container and exits with its status. Its output\n"
                   "goes to envtest's stdout and stderr; there is no stdin and no TTY (for an\n"
                   "interactive shell: docker exec -it CONTAINER sh, with the container from\n"
                   "`envtest status`). Example:\n"
                   "  envtest exec mysql sh -c 'mariadb -uroot -p\"$MYSQL_ROOT_PASSWORD\" seoul "
                   "-e \"SHOW TABLES\"'\n\n"
                   "Exit codes: COMMAND's own, or envtest's: 2 usage, 3 the service is not up\n"
                   "or not running.\n");
            envmgr_strv_free(&env);
            return ENVTEST_EXIT_OK;
        default:
            envmgr_strv_free(&env);
            return envtest_usage_error("exec", "invalid option");
        }
    }
    if (argc - optind < 2) {
        envmgr_strv_free(&env);
        return envtest_usage_error("exec", "give a service and a command");
    }
    const char *service = argv[optind];
    envmgr_error_t err = {0};
    cleanup_session envtest_session_t session = {0};
    if (envtest_session_open(g, &session, &err) < 0) {
        envmgr_strv_free(&env);
        return envtest_report_error(&err);
    }
    mask_exec_env(session.project, &env);
    if (!envmgr_project_service(session.project, service)) {
        envmgr_strv_free(&env);
        return envtest_usage_error("exec", "no such service: '%s'", service);
    }
    envmgr_cleanup_free char *id = NULL;
    int exit_code = -1;
    int code;
    if (envmgr_service_container(session.engine, session.project->name, service, &id, &err) < 0) {
        if (err.kind == ENVMGR_E_NOT_FOUND) {
            envmgr_error_clear(&err);
            envmgr_error_set(&err, ENVMGR_E_ENV, 0, "service %s of project %s is not up", service,
                             session.project->name);
            envmgr_error_hint(&err, "run `envtest up` first");
        }
        code = envtest_report_error(&err);
    } else if (envmgr_engine_exec(session.engine, id, (const char *const *)argv + optind + 1,
                                  env.n ? (const char *const *)env.items : NULL, 0, write_output_cb,
                                  NULL, &exit_code, &err) < 0) {
        if (err.code == 409 && strstr(err.message, "is not running")) {
            envmgr_error_clear(&err);
            envmgr_error_set(&err, ENVMGR_E_ENV, 409,
                             "service %s is not running (its container "
                             "has stopped)",
                             service);
            envmgr_error_hint(&err, "`envtest logs %s` shows why; `envtest up` starts it again",
                              service);
        }
        code = envmgr_interrupted() ? ENVTEST_EXIT_INTERRUPTED : envtest_report_error(&err);
    } else {
        code = exit_code;
    }
    envmgr_strv_free(&env);
    return code;
}
