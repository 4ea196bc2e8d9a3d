/* The Compose keys beyond envtest's first subset, as the Engine's container configuration:
 * networks (several, aliases, links), network_mode, secrets and configs (bind-mounted read-only
 * files, as docker compose does outside Swarm), resources, and the HostConfig keys. Also the
 * engine-side steps they need: the project's networks, the private files of secrets given by
 * environment, the extra network connections of a container. */
#include "project.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <envmgr/lifecycle.h>
#include <envmgr/log.h>
#include <envmgr/util.h>

char *envmgr_project_service_container_name(const envmgr_project_t *project,
                                            const envmgr_service_t *service)
{
    if (service->container_name)
        return envmgr_xstrdup(service->container_name);
    return envmgr_project_container_name(project->name, service->name);
}

char *envmgr_project_network_engine_name(const envmgr_project_t *project, const char *key)
{
    const envmgr_network_def_t *def = envmgr_project_network(project, key);
    if (def && def->name)
        return envmgr_xstrdup(def->name);
    if (!strcmp(key, "default"))
        return envmgr_project_network_name(project->name);
    return envmgr_xasprintf("%s_%s", project->name, key);
}

char *envmgr_project_secrets_dir(const char *project_name)
{
    const char *base = getenv("XDG_RUNTIME_DIR");
    if (!base || !*base)
        base = "/tmp";
    return envmgr_xasprintf("%s/envtest-secrets-%u/%s", base, (unsigned)getuid(), project_name);
}

/* ---- container configuration ------------------------------------------------------------------
 */

static json_t *strv_json(const envmgr_strv_t *v)
{
    json_t *a = json_array();
    for (size_t i = 0; i < v->n; i++)
        json_array_append_new(a, json_string(v->items[i]));
    return a;
}

json_t *envmgr_project_endpoint_config(const envmgr_project_t *project, const envmgr_service_t *s,
                                       const envmgr_service_network_t *n)
{
    json_t *aliases = json_pack("[s]", s->name);
    for (size_t i = 0; i < n->aliases.n; i++)
        json_array_append_new(aliases, json_string(n->aliases.items[i]));
    json_t *ep = json_pack("{s:o}", "Aliases", aliases);
    if (s->links.n) {
        json_t *links = json_array();
        for (size_t i = 0; i < s->links.n; i++) {
            envmgr_cleanup_free char *svc = envmgr_xstrdup(s->links.items[i]);
            char *alias = strchr(svc, ':');
            if (alias)
                *alias++ = '\0';
            const envmgr_service_t *t = envmgr_project_service(project, svc);
            if (!t)
                continue;
            envmgr_cleanup_free char *cname = envmgr_project_service_container_name(project, t);
            json_array_append_new(links, json_sprintf("%s:%s", cname, alias ? alias : svc));
        }
        json_object_set_new(ep, "Links", links);
    }
    if (n->ipv4_address || n->ipv6_address) {
        json_t *ipam = json_object();
        if (n->ipv4_address)
            json_object_set_new(ipam, "IPv4Address", json_string(n->ipv4_address));
        if (n->ipv6_address)
            json_object_set_new(ipam, "IPv6Address", json_string(n->ipv6_address));
        json_object_set_new(ep, "IPAMConfig", ipam);
    }
    return ep;
}

static void add_file_mounts(const envmgr_project_t *project, const envmgr_service_t *s,
                            json_t *mounts)
{
    for (size_t i = 0; i < s->n_secrets + s->n_configs; i++) {
        bool secret;
        const envmgr_file_ref_t *r;
        const envmgr_file_def_t *d = envmgr_project_file_ref(project, s, i, &r, &secret);
        if (!d || envmgr_project_file_copied(s, r))
            continue; /* copied in with its owner and mode (project_files.c) */
        envmgr_cleanup_free char *source = envmgr_project_file_path(project, d, secret);
        json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:b}", "Type", "bind", "Source",
                                                source, "Target", r->target, "ReadOnly", 1));
    }
}

void envmgr_project_container_compat(const envmgr_project_t *project, const envmgr_service_t *s,
                                     json_t *config)
{
    json_t *host = json_object_get(config, "HostConfig");
    const envmgr_resources_t *r = &s->resources;

    /* networks: the primary one at create (older engines take one endpoint), others connected */
    json_object_del(config, "NetworkingConfig");
    if (s->network_mode && !strcmp(s->network_mode, "none")) {
        json_object_set_new(host, "NetworkMode", json_string("none"));
    } else if (s->network_mode) {
        const envmgr_service_t *t = envmgr_project_service(project, s->network_mode + 8);
        envmgr_cleanup_free char *cname =
            t ? envmgr_project_service_container_name(project, t) : envmgr_xstrdup("");
        json_object_set_new(host, "NetworkMode", json_sprintf("container:%s", cname));
        json_object_del(host, "PortBindings");
        json_object_del(config, "ExposedPorts");
    } else if (s->n_networks) {
        envmgr_cleanup_free char *net =
            envmgr_project_network_engine_name(project, s->networks[0].key);
        json_object_set_new(host, "NetworkMode", json_string(net));
        json_t *eps = json_object();
        json_object_set_new(eps, net, envmgr_project_endpoint_config(project, s, &s->networks[0]));
        json_object_set_new(config, "NetworkingConfig", json_pack("{s:o}", "EndpointsConfig", eps));
    }
    if (s->hostname)
        json_object_set_new(config, "Hostname", json_string(s->hostname));

    add_file_mounts(project, s, json_object_get(host, "Mounts"));
    if (r->memory_limit)
        json_object_set_new(host, "Memory", json_integer(r->memory_limit));
    if (r->memory_reservation)
        json_object_set_new(host, "MemoryReservation", json_integer(r->memory_reservation));
    if (r->memswap_limit)
        json_object_set_new(host, "MemorySwap", json_integer(r->memswap_limit));
    if (r->nano_cpus)
        json_object_set_new(host, "NanoCpus", json_integer(r->nano_cpus));
    if (r->pids_limit)
        json_object_set_new(host, "PidsLimit", json_integer(r->pids_limit));
    if (r->cpu_shares)
        json_object_set_new(host, "CpuShares", json_integer(r->cpu_shares));
    if (r->cpuset)
        json_object_set_new(host, "CpusetCpus", json_string(r->cpuset));
    if (r->shm_size)
        json_object_set_new(host, "ShmSize", json_integer(r->shm_size));
    if (s->stop_grace_period_ms >= 0)
        json_object_set_new(config, "StopTimeout",
                            json_integer((s->stop_grace_period_ms + 999) / 1000));
    if (s->stop_signal)
        json_object_set_new(config, "StopSignal", json_string(s->stop_signal));
    if (s->extra_hosts.n)
        json_object_set_new(host, "ExtraHosts", strv_json(&s->extra_hosts));
    if (s->dns.n)
        json_object_set_new(host, "Dns", strv_json(&s->dns));
    if (s->dns_search.n)
        json_object_set_new(host, "DnsSearch", strv_json(&s->dns_search));
    if (s->dns_opt.n)
        json_object_set_new(host, "DnsOptions", strv_json(&s->dns_opt));
    if (s->n_ulimits) {
        json_t *u = json_array();
        for (size_t i = 0; i < s->n_ulimits; i++)
            json_array_append_new(u, json_pack("{s:s, s:I, s:I}", "Name", s->ulimits[i].name,
                                               "Soft", (json_int_t)s->ulimits[i].soft, "Hard",
                                               (json_int_t)s->ulimits[i].hard));
        json_object_set_new(host, "Ulimits", u);
    }
    if (s->sysctls.n) {
        json_t *sc = json_object();
        for (size_t i = 0; i < s->sysctls.n; i++)
            json_object_set_new(
                sc, s->sysctls.items[i].key,
                json_string(s->sysctls.items[i].value ? s->sysctls.items[i].value : ""));
        json_object_set_new(host, "Sysctls", sc);
    }
    if (s->cap_add.n)
        json_object_set_new(host, "CapAdd", strv_json(&s->cap_add));
    if (s->cap_drop.n)
        json_object_set_new(host, "CapDrop", strv_json(&s->cap_drop));
    if (s->security_opt.n)
        json_object_set_new(host, "SecurityOpt", strv_json(&s->security_opt));
    if (s->group_add.n)
        json_object_set_new(host, "GroupAdd", strv_json(&s->group_add));
    if (s->volumes_from.n) {
        json_t *vf = json_array();
        for (size_t i = 0; i < s->volumes_from.n; i++) {
            envmgr_cleanup_free char *svc = envmgr_xstrdup(s->volumes_from.items[i]);
            char *mode = strchr(svc, ':');
            if (mode)
                *mode++ = '\0';
            const envmgr_service_t *t = envmgr_project_service(project, svc);
            if (!t)
                continue;
            envmgr_cleanup_free char *cname = envmgr_project_service_container_name(project, t);
            json_array_append_new(vf,
                                  mode ? json_sprintf("%s:%s", cname, mode) : json_string(cname));
        }
        json_object_set_new(host, "VolumesFrom", vf);
    }
    if (s->n_devices) {
        json_t *d = json_array();
        for (size_t i = 0; i < s->n_devices; i++)
            json_array_append_new(d, json_pack("{s:s, s:s, s:s}", "PathOnHost", s->devices[i].host,
                                               "PathInContainer", s->devices[i].container,
                                               "CgroupPermissions", s->devices[i].permissions));
        json_object_set_new(host, "Devices", d);
    }
    if (s->privileged)
        json_object_set_new(host, "Privileged", json_true());
    if (s->read_only)
        json_object_set_new(host, "ReadonlyRootfs", json_true());
    if (s->ipc)
        json_object_set_new(host, "IpcMode", json_string(s->ipc));
    if (s->pid)
        json_object_set_new(host, "PidMode", json_string(s->pid));
    if (s->tty)
        json_object_set_new(config, "Tty", json_true());
    if (s->stdin_open)
        json_object_set_new(config, "OpenStdin", json_true());
    if (s->healthcheck.start_interval_ms > 0)
        json_object_set_new(json_object_get(config, "Healthcheck"), "StartInterval",
                            json_integer(s->healthcheck.start_interval_ms * 1000000));
}

/* ---- engine-side steps ------------------------------------------------------------------------
 */

static bool network_used(const envmgr_project_t *p, const char *key)
{
    for (size_t i = 0; i < p->n_services; i++)
        for (size_t k = 0; k < p->services[i].n_networks; k++)
            if (!strcmp(p->services[i].networks[k].key, key))
                return true;
    return false;
}

int envmgr_project_networks_ensure(envmgr_engine_t *engine, const envmgr_project_t *project,
                                   envmgr_error_t *err)
{
    for (size_t i = 0; i < project->n_networks; i++) {
        const envmgr_network_def_t *n = &project->networks[i];
        envmgr_cleanup_free char *name = envmgr_project_network_engine_name(project, n->key);
        envmgr_cleanup_json json_t *existing = NULL;
        envmgr_error_t lookup = {0};
        if (!network_used(project, n->key) ||
            (!strcmp(n->key, "default") && !n->name && !n->external))
            continue; /* the project network is made by up itself */
        if (envmgr_engine_network_inspect(engine, name, &existing, &lookup) == 0)
            continue;
        if (lookup.kind != ENVMGR_E_NOT_FOUND)
            return envmgr_error_set(err, lookup.kind, lookup.code, "%s", lookup.message);
        if (n->external) {
            envmgr_error_set(err, ENVMGR_E_ENV, 404,
                             "network %s (networks.%s, external) does not exist", name, n->key);
            return envmgr_error_hint(err, "create it first (docker network create %s)", name);
        }
        json_t *labels = json_pack("{s:s, s:s, s:s}", ENVMGR_LABEL_PROJECT, project->name,
                                   "com.docker.compose.project", project->name,
                                   "com.docker.compose.network", n->key);
        for (size_t k = 0; k < n->labels.n; k++)
            json_object_set_new(
                labels, n->labels.items[k].key,
                json_string(n->labels.items[k].value ? n->labels.items[k].value : ""));
        json_t *opts = json_object();
        for (size_t k = 0; k < n->driver_opts.n; k++)
            json_object_set_new(
                opts, n->driver_opts.items[k].key,
                json_string(n->driver_opts.items[k].value ? n->driver_opts.items[k].value : ""));
        json_t *body =
            json_pack("{s:s, s:s, s:b, s:b, s:b, s:b, s:o, s:o}", "Name", name, "Driver", "bridge",
                      "CheckDuplicate", 1, "Internal", n->internal, "Attachable", n->attachable,
                      "EnableIPv6", n->enable_ipv6, "Labels", labels, "Options", opts);
        if (n->subnets.n) {
            json_t *cfg = json_array();
            for (size_t k = 0; k < n->subnets.n; k++)
                json_array_append_new(cfg, json_pack("{s:s}", "Subnet", n->subnets.items[k]));
            json_object_set_new(body, "IPAM",
                                json_pack("{s:s, s:o}", "Driver", "default", "Config", cfg));
        }
        int r = envmgr_engine_request(engine, "POST", "/networks/create", body, NULL, err);
        json_decref(body);
        if (r < 0)
            return envmgr_error_wrap(err, "create network %s", name);
    }
    return 0;
}

int envmgr_project_container_connect(envmgr_engine_t *engine, const envmgr_project_t *project,
                                     const envmgr_service_t *s, const char *container_id,
                                     envmgr_error_t *err)
{
    for (size_t k = 1; !s->network_mode && k < s->n_networks; k++) {
        envmgr_cleanup_free char *net =
            envmgr_project_network_engine_name(project, s->networks[k].key);
        envmgr_cleanup_free char *path = envmgr_xasprintf("/networks/%s/connect", net);
        json_t *body = json_pack("{s:s, s:o}", "Container", container_id, "EndpointConfig",
                                 envmgr_project_endpoint_config(project, s, &s->networks[k]));
        int r = envmgr_engine_request(engine, "POST", path, body, NULL, err);
        json_decref(body);
        if (r < 0)
            return envmgr_error_wrap(err, "service %s: connect to network %s", s->name, net);
    }
    return 0;
}

static int write_private(const char *path, const char *data, size_t len, int mode,
                         envmgr_error_t *err)
{
    envmgr_cleanup_free char *tmp = envmgr_xasprintf("%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return envmgr_error_errno(err, errno, "create %s", tmp);
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return envmgr_error_errno(err, e, "write %s", tmp);
        }
        off += (size_t)w;
    }
    if (fchmod(fd, (mode_t)mode) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return envmgr_error_errno(err, e, "write %s", path);
    }
    return 0;
}

int envmgr_project_files_write(const envmgr_project_t *project, envmgr_error_t *err)
{
    envmgr_cleanup_free char *dir = envmgr_project_secrets_dir(project->name);
    bool made = false;
    for (size_t i = 0; i < project->n_secret_defs + project->n_config_defs; i++) {
        bool secret = i < project->n_secret_defs;
        const envmgr_file_def_t *d =
            secret ? &project->secret_defs[i] : &project->config_defs[i - project->n_secret_defs];
        if (d->source == ENVMGR_SOURCE_FILE) {
            if (access(d->value, R_OK) != 0)
                return envmgr_error_errno(err, errno, "%s %s: file %s",
                                          secret ? "secret" : "config", d->key, d->value);
            continue;
        }
        const char *data = d->source == ENVMGR_SOURCE_CONTENT ? d->value : d->data;
        if (!data) {
            envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s %s: environment variable %s is not set",
                             secret ? "secret" : "config", d->key, d->value);
            return envmgr_error_hint(err, "set %s (in the environment or .env)", d->value);
        }
        if (!made) {
            envmgr_cleanup_free char *parent = envmgr_xstrdup(dir);
            *strrchr(parent, '/') = '\0';
            if ((mkdir(parent, 0700) < 0 && errno != EEXIST) ||
                (mkdir(dir, 0700) < 0 && errno != EEXIST))
                return envmgr_error_errno(err, errno, "create %s", dir);
            made = true;
        }
        envmgr_cleanup_free char *path = envmgr_project_file_path(project, d, secret);
        /* a secret is readable by its owner only (the container's root); a config by all */
        if (write_private(path, data, strlen(data), secret ? 0400 : 0444, err) < 0)
            return -1;
    }
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

void envmgr_project_files_remove(const char *project_name)
{
    envmgr_cleanup_free char *dir = envmgr_project_secrets_dir(project_name);
    if (access(dir, F_OK) == 0 && nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS) < 0)
        envmgr_warn("could not remove %s: %s", dir, strerror(errno));
}
