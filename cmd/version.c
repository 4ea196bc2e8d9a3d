#include <stdio.h>

#include "cmd.h"
#include <envmgr/util.h>

int cmd_version(int argc, char **argv, envtest_globals_t *g)
{
    (void)argc;
    (void)argv;
    printf("envtest %s\n", ENVTEST_VERSION);
    envmgr_error_t err = {0};
    envmgr_engine_t *engine = NULL;
    if (envtest_open_engine(g, &engine, &err) < 0) {
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
