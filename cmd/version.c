/* envtest version: envtest's version and the engine's. */
#include <stdio.h>

#include "cmd.h"
#include <envmgr/util.h>

static int version_run(envtest_ctx_t *ctx, void *opts)
{
    (void)opts;
    printf("envtest %s\n", ENVTEST_VERSION);
    envmgr_error_t err = {0};
    envmgr_engine_t *engine = NULL;
    if (envtest_open_engine(ctx->g, &engine, &err) < 0) {
        printf("engine: not reachable (%s)\n", err.message);
        return ENVTEST_EXIT_OK;
    }
    envmgr_cleanup_json json_t *version = NULL;
    if (envmgr_engine_version(engine, &version, &err) == 0)
        printf("engine: Docker %s (API %s, negotiated %s) at %s\n",
               json_string_value(json_object_get(version, "Version")),
               json_string_value(json_object_get(version, "ApiVersion")),
               envmgr_engine_api_version(engine), envmgr_engine_host(engine));
    envmgr_engine_close(engine);
    return ENVTEST_EXIT_OK;
}

const envtest_command_t envtest_cmd_version = {
    .name = "version",
    .run = version_run,
    .usage = (const char *const[]){"[-H HOST]", NULL},
    .summary = "print envtest's and the engine's versions",
    .description = "Prints envtest's version and the engine's (the API version negotiated from\n"
                   "GET /version); an unreachable engine is said, not an error.",
    .options = (const envtest_option_t[]){{NULL, 0, NULL, NULL}},
    .exit_codes = "0.",
};
