/* envtest in a container of the engine it drives: the handle's self container, and joining it to
 * the services' networks (see <envmgr/engine.h>). */
#include "engine_private.h"

#include <stdlib.h>
#include <string.h>

#include <envmgr/util.h>

void envmgr_engine_set_self(envmgr_engine_t *engine, const char *container_id)
{
    free(engine->self);
    engine->self = container_id && *container_id ? envmgr_xstrdup(container_id) : NULL;
}

const char *envmgr_engine_self(const envmgr_engine_t *engine)
{
    return engine ? engine->self : NULL;
}

/* Whether the network's endpoints (GET /networks/ID: "Containers": {"<id>": {...}}) include the
 * container. */
static bool network_has(envmgr_engine_t *engine, const char *network, const char *container)
{
    envmgr_cleanup_json json_t *n = NULL;
    envmgr_error_t ignored = {0};
    if (envmgr_engine_network_inspect(engine, network, &n, &ignored) < 0)
        return false;
    const char *id;
    json_t *unused;
    json_object_foreach(json_object_get(n, "Containers"), id, unused)
    {
        if (strcmp(id, container) == 0)
            return true;
    }
    return false;
}

int envmgr_engine_network_join_self(envmgr_engine_t *engine, const char *network,
                                    envmgr_error_t *err)
{
    if (!engine || !engine->self)
        return 0;
    for (size_t i = 0; i < engine->n_joined; i++)
        if (strcmp(engine->joined[i], network) == 0)
            return 0;
    envmgr_cleanup_free char *path = envmgr_xasprintf("/networks/%s/connect", network);
    envmgr_cleanup_json json_t *body = json_pack("{s:s}", "Container", engine->self);
    envmgr_error_t connect_err = {0};
    if (envmgr_engine_request(engine, "POST", path, body, NULL, &connect_err) < 0 &&
        !network_has(engine, network, engine->self)) {
        /* already on it (Docker: 403 "endpoint ... already exists"; Podman: 500) is what we want */
        *err = connect_err;
        envmgr_error_wrap(err, "connect envtest's own container %.12s to network %.12s",
                          engine->self, network);
        return envmgr_error_hint(err, "envtest runs in a container and reaches the services over "
                                      "their network; or run it on the host, or in the host's "
                                      "network namespace (--network host)");
    }
    engine->joined = envmgr_xrealloc(engine->joined, (engine->n_joined + 1) * sizeof(char *));
    engine->joined[engine->n_joined++] = envmgr_xstrdup(network);
    return 0;
}
