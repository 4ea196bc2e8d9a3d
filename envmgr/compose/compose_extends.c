/* extends (services.*.extends): a service merged over the one it extends, from this file or
 * another one. */
#include "compose_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- extends ----------------------------------------------------------------------------------
 */

static compose_node_t *node_ref(compose_node_t *n)
{
    n->refs++;
    return n;
}

static bool replaces_whole(const char *key)
{
    static const char *const keys[] = {"command", "entrypoint", "test", "healthcheck_test"};
    for (size_t i = 0; i < ENVMGR_ARRAY_SIZE(keys); i++)
        if (!strcmp(key, keys[i]))
            return true;
    return false;
}

/* The items of a sequence; a key that takes one item or a list (env_file: x) counts a single
 * string as a list of one, so that both sides merge as Compose merges them. */
static bool as_sequence(compose_node_t *node, const char *key, compose_node_t **slot,
                        compose_node_t ***items, size_t *n)
{
    static const char *const one_or_many[] = {"env_file", "dns", "dns_search", "tmpfs",
                                              "label_file"};
    if (node->kind == COMPOSE_SEQ) {
        *items = node->items, *n = node->n_items;
        return true;
    }
    for (size_t i = 0; node->kind == COMPOSE_SCALAR && !compose_node_is_null(node) &&
                       i < ENVMGR_ARRAY_SIZE(one_or_many);
         i++)
        if (!strcmp(key, one_or_many[i])) {
            *slot = node;
            *items = slot, *n = 1;
            return true;
        }
    return false;
}

/* base merged with over (over wins): mappings merge key by key, sequences append (except
 * command/entrypoint/healthcheck.test, which over replaces), anything else is over's. */
static compose_node_t *merge_nodes(compose_node_t *base, compose_node_t *over, const char *key)
{
    compose_node_t *base_one, *over_one, **base_items, **over_items;
    size_t n_base, n_over;
    if (!replaces_whole(key) && as_sequence(base, key, &base_one, &base_items, &n_base) &&
        as_sequence(over, key, &over_one, &over_items, &n_over)) {
        compose_node_t *n = envmgr_xcalloc(1, sizeof(*n));
        *n = (compose_node_t){.kind = COMPOSE_SEQ,
                              .line = over->line,
                              .column = over->column,
                              .refs = 1,
                              .weight = base->weight + over->weight};
        n->items = envmgr_xcalloc(n_base + n_over + 1, sizeof(*n->items));
        for (size_t i = 0; i < n_base; i++)
            n->items[n->n_items++] = node_ref(base_items[i]);
        for (size_t i = 0; i < n_over; i++)
            n->items[n->n_items++] = node_ref(over_items[i]);
        return n;
    }
    if (base->kind != COMPOSE_MAP || over->kind != COMPOSE_MAP)
        return node_ref(over);
    compose_node_t *n = envmgr_xcalloc(1, sizeof(*n));
    *n = (compose_node_t){.kind = COMPOSE_MAP,
                          .line = over->line,
                          .column = over->column,
                          .refs = 1,
                          .weight = base->weight + over->weight};
    n->pairs = envmgr_xcalloc(base->n_pairs + over->n_pairs + 1, sizeof(*n->pairs));
    for (size_t i = 0; i < base->n_pairs; i++) {
        const char *k = base->pairs[i].key->scalar;
        if (!strcmp(k, "extends"))
            continue;
        compose_node_t *o = compose_node_get(over, k);
        n->pairs[n->n_pairs].key = node_ref(base->pairs[i].key);
        n->pairs[n->n_pairs++].value =
            o ? merge_nodes(base->pairs[i].value, o, k) : node_ref(base->pairs[i].value);
    }
    for (size_t i = 0; i < over->n_pairs; i++) {
        const char *k = over->pairs[i].key->scalar;
        if (compose_node_get(base, k) && strcmp(k, "extends") != 0)
            continue;
        if (!strcmp(k, "extends"))
            continue;
        n->pairs[n->n_pairs].key = node_ref(over->pairs[i].key);
        n->pairs[n->n_pairs++].value = node_ref(over->pairs[i].value);
    }
    return n;
}

static int extends_one(compose_ctx_t *ctx, compose_node_t *services, size_t index, int depth);

/* Marks every node of a file's tree with the file, so that the relative paths of a service
 * extended from it (build context, env_file, bind sources, its own extends.file) still point into
 * its folder, as the Compose specification says, and errors name it. A node marked already was
 * visited (aliases share nodes). */
static void node_set_file(compose_node_t *n, const char *file)
{
    if (!n || n->file)
        return;
    n->file = envmgr_xstrdup(file);
    for (size_t i = 0; i < n->n_items; i++)
        node_set_file(n->items[i], file);
    for (size_t i = 0; i < n->n_pairs; i++) {
        node_set_file(n->pairs[i].key, file);
        node_set_file(n->pairs[i].value, file);
    }
}

/* The base service's node (with its own extends applied), a new reference. */
static int extends_base(compose_ctx_t *ctx, compose_node_t *services, const compose_node_t *ext,
                        const char *path, int depth, compose_node_t **out)
{
    envmgr_cleanup_free char *name = NULL, *file = NULL;
    const compose_node_t *name_node = ext, *file_node = NULL;
    if (ext->kind == COMPOSE_MAP) {
        name_node = compose_node_get(ext, "service");
        file_node = compose_node_get(ext, "file");
        if (!name_node)
            return compose_error_at(ctx, ext, path, "missing 'service'");
    }
    if (compose_get_string(ctx, name_node, path, &name) < 0 ||
        (file_node && compose_get_string(ctx, file_node, path, &file) < 0))
        return -1;
    if (!file) {
        for (size_t i = 0; i < services->n_pairs; i++)
            if (!strcmp(services->pairs[i].key->scalar, name)) {
                if (extends_one(ctx, services, i, depth + 1) < 0)
                    return -1;
                *out = node_ref(services->pairs[i].value);
                return 0;
            }
        return compose_error_at(ctx, name_node, path, "extends unknown service '%s'", name);
    }
    envmgr_cleanup_free char *abs = compose_resolve_path_at(ctx, file_node, file);
    envmgr_cleanup_free char *data = NULL;
    size_t len;
    compose_node_t *root = NULL;
    if (envmgr_read_file(abs, &data, &len, ctx->err) < 0) {
        char msg[sizeof(ctx->err->message)];
        snprintf(msg, sizeof(msg), "%s", ctx->err->message);
        return compose_error_at(ctx, file_node, path, "%s", msg);
    }
    if (compose_yaml_parse(data, len, abs, &root, ctx->err) < 0)
        return -1;
    node_set_file(root, abs);
    compose_node_t *other = root ? compose_node_get(root, "services") : NULL;
    int ret = -1;
    for (size_t i = 0; other && other->kind == COMPOSE_MAP && i < other->n_pairs; i++)
        if (!strcmp(other->pairs[i].key->scalar, name)) {
            /* the base's own extends without file: resolve in its file */
            ret = extends_one(ctx, other, i, depth + 1);
            if (ret == 0)
                *out = node_ref(other->pairs[i].value);
            break;
        }
    if (ret < 0 && ctx->err->kind == ENVMGR_OK)
        compose_error_at(ctx, name_node, path, "no service '%s' in %s", name, abs);
    compose_node_unref(root);
    return ret;
}

static int extends_one(compose_ctx_t *ctx, compose_node_t *services, size_t index, int depth)
{
    compose_pair_t *pair = &services->pairs[index];
    compose_node_t *ext = pair->value && pair->value->kind == COMPOSE_MAP
                              ? compose_node_get(pair->value, "extends")
                              : NULL;
    envmgr_cleanup_free char *path = envmgr_xasprintf("services.%s.extends", pair->key->scalar);
    compose_node_t *base = NULL;
    if (!ext)
        return 0;
    if (depth > 16)
        return compose_error_at(ctx, ext, path, "extends is circular (or deeper than 16)");
    if (extends_base(ctx, services, ext, path, depth, &base) < 0)
        return -1;
    compose_node_t *merged = merge_nodes(base, pair->value, "");
    compose_node_unref(base);
    compose_node_unref(pair->value);
    pair->value = merged; /* has no extends key any more */
    return 0;
}

int compose_apply_extends(compose_ctx_t *ctx, compose_node_t *root)
{
    compose_node_t *services = compose_node_get(root, "services");
    if (!services || services->kind != COMPOSE_MAP)
        return 0;
    for (size_t i = 0; i < services->n_pairs; i++)
        if (extends_one(ctx, services, i, 0) < 0)
            return -1;
    return 0;
}
