/* Real services instead of mocks (ADR-009's `mock_services: false`): a service named here is not
 * started; its URL is given to the others instead. Sources, later ones winning: the file's
 *   x-envtest: {real: {mock-llm: https://host/v1}}
 * then the environment's ENVTEST_REAL_<SERVICE> (MOCK_LLM for mock-llm; empty: the mock again),
 * then the caller's options (`envtest --real mock-llm=URL`). For every real service the Compose
 * file can interpolate ${ENVTEST_URL_<SERVICE>} (set by envtest, winning over the environment),
 * e.g. OPENAI_BASE_URL: ${ENVTEST_URL_MOCK_LLM:-http://mock-llm:8080/v1}. */
#include "compose_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

char *compose_env_stem(const char *service)
{
    char *stem = envmgr_xstrdup(service);
    for (char *p = stem; *p; p++)
        *p = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
    return stem;
}

static bool url_ok(const char *url)
{
    return (!strncmp(url, "http://", 7) && url[7]) || (!strncmp(url, "https://", 8) && url[8]);
}

/* One (service, url) from a source; url "" drops the service (back to the mock). */
static int real_set(compose_ctx_t *ctx, const compose_node_t *node, const char *source,
                    const char *service, const char *url)
{
    const compose_node_t *services = ctx->services;
    if (!services || !compose_node_get(services, service)) {
        if (node)
            return compose_error_at(ctx, node, source, "no service '%s' in this file", service);
        return envmgr_error_set(ctx->err, ENVMGR_E_USAGE, 0, "%s: no service '%s' in %s", source,
                                service, ctx->file);
    }
    if (*url && !url_ok(url)) {
        if (node)
            return compose_error_at(ctx, node, source, "'%s' is not an http:// or https:// URL",
                                    url);
        return envmgr_error_set(ctx->err, ENVMGR_E_USAGE, 0,
                                "%s: '%s' is not an http:// or https:// URL", source, url);
    }
    envmgr_kvlist_t *real = &ctx->project->real_services;
    envmgr_kvlist_t kept = {0}; /* rebuilt without the service, then set again */
    for (size_t i = 0; i < real->n; i++)
        if (strcmp(real->items[i].key, service) != 0)
            envmgr_kvlist_set(&kept, real->items[i].key, real->items[i].value);
    if (*url)
        envmgr_kvlist_set(&kept, service, url);
    envmgr_kvlist_free(real);
    *real = kept;
    return 0;
}

int compose_load_real(compose_ctx_t *ctx, const compose_node_t *root,
                      const envmgr_compose_options_t *opts)
{
    ctx->services = compose_node_get(root, "services");
    const compose_node_t *x = compose_node_get(root, "x-envtest");
    const compose_node_t *map = x ? compose_node_get(x, "real") : NULL;
    if (!compose_node_is_null(map)) {
        if (map->kind != COMPOSE_MAP)
            return compose_error_at(ctx, map, "x-envtest.real",
                                    "expected a mapping of service: URL, got %s",
                                    compose_node_kind_name(map));
        for (size_t i = 0; i < map->n_pairs; i++) {
            const char *service = map->pairs[i].key->scalar;
            envmgr_cleanup_free char *path = envmgr_xasprintf("x-envtest.real.%s", service);
            envmgr_cleanup_free char *url = NULL;
            if (compose_get_string(ctx, map->pairs[i].value, path, &url) < 0 ||
                real_set(ctx, map->pairs[i].value, path, service, url ? url : "") < 0)
                return -1;
        }
    }
    for (size_t i = 0;
         ctx->services && ctx->services->kind == COMPOSE_MAP && i < ctx->services->n_pairs; i++) {
        const char *service = ctx->services->pairs[i].key->scalar;
        envmgr_cleanup_free char *stem = compose_env_stem(service);
        envmgr_cleanup_free char *var = envmgr_xasprintf("ENVTEST_REAL_%s", stem);
        const char *url = getenv(var);
        if (url && real_set(ctx, NULL, var, service, url) < 0)
            return -1;
    }
    const envmgr_kvlist_t *given = opts ? opts->real_services : NULL;
    for (size_t i = 0; given && i < given->n; i++) {
        envmgr_cleanup_free char *source = envmgr_xasprintf("--real %s", given->items[i].key);
        if (!given->items[i].value)
            return envmgr_error_set(ctx->err, ENVMGR_E_USAGE, 0,
                                    "%s: expected SERVICE=URL, e.g. --real "
                                    "mock-llm=https://api.openai.com/v1",
                                    source);
        if (real_set(ctx, NULL, source, given->items[i].key,
                     given->items[i].value ? given->items[i].value : "") < 0)
            return -1;
    }
    const envmgr_kvlist_t *real = &ctx->project->real_services;
    for (size_t i = 0; i < real->n; i++) {
        envmgr_cleanup_free char *stem = compose_env_stem(real->items[i].key);
        envmgr_cleanup_free char *var = envmgr_xasprintf("ENVTEST_URL_%s", stem);
        envmgr_kvlist_set(&ctx->real_vars, var, real->items[i].value);
    }
    return 0;
}

const char *envmgr_project_real_url(const envmgr_project_t *project, const char *service)
{
    const envmgr_kv_t *kv = envmgr_kvlist_find(&project->real_services, service);
    return kv ? kv->value : NULL;
}
