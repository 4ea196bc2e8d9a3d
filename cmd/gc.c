/* envtest gc [--images]: remove what envtests that are gone left behind, and (--images) the images
 * envtest built that no container uses. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include <envmgr/images.h>
#include <envmgr/lock.h>

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

static int gc_run(envtest_ctx_t *ctx, void *opts)
{
    (void)opts;
    envmgr_error_t err = {0};
    int removed = 0;
    int r = envmgr_gc(ctx->engine, gc_cb, ctx->g, &removed, &err);
    if (r == 0 && !ctx->g->quiet)
        fprintf(stderr, "envtest: gc: %d object%s removed\n", removed, removed == 1 ? "" : "s");
    if (r == 0 && envtest_flag(ctx, "images"))
        r = gc_images(ctx->engine, ctx->g->quiet, &err);
    return r < 0 ? envtest_report_error(&err) : ENVTEST_EXIT_OK;
}

const envtest_command_t envtest_cmd_gc = {
    .name = "gc",
    .run = gc_run,
    .flags = ENVTEST_NEEDS_ENGINE | ENVTEST_NO_ARGUMENTS,
    .usage = (const char *const[]){"[--images] [-H HOST]", NULL},
    .summary = "remove what envtests that are gone left behind (--images: unused images)",
    .description =
        "Removes the environments whose owner is gone: an 'up' or a 'run' of this machine\n"
        "that was killed (SIGKILL, OOM, its CI job's cgroup) while it owned one, unless the\n"
        "environment is kept, a live run uses it or its reaper container still watches it;\n"
        "then the lock and use marks such envtests left. Every command checks for such\n"
        "leftovers (one engine call) and names them.",
    .options =
        (const envtest_option_t[]){
            {"images", 0, NULL,
             "also the images envtest built (labelled io.envtest.context-digest, or with a "
             "project) "
             "that no container of any project uses, tagged or not"},
            {NULL, 0, NULL, NULL},
        },
    .exit_codes = "0 done (also when nothing was to remove), 2 usage, 3 engine error.",
};
