/* envtest down [-v]: remove everything labelled with the project, also after a crash. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "progress.h"
#include <envmgr/images.h>
#include <envmgr/lifecycle.h>
#include <envmgr/util.h>

static void down_usage(FILE *out)
{
    fprintf(out, "Usage: envtest down [OPTIONS]\n\n"
                 "Removes every container and network of the project (found by the label\n"
                 "io.envtest.project, so also what a crashed envtest left), and its keep mark.\n\n"
                 "Options:\n"
                 "  -v, --volumes          also remove the project's volumes\n"
                 "      --rmi local        also remove the images envtest built that the project\n"
                 "                         used, unless another project's container uses them\n"
                 "  -f, --file FILE        Compose file (only to learn the project name)\n"
                 "  -p, --project-name N   project name\n"
                 "  -h, --help             this help\n\n"
                 "Exit codes: 0 removed (or nothing was there), 3 engine error.\n");
}

int cmd_down(int argc, char **argv, envtest_globals_t *g)
{
    static const struct option longopts[] = {
        ENVTEST_COMMON_LONGOPTS,
        {"volumes", no_argument, NULL, 'v'},
        {"rmi", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool volumes = false, images = false;
    int opt;
    while ((opt = getopt_long(argc, argv, ENVTEST_COMMON_SHORTOPTS "vh", longopts, NULL)) != -1) {
        if (envtest_common_option(g, opt, optarg))
            continue;
        switch (opt) {
        case 'v':
            volumes = true;
            break;
        case 'r':
            if (strcmp(optarg, "local") != 0)
                return envtest_usage_error("down",
                                           "--rmi: '%s' is not supported (only 'local': "
                                           "envtest never removes images it did not build)",
                                           optarg);
            images = true;
            break;
        case 'h':
            down_usage(stdout);
            return ENVTEST_EXIT_OK;
        default:
            return envtest_usage_error("down", "invalid option");
        }
    }
    if (optind < argc)
        return envtest_usage_error("down", "unexpected argument '%s'", argv[optind]);
    envmgr_error_t err = {0};
    envmgr_cleanup_free char *name = NULL;
    if (envtest_project_name(g, &name, &err) < 0)
        return envtest_report_error(&err);
    envmgr_engine_t *engine = NULL;
    if (envtest_open_engine(g, &engine, &err) < 0)
        return envtest_report_error(&err);
    envtest_progress_t progress;
    envtest_progress_init(&progress, stderr, g->stderr_is_tty, g->quiet);
    int removed = 0;
    int64_t t0 = envmgr_now_ms();
    /* --rmi local: the images its containers run, learnt before they go; removed after, unless
     * another project's container uses them (images are shared by content: envmgr/images.h). */
    envmgr_strv_t image_ids = {0};
    if (images && envmgr_images_of_project(engine, name, &image_ids, &err) < 0) {
        envmgr_engine_close(engine);
        return envtest_report_error(&err);
    }
    envmgr_lock_t *lock = NULL; /* waits for an up in progress: then removes all it made */
    int r = envtest_lock_project(g, engine, name, "down", &lock, &err);
    if (r == 0)
        r = envmgr_down(engine, name, volumes, envtest_progress_cb, &progress, &removed, &err);
    envtest_progress_finish(&progress);
    int images_removed = 0;
    if (r == 0 && images)
        r = envmgr_images_remove_unused(engine, &image_ids, &images_removed, &err);
    envmgr_lock_release(lock);
    envmgr_strv_free(&image_ids);
    envmgr_engine_close(engine);
    if (r < 0)
        return envtest_report_error(&err);
    removed += images_removed;
    if (!g->quiet) {
        if (removed)
            fprintf(stderr, "envtest: %s is down: %d object%s removed (%.1fs)\n", name, removed,
                    removed == 1 ? "" : "s", (envmgr_now_ms() - t0) / 1000.0);
        else
            fprintf(stderr, "envtest: nothing of %s was there\n", name);
    }
    return ENVTEST_EXIT_OK;
}
