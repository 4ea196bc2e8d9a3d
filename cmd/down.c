/* envtest down [-v]: remove everything labelled with the project, also after a crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "progress.h"
#include <envmgr/images.h>
#include <envmgr/lifecycle.h>
#include <envmgr/util.h>

static int down_parse(envtest_ctx_t *ctx, void *opts)
{
    (void)opts;
    const char *rmi = envtest_value(ctx, "rmi");
    if (rmi && strcmp(rmi, "local") != 0)
        return envtest_usage_error("down",
                                   "--rmi: '%s' is not supported (only 'local': "
                                   "envtest never removes images it did not build)",
                                   rmi);
    return 0;
}

static int down_run(envtest_ctx_t *ctx, void *opts)
{
    (void)opts;
    const char *name = ctx->project_name;
    envmgr_error_t err = {0};
    envtest_progress_t progress;
    envtest_progress_init(&progress, stderr, ctx->g->stderr_is_tty, ctx->g->quiet);
    int removed = 0, images_removed = 0;
    int64_t t0 = envmgr_now_ms();
    bool images = envtest_flag(ctx, "rmi");
    /* --rmi local: the images its containers run, learnt before they go; removed after, unless
     * another project's container uses them (images are shared by content: envmgr/images.h). */
    envmgr_strv_t image_ids = {0};
    if (images && envmgr_images_of_project(ctx->engine, name, &image_ids, &err) < 0)
        return envtest_report_error(&err);
    int r = envmgr_down(ctx->engine, name, envtest_flag(ctx, "volumes"), envtest_progress_cb,
                        &progress, &removed, &err);
    envtest_progress_finish(&progress);
    if (r == 0 && images)
        r = envmgr_images_remove_unused(ctx->engine, &image_ids, &images_removed, &err);
    envmgr_strv_free(&image_ids);
    if (r < 0)
        return envtest_report_error(&err);
    envtest_bundle_forget(name); /* up --from's extracted bundle goes with it */
    removed += images_removed;
    if (!ctx->g->quiet) {
        if (removed)
            fprintf(stderr, "envtest: %s is down: %d object%s removed (%.1fs)\n", name, removed,
                    removed == 1 ? "" : "s", (envmgr_now_ms() - t0) / 1000.0);
        else
            fprintf(stderr, "envtest: nothing of %s was there\n", name);
    }
    return ENVTEST_EXIT_OK;
}

const envtest_command_t envtest_cmd_down = {
    .name = "down",
    .parse = down_parse,
    .run = down_run,
    .flags = ENVTEST_NEEDS_PROJECT_NAME | ENVTEST_TAKES_LOCK | ENVTEST_NO_ARGUMENTS,
    .usage = (const char *const[]){"[OPTIONS]", NULL},
    .summary = "remove the environment's containers, network (and volumes with -v)",
    .description = "Removes every container and network of the project (found by the label\n"
                   "io.envtest.project, so also what a crashed envtest left), and its keep mark.\n"
                   "It waits for an up of the project in progress (its lock), then removes all\n"
                   "it made. The Compose file is read only to learn the project name.",
    .options =
        (const envtest_option_t[]){
            {"volumes", 'v', NULL, "also remove the project's volumes"},
            {"rmi", 0, "local",
             "also remove the images envtest built that the project used, unless another "
             "project's container uses them"},
            {NULL, 0, NULL, NULL},
        },
    .exit_codes = "0 removed (or nothing was there), 3 engine error.",
};
