/* The service keys that change how a container runs: networks, network_mode, secrets, configs,
 * container_name, resources (deploy.resources, mem_limit, cpus, ...), stop_*, extra_hosts, dns*,
 * shm_size, ulimits, sysctls, cap_add/cap_drop, security_opt, links, volumes_from, devices,
 * privileged, read_only, platform, pid, ipc, tty, stdin_open, group_add, profiles. Each is mapped
 * to the Engine's container configuration (envmgr/env/project.c); the few that would break an
 * environment's isolation are refused with the reason and the way out. */
#include "compose_internal.h"
#include <envmgr/log.h>

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ---------------------------------------------------------------------------
 */

static int get_size(compose_ctx_t *ctx, const compose_node_t *node, const char *path, int64_t *out)
{
    envmgr_cleanup_free char *s = NULL;
    if (compose_get_string(ctx, node, path, &s) < 0)
        return -1;
    if (compose_parse_size(s, out) < 0)
        return compose_error_at(ctx, node, path, "invalid size '%s': expected e.g. 512m or 1g", s);
    return 0;
}

static int get_cpus(compose_ctx_t *ctx, const compose_node_t *node, const char *path, int64_t *nano)
{
    envmgr_cleanup_free char *s = NULL;
    char *end;
    if (compose_get_string(ctx, node, path, &s) < 0)
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v) || v < 0 || v > 1e6)
        return compose_error_at(ctx, node, path, "invalid number of CPUs '%s': expected e.g. 0.5",
                                s);
    *nano = (int64_t)(v * 1e9 + 0.5);
    return 0;
}

static int expect_map(compose_ctx_t *ctx, const compose_node_t *node, const char *path)
{
    if (node->kind != COMPOSE_MAP)
        return compose_error_at(ctx, node, path, "expected a mapping, got %s",
                                compose_node_kind_name(node));
    return 0;
}

static void warn_ignored(compose_ctx_t *ctx, const compose_node_t *key, const char *path,
                         const char *why)
{
    envmgr_warn("%s:%d: %s ignored: %s", ctx->file, key->line, path, why);
}

/* ---- networks ---------------------------------------------------------------------------------
 */

static envmgr_service_network_t *add_network(envmgr_service_t *svc, const char *key)
{
    svc->networks = envmgr_xrealloc(svc->networks, (svc->n_networks + 1) * sizeof(*svc->networks));
    envmgr_service_network_t *n = &svc->networks[svc->n_networks++];
    memset(n, 0, sizeof(*n));
    n->key = envmgr_xstrdup(key);
    return n;
}

/* A key of networks.NAME in a service (compose_each_field). */
static int network_option(compose_ctx_t *ctx, void *def, const compose_pair_t *f, const char *path)
{
    envmgr_service_network_t *n = def;
    const char *key = f->key->scalar;
    const compose_node_t *v = f->value;
    envmgr_cleanup_free char *kpath = envmgr_xasprintf("%s.%s", path, key);
    long prio;
    int r = 0;
    if (!strcmp(key, "aliases"))
        r = compose_get_strv(ctx, v, kpath, false, &n->aliases);
    else if (!strcmp(key, "ipv4_address"))
        r = compose_get_string(ctx, v, kpath, &n->ipv4_address);
    else if (!strcmp(key, "ipv6_address"))
        r = compose_get_string(ctx, v, kpath, &n->ipv6_address);
    else if (!strcmp(key, "priority")) {
        r = compose_get_int(ctx, v, kpath, -1000000, 1000000, &prio);
        n->priority = (int)prio;
    } else if (strncmp(key, "x-", 2) != 0)
        warn_ignored(ctx, f->key, kpath, "not supported by envtest");
    return r < 0 ? -1 : 0;
}

static int cmp_priority(const void *a, const void *b)
{
    const envmgr_service_network_t *x = a, *y = b;
    return (y->priority > x->priority) - (y->priority < x->priority);
}

static int field_networks(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                          const char *path)
{
    if (node->kind == COMPOSE_SEQ) {
        for (size_t i = 0; i < node->n_items; i++) {
            envmgr_cleanup_free char *s = NULL, *ipath = envmgr_xasprintf("%s[%zu]", path, i);
            if (compose_get_string(ctx, node->items[i], ipath, &s) < 0)
                return -1;
            add_network(svc, s);
        }
    } else if (node->kind == COMPOSE_MAP) {
        for (size_t i = 0; i < node->n_pairs; i++) {
            envmgr_cleanup_free char *kpath =
                envmgr_xasprintf("%s.%s", path, node->pairs[i].key->scalar);
            envmgr_service_network_t *n = add_network(svc, node->pairs[i].key->scalar);
            if (compose_each_field(ctx, node->pairs[i].value, kpath, network_option, n) < 0)
                return -1;
        }
    } else {
        return compose_error_at(ctx, node, path, "expected a list or a mapping of networks, got %s",
                                compose_node_kind_name(node));
    }
    /* stable: equal priorities keep file order */
    for (size_t i = 1; i < svc->n_networks; i++)
        for (size_t j = i; j > 0 && cmp_priority(&svc->networks[j - 1], &svc->networks[j]) > 0;
             j--) {
            envmgr_service_network_t t = svc->networks[j];
            svc->networks[j] = svc->networks[j - 1];
            svc->networks[j - 1] = t;
        }
    return 0;
}

static int field_network_mode(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                              const char *path)
{
    envmgr_cleanup_free char *s = NULL;
    if (compose_get_string(ctx, node, path, &s) < 0)
        return -1;
    if (!strcmp(s, "none") || !strncmp(s, "service:", 8)) {
        if (!strncmp(s, "service:", 8) && !compose_node_get(ctx->services, s + 8))
            return compose_error_at(ctx, node, path, "unknown service '%s'", s + 8);
        svc->network_mode = envmgr_steal_pointer(&s);
        return 0;
    }
    if (!strcmp(s, "bridge") || !strcmp(s, "default"))
        return 0; /* the project network, as a network per project is envtest's default */
    if (!strcmp(s, "host"))
        return compose_error_at(
            ctx, node, path,
            "'host' is refused: the container would share the host's network, so its ports "
            "would open on every interface and two environments would collide; publish the "
            "ports with `ports:` (envtest binds them to 127.0.0.1) and remove network_mode");
    return compose_error_at(ctx, node, path,
                            "'%s' is refused: only none and service:NAME are supported (a "
                            "container outside the project could vanish or belong to another "
                            "environment); attach the service to a network of the file instead",
                            s);
}

/* ---- secrets and configs ----------------------------------------------------------------------
 */

static int file_ref(compose_ctx_t *ctx, const compose_node_t *node, const char *path, bool secret,
                    envmgr_file_ref_t *ref)
{
    ref->uid = ref->gid = -1;
    ref->mode = -1;
    envmgr_cleanup_free char *target = NULL;
    const compose_node_t *src = node;
    if (node->kind == COMPOSE_MAP) {
        src = compose_node_get(node, "source");
        if (!src)
            return compose_error_at(ctx, node, path, "missing 'source'");
        for (size_t i = 0; i < node->n_pairs; i++) {
            const char *key = node->pairs[i].key->scalar;
            const compose_node_t *v = node->pairs[i].value;
            envmgr_cleanup_free char *kpath = envmgr_xasprintf("%s.%s", path, key);
            envmgr_cleanup_free char *s = NULL;
            long n;
            int r = 0;
            if (!strcmp(key, "target"))
                r = compose_get_string(ctx, v, kpath, &target);
            else if (!strcmp(key, "uid") || !strcmp(key, "gid")) {
                r = compose_get_int(ctx, v, kpath, 0, 0x7fffffff, &n);
                *(key[0] == 'u' ? &ref->uid : &ref->gid) = n;
            } else if (!strcmp(key, "mode")) {
                /* YAML 1.1 octal (0440) or a decimal number (288) */
                if ((r = compose_get_string(ctx, v, kpath, &s)) == 0) {
                    char *end;
                    errno = 0;
                    n = strtol(s, &end, s[0] == '0' && s[1] && s[1] != 'o' ? 8 : 10);
                    if (s[0] == '0' && s[1] == 'o')
                        n = strtol(s + 2, &end, 8);
                    if (!*s || *end || errno || n < 0 || n > 07777)
                        r = compose_error_at(ctx, v, kpath, "invalid mode '%s': e.g. 0440", s);
                    ref->mode = (int)n;
                }
            } else if (strcmp(key, "source") != 0 && strncmp(key, "x-", 2) != 0)
                warn_ignored(ctx, node->pairs[i].key, kpath, "unknown key");
            if (r < 0)
                return -1;
        }
    }
    if (compose_get_string(ctx, src, path, &ref->source) < 0)
        return -1;
    const char *t = target && *target ? target : ref->source;
    if (t[0] == '/')
        ref->target = envmgr_xstrdup(t);
    else
        ref->target = envmgr_xasprintf(secret ? "/run/secrets/%s" : "/%s", t);
    return 0;
}

static int file_refs(compose_ctx_t *ctx, const compose_node_t *node, const char *path, bool secret,
                     envmgr_file_ref_t **refs, size_t *n)
{
    if (node->kind != COMPOSE_SEQ)
        return compose_error_at(ctx, node, path, "expected a list, got %s",
                                compose_node_kind_name(node));
    *refs = envmgr_xcalloc(node->n_items + 1, sizeof(**refs));
    for (size_t i = 0; i < node->n_items; i++) {
        envmgr_cleanup_free char *ipath = envmgr_xasprintf("%s[%zu]", path, i);
        (*n)++;
        if (file_ref(ctx, node->items[i], ipath, secret, &(*refs)[i]) < 0)
            return -1;
    }
    return 0;
}

static int field_secrets(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                         const char *path)
{
    return file_refs(ctx, node, path, true, &svc->secrets, &svc->n_secrets);
}

static int field_configs(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                         const char *path)
{
    return file_refs(ctx, node, path, false, &svc->configs, &svc->n_configs);
}

/* ---- resources --------------------------------------------------------------------------------
 */

typedef struct resource_block {
    envmgr_resources_t *r;
    bool limits; /* deploy.resources.limits, else .reservations */
} resource_block_t;

/* A key of deploy.resources.limits or .reservations (compose_each_field). */
static int resource_key(compose_ctx_t *ctx, void *def, const compose_pair_t *f, const char *path)
{
    const resource_block_t *b = def;
    envmgr_resources_t *r = b->r;
    const char *key = f->key->scalar;
    const compose_node_t *v = f->value;
    envmgr_cleanup_free char *kpath = envmgr_xasprintf("%s.%s", path, key);
    long n;
    int ret = 0;
    if (!strcmp(key, "cpus"))
        ret = get_cpus(ctx, v, kpath, b->limits ? &r->nano_cpus : &r->cpu_reservation_nano);
    else if (!strcmp(key, "memory"))
        ret = get_size(ctx, v, kpath, b->limits ? &r->memory_limit : &r->memory_reservation);
    else if (!strcmp(key, "pids") && b->limits) {
        ret = compose_get_int(ctx, v, kpath, -1, 0x7fffffff, &n);
        r->pids_limit = n;
    } else if (!strcmp(key, "devices") && !b->limits)
        return compose_error_at(ctx, v, kpath,
                                "device reservations (GPUs) are not supported by envtest; "
                                "remove them, or give the device with `devices:`");
    else if (strncmp(key, "x-", 2) != 0)
        warn_ignored(ctx, f->key, kpath, "not supported by envtest");
    return ret < 0 ? -1 : 0;
}

static int field_deploy(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                        const char *path)
{
    if (expect_map(ctx, node, path) < 0)
        return -1;
    for (size_t i = 0; i < node->n_pairs; i++) {
        const char *key = node->pairs[i].key->scalar;
        const compose_node_t *v = node->pairs[i].value;
        envmgr_cleanup_free char *kpath = envmgr_xasprintf("%s.%s", path, key);
        if (!strcmp(key, "resources")) {
            if (compose_node_is_null(v))
                continue;
            if (expect_map(ctx, v, kpath) < 0)
                return -1;
            for (size_t j = 0; j < v->n_pairs; j++) {
                const char *rk = v->pairs[j].key->scalar;
                envmgr_cleanup_free char *rpath = envmgr_xasprintf("%s.%s", kpath, rk);
                if (!strcmp(rk, "limits") || !strcmp(rk, "reservations")) {
                    resource_block_t block = {&svc->resources, rk[0] == 'l'};
                    if (compose_each_field(ctx, v->pairs[j].value, rpath, resource_key, &block) < 0)
                        return -1;
                } else if (strncmp(rk, "x-", 2) != 0)
                    warn_ignored(ctx, v->pairs[j].key, rpath, "unknown key");
            }
        } else if (!strcmp(key, "replicas")) {
            long n;
            if (compose_get_int(ctx, v, kpath, 0, 1000000, &n) < 0)
                return -1;
            if (n > 1)
                envmgr_warn("%s:%d: %s: %ld replicas: envtest runs one container per service "
                            "(tests address it by name)",
                            ctx->file, v->line, kpath, n);
        } else if (!strcmp(key, "mode")) {
            envmgr_cleanup_free char *s = NULL;
            if (compose_get_string(ctx, v, kpath, &s) < 0)
                return -1;
            if (strcmp(s, "replicated") != 0)
                return compose_error_at(ctx, v, kpath,
                                        "mode '%s' is for Swarm; envtest runs one container per "
                                        "service: remove it",
                                        s);
        } else if (strncmp(key, "x-", 2) != 0) {
            warn_ignored(ctx, node->pairs[i].key, kpath,
                         "only deploy.resources (and replicas: 1) apply outside Swarm");
        }
    }
    return 0;
}

static int field_resource(compose_ctx_t *ctx, envmgr_service_t *svc, const char *key,
                          const compose_node_t *node, const char *path)
{
    envmgr_resources_t *r = &svc->resources;
    long n;
    if (!strcmp(key, "mem_limit"))
        return get_size(ctx, node, path, &r->memory_limit);
    if (!strcmp(key, "mem_reservation"))
        return get_size(ctx, node, path, &r->memory_reservation);
    if (!strcmp(key, "memswap_limit"))
        return get_size(ctx, node, path, &r->memswap_limit);
    if (!strcmp(key, "shm_size"))
        return get_size(ctx, node, path, &r->shm_size);
    if (!strcmp(key, "cpus"))
        return get_cpus(ctx, node, path, &r->nano_cpus);
    if (!strcmp(key, "cpuset"))
        return compose_get_string(ctx, node, path, &r->cpuset);
    if (compose_get_int(ctx, node, path, -1, 0x7fffffff, &n) < 0)
        return -1;
    if (!strcmp(key, "pids_limit"))
        r->pids_limit = n;
    else
        r->cpu_shares = n;
    return 0;
}

/* ---- lists and maps of strings -----------------------------------------------------------------
 */

static int field_extra_hosts(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                             const char *path)
{
    envmgr_kvlist_t map = {0};
    if (node->kind == COMPOSE_MAP) {
        if (compose_get_kvlist(ctx, node, path, false, &map) < 0) {
            envmgr_kvlist_free(&map);
            return -1;
        }
        for (size_t i = 0; i < map.n; i++) {
            envmgr_cleanup_free char *e =
                envmgr_xasprintf("%s:%s", map.items[i].key, map.items[i].value);
            envmgr_strv_push(&svc->extra_hosts, e);
        }
        envmgr_kvlist_free(&map);
        return 0;
    }
    envmgr_strv_t list = {0};
    int r = compose_get_strv(ctx, node, path, false, &list);
    for (size_t i = 0; r == 0 && i < list.n; i++) {
        /* "host=ip" (newer form) or "host:ip" */
        envmgr_cleanup_free char *e = envmgr_xstrdup(list.items[i]);
        char *eq = strchr(e, '=');
        if (eq)
            *eq = ':';
        if (!strchr(e, ':'))
            r = compose_error_at(ctx, node, path, "'%s': expected HOST:IP or HOST=IP",
                                 list.items[i]);
        else
            envmgr_strv_push(&svc->extra_hosts, e);
    }
    envmgr_strv_free(&list);
    return r;
}

static int field_ulimits(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                         const char *path)
{
    if (expect_map(ctx, node, path) < 0)
        return -1;
    svc->ulimits = envmgr_xcalloc(node->n_pairs + 1, sizeof(*svc->ulimits));
    for (size_t i = 0; i < node->n_pairs; i++) {
        const compose_node_t *v = node->pairs[i].value;
        envmgr_cleanup_free char *kpath =
            envmgr_xasprintf("%s.%s", path, node->pairs[i].key->scalar);
        envmgr_ulimit_t *u = &svc->ulimits[svc->n_ulimits++];
        long soft, hard;
        u->name = envmgr_xstrdup(node->pairs[i].key->scalar);
        if (v->kind == COMPOSE_MAP) {
            const compose_node_t *s = compose_node_get(v, "soft"), *h = compose_node_get(v, "hard");
            if (!s || !h)
                return compose_error_at(ctx, v, kpath, "expected both 'soft' and 'hard'");
            if (compose_get_int(ctx, s, kpath, -1, 0x7fffffffffffffffL, &soft) < 0 ||
                compose_get_int(ctx, h, kpath, -1, 0x7fffffffffffffffL, &hard) < 0)
                return -1;
        } else {
            if (compose_get_int(ctx, v, kpath, -1, 0x7fffffffffffffffL, &soft) < 0)
                return -1;
            hard = soft;
        }
        u->soft = soft;
        u->hard = hard;
    }
    return 0;
}

static int field_devices(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                         const char *path)
{
    if (node->kind != COMPOSE_SEQ)
        return compose_error_at(ctx, node, path, "expected a list, got %s",
                                compose_node_kind_name(node));
    svc->devices = envmgr_xcalloc(node->n_items + 1, sizeof(*svc->devices));
    for (size_t i = 0; i < node->n_items; i++) {
        envmgr_cleanup_free char *ipath = envmgr_xasprintf("%s[%zu]", path, i);
        envmgr_device_t *d = &svc->devices[svc->n_devices++];
        const compose_node_t *item = node->items[i];
        envmgr_cleanup_free char *s = NULL;
        if (item->kind == COMPOSE_MAP) { /* long form: {source, target, permissions} */
            const compose_node_t *src = compose_node_get(item, "source");
            const compose_node_t *dst = compose_node_get(item, "target");
            const compose_node_t *perm = compose_node_get(item, "permissions");
            if (!src)
                return compose_error_at(ctx, item, ipath, "missing 'source'");
            if (compose_get_string(ctx, src, ipath, &d->host) < 0 ||
                (dst && compose_get_string(ctx, dst, ipath, &d->container) < 0) ||
                (perm && compose_get_string(ctx, perm, ipath, &d->permissions) < 0))
                return -1;
        } else {
            if (compose_get_string(ctx, item, ipath, &s) < 0)
                return -1;
            char *save = NULL, *a = strtok_r(s, ":", &save), *b = strtok_r(NULL, ":", &save),
                 *c = strtok_r(NULL, ":", &save);
            if (!a)
                return compose_error_at(ctx, item, ipath, "empty device");
            d->host = envmgr_xstrdup(a);
            if (b && strspn(b, "rwm") == strlen(b) && !c)
                d->permissions = envmgr_xstrdup(b);
            else if (b)
                d->container = envmgr_xstrdup(b);
            if (c)
                d->permissions = envmgr_xstrdup(c);
        }
        if (!d->container)
            d->container = envmgr_xstrdup(d->host);
        if (!d->permissions)
            d->permissions = envmgr_xstrdup("rwm");
        envmgr_warn("%s:%d: service '%s': device %s is given to the container: it reaches the "
                    "host's hardware, outside the environment's isolation",
                    ctx->file, item->line, svc->name, d->host);
    }
    return 0;
}

/* links and volumes_from: a list of SERVICE or SERVICE:suffix into *list; 1 with *bad set to the
 * index of the first whose SERVICE is not a service of the file (or, refuse_container, is
 * "container": volumes_from's container:ID form). */
static int service_refs(compose_ctx_t *ctx, const compose_node_t *node, const char *path,
                        bool refuse_container, envmgr_strv_t *list, size_t *bad)
{
    if (compose_get_strv(ctx, node, path, false, list) < 0)
        return -1;
    for (size_t i = 0; i < list->n; i++) {
        envmgr_cleanup_free char *name =
            envmgr_xstrndup(list->items[i], strcspn(list->items[i], ":"));
        if ((refuse_container && !strcmp(name, "container")) ||
            !compose_node_get(ctx->services, name)) {
            *bad = i;
            return 1;
        }
    }
    return 0;
}

static int field_links(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                       const char *path)
{
    size_t bad;
    int r = service_refs(ctx, node, path, false, &svc->links, &bad);
    if (r <= 0)
        return r;
    return compose_error_at(ctx, node, path,
                            "links to unknown service '%.*s' (a container outside the file, "
                            "external_links, is not supported)",
                            (int)strcspn(svc->links.items[bad], ":"), svc->links.items[bad]);
}

static int field_volumes_from(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                              const char *path)
{
    size_t bad;
    int r = service_refs(ctx, node, path, true, &svc->volumes_from, &bad);
    if (r <= 0)
        return r;
    return compose_error_at(ctx, node, path,
                            "'%s': only services of this file are supported (a container outside "
                            "the project may belong to another environment)",
                            svc->volumes_from.items[bad]);
}

/* os[/architecture[/variant]] (linux/amd64, linux/arm64/v8), as the engine's create and build
 * take it; whether the engine can run it is the engine's answer (envtest names it then). */
static int field_platform(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                          const char *path)
{
    if (compose_get_string(ctx, node, path, &svc->platform) < 0)
        return -1;
    int parts = 1;
    bool ok = *svc->platform != '\0';
    for (const char *c = svc->platform; ok && *c; c++) {
        if (*c == '/')
            ok = ++parts <= 3 && c != svc->platform && c[1] != '\0' && c[-1] != '/';
        else
            ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                 *c == '_' || *c == '-' || *c == '.';
    }
    if (!ok)
        return compose_error_at(ctx, node, path,
                                "invalid platform '%s': expected os[/architecture[/variant]], "
                                "e.g. linux/amd64 or linux/arm64/v8",
                                svc->platform);
    return 0;
}

static int field_namespace(compose_ctx_t *ctx, const char *key, const compose_node_t *node,
                           const char *path, char **out)
{
    envmgr_cleanup_free char *s = NULL;
    if (compose_get_string(ctx, node, path, &s) < 0)
        return -1;
    if (!strcmp(s, "host") || !strncmp(s, "container:", 10) ||
        (!strcmp(key, "pid") && !strncmp(s, "service:", 8)))
        return compose_error_at(ctx, node, path,
                                "'%s' is refused: the container would see and signal processes "
                                "(or IPC) outside its environment; remove %s",
                                s, key);
    *out = envmgr_steal_pointer(&s);
    return 0;
}

/* ---- the table --------------------------------------------------------------------------------
 */

/* The keys read as they are into a field of the service. */
enum plain_kind { PLAIN_STRING, PLAIN_STRV, PLAIN_KVLIST, PLAIN_BOOL };
static const struct {
    const char *key;
    enum plain_kind kind;
    size_t offset; /* in envmgr_service_t */
} plain_keys[] = {
    {"container_name", PLAIN_STRING, offsetof(envmgr_service_t, container_name)},
    {"stop_signal", PLAIN_STRING, offsetof(envmgr_service_t, stop_signal)},
    {"profiles", PLAIN_STRV, offsetof(envmgr_service_t, profiles)},
    {"dns", PLAIN_STRV, offsetof(envmgr_service_t, dns)},
    {"dns_search", PLAIN_STRV, offsetof(envmgr_service_t, dns_search)},
    {"dns_opt", PLAIN_STRV, offsetof(envmgr_service_t, dns_opt)},
    {"group_add", PLAIN_STRV, offsetof(envmgr_service_t, group_add)},
    {"sysctls", PLAIN_KVLIST, offsetof(envmgr_service_t, sysctls)},
    {"read_only", PLAIN_BOOL, offsetof(envmgr_service_t, read_only)},
    {"tty", PLAIN_BOOL, offsetof(envmgr_service_t, tty)},
    {"stdin_open", PLAIN_BOOL, offsetof(envmgr_service_t, stdin_open)},
};

/* 1 when key is one of plain_keys (read into svc), 0 when not, -1 on error. */
static int plain_key(compose_ctx_t *ctx, envmgr_service_t *svc, const char *key,
                     const compose_node_t *v, const char *path)
{
    for (size_t i = 0; i < ENVMGR_ARRAY_SIZE(plain_keys); i++) {
        if (strcmp(key, plain_keys[i].key) != 0)
            continue;
        void *field = (char *)svc + plain_keys[i].offset;
        int r = 0;
        switch (plain_keys[i].kind) {
        case PLAIN_STRING:
            r = compose_get_string(ctx, v, path, field);
            break;
        case PLAIN_STRV:
            r = compose_get_strv(ctx, v, path, false, field);
            break;
        case PLAIN_KVLIST:
            r = compose_get_kvlist(ctx, v, path, false, field);
            break;
        case PLAIN_BOOL:
            r = compose_get_bool(ctx, v, path, field);
            break;
        }
        return r < 0 ? -1 : 1;
    }
    return 0;
}

int compose_parse_compat_key(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_pair_t *f,
                             const char *path, bool *handled)
{
    const char *key = f->key->scalar;
    const compose_node_t *v = f->value;
    *handled = true;
    if (compose_node_is_null(v) && strcmp(key, "network_mode") != 0)
        return 0;
    int plain = plain_key(ctx, svc, key, v, path);
    if (plain != 0)
        return plain < 0 ? -1 : 0;
    if (!strcmp(key, "networks"))
        return field_networks(ctx, svc, v, path);
    if (!strcmp(key, "network_mode"))
        return compose_node_is_null(v) ? 0 : field_network_mode(ctx, svc, v, path);
    if (!strcmp(key, "secrets"))
        return field_secrets(ctx, svc, v, path);
    if (!strcmp(key, "configs"))
        return field_configs(ctx, svc, v, path);
    if (!strcmp(key, "deploy"))
        return field_deploy(ctx, svc, v, path);
    if (!strcmp(key, "mem_limit") || !strcmp(key, "mem_reservation") ||
        !strcmp(key, "memswap_limit") || !strcmp(key, "shm_size") || !strcmp(key, "cpus") ||
        !strcmp(key, "cpuset") || !strcmp(key, "pids_limit") || !strcmp(key, "cpu_shares"))
        return field_resource(ctx, svc, key, v, path);
    if (!strcmp(key, "stop_grace_period"))
        return compose_get_duration(ctx, v, path, &svc->stop_grace_period_ms);
    if (!strcmp(key, "extra_hosts"))
        return field_extra_hosts(ctx, svc, v, path);
    if (!strcmp(key, "ulimits"))
        return field_ulimits(ctx, svc, v, path);
    if (!strcmp(key, "cap_add") || !strcmp(key, "cap_drop")) {
        envmgr_strv_t *caps = key[4] == 'a' ? &svc->cap_add : &svc->cap_drop;
        if (compose_get_strv(ctx, v, path, false, caps) < 0)
            return -1;
        for (size_t i = 0; key[4] == 'a' && i < caps->n; i++)
            if (!strcasecmp(caps->items[i], "ALL") || !strcasecmp(caps->items[i], "SYS_ADMIN") ||
                !strcasecmp(caps->items[i], "CAP_SYS_ADMIN") ||
                !strcasecmp(caps->items[i], "SYS_MODULE") ||
                !strcasecmp(caps->items[i], "NET_ADMIN"))
                envmgr_warn("%s:%d: service '%s': cap_add %s lets the container act on the host "
                            "beyond its environment",
                            ctx->file, f->key->line, svc->name, caps->items[i]);
        return 0;
    }
    if (!strcmp(key, "security_opt")) {
        if (compose_get_strv(ctx, v, path, false, &svc->security_opt) < 0)
            return -1;
        for (size_t i = 0; i < svc->security_opt.n; i++)
            if (strstr(svc->security_opt.items[i], "unconfined"))
                envmgr_warn("%s:%d: service '%s': security_opt %s removes a confinement of the "
                            "container",
                            ctx->file, f->key->line, svc->name, svc->security_opt.items[i]);
        return 0;
    }
    if (!strcmp(key, "links"))
        return field_links(ctx, svc, v, path);
    if (!strcmp(key, "volumes_from"))
        return field_volumes_from(ctx, svc, v, path);
    if (!strcmp(key, "devices"))
        return field_devices(ctx, svc, v, path);
    if (!strcmp(key, "privileged")) {
        if (compose_get_bool(ctx, v, path, &svc->privileged) < 0)
            return -1;
        if (svc->privileged)
            envmgr_warn("%s:%d: service '%s': privileged: the container has every capability and "
                        "every device of the host; nothing isolates it from the host",
                        ctx->file, f->key->line, svc->name);
        return 0;
    }
    if (!strcmp(key, "platform"))
        return field_platform(ctx, svc, v, path);
    if (!strcmp(key, "pid"))
        return field_namespace(ctx, key, v, path, &svc->pid);
    if (!strcmp(key, "ipc"))
        return field_namespace(ctx, key, v, path, &svc->ipc);
    *handled = false;
    return 0;
}

/* After every service was read: network_mode excludes networks; links and volumes_from and
 * network_mode: service:X imply a dependency (as Compose does). */
int compose_service_finish(compose_ctx_t *ctx, envmgr_service_t *svc)
{
    if (svc->network_mode && svc->n_networks)
        return envmgr_error_set(ctx->err, ENVMGR_E_CONFIG, 0,
                                "%s:%d: service '%s': 'network_mode' and 'networks' exclude each "
                                "other; keep one",
                                ctx->file, svc->line, svc->name);
    if (!svc->network_mode && svc->n_networks == 0)
        add_network(svc, "default");
    envmgr_strv_t implied = {0};
    for (size_t i = 0; i < svc->links.n; i++)
        envmgr_strv_push(&implied, svc->links.items[i]);
    for (size_t i = 0; i < svc->volumes_from.n; i++)
        envmgr_strv_push(&implied, svc->volumes_from.items[i]);
    if (svc->network_mode && !strncmp(svc->network_mode, "service:", 8))
        envmgr_strv_push(&implied, svc->network_mode + 8);
    for (size_t i = 0; i < implied.n; i++) {
        char *colon = strchr(implied.items[i], ':');
        bool have = false;
        if (colon)
            *colon = '\0';
        for (size_t d = 0; d < svc->n_depends_on; d++)
            have = have || !strcmp(svc->depends_on[d].service, implied.items[i]);
        if (have || !strcmp(implied.items[i], svc->name))
            continue;
        svc->depends_on =
            envmgr_xrealloc(svc->depends_on, (svc->n_depends_on + 1) * sizeof(*svc->depends_on));
        svc->depends_on[svc->n_depends_on++] =
            (envmgr_dependency_t){envmgr_xstrdup(implied.items[i]), ENVMGR_DEPENDS_STARTED, true};
    }
    envmgr_strv_free(&implied);
    return 0;
}

void compose_service_compat_clear(envmgr_service_t *svc)
{
    free(svc->container_name);
    for (size_t i = 0; i < svc->n_networks; i++) {
        free(svc->networks[i].key);
        envmgr_strv_free(&svc->networks[i].aliases);
        free(svc->networks[i].ipv4_address);
        free(svc->networks[i].ipv6_address);
    }
    free(svc->networks);
    free(svc->network_mode);
    for (size_t i = 0; i < svc->n_secrets; i++)
        free(svc->secrets[i].source), free(svc->secrets[i].target);
    free(svc->secrets);
    for (size_t i = 0; i < svc->n_configs; i++)
        free(svc->configs[i].source), free(svc->configs[i].target);
    free(svc->configs);
    free(svc->resources.cpuset);
    envmgr_strv_free(&svc->profiles);
    free(svc->stop_signal);
    envmgr_strv_free(&svc->extra_hosts);
    envmgr_strv_free(&svc->dns);
    envmgr_strv_free(&svc->dns_search);
    envmgr_strv_free(&svc->dns_opt);
    for (size_t i = 0; i < svc->n_ulimits; i++)
        free(svc->ulimits[i].name);
    free(svc->ulimits);
    envmgr_kvlist_free(&svc->sysctls);
    envmgr_strv_free(&svc->cap_add);
    envmgr_strv_free(&svc->cap_drop);
    envmgr_strv_free(&svc->security_opt);
    envmgr_strv_free(&svc->group_add);
    envmgr_strv_free(&svc->links);
    envmgr_strv_free(&svc->volumes_from);
    for (size_t i = 0; i < svc->n_devices; i++) {
        free(svc->devices[i].host);
        free(svc->devices[i].container);
        free(svc->devices[i].permissions);
    }
    free(svc->devices);
    free(svc->platform);
    free(svc->pid);
    free(svc->ipc);
    for (size_t i = 0; i < svc->n_waits; i++) {
        envmgr_wait_t *w = &svc->waits[i];
        free(w->pattern);
        free(w->method);
        free(w->user);
        free(w->password);
        free(w->database);
        envmgr_strv_free(&w->command);
        free(w->ports);
    }
    free(svc->waits);
}
