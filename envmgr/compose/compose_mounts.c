/* ports (short and long forms), expose, volumes (short and long forms) and tmpfs of one service. */
#include "compose_internal.h"
#include <envmgr/log.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PORT_FORMAT "expected [[HOST_IP:]HOST_PORT:]CONTAINER_PORT[/PROTOCOL], e.g. \"8080:80\""

/* ---- ports -------------------------------------------------------------------------------- */

typedef struct port_range {
    int lo, hi; /* 0, 0: not given */
} port_range_t;

static int port_number(compose_ctx_t *ctx, const compose_node_t *node, const char *path,
                       const char *s, size_t len, int *out)
{
    if (len == 0 || len > 9)
        return compose_error_at(ctx, node, path, "invalid port '%.*s': %s", (int)len, s,
                                PORT_FORMAT);
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return compose_error_at(ctx, node, path, "invalid port '%.*s': %s", (int)len, s,
                                    PORT_FORMAT);
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535)
        return compose_error_at(ctx, node, path, "invalid port '%.*s': ports are 1-65535", (int)len,
                                s);
    *out = (int)v;
    return 0;
}

/* "8000" or "8000-8002"; an empty string gives {0, 0}. */
static int port_range(compose_ctx_t *ctx, const compose_node_t *node, const char *path,
                      const char *s, size_t len, port_range_t *out)
{
    const char *dash = memchr(s, '-', len);
    *out = (port_range_t){0, 0};
    if (len == 0)
        return 0;
    if (!dash) {
        if (port_number(ctx, node, path, s, len, &out->lo) < 0)
            return -1;
        out->hi = out->lo;
        return 0;
    }
    if (port_number(ctx, node, path, s, (size_t)(dash - s), &out->lo) < 0 ||
        port_number(ctx, node, path, dash + 1, len - (size_t)(dash - s) - 1, &out->hi) < 0)
        return -1;
    if (out->hi < out->lo)
        return compose_error_at(ctx, node, path, "invalid port range '%.*s': %d > %d", (int)len, s,
                                out->lo, out->hi);
    return 0;
}

static int check_protocol(compose_ctx_t *ctx, const compose_node_t *node, const char *path,
                          const char *proto)
{
    if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0 && strcmp(proto, "sctp") != 0)
        return compose_error_at(ctx, node, path, "invalid protocol '%s': expected tcp or udp",
                                proto);
    return 0;
}

static int check_host_ip(compose_ctx_t *ctx, const compose_node_t *node, const char *path,
                         const char *ip)
{
    unsigned char buf[16];
    if (inet_pton(AF_INET, ip, buf) != 1 && inet_pton(AF_INET6, ip, buf) != 1)
        return compose_error_at(ctx, node, path, "invalid host IP '%s'", ip);
    if (!strcmp(ip, "0.0.0.0") || !strcmp(ip, "::"))
        envmgr_warn("%s:%d: %s: published on %s: the port is reachable from other machines "
                    "(envtest's default is 127.0.0.1)",
                    ctx->file, node->line, path, ip);
    return 0;
}

/* Adds one entry per container port; host ranges must match container ranges in size. */
static int add_ports(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                     const char *path, const char *ip, port_range_t host, port_range_t target,
                     const char *proto)
{
    int count = target.hi - target.lo + 1;
    if (host.lo && host.hi - host.lo + 1 != count)
        return compose_error_at(ctx, node, path,
                                "host port range %d-%d and container port range %d-%d differ "
                                "in size",
                                host.lo, host.hi, target.lo, target.hi);
    if (ip && check_host_ip(ctx, node, path, ip) < 0)
        return -1;
    svc->ports = envmgr_xrealloc(svc->ports, (svc->n_ports + (size_t)count) * sizeof(*svc->ports));
    for (int i = 0; i < count; i++) {
        envmgr_port_t *p = &svc->ports[svc->n_ports++];
        p->host_ip = envmgr_xstrdup(ip ? ip : "127.0.0.1");
        p->host_port = host.lo ? host.lo + i : 0;
        p->container_port = target.lo + i;
        p->protocol = envmgr_xstrdup(proto);
    }
    return 0;
}

static int port_short(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                      const char *path)
{
    envmgr_cleanup_free char *s = NULL, *ip = NULL;
    if (compose_get_string(ctx, node, path, &s) < 0)
        return -1;
    const char *proto = "tcp";
    char *slash = strrchr(s, '/');
    if (slash) {
        *slash = '\0';
        proto = slash + 1;
        if (check_protocol(ctx, node, path, proto) < 0)
            return -1;
    }
    char *rest = s;
    if (s[0] == '[') { /* [IPv6]:host:container */
        char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return compose_error_at(ctx, node, path, "invalid port '%s': %s", s, PORT_FORMAT);
        ip = envmgr_xstrndup(s + 1, (size_t)(close - s - 1));
        rest = close + 2;
    }
    char *last = strrchr(rest, ':');
    port_range_t host = {0, 0}, target;
    if (last) {
        char *host_part = rest;
        *last = '\0';
        char *ip_colon = strrchr(rest, ':');
        if (ip_colon && !ip) { /* ip:host:container (an unbracketed IPv6 has more colons) */
            ip = envmgr_xstrndup(rest, (size_t)(ip_colon - rest));
            host_part = ip_colon + 1;
        } else if (ip_colon) {
            return compose_error_at(ctx, node, path, "invalid port '%s': %s", s, PORT_FORMAT);
        }
        if (port_range(ctx, node, path, host_part, strlen(host_part), &host) < 0)
            return -1;
        rest = last + 1;
    }
    if (!*rest)
        return compose_error_at(ctx, node, path, "invalid port '%s': missing container port; %s", s,
                                PORT_FORMAT);
    if (port_range(ctx, node, path, rest, strlen(rest), &target) < 0)
        return -1;
    return add_ports(ctx, svc, node, path, ip && *ip ? ip : NULL, host, target, proto);
}

static int port_long(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                     const char *path)
{
    envmgr_cleanup_free char *ip = NULL, *proto = NULL, *published = NULL;
    port_range_t host = {0, 0}, target = {0, 0};
    long t;
    for (size_t i = 0; i < node->n_pairs; i++) {
        const char *key = node->pairs[i].key->scalar;
        const compose_node_t *v = node->pairs[i].value;
        envmgr_cleanup_free char *kpath = envmgr_xasprintf("%s.%s", path, key);
        int r = 0;
        if (!strcmp(key, "target")) {
            r = compose_get_int(ctx, v, kpath, 1, 65535, &t);
            target.lo = target.hi = (int)t;
        } else if (!strcmp(key, "published")) {
            if (!compose_node_is_null(v) &&
                (compose_get_string(ctx, v, kpath, &published) < 0 ||
                 port_range(ctx, v, kpath, published, strlen(published), &host) < 0))
                return -1;
        } else if (!strcmp(key, "host_ip")) {
            r = compose_get_string(ctx, v, kpath, &ip);
        } else if (!strcmp(key, "protocol")) {
            r = compose_get_string(ctx, v, kpath, &proto);
            if (r == 0)
                r = check_protocol(ctx, v, kpath, proto);
        } else if (strcmp(key, "mode") && strcmp(key, "name") && strcmp(key, "app_protocol") &&
                   strncmp(key, "x-", 2)) {
            envmgr_warn("%s:%d: unknown key '%s' in %s ignored", ctx->file,
                        node->pairs[i].key->line, key, path);
        }
        if (r < 0)
            return -1;
    }
    if (!target.lo)
        return compose_error_at(ctx, node, path, "missing 'target' (the container port)");
    if (host.lo && host.hi != host.lo)
        return compose_error_at(ctx, node, path,
                                "a published range needs a target range: use the short form");
    return add_ports(ctx, svc, node, path, ip && *ip ? ip : NULL, host, target,
                     proto ? proto : "tcp");
}

/* A list whose items come in a long (map) and a short (string) form, as ports and volumes do. */
typedef int (*item_form_fn)(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                            const char *path);

static int parse_forms(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                       const char *path, item_form_fn long_form, item_form_fn short_form)
{
    if (node->kind != COMPOSE_SEQ)
        return compose_error_at(ctx, node, path, "expected a list, got %s",
                                compose_node_kind_name(node));
    for (size_t i = 0; i < node->n_items; i++) {
        const compose_node_t *item = node->items[i];
        envmgr_cleanup_free char *item_path = envmgr_xasprintf("%s[%zu]", path, i);
        if ((item->kind == COMPOSE_MAP ? long_form : short_form)(ctx, svc, item, item_path) < 0)
            return -1;
    }
    return 0;
}

int compose_parse_ports(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                        const char *path)
{
    return parse_forms(ctx, svc, node, path, port_long, port_short);
}

int compose_parse_expose(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                         const char *path)
{
    if (node->kind != COMPOSE_SEQ)
        return compose_error_at(ctx, node, path, "expected a list, got %s",
                                compose_node_kind_name(node));
    for (size_t i = 0; i < node->n_items; i++) {
        envmgr_cleanup_free char *item_path = envmgr_xasprintf("%s[%zu]", path, i);
        envmgr_cleanup_free char *s = NULL;
        port_range_t r;
        if (compose_get_string(ctx, node->items[i], item_path, &s) < 0)
            return -1;
        char *slash = strchr(s, '/');
        if (slash) {
            *slash = '\0';
            if (check_protocol(ctx, node->items[i], item_path, slash + 1) < 0)
                return -1;
        }
        if (port_range(ctx, node->items[i], item_path, s, strlen(s), &r) < 0)
            return -1;
        if (!r.lo)
            return compose_error_at(ctx, node->items[i], item_path, "missing port");
        size_t count = (size_t)(r.hi - r.lo + 1);
        svc->expose = envmgr_xrealloc(svc->expose, (svc->n_expose + count) * sizeof(int));
        for (int p = r.lo; p <= r.hi; p++)
            svc->expose[svc->n_expose++] = p;
    }
    return 0;
}

/* ---- sizes ---------------------------------------------------------------------------------- */

int compose_parse_size(const char *s, int64_t *out)
{
    static const struct {
        const char *unit;
        int64_t mult;
    } units[] = {{"", 1},        {"b", 1},        {"k", 1024},    {"kb", 1024},
                 {"m", 1 << 20}, {"mb", 1 << 20}, {"g", 1 << 30}, {"gb", 1 << 30}};
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0 || !isdigit((unsigned char)*s))
        return -1;
    for (size_t i = 0; i < ENVMGR_ARRAY_SIZE(units); i++) {
        if (strcasecmp(end, units[i].unit) == 0) {
            double bytes = v * (double)units[i].mult;
            if (bytes > 9e18)
                return -1;
            *out = (int64_t)bytes;
            return 0;
        }
    }
    return -1;
}

/* ---- volumes and tmpfs ------------------------------------------------------------------------
 */

static envmgr_mount_t *mount_add(envmgr_service_t *svc)
{
    svc->mounts = envmgr_xrealloc(svc->mounts, (svc->n_mounts + 1) * sizeof(*svc->mounts));
    envmgr_mount_t *m = &svc->mounts[svc->n_mounts++];
    memset(m, 0, sizeof(*m));
    return m;
}

static bool is_path(const char *s)
{
    return s[0] == '/' || s[0] == '.' || s[0] == '~';
}

static int check_volume_declared(compose_ctx_t *ctx, const compose_node_t *node, const char *path,
                                 const char *name)
{
    for (size_t i = 0; i < ctx->project->n_volumes; i++)
        if (!strcmp(ctx->project->volumes[i].key, name))
            return 0;
    compose_error_at(ctx, node, path,
                     "volume '%s' is not declared under the top-level 'volumes:' key", name);
    return envmgr_error_hint(ctx->err, "add `volumes: {%s: {}}` at the top level of the file",
                             name);
}

static int mount_source(compose_ctx_t *ctx, envmgr_mount_t *m, const compose_node_t *node,
                        const char *path, const char *source)
{
    if (m->type == ENVMGR_MOUNT_BIND) {
        m->source = compose_resolve_path_at(ctx, node, source);
        return 0;
    }
    if (check_volume_declared(ctx, node, path, source) < 0)
        return -1;
    m->source = envmgr_xstrdup(source);
    return 0;
}

static int volume_mode(compose_ctx_t *ctx, envmgr_mount_t *m, const compose_node_t *node,
                       const char *path, char *mode)
{
    static const char *const accepted[] = {
        "rw",     "z",       "Z",     "nocopy", "consistent", "cached",  "delegated",
        "shared", "rshared", "slave", "rslave", "private",    "rprivate"};
    char *save = NULL;
    for (char *opt = strtok_r(mode, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
        bool ok = !strcmp(opt, "ro");
        if (ok)
            m->read_only = true;
        for (size_t i = 0; i < ENVMGR_ARRAY_SIZE(accepted) && !ok; i++)
            ok = !strcmp(opt, accepted[i]);
        if (!ok)
            return compose_error_at(ctx, node, path,
                                    "unknown volume option '%s': expected ro or rw", opt);
    }
    return 0;
}

static int volume_short(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                        const char *path)
{
    envmgr_cleanup_free char *s = NULL, *whole = NULL;
    if (compose_get_string(ctx, node, path, &s) < 0)
        return -1;
    whole = envmgr_xstrdup(s);
    char *parts[3] = {NULL, NULL, NULL};
    size_t n = 0;
    for (char *p = s; p && n < 3; n++) {
        parts[n] = p;
        p = strchr(p, ':');
        if (p)
            *p++ = '\0';
        if (n == 2 && p)
            return compose_error_at(ctx, node, path,
                                    "invalid volume '%s': expected SOURCE:TARGET[:MODE]", whole);
    }
    envmgr_mount_t *m = mount_add(svc);
    const char *target = n == 1 ? parts[0] : parts[1];
    m->type = n > 1 && is_path(parts[0]) ? ENVMGR_MOUNT_BIND : ENVMGR_MOUNT_VOLUME;
    m->create_host_path = m->type == ENVMGR_MOUNT_BIND; /* Compose's short syntax creates it */
    if (target[0] != '/')
        return compose_error_at(ctx, node, path,
                                "invalid volume '%s': the container path must be absolute", whole);
    m->target = compose_path_normalize(target);
    if (n > 1 && (!*parts[0] || mount_source(ctx, m, node, path, parts[0]) < 0))
        return *parts[0] ? -1 : compose_error_at(ctx, node, path, "empty volume source");
    if (n == 3 && volume_mode(ctx, m, node, path, parts[2]) < 0)
        return -1;
    return 0;
}

static int volume_long_field(compose_ctx_t *ctx, envmgr_mount_t *m, const compose_pair_t *f,
                             const char *path, char **source)
{
    const char *key = f->key->scalar;
    envmgr_cleanup_free char *kpath = envmgr_xasprintf("%s.%s", path, key);
    envmgr_cleanup_free char *target = NULL;
    if (!strcmp(key, "source"))
        return compose_get_string(ctx, f->value, kpath, source);
    if (!strcmp(key, "target")) {
        if (compose_get_string(ctx, f->value, kpath, &target) < 0)
            return -1;
        if (target[0] != '/')
            return compose_error_at(ctx, f->value, kpath, "the container path must be absolute");
        m->target = compose_path_normalize(target);
        return 0;
    }
    if (!strcmp(key, "read_only"))
        return compose_get_bool(ctx, f->value, kpath, &m->read_only);
    if (!strcmp(key, "tmpfs")) {
        const compose_node_t *size = compose_node_get(f->value, "size");
        envmgr_cleanup_free char *size_path = envmgr_xasprintf("%s.size", kpath);
        envmgr_cleanup_free char *s = NULL;
        if (!size)
            return 0;
        if (compose_get_string(ctx, size, size_path, &s) < 0)
            return -1;
        if (compose_parse_size(s, &m->tmpfs_size) < 0)
            return compose_error_at(ctx, size, size_path,
                                    "invalid size '%s': expected bytes or e.g. 64m, 1g", s);
        return 0;
    }
    if (strcmp(key, "type") && strcmp(key, "bind") && strcmp(key, "volume") &&
        strcmp(key, "consistency") && strncmp(key, "x-", 2))
        envmgr_warn("%s:%d: unknown key '%s' in %s ignored", ctx->file, f->key->line, key, path);
    return 0;
}

static int volume_long(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                       const char *path)
{
    envmgr_cleanup_free char *type = NULL, *source = NULL;
    const compose_node_t *type_node = compose_node_get(node, "type");
    envmgr_cleanup_free char *type_path = envmgr_xasprintf("%s.type", path);
    envmgr_mount_t *m = mount_add(svc);
    if (type_node && compose_get_string(ctx, type_node, type_path, &type) < 0)
        return -1;
    if (!type || !strcmp(type, "volume"))
        m->type = ENVMGR_MOUNT_VOLUME;
    else if (!strcmp(type, "bind"))
        m->type = ENVMGR_MOUNT_BIND;
    else if (!strcmp(type, "tmpfs"))
        m->type = ENVMGR_MOUNT_TMPFS;
    else
        return compose_error_at(ctx, type_node, type_path,
                                "unsupported mount type '%s': expected volume, bind or tmpfs",
                                type);
    for (size_t i = 0; i < node->n_pairs; i++)
        if (volume_long_field(ctx, m, &node->pairs[i], path, &source) < 0)
            return -1;
    if (!m->target)
        return compose_error_at(ctx, node, path, "missing 'target' (the container path)");
    if (m->type == ENVMGR_MOUNT_BIND && (!source || !*source))
        return compose_error_at(ctx, node, path, "a bind mount needs 'source'");
    if (m->type == ENVMGR_MOUNT_TMPFS && source)
        return compose_error_at(ctx, node, path, "a tmpfs mount takes no 'source'");
    if (source && *source)
        return mount_source(ctx, m, compose_node_get(node, "source"), path, source);
    return 0;
}

int compose_parse_volumes(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                          const char *path)
{
    return parse_forms(ctx, svc, node, path, volume_long, volume_short);
}

static int tmpfs_one(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                     const char *path)
{
    envmgr_cleanup_free char *s = NULL;
    if (compose_get_string(ctx, node, path, &s) < 0)
        return -1;
    char *opts = strchr(s, ':');
    if (opts)
        *opts++ = '\0';
    if (s[0] != '/')
        return compose_error_at(ctx, node, path, "invalid tmpfs '%s': the path must be absolute",
                                s);
    envmgr_mount_t *m = mount_add(svc);
    m->type = ENVMGR_MOUNT_TMPFS;
    m->target = compose_path_normalize(s);
    char *save = NULL;
    for (char *o = opts ? strtok_r(opts, ",", &save) : NULL; o; o = strtok_r(NULL, ",", &save)) {
        if (!strncmp(o, "size=", 5) && compose_parse_size(o + 5, &m->tmpfs_size) < 0)
            return compose_error_at(ctx, node, path,
                                    "invalid size '%s': expected bytes or e.g. 64m, 1g", o + 5);
        if (!strcmp(o, "ro"))
            m->read_only = true;
    }
    return 0;
}

int compose_parse_tmpfs(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                        const char *path)
{
    if (node->kind == COMPOSE_SCALAR)
        return tmpfs_one(ctx, svc, node, path);
    if (node->kind != COMPOSE_SEQ)
        return compose_error_at(ctx, node, path, "expected a path or a list of paths, got %s",
                                compose_node_kind_name(node));
    for (size_t i = 0; i < node->n_items; i++) {
        envmgr_cleanup_free char *item_path = envmgr_xasprintf("%s[%zu]", path, i);
        if (tmpfs_one(ctx, svc, node->items[i], item_path) < 0)
            return -1;
    }
    return 0;
}
