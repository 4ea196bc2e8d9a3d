/* envtest gc: remove what envtests that are gone left behind. */
#include <getopt.h>
#include <stdio.h>

#include "cmd.h"
#include <envmgr/lock.h>

static void gc_usage(FILE *out)
{
    fprintf(out,
            "Usage: envtest gc\n\n"
            "Removes the environments whose owner is gone: an 'up' or a 'run' of this machine\n"
            "that was killed (SIGKILL, OOM, its CI job's cgroup) while it owned one, unless the\n"
            "environment is kept, a live run uses it or its reaper container still watches it;\n"
            "then the lock and use marks such envtests left. Every command checks for such\n"
            "leftovers (one engine call) and names them.\n\n"
            "Options:\n"
            "  -h, --help             this help\n\n"
            "Exit codes: 0 done (also when nothing was left), 3 engine error.\n");
}

static void gc_cb(void *userdata, const char *project, int removed)
{
    const envtest_globals_t *g = userdata;
    if (!g->quiet)
        fprintf(stderr, "envtest: removed %s, left by an envtest that is gone (%d objects)\n",
                project, removed);
}

int cmd_gc(int argc, char **argv, envtest_globals_t *g)
{
    static const struct option longopts[] = {
        ENVTEST_COMMON_LONGOPTS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, ENVTEST_COMMON_SHORTOPTS "h", longopts, NULL)) != -1) {
        if (envtest_common_option(g, opt, optarg))
            continue;
        if (opt == 'h') {
            gc_usage(stdout);
            return ENVTEST_EXIT_OK;
        }
        return envtest_usage_error("gc", "invalid option");
    }
    if (optind < argc)
        return envtest_usage_error("gc", "unexpected argument '%s'", argv[optind]);
    envmgr_error_t err = {0};
    envmgr_engine_t *engine = NULL;
    if (envmgr_engine_open(g->host, &engine, &err) < 0)
        return envtest_report_error(&err);
    int removed = 0;
    int r = envmgr_gc(engine, gc_cb, g, &removed, &err);
    envmgr_engine_close(engine);
    if (r < 0)
        return envtest_report_error(&err);
    if (!g->quiet)
        fprintf(stderr, "envtest: gc: %d object%s removed\n", removed, removed == 1 ? "" : "s");
    return ENVTEST_EXIT_OK;
}
