/* Top-level networks, secrets and configs; the references services make to them; profiles. */
#include "compose_internal.h"
#include <envmgr/log.h>

#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- networks ---------------------------------------------------------------------------------
 */

static envmgr_network_def_t *network_add(envmgr_project_t *p, const char *key)
{
    p->networks = envmgr_xrealloc(p->networks, (p->n_networks + 1) * sizeof(*p->networks));
    envmgr_network_def_t *n = &p->networks[p->n_networks++];
    memset(n, 0, sizeof(*n));
    n->key = envmgr_xstrdup(key);
    return n;
}

static int network_field(compose_ctx_t *ctx, void *def, const compose_pair_t *f, const char *path)
{
    envmgr_network_def_t *n = def;
    const char *key = f->key->scalar;
    const compose_node_t *v = f->value;
    envmgr_cleanup_free char *kpath = envmgr_xasprintf("%s.%s", path, key);
    if (compose_node_is_null(v))
        return 0;
    if (!strcmp(key, "name"))
        return compose_get_string(ctx, v, kpath, &n->name);
    if (!strcmp(key, "labels"))
        return compose_get_kvlist(ctx, v, kpath, false, &n->labels);
    if (!strcmp(key, "driver_opts"))
        return compose_get_kvlist(ctx, v, kpath, false, &n->driver_opts);
    if (!strcmp(key, "internal"))
        return compose_get_bool(ctx, v, kpath, &n->internal);
    if (!strcmp(key, "attachable"))
        return compose_get_bool(ctx, v, kpath, &n->attachable);
    if (!strcmp(key, "enable_ipv6"))
        return compose_get_bool(ctx, v, kpath, &n->enable_ipv6);
    if (!strcmp(key, "external")) {
        if (v->kind == COMPOSE_MAP) { /* legacy external: {name: x} */
            const compose_node_t *nm = compose_node_get(v, "name");
            n->external = true;
            return nm && !n->name ? compose_get_string(ctx, nm, kpath, &n->name) : 0;
        }
        return compose_get_bool(ctx, v, kpath, &n->external);
    }
    if (!strcmp(key, "driver")) {
        if (compose_get_string(ctx, v, kpath, &n->driver) < 0)
            return -1;
        if (strcmp(n->driver, "bridge") != 0 && strcmp(n->driver, "default") != 0)
            envmgr_warn("%s:%d: network '%s': driver '%s' ignored: envtest makes bridge "
                        "networks on one engine",
                        ctx->file, f->key->line, n->key, n->driver);
        free(n->driver);
        n->driver = NULL;
        return 0;
    }
    if (!strcmp(key, "ipam")) {
        const compose_node_t *config =
            v->kind == COMPOSE_MAP ? compose_node_get(v, "config") : NULL;
        for (size_t i = 0; config && config->kind == COMPOSE_SEQ && i < config->n_items; i++) {
            const compose_node_t *sub = config->items[i]->kind == COMPOSE_MAP
                                            ? compose_node_get(config->items[i], "subnet")
                                            : NULL;
            envmgr_cleanup_free char *s = NULL;
            if (sub && compose_get_string(ctx, sub, kpath, &s) < 0)
                return -1;
            if (s)
                envmgr_strv_push(&n->subnets, s);
        }
        return 0;
    }
    if (strncmp(key, "x-", 2) != 0)
        envmgr_warn("%s:%d: unknown key '%s' in network '%s' ignored", ctx->file, f->key->line, key,
                    n->key);
    return 0;
}

int compose_parse_networks(compose_ctx_t *ctx, const compose_node_t *node)
{
    if (compose_node_is_null(node))
        return 0;
    if (node->kind != COMPOSE_MAP)
        return compose_error_at(ctx, node, "networks", "expected a mapping, got %s",
                                compose_node_kind_name(node));
    for (size_t i = 0; i < node->n_pairs; i++) {
        const compose_pair_t *pair = &node->pairs[i];
        envmgr_cleanup_free char *path = envmgr_xasprintf("networks.%s", pair->key->scalar);
        envmgr_network_def_t *n = network_add(ctx->project, pair->key->scalar);
        if (compose_each_field(ctx, pair->value, path, network_field, n) < 0)
            return -1;
    }
    return 0;
}

/* ---- secrets and configs ----------------------------------------------------------------------
 */

static int file_def(compose_ctx_t *ctx, envmgr_file_def_t *d, const compose_pair_t *pair,
                    const char *path, bool secret)
{
    const compose_node_t *v = pair->value;
    int sources = 0;
    if (compose_node_is_null(v) || v->kind != COMPOSE_MAP)
        return compose_error_at(ctx, compose_node_is_null(v) ? pair->key : v, path,
                                "expected a mapping with file:, environment:%s",
                                secret ? "" : " or content:");
    for (size_t i = 0; i < v->n_pairs; i++) {
        const char *key = v->pairs[i].key->scalar;
        const compose_node_t *f = v->pairs[i].value;
        envmgr_cleanup_free char *kpath = envmgr_xasprintf("%s.%s", path, key);
        envmgr_cleanup_free char *s = NULL;
        int r = 0;
        if (!strcmp(key, "file") || !strcmp(key, "environment") ||
            (!strcmp(key, "content") && !secret)) {
            sources++;
            if (compose_get_string(ctx, f, kpath, &s) < 0)
                return -1;
            d->source = key[0] == 'f'   ? ENVMGR_SOURCE_FILE
                        : key[0] == 'e' ? ENVMGR_SOURCE_ENVIRONMENT
                                        : ENVMGR_SOURCE_CONTENT;
            free(d->value);
            d->value = d->source == ENVMGR_SOURCE_FILE ? compose_resolve_path(ctx, s)
                                                       : envmgr_steal_pointer(&s);
        } else if (!strcmp(key, "name"))
            r = compose_get_string(ctx, f, kpath, &d->name);
        else if (!strcmp(key, "external")) {
            if ((r = compose_get_bool(ctx, f, kpath, &d->external)) == 0 && d->external)
                return compose_error_at(
                    ctx, f, kpath,
                    "external %s live in a Swarm, which envtest does not use; give the %s with "
                    "file: or environment:",
                    secret ? "secrets" : "configs", secret ? "secret" : "config");
        } else if (!strcmp(key, "driver") || !strcmp(key, "template_driver") ||
                   !strcmp(key, "driver_opts"))
            return compose_error_at(ctx, v->pairs[i].key, kpath,
                                    "%s is for Swarm; give the %s with file: or environment:", key,
                                    secret ? "secret" : "config");
        else if (strncmp(key, "x-", 2) != 0)
            envmgr_warn("%s:%d: unknown key '%s' in %s ignored", ctx->file, v->pairs[i].key->line,
                        key, path);
        if (r < 0)
            return -1;
    }
    if (sources != 1)
        return compose_error_at(ctx, v, path, "expected exactly one of file:, environment:%s",
                                secret ? "" : " or content:");
    if (d->source == ENVMGR_SOURCE_ENVIRONMENT) {
        const char *value = compose_ctx_lookup(ctx, d->value);
        if (value) {
            d->data = envmgr_xstrdup(value);
            if (secret && *value)
                envmgr_kvlist_set(&ctx->project->secret_values, d->value, value);
        }
    }
    return 0;
}

int compose_parse_file_defs(compose_ctx_t *ctx, const compose_node_t *node, bool secret)
{
    envmgr_project_t *p = ctx->project;
    const char *top = secret ? "secrets" : "configs";
    envmgr_file_def_t **defs = secret ? &p->secret_defs : &p->config_defs;
    size_t *n = secret ? &p->n_secret_defs : &p->n_config_defs;
    if (compose_node_is_null(node))
        return 0;
    if (node->kind != COMPOSE_MAP)
        return compose_error_at(ctx, node, top, "expected a mapping, got %s",
                                compose_node_kind_name(node));
    *defs = envmgr_xrealloc(*defs, (*n + node->n_pairs + 1) * sizeof(**defs));
    for (size_t i = 0; i < node->n_pairs; i++) {
        envmgr_cleanup_free char *path = envmgr_xasprintf("%s.%s", top, node->pairs[i].key->scalar);
        envmgr_file_def_t *d = &(*defs)[(*n)++];
        memset(d, 0, sizeof(*d));
        d->key = envmgr_xstrdup(node->pairs[i].key->scalar);
        if (file_def(ctx, d, &node->pairs[i], path, secret) < 0)
            return -1;
    }
    return 0;
}

/* ---- references and profiles ------------------------------------------------------------------
 */

static bool profile_active(const envmgr_strv_t *active, const envmgr_service_t *s)
{
    if (s->profiles.n == 0)
        return true;
    for (size_t i = 0; i < active->n; i++) {
        if (!strcmp(active->items[i], "*"))
            return true;
        for (size_t j = 0; j < s->profiles.n; j++)
            if (!strcmp(active->items[i], s->profiles.items[j]))
                return true;
    }
    return false;
}

static void active_profiles(compose_ctx_t *ctx, const envmgr_compose_options_t *opts)
{
    envmgr_strv_t *active = &ctx->project->profiles_active;
    for (size_t i = 0; opts && opts->profiles && opts->profiles[i]; i++)
        envmgr_strv_push(active, opts->profiles[i]);
    const char *env = compose_ctx_lookup(ctx, "COMPOSE_PROFILES");
    if (env && *env) {
        envmgr_cleanup_free char *copy = envmgr_xstrdup(env);
        for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
            if (*t)
                envmgr_strv_push(active, t);
    }
}

static const envmgr_service_t *find_service(const envmgr_project_t *p, const char *name)
{
    for (size_t i = 0; i < p->n_services; i++)
        if (!strcmp(p->services[i].name, name))
            return &p->services[i];
    return NULL;
}

static int disabled_reference(compose_ctx_t *ctx, const envmgr_service_t *s, const char *what,
                              const char *name, const envmgr_strv_t *disabled_profiles)
{
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    for (size_t i = 0; i < disabled_profiles->n; i++)
        envmgr_buf_addf(&b, "%s%s", i ? ", " : "", disabled_profiles->items[i]);
    envmgr_error_set(ctx->err, ENVMGR_E_CONFIG, 0,
                     "%s:%d: service '%s' %s service '%s', which is only in profile(s) %s, not "
                     "enabled",
                     ctx->file, s->line, s->name, what, name, b.data ? b.data : "");
    envmgr_error_hint(ctx->err, "enable one with --profile %s (or COMPOSE_PROFILES)",
                      disabled_profiles->n ? disabled_profiles->items[0] : "");
    envmgr_buf_free(&b);
    return -1;
}

/* Drops the services of inactive profiles; a reference to one from an enabled service is an
 * error (as the specification says), except a depends_on with required: false. */
static int apply_profiles(compose_ctx_t *ctx)
{
    envmgr_project_t *p = ctx->project;
    bool *keep = envmgr_xcalloc(p->n_services + 1, sizeof(bool));
    int ret = 0;
    for (size_t i = 0; i < p->n_services; i++)
        keep[i] = profile_active(&p->profiles_active, &p->services[i]);
    for (size_t i = 0; i < p->n_services && ret == 0; i++) {
        envmgr_service_t *s = &p->services[i];
        if (!keep[i])
            continue;
        for (size_t d = 0; d < s->n_depends_on && ret == 0; d++) {
            const envmgr_service_t *t = find_service(p, s->depends_on[d].service);
            if (!t || keep[t - p->services])
                continue;
            if (!s->depends_on[d].required) {
                free(s->depends_on[d].service);
                memmove(&s->depends_on[d], &s->depends_on[d + 1],
                        (s->n_depends_on - d - 1) * sizeof(*s->depends_on));
                s->n_depends_on--;
                d--;
                continue;
            }
            ret = disabled_reference(ctx, s, "depends on (or links to)", t->name, &t->profiles);
        }
    }
    size_t n = 0;
    for (size_t i = 0; i < p->n_services; i++) {
        if (keep[i] || ret < 0)
            p->services[n++] = p->services[i];
        else
            compose_service_clear(&p->services[i]);
    }
    p->n_services = n;
    free(keep);
    return ret;
}

static bool has_file_def(const envmgr_file_def_t *defs, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(defs[i].key, key))
            return true;
    return false;
}

int compose_resolve_references(compose_ctx_t *ctx, const envmgr_compose_options_t *opts)
{
    envmgr_project_t *p = ctx->project;
    active_profiles(ctx, opts);
    if (apply_profiles(ctx) < 0)
        return -1;
    for (size_t i = 0; i < p->n_services; i++) {
        const envmgr_service_t *s = &p->services[i];
        for (size_t k = 0; k < s->n_networks; k++) {
            const char *key = s->networks[k].key;
            if (envmgr_project_network(p, key))
                continue;
            if (strcmp(key, "default") != 0)
                return envmgr_error_set(ctx->err, ENVMGR_E_CONFIG, 0,
                                        "%s:%d: service '%s' uses network '%s', which is not "
                                        "declared under the top-level networks:",
                                        ctx->file, s->line, s->name, key);
            network_add(p, "default");
        }
        for (size_t k = 0; k < s->n_secrets + s->n_configs; k++) {
            bool secret = k < s->n_secrets;
            const envmgr_file_ref_t *r = secret ? &s->secrets[k] : &s->configs[k - s->n_secrets];
            if (!(secret ? has_file_def(p->secret_defs, p->n_secret_defs, r->source)
                         : has_file_def(p->config_defs, p->n_config_defs, r->source)))
                return envmgr_error_set(ctx->err, ENVMGR_E_CONFIG, 0,
                                        "%s:%d: service '%s' uses %s '%s', which is not declared "
                                        "under the top-level %s:",
                                        ctx->file, s->line, s->name, secret ? "secret" : "config",
                                        r->source, secret ? "secrets" : "configs");
        }
        if (s->network_mode && !strncmp(s->network_mode, "service:", 8) &&
            !find_service(p, s->network_mode + 8))
            return envmgr_error_set(ctx->err, ENVMGR_E_CONFIG, 0,
                                    "%s:%d: service '%s': network_mode %s names a service that "
                                    "is not enabled",
                                    ctx->file, s->line, s->name, s->network_mode);
    }
    return 0;
}

/* ---- lookup and freeing -----------------------------------------------------------------------
 */

const envmgr_network_def_t *envmgr_project_network(const envmgr_project_t *p, const char *key)
{
    for (size_t i = 0; i < p->n_networks; i++)
        if (!strcmp(p->networks[i].key, key))
            return &p->networks[i];
    return NULL;
}

const envmgr_file_def_t *envmgr_project_secret(const envmgr_project_t *p, const char *key)
{
    for (size_t i = 0; i < p->n_secret_defs; i++)
        if (!strcmp(p->secret_defs[i].key, key))
            return &p->secret_defs[i];
    return NULL;
}

const envmgr_file_def_t *envmgr_project_config(const envmgr_project_t *p, const char *key)
{
    for (size_t i = 0; i < p->n_config_defs; i++)
        if (!strcmp(p->config_defs[i].key, key))
            return &p->config_defs[i];
    return NULL;
}

static void file_defs_free(envmgr_file_def_t *defs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(defs[i].key);
        free(defs[i].name);
        free(defs[i].value);
        free(defs[i].data);
    }
    free(defs);
}

void compose_resources_free(envmgr_project_t *p)
{
    for (size_t i = 0; i < p->n_networks; i++) {
        envmgr_network_def_t *n = &p->networks[i];
        free(n->key);
        free(n->name);
        free(n->driver);
        envmgr_kvlist_free(&n->labels);
        envmgr_kvlist_free(&n->driver_opts);
        envmgr_strv_free(&n->subnets);
    }
    free(p->networks);
    file_defs_free(p->secret_defs, p->n_secret_defs);
    file_defs_free(p->config_defs, p->n_config_defs);
    envmgr_strv_free(&p->profiles_active);
}
