/* envtest gc [--images]: remove what envtests that are gone left behind, and (--images) the images
 * envtest built that no container uses. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include <envmgr/images.h>
#include <envmgr/lock.h>

static void gc_usage(FILE *out)
{
    fprintf(out,
            "Usage: envtest gc [--images]\n\n"
            "Removes the environments whose owner is gone: an 'up' or a 'run' of this machine\n"
            "that was killed (SIGKILL, OOM, its CI job's cgroup) while it owned one, unless the\n"
            "environment is kept, a live run uses it or its reaper container still watches it;\n"
            "then the lock and use marks such envtests left. Every command checks for such\n"
            "leftovers (one engine call) and names them.\n\n"
            "Options:\n"
            "      --images           also the images envtest built (labelled\n"
            "                         io.envtest.context-digest, or with a project) that no\n"
            "                         container of any project uses, tagged or not\n"
            "  -H, --host HOST        Docker engine\n"
            "  -h, --help             this help\n\n"
            "Exit codes: 0 done (also when nothing was to remove), 2 usage, 3 engine error.\n");
}

static void gc_cb(void *userdata, const char *project, int removed)
{
    const envtest_globals_t *g = userdata;
    if (!g->quiet)
        fprintf(stderr, "envtest: removed %s, left by an envtest that is gone (%d objects)\n",
                project, removed);
}

/* --images; kept apart so that other kinds of garbage can join as flags of their own. */
static int gc_images(envmgr_engine_t *engine, bool quiet, envmgr_error_t *err)
{
    int removed = 0;
    if (envmgr_images_gc(engine, &removed, err) < 0)
        return -1;
    if (!quiet)
        fprintf(stderr, "envtest: gc: %d unused image%s removed\n", removed,
                removed == 1 ? "" : "s");
    return 0;
}

int cmd_gc(int argc, char **argv, envtest_globals_t *g)
{
    static const struct option longopts[] = {
        ENVTEST_COMMON_LONGOPTS,
        {"images", no_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool images = false;
    int opt;
    while ((opt = getopt_long(argc, argv, ENVTEST_COMMON_SHORTOPTS "h", longopts, NULL)) != -1) {
        if (envtest_common_option(g, opt, optarg))
            continue;
        switch (opt) {
        case 'i':
            images = true;
            break;
        case 'h':
            gc_usage(stdout);
            return ENVTEST_EXIT_OK;
        default:
            return envtest_usage_error("gc", "invalid option");
        }
    }
    if (optind < argc)
        return envtest_usage_error("gc", "unexpected argument '%s'", argv[optind]);
    envmgr_error_t err = {0};
    envmgr_engine_t *engine = NULL;
    if (envtest_open_engine(g, &engine, &err) < 0)
        return envtest_report_error(&err);
    int removed = 0;
    int r = envmgr_gc(engine, gc_cb, g, &removed, &err);
    if (r == 0 && !g->quiet)
        fprintf(stderr, "envtest: gc: %d object%s removed\n", removed, removed == 1 ? "" : "s");
    if (r == 0 && images)
        r = gc_images(engine, g->quiet, &err);
    envmgr_engine_close(engine);
    return r < 0 ? envtest_report_error(&err) : ENVTEST_EXIT_OK;
}
