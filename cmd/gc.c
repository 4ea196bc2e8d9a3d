/* envtest gc --images: removes the images envtest built that no container uses. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include <envmgr/images.h>

static int gc_parse(envtest_ctx_t *ctx, void *opts)
{
    (void)opts;
    if (!envtest_flag(ctx, "images"))
        return envtest_usage_error("gc", "say what to collect: --images");
    return 0;
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

static int gc_run(envtest_ctx_t *ctx, void *opts)
{
    (void)opts;
    envmgr_error_t err = {0};
    return gc_images(ctx->engine, ctx->g->quiet, &err) < 0 ? envtest_report_error(&err)
                                                           : ENVTEST_EXIT_OK;
}

const envtest_command_t envtest_cmd_gc = {
    .name = "gc",
    .parse = gc_parse,
    .run = gc_run,
    .flags = ENVTEST_NEEDS_ENGINE | ENVTEST_NO_ARGUMENTS,
    .usage = (const char *const[]){"--images [-H HOST]", NULL},
    .summary = "remove what no environment uses (--images)",
    .description = "Removes what no environment uses any more.",
    .options =
        (const envtest_option_t[]){
            {"images", 0, NULL,
             "the images envtest built (labelled io.envtest.context-digest, or with a project) "
             "that no container of any project uses, tagged or not"},
            {NULL, 0, NULL, NULL},
        },
    .exit_codes = "0 done (also when nothing was to remove), 2 usage, 3 engine error.",
};
