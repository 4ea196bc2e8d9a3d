/* envtest up [SERVICE...]: create the environment, wait for health, load fixtures. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "progress.h"
#include <envmgr/guard.h>
#include <envmgr/lifecycle.h>
#include <envmgr/util.h>

static void up_usage(FILE *out)
{
    fprintf(out,
            "Usage: envtest up [OPTIONS] [SERVICE...]\n\n"
            "Creates the project network and the services' containers (with their dependencies),\n"
            "starts them in dependency order, independent ones in parallel, waits until each is\n"
            "healthy, and loads the fixtures named in x-envtest.fixtures. Running it again on a\n"
            "healthy environment changes nothing; a changed service is recreated alone.\n\n"
            "Options:\n"
            "  -f, --file FILE        Compose file\n"
            "  -p, --project-name N   project name\n"
            "      --wait-timeout S   seconds to wait for health (default 120)\n"
            "      --keep             on failure, keep what was created (for inspection)\n"
            "      --no-fixtures      do not load fixtures\n"
            "      --from BUNDLE      recreate the environment saved by `envtest bundle create`\n"
            "                         (or run --bundle-on-failure), with its state, under -p NAME\n"
            "                         (default <its project>-repro)\n"
            "  -h, --help             this help\n\n"
            "Exit codes: 0 up and healthy, 2 invalid compose file or usage, 3 environment error\n"
            "(engine unreachable, image missing, unhealthy service), 130 interrupted.\n");
}

int cmd_up(int argc, char **argv, envtest_globals_t *g)
{
    enum { OPT_WAIT_TIMEOUT = 256, OPT_KEEP, OPT_NO_FIXTURES, OPT_FROM };
    static const struct option longopts[] = {
        ENVTEST_COMMON_LONGOPTS,
        {"wait-timeout", required_argument, NULL, OPT_WAIT_TIMEOUT},
        {"keep", no_argument, NULL, OPT_KEEP},
        {"no-fixtures", no_argument, NULL, OPT_NO_FIXTURES},
        {"from", required_argument, NULL, OPT_FROM},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    envmgr_up_options_t opts = {.wait_timeout_ms = 120000};
    const char *from = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, ENVTEST_COMMON_SHORTOPTS "h", longopts, NULL)) != -1) {
        if (envtest_common_option(g, opt, optarg))
            continue;
        switch (opt) {
        case OPT_WAIT_TIMEOUT: {
            char *end;
            double s = strtod(optarg, &end);
            if (*end || s <= 0)
                return envtest_usage_error("up",
                                           "--wait-timeout: '%s' is not a positive number "
                                           "of seconds",
                                           optarg);
            opts.wait_timeout_ms = (int64_t)(s * 1000);
            break;
        }
        case OPT_KEEP:
            opts.keep_on_failure = true;
            break;
        case OPT_NO_FIXTURES:
            opts.no_fixtures = true;
            break;
        case OPT_FROM:
            from = optarg;
            break;
        case 'h':
            up_usage(stdout);
            return ENVTEST_EXIT_OK;
        default:
            return envtest_usage_error("up", "invalid option");
        }
    }
    if (optind < argc)
        opts.services = (const char *const *)(argv + optind);
    if (from)
        return envtest_up_from(g, from, &opts, NULL, NULL);

    envmgr_error_t err = {0};
    envmgr_engine_t *engine = NULL;
    if (envtest_open_engine(g, &engine, &err) < 0)
        return envtest_report_error(&err);
    /* Under the project's lock from before the live project is read (its secrets are the
     * network's, which a concurrent up may be creating) until it is up. */
    envmgr_cleanup_free char *name = NULL;
    envmgr_lock_t *lock = NULL;
    if (envtest_project_name(g, &name, &err) < 0 ||
        envtest_lock_project(g, engine, name, "up", &lock, &err) < 0) {
        envmgr_engine_close(engine);
        return envtest_report_error(&err);
    }
    envmgr_project_t *project = NULL;
    envmgr_cleanup_free char *secrets = NULL;
    if (envtest_load_live_project(g, engine, &project, &secrets, &err) < 0) {
        envmgr_lock_release(lock);
        envmgr_engine_close(engine);
        return envtest_report_error(&err);
    }
    envmgr_kvlist_t network_labels = {0};
    envtest_network_labels(project, secrets, &network_labels);
    opts.network_labels = &network_labels;

    envtest_progress_t progress;
    envtest_progress_init(&progress, stderr, g->stderr_is_tty, g->quiet);
    opts.progress = envtest_progress_cb;
    opts.userdata = &progress;
    int64_t t0 = envmgr_now_ms();
    bool was_ephemeral = false; /* a run's environment: its reaper must let go of it */
    int r = envmgr_env_ephemeral_get(engine, project->name, &was_ephemeral, &err);
    if (r == 0)
        r = envmgr_up(engine, project, &opts, &err);
    if (r == 0 || opts.keep_on_failure) {
        /* the user's now, not a run's: no run and no reaper removes it */
        envmgr_error_t mark_err = {0};
        if (envmgr_env_ephemeral_set(engine, project->name, false, &mark_err) < 0 ||
            (was_ephemeral && envmgr_guard_release(engine, project->name, NULL, &mark_err) < 0)) {
            if (r == 0)
                err = mark_err;
            r = -1;
        }
    }
    envtest_progress_finish(&progress);
    int code = ENVTEST_EXIT_OK;
    if (r < 0) {
        code = envtest_report_error(&err);
        if (!opts.keep_on_failure && err.kind != ENVMGR_E_CONFIG)
            fprintf(stderr, "envtest: removed what this 'up' created (use --keep to keep it)\n");
    } else if (!g->quiet) {
        fprintf(stderr, "envtest: %s is up (%.1fs). Connection variables: envtest env\n",
                project->name, (envmgr_now_ms() - t0) / 1000.0);
    }
    envmgr_kvlist_free(&network_labels);
    envmgr_lock_release(lock);
    envmgr_project_free(project);
    envmgr_engine_close(engine);
    return code;
}
