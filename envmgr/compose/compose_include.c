/* include (top-level include:): the files an application includes, each loaded as its own
 * project and copied into this one. */
#include "compose_internal.h"
#include <envmgr/log.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- include ----------------------------------------------------------------------------------
 */

static int include_one(compose_ctx_t *ctx, const char *file, const compose_include_t *how,
                       const compose_node_t *at, const char *path,
                       const envmgr_compose_options_t *opts)
{
    envmgr_project_t *p = ctx->project, *inc = NULL;
    envmgr_cleanup_free char *abs = compose_resolve_path(ctx, file);
    envmgr_compose_options_t o = opts ? *opts : (envmgr_compose_options_t){0};
    o.project_name = p->name ? p->name : "included";
    if (compose_load_included(abs, how, &o, &inc, ctx->err) < 0) {
        char msg[sizeof(ctx->err->message)];
        snprintf(msg, sizeof(msg), "%s", ctx->err->message);
        return compose_error_at(ctx, at, path, "%s", msg);
    }
    int ret = 0;
    for (size_t i = 0; i < inc->n_services && ret == 0; i++)
        for (size_t j = 0; j < p->n_services; j++)
            if (!strcmp(p->services[j].name, inc->services[i].name))
                ret = compose_error_at(ctx, at, path,
                                       "service '%s' of %s is already defined; rename one",
                                       inc->services[i].name, abs);
    if (ret == 0) {
        p->services =
            envmgr_xrealloc(p->services, (p->n_services + inc->n_services) * sizeof(*p->services));
        memcpy(&p->services[p->n_services], inc->services,
               inc->n_services * sizeof(*inc->services));
        p->n_services += inc->n_services;
        inc->n_services = 0;
#define MOVE_DEFS(field, count, type)                                                              \
    for (size_t i = 0; i < inc->count; i++) {                                                      \
        bool dup = false;                                                                          \
        for (size_t j = 0; j < p->count; j++)                                                      \
            dup = dup || !strcmp(p->field[j].key, inc->field[i].key);                              \
        if (dup)                                                                                   \
            continue;                                                                              \
        p->field = envmgr_xrealloc(p->field, (p->count + 1) * sizeof(type));                       \
        p->field[p->count++] = inc->field[i];                                                      \
        memset(&inc->field[i], 0, sizeof(type));                                                   \
    }
        MOVE_DEFS(volumes, n_volumes, envmgr_volume_def_t)
        MOVE_DEFS(networks, n_networks, envmgr_network_def_t)
        MOVE_DEFS(secret_defs, n_secret_defs, envmgr_file_def_t)
        MOVE_DEFS(config_defs, n_config_defs, envmgr_file_def_t)
#undef MOVE_DEFS
        for (size_t i = 0; i < inc->secret_values.n; i++)
            envmgr_kvlist_set(&p->secret_values, inc->secret_values.items[i].key,
                              inc->secret_values.items[i].value);
    }
    envmgr_project_free(inc);
    return ret;
}

/* project_directory and env_file of a long-form item, resolved against this file's folder (the
 * Compose specification's include.md): the included file's relative paths resolve against its
 * project_directory, and its env_file (default: .env there) feeds its interpolation, under the
 * including project's own variables. */
static int include_options(compose_ctx_t *ctx, const compose_node_t *item, const char *path,
                           char **project_dir, envmgr_strv_t *env_files)
{
    for (size_t k = 0; k < item->n_pairs; k++) {
        const char *key = item->pairs[k].key->scalar;
        const compose_node_t *v = item->pairs[k].value;
        envmgr_cleanup_free char *kpath = envmgr_xasprintf("%s.%s", path, key);
        envmgr_strv_t names = {0};
        int r = 0;
        if (!strcmp(key, "project_directory")) {
            envmgr_cleanup_free char *s = NULL;
            if ((r = compose_get_string(ctx, v, kpath, &s)) == 0) {
                free(*project_dir);
                *project_dir = compose_resolve_path(ctx, s);
            }
        } else if (!strcmp(key, "env_file")) {
            r = compose_get_strv(ctx, v, kpath, false, &names);
            for (size_t i = 0; r == 0 && i < names.n; i++) {
                envmgr_cleanup_free char *abs = compose_resolve_path(ctx, names.items[i]);
                envmgr_strv_push(env_files, abs);
            }
        } else if (strcmp(key, "path") != 0 && strncmp(key, "x-", 2) != 0) {
            envmgr_warn("%s:%d: unknown key '%s' in %s ignored", ctx->file,
                        item->pairs[k].key->line, key, path);
        }
        envmgr_strv_free(&names);
        if (r < 0)
            return -1;
    }
    return 0;
}

int compose_apply_include(compose_ctx_t *ctx, const compose_node_t *root,
                          const envmgr_compose_options_t *opts)
{
    const compose_node_t *list = compose_node_get(root, "include");
    if (compose_node_is_null(list))
        return 0;
    if (list->kind != COMPOSE_SEQ)
        return compose_error_at(ctx, list, "include", "expected a list, got %s",
                                compose_node_kind_name(list));
    for (size_t i = 0; i < list->n_items; i++) {
        const compose_node_t *item = list->items[i];
        envmgr_cleanup_free char *path = envmgr_xasprintf("include[%zu]", i);
        envmgr_strv_t files = {0};
        int r = 0;
        envmgr_strv_t env_files = {0};
        envmgr_cleanup_free char *project_dir = NULL;
        if (item->kind == COMPOSE_MAP) {
            const compose_node_t *pn = compose_node_get(item, "path");
            r = pn ? compose_get_strv(ctx, pn, path, false, &files)
                   : compose_error_at(ctx, item, path, "missing 'path'");
            if (r == 0)
                r = include_options(ctx, item, path, &project_dir, &env_files);
        } else {
            r = compose_get_strv(ctx, item, path, false, &files);
        }
        compose_include_t how = {
            .project_dir = project_dir, .env_files = &env_files, .parent = ctx};
        /* several files in one item are merged in Compose; envtest includes each */
        for (size_t k = 0; r == 0 && k < files.n; k++)
            r = include_one(ctx, files.items[k], &how, item, path, opts);
        envmgr_strv_free(&env_files);
        envmgr_strv_free(&files);
        if (r < 0)
            return -1;
    }
    return 0;
}
