/* Two Compose models compared field by field (compose_model_diff.h). Two renderings that agree
 * prove the renderer idempotent, not faithful: a field config printed lossily (or not at all)
 * would render the same both times. Mappings (services, environment, labels, depends_on, networks,
 * ulimits, ...) are compared as sets: config prints them sorted. */
#include "compose_model_diff.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <envmgr/util.h>

typedef struct diff {
    char path[256];
    bool found;
} diff_t;

static bool differ(diff_t *d, const char *what, const char *context)
{
    if (!d->found) {
        snprintf(d->path, sizeof(d->path), "%s%s%s", context, *context ? "." : "", what);
        d->found = true;
    }
    return true;
}

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

#define SAME_STR(f) (void)(str_eq(a->f, b->f) || differ(d, #f, ctx))
#define SAME_NUM(f) (void)(a->f == b->f || differ(d, #f, ctx))
#define SAME_COUNT(f) (a->f == b->f || !differ(d, #f, ctx)) /* false when they differ */

static bool strv_eq(const envmgr_strv_t *a, const envmgr_strv_t *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (!str_eq(a->items[i], b->items[i]))
            return false;
    return true;
}
#define SAME_STRV(f) (void)(strv_eq(&a->f, &b->f) || differ(d, #f, ctx))

static bool kv_eq(const envmgr_kvlist_t *a, const envmgr_kvlist_t *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const envmgr_kv_t *o = envmgr_kvlist_find(b, a->items[i].key);
        if (!o || !str_eq(a->items[i].value, o->value))
            return false;
    }
    return true;
}
#define SAME_KV(f) (void)(kv_eq(&a->f, &b->f) || differ(d, #f, ctx))

static void diff_healthcheck(diff_t *d, const envmgr_healthcheck_t *a,
                             const envmgr_healthcheck_t *b, const char *ctx)
{
    SAME_NUM(kind);
    SAME_STRV(test);
    SAME_NUM(interval_ms);
    SAME_NUM(timeout_ms);
    SAME_NUM(start_period_ms);
    SAME_NUM(start_interval_ms);
    SAME_NUM(retries);
}

static void diff_port(diff_t *d, const envmgr_port_t *a, const envmgr_port_t *b, const char *ctx)
{
    SAME_STR(host_ip);
    SAME_NUM(host_port);
    SAME_NUM(container_port);
    SAME_STR(protocol);
}

static void diff_mount(diff_t *d, const envmgr_mount_t *a, const envmgr_mount_t *b, const char *ctx)
{
    SAME_NUM(type);
    SAME_STR(source);
    SAME_STR(target);
    SAME_NUM(read_only);
    SAME_NUM(create_host_path);
    SAME_NUM(tmpfs_size);
}

static void diff_ref(diff_t *d, const envmgr_file_ref_t *a, const envmgr_file_ref_t *b,
                     const char *ctx)
{
    SAME_STR(source);
    SAME_STR(target);
    SAME_NUM(uid);
    SAME_NUM(gid);
    SAME_NUM(mode);
}

static void diff_resources(diff_t *d, const envmgr_resources_t *a, const envmgr_resources_t *b,
                           const char *ctx)
{
    SAME_NUM(memory_limit);
    SAME_NUM(memory_reservation);
    SAME_NUM(memswap_limit);
    SAME_NUM(shm_size);
    SAME_NUM(nano_cpus);
    SAME_NUM(cpu_reservation_nano);
    SAME_NUM(pids_limit);
    SAME_NUM(cpu_shares);
    SAME_STR(cpuset);
}

static void diff_wait(diff_t *d, const envmgr_wait_t *a, const envmgr_wait_t *b, const char *ctx)
{
    SAME_NUM(kind);
    SAME_STR(pattern);
    SAME_NUM(times);
    SAME_NUM(port);
    SAME_NUM(status);
    SAME_STR(method);
    SAME_STR(user);
    SAME_STR(password);
    SAME_STR(database);
    SAME_STRV(command);
    SAME_NUM(shell);
    SAME_NUM(n_ports);
    for (size_t i = 0; i < a->n_ports && i < b->n_ports; i++)
        if (a->ports[i] != b->ports[i])
            differ(d, "ports", ctx);
}

#define EACH(n_field, fn, arr)                                                                     \
    do {                                                                                           \
        if (SAME_COUNT(n_field))                                                                   \
            for (size_t i_ = 0; i_ < a->n_field; i_++) {                                           \
                envmgr_cleanup_free char *sub_ = envmgr_xasprintf("%s.%s[%zu]", ctx, #arr, i_);    \
                fn(d, &a->arr[i_], &b->arr[i_], sub_);                                             \
            }                                                                                      \
    } while (0)

static void diff_service(diff_t *d, const envmgr_service_t *a, const envmgr_service_t *b,
                         const char *ctx)
{
    SAME_STR(image);
    SAME_NUM(has_command);
    SAME_STRV(command);
    SAME_NUM(has_entrypoint);
    SAME_STRV(entrypoint);
    SAME_KV(environment);
    SAME_KV(labels);
    SAME_STR(working_dir);
    SAME_STR(user);
    SAME_STR(hostname);
    SAME_NUM(init);
    SAME_STR(container_name);
    SAME_STR(network_mode);
    SAME_STRV(profiles);
    SAME_NUM(stop_grace_period_ms);
    SAME_STR(stop_signal);
    SAME_STRV(extra_hosts);
    SAME_STRV(dns);
    SAME_STRV(dns_search);
    SAME_STRV(dns_opt);
    SAME_KV(sysctls);
    SAME_STRV(cap_add);
    SAME_STRV(cap_drop);
    SAME_STRV(security_opt);
    SAME_STRV(group_add);
    SAME_STRV(links);
    SAME_STRV(volumes_from);
    SAME_NUM(read_only);
    SAME_NUM(privileged);
    SAME_NUM(tty);
    SAME_NUM(stdin_open);
    SAME_STR(platform);
    SAME_STR(pid);
    SAME_STR(ipc);
    if ((a->build == NULL) != (b->build == NULL))
        differ(d, "build", ctx);
    else if (a->build && (!str_eq(a->build->context, b->build->context) ||
                          !str_eq(a->build->dockerfile, b->build->dockerfile) ||
                          !kv_eq(&a->build->args, &b->build->args)))
        differ(d, "build", ctx);
    if ((a->x_envtest == NULL) != (b->x_envtest == NULL) ||
        (a->x_envtest && !json_equal(a->x_envtest, b->x_envtest)))
        differ(d, "x-envtest", ctx);
    envmgr_cleanup_free char *health = envmgr_xasprintf("%s.healthcheck", ctx);
    envmgr_cleanup_free char *resources = envmgr_xasprintf("%s.resources", ctx);
    diff_healthcheck(d, &a->healthcheck, &b->healthcheck, health);
    diff_resources(d, &a->resources, &b->resources, resources);
    EACH(n_ports, diff_port, ports);
    EACH(n_mounts, diff_mount, mounts);
    EACH(n_secrets, diff_ref, secrets);
    EACH(n_configs, diff_ref, configs);
    EACH(n_waits, diff_wait, waits);
    if (SAME_COUNT(n_expose))
        for (size_t i = 0; i < a->n_expose; i++)
            if (a->expose[i] != b->expose[i])
                differ(d, "expose", ctx);
    if (SAME_COUNT(n_depends_on))
        for (size_t i = 0; i < a->n_depends_on; i++) {
            const envmgr_dependency_t *x = &a->depends_on[i], *y = NULL;
            for (size_t k = 0; k < b->n_depends_on; k++)
                if (str_eq(x->service, b->depends_on[k].service))
                    y = &b->depends_on[k];
            if (!y || x->condition != y->condition || x->required != y->required)
                differ(d, "depends_on", ctx);
        }
    if (SAME_COUNT(n_networks))
        for (size_t i = 0; i < a->n_networks; i++) {
            const envmgr_service_network_t *x = &a->networks[i], *y = NULL;
            for (size_t k = 0; k < b->n_networks; k++)
                if (str_eq(x->key, b->networks[k].key))
                    y = &b->networks[k];
            if (!y || !strv_eq(&x->aliases, &y->aliases) ||
                !str_eq(x->ipv4_address, y->ipv4_address) ||
                !str_eq(x->ipv6_address, y->ipv6_address) || x->priority != y->priority)
                differ(d, "networks", ctx);
        }
    if (SAME_COUNT(n_ulimits))
        for (size_t i = 0; i < a->n_ulimits; i++) {
            const envmgr_ulimit_t *x = &a->ulimits[i], *y = NULL;
            for (size_t k = 0; k < b->n_ulimits; k++)
                if (str_eq(x->name, b->ulimits[k].name))
                    y = &b->ulimits[k];
            if (!y || x->soft != y->soft || x->hard != y->hard)
                differ(d, "ulimits", ctx);
        }
    if (SAME_COUNT(n_devices))
        for (size_t i = 0; i < a->n_devices; i++)
            if (!str_eq(a->devices[i].host, b->devices[i].host) ||
                !str_eq(a->devices[i].container, b->devices[i].container) ||
                !str_eq(a->devices[i].permissions, b->devices[i].permissions))
                differ(d, "devices", ctx);
}

/* A network's name as the engine will know it, its driver as it will be made. */
static bool network_eq(const envmgr_project_t *pa, const envmgr_network_def_t *a,
                       const envmgr_project_t *pb, const envmgr_network_def_t *b)
{
    envmgr_cleanup_free char *na = a->name || a->external
                                       ? envmgr_xstrdup(a->name ? a->name : "")
                                       : envmgr_xasprintf("%s_%s", pa->name, a->key);
    envmgr_cleanup_free char *nb = b->name || b->external
                                       ? envmgr_xstrdup(b->name ? b->name : "")
                                       : envmgr_xasprintf("%s_%s", pb->name, b->key);
    return strcmp(na, nb) == 0 && a->external == b->external && a->internal == b->internal &&
           a->attachable == b->attachable && a->enable_ipv6 == b->enable_ipv6 &&
           str_eq(a->driver ? a->driver : "bridge", b->driver ? b->driver : "bridge") &&
           kv_eq(&a->labels, &b->labels) && kv_eq(&a->driver_opts, &b->driver_opts) &&
           strv_eq(&a->subnets, &b->subnets);
}

static bool file_def_eq(const envmgr_file_def_t *a, const envmgr_file_def_t *b)
{
    return str_eq(a->name, b->name) && a->source == b->source && str_eq(a->value, b->value) &&
           str_eq(a->data, b->data) && a->external == b->external;
}

/* The element of arr (n of size bytes) whose char * at key_offset is key, or NULL. */
static const void *find_key(const void *arr, size_t n, size_t size, size_t key_offset,
                            const char *key)
{
    for (size_t k = 0; k < n; k++) {
        const char *item = (const char *)arr + k * size;
        if (str_eq(*(char *const *)(item + key_offset), key))
            return item;
    }
    return NULL;
}
#define FIND(arr, n, keyf, key)                                                                    \
    find_key((arr), (n), sizeof(*(arr)), offsetof(__typeof__(*(arr)), keyf), (key))

static void diff_project(diff_t *d, const envmgr_project_t *a, const envmgr_project_t *b)
{
    const char *ctx = "";
    SAME_STR(name);
    SAME_NUM(n_services);
    SAME_NUM(n_volumes);
    SAME_NUM(n_networks);
    SAME_NUM(n_secret_defs);
    SAME_NUM(n_config_defs);
    SAME_KV(real_services);
    SAME_NUM(alerts.duration_ms);
    SAME_NUM(alerts.memory_bytes);
    SAME_NUM(alerts.error_rate);
    if ((a->x_envtest == NULL) != (b->x_envtest == NULL) ||
        (a->x_envtest && !json_equal(a->x_envtest, b->x_envtest)))
        differ(d, "x-envtest", ctx);
    for (size_t i = 0; i < a->n_services; i++) {
        const envmgr_service_t *o = FIND(b->services, b->n_services, name, a->services[i].name);
        envmgr_cleanup_free char *sub = envmgr_xasprintf("services.%s", a->services[i].name);
        if (!o)
            differ(d, "", sub);
        else
            diff_service(d, &a->services[i], o, sub);
    }
    for (size_t i = 0; i < a->n_networks; i++) {
        const envmgr_network_def_t *o = FIND(b->networks, b->n_networks, key, a->networks[i].key);
        if (!o || !network_eq(a, &a->networks[i], b, o))
            differ(d, a->networks[i].key, "networks");
    }
    for (size_t i = 0; i < a->n_volumes; i++) {
        const envmgr_volume_def_t *x = &a->volumes[i];
        const envmgr_volume_def_t *o = FIND(b->volumes, b->n_volumes, key, x->key);
        if (!o || !str_eq(x->name, o->name) || x->external != o->external ||
            !kv_eq(&x->labels, &o->labels))
            differ(d, x->key, "volumes");
    }
    for (size_t i = 0; i < a->n_secret_defs; i++) {
        const envmgr_file_def_t *o =
            FIND(b->secret_defs, b->n_secret_defs, key, a->secret_defs[i].key);
        if (!o || !file_def_eq(&a->secret_defs[i], o))
            differ(d, a->secret_defs[i].key, "secrets");
    }
    for (size_t i = 0; i < a->n_config_defs; i++) {
        const envmgr_file_def_t *o =
            FIND(b->config_defs, b->n_config_defs, key, a->config_defs[i].key);
        if (!o || !file_def_eq(&a->config_defs[i], o))
            differ(d, a->config_defs[i].key, "configs");
    }
}

bool compose_model_diff(const envmgr_project_t *a, const envmgr_project_t *b, char *where,
                        size_t size)
{
    diff_t d = {.found = false};
    diff_project(&d, a, b);
    snprintf(where, size, "%s", d.found ? d.path : "");
    return d.found;
}
