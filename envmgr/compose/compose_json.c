/* The resolved model as JSON, in the shape `docker compose config` prints. */
#include "compose_internal.h"

#include <string.h>

#define SECRET_MASK "********"
#define SECRET_MIN_SUBSTRING 6 /* shorter secrets are masked only as whole values */

typedef struct json_opts {
    const envmgr_kvlist_t *secrets; /* values to mask, or NULL */
} json_opts_t;

/* A string, with any secret value in it replaced by the mask. */
static json_t *str_json(const json_opts_t *o, const char *s)
{
    if (!s)
        return json_null();
    if (!o->secrets || o->secrets->n == 0) {
        json_t *plain = json_string(s);
        return plain ? plain : json_stringn_nocheck(s, strlen(s));
    }
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    envmgr_buf_adds(&b, s);
    for (size_t i = 0; i < o->secrets->n; i++) {
        const char *secret = o->secrets->items[i].value;
        size_t len = secret ? strlen(secret) : 0;
        char *hit;
        if (len == 0)
            continue;
        if (len < SECRET_MIN_SUBSTRING && strcmp(b.data, secret) != 0)
            continue; /* a short value is masked only where it is the whole string */
        size_t from = 0;
        while ((hit = strstr(b.data + from, secret))) {
            envmgr_buf_t next = ENVMGR_BUF_INIT;
            size_t at = (size_t)(hit - b.data);
            envmgr_buf_add(&next, b.data, at);
            envmgr_buf_adds(&next, SECRET_MASK);
            from = next.len;
            envmgr_buf_adds(&next, hit + len);
            envmgr_buf_free(&b);
            b = next;
        }
    }
    json_t *j = json_string(b.data);
    if (!j)
        j = json_stringn_nocheck(b.data, b.len);
    envmgr_buf_free(&b);
    return j;
}

static json_t *strv_json(const json_opts_t *o, const envmgr_strv_t *v)
{
    json_t *a = json_array();
    for (size_t i = 0; i < v->n; i++)
        json_array_append_new(a, str_json(o, v->items[i]));
    return a;
}

static json_t *kv_json(const json_opts_t *o, const envmgr_kvlist_t *l)
{
    json_t *obj = json_object();
    for (size_t i = 0; i < l->n; i++)
        json_object_set_new(obj, l->items[i].key, str_json(o, l->items[i].value));
    return obj;
}

/* Go's time.Duration format, as Compose prints: "1m30s", "1.5s", "100ms", "0s". */
static char *duration_string(int64_t ms)
{
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    if (ms == 0)
        return envmgr_xstrdup("0s");
    if (ms < 1000)
        return envmgr_xasprintf("%lldms", (long long)ms);
    if (ms >= 3600000)
        envmgr_buf_addf(&b, "%lldh", (long long)(ms / 3600000));
    if (ms >= 60000)
        envmgr_buf_addf(&b, "%lldm", (long long)(ms % 3600000 / 60000));
    int64_t rest = ms % 60000;
    if (rest % 1000 == 0)
        envmgr_buf_addf(&b, "%llds", (long long)(rest / 1000));
    else {
        char frac[8];
        snprintf(frac, sizeof(frac), "%03lld", (long long)(rest % 1000));
        for (int i = 2; i > 0 && frac[i] == '0'; i--)
            frac[i] = '\0';
        envmgr_buf_addf(&b, "%lld.%ss", (long long)(rest / 1000), frac);
    }
    return envmgr_buf_detach(&b);
}

static json_t *duration_json(int64_t ms)
{
    char *s = duration_string(ms);
    json_t *j = json_string(s);
    free(s);
    return j;
}

static json_t *healthcheck_json(const json_opts_t *o, const envmgr_healthcheck_t *h)
{
    json_t *j = json_object();
    json_t *test = json_array();
    switch (h->kind) {
    case ENVMGR_HEALTHCHECK_NONE:
        json_object_set_new(j, "disable", json_true());
        json_decref(test);
        return j;
    case ENVMGR_HEALTHCHECK_CMD:
        json_array_append_new(test, json_string("CMD"));
        break;
    case ENVMGR_HEALTHCHECK_CMD_SHELL:
        json_array_append_new(test, json_string("CMD-SHELL"));
        break;
    case ENVMGR_HEALTHCHECK_UNSET:
        break;
    }
    for (size_t i = 0; i < h->test.n; i++)
        json_array_append_new(test, str_json(o, h->test.items[i]));
    if (h->kind != ENVMGR_HEALTHCHECK_UNSET)
        json_object_set_new(j, "test", test);
    else
        json_decref(test);
    json_object_set_new(j, "interval", duration_json(h->interval_ms));
    json_object_set_new(j, "timeout", duration_json(h->timeout_ms));
    json_object_set_new(j, "start_period", duration_json(h->start_period_ms));
    json_object_set_new(j, "retries", json_integer(h->retries));
    if (h->start_interval_ms)
        json_object_set_new(j, "start_interval", duration_json(h->start_interval_ms));
    return j;
}

static json_t *port_json(const envmgr_port_t *p)
{
    json_t *j = json_object();
    json_object_set_new(j, "target", json_integer(p->container_port));
    if (p->host_port) {
        char buf[16];
        snprintf(buf, sizeof(buf), "%d", p->host_port);
        json_object_set_new(j, "published", json_string(buf));
    }
    json_object_set_new(j, "host_ip", json_string(p->host_ip));
    json_object_set_new(j, "protocol", json_string(p->protocol));
    json_object_set_new(j, "mode", json_string("ingress"));
    return j;
}

static json_t *mount_json(const envmgr_mount_t *m)
{
    static const char *const types[] = {"volume", "bind", "tmpfs"};
    json_t *j = json_object();
    json_object_set_new(j, "type", json_string(types[m->type]));
    if (m->source)
        json_object_set_new(j, "source", json_string(m->source));
    json_object_set_new(j, "target", json_string(m->target));
    if (m->read_only)
        json_object_set_new(j, "read_only", json_true());
    if (m->tmpfs_size)
        json_object_set_new(j, "tmpfs", json_pack("{s:I}", "size", (json_int_t)m->tmpfs_size));
    if (m->type == ENVMGR_MOUNT_BIND && m->create_host_path) /* the short syntax's, as Compose */
        json_object_set_new(j, "bind", json_pack("{s:b}", "create_host_path", 1));
    return j;
}

static json_t *depends_json(const envmgr_service_t *s)
{
    static const char *const conditions[] = {"service_started", "service_healthy",
                                             "service_completed_successfully"};
    json_t *j = json_object();
    for (size_t i = 0; i < s->n_depends_on; i++)
        json_object_set_new(j, s->depends_on[i].service,
                            json_pack("{s:s,s:b}", "condition",
                                      conditions[s->depends_on[i].condition], "required",
                                      s->depends_on[i].required));
    return j;
}

static json_t *build_json(const json_opts_t *o, const envmgr_build_t *b)
{
    json_t *j = json_pack("{s:s,s:s}", "context", b->context, "dockerfile", b->dockerfile);
    if (b->args.n)
        json_object_set_new(j, "args", kv_json(o, &b->args));
    return j;
}

static void set_if(json_t *obj, const char *key, json_t *value, bool cond)
{
    if (cond)
        json_object_set_new(obj, key, value);
    else
        json_decref(value);
}

static json_t *file_refs_json(const envmgr_file_ref_t *refs, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_pack("{s:s,s:s}", "source", refs[i].source, "target", refs[i].target);
        if (refs[i].uid >= 0)
            json_object_set_new(r, "uid", json_sprintf("%ld", refs[i].uid));
        if (refs[i].gid >= 0)
            json_object_set_new(r, "gid", json_sprintf("%ld", refs[i].gid));
        if (refs[i].mode >= 0)
            json_object_set_new(r, "mode", json_integer(refs[i].mode));
        json_array_append_new(a, r);
    }
    return a;
}

static void compat_json(const json_opts_t *o, const envmgr_service_t *s, json_t *j)
{
    const envmgr_resources_t *r = &s->resources;
    if (s->container_name)
        json_object_set_new(j, "container_name", str_json(o, s->container_name));
    if (s->network_mode)
        json_object_set_new(j, "network_mode", json_string(s->network_mode));
    json_t *nets = json_object();
    for (size_t i = 0; i < s->n_networks; i++) {
        const envmgr_service_network_t *n = &s->networks[i];
        json_t *nj = json_object();
        set_if(nj, "aliases", strv_json(o, &n->aliases), n->aliases.n > 0);
        if (n->ipv4_address)
            json_object_set_new(nj, "ipv4_address", json_string(n->ipv4_address));
        if (n->ipv6_address)
            json_object_set_new(nj, "ipv6_address", json_string(n->ipv6_address));
        if (n->priority)
            json_object_set_new(nj, "priority", json_integer(n->priority));
        json_object_set_new(nets, n->key,
                            json_object_size(nj) ? nj : (json_decref(nj), json_null()));
    }
    set_if(j, "networks", nets, s->n_networks > 0);
    set_if(j, "secrets", file_refs_json(s->secrets, s->n_secrets), s->n_secrets > 0);
    set_if(j, "configs", file_refs_json(s->configs, s->n_configs), s->n_configs > 0);
    json_t *limits = json_object(), *res = json_object();
    if (r->nano_cpus)
        json_object_set_new(limits, "cpus", json_sprintf("%g", (double)r->nano_cpus / 1e9));
    if (r->memory_limit)
        json_object_set_new(limits, "memory", json_sprintf("%lld", (long long)r->memory_limit));
    if (r->pids_limit)
        json_object_set_new(limits, "pids", json_integer(r->pids_limit));
    if (r->cpu_reservation_nano)
        json_object_set_new(res, "cpus", json_sprintf("%g", (double)r->cpu_reservation_nano / 1e9));
    if (r->memory_reservation)
        json_object_set_new(res, "memory", json_sprintf("%lld", (long long)r->memory_reservation));
    if (json_object_size(limits) || json_object_size(res)) {
        json_t *resources = json_object();
        set_if(resources, "limits", json_incref(limits), json_object_size(limits) > 0);
        set_if(resources, "reservations", json_incref(res), json_object_size(res) > 0);
        json_object_set_new(j, "deploy", json_pack("{s:o}", "resources", resources));
    }
    json_decref(limits);
    json_decref(res);
    if (r->memswap_limit)
        json_object_set_new(j, "memswap_limit", json_integer(r->memswap_limit));
    if (r->shm_size)
        json_object_set_new(j, "shm_size", json_sprintf("%lld", (long long)r->shm_size));
    if (r->cpu_shares)
        json_object_set_new(j, "cpu_shares", json_integer(r->cpu_shares));
    if (r->cpuset)
        json_object_set_new(j, "cpuset", json_string(r->cpuset));
    set_if(j, "profiles", strv_json(o, &s->profiles), s->profiles.n > 0);
    if (s->stop_grace_period_ms >= 0)
        json_object_set_new(j, "stop_grace_period", duration_json(s->stop_grace_period_ms));
    if (s->stop_signal)
        json_object_set_new(j, "stop_signal", json_string(s->stop_signal));
    set_if(j, "extra_hosts", strv_json(o, &s->extra_hosts), s->extra_hosts.n > 0);
    set_if(j, "dns", strv_json(o, &s->dns), s->dns.n > 0);
    set_if(j, "dns_search", strv_json(o, &s->dns_search), s->dns_search.n > 0);
    set_if(j, "dns_opt", strv_json(o, &s->dns_opt), s->dns_opt.n > 0);
    json_t *ul = json_object();
    for (size_t i = 0; i < s->n_ulimits; i++)
        json_object_set_new(ul, s->ulimits[i].name,
                            json_pack("{s:I,s:I}", "soft", (json_int_t)s->ulimits[i].soft, "hard",
                                      (json_int_t)s->ulimits[i].hard));
    set_if(j, "ulimits", ul, s->n_ulimits > 0);
    set_if(j, "sysctls", kv_json(o, &s->sysctls), s->sysctls.n > 0);
    set_if(j, "cap_add", strv_json(o, &s->cap_add), s->cap_add.n > 0);
    set_if(j, "cap_drop", strv_json(o, &s->cap_drop), s->cap_drop.n > 0);
    set_if(j, "security_opt", strv_json(o, &s->security_opt), s->security_opt.n > 0);
    set_if(j, "group_add", strv_json(o, &s->group_add), s->group_add.n > 0);
    set_if(j, "links", strv_json(o, &s->links), s->links.n > 0);
    set_if(j, "volumes_from", strv_json(o, &s->volumes_from), s->volumes_from.n > 0);
    json_t *devs = json_array();
    for (size_t i = 0; i < s->n_devices; i++)
        json_array_append_new(devs, json_pack("{s:s,s:s,s:s}", "source", s->devices[i].host,
                                              "target", s->devices[i].container, "permissions",
                                              s->devices[i].permissions));
    set_if(j, "devices", devs, s->n_devices > 0);
    if (s->read_only)
        json_object_set_new(j, "read_only", json_true());
    if (s->privileged)
        json_object_set_new(j, "privileged", json_true());
    if (s->tty)
        json_object_set_new(j, "tty", json_true());
    if (s->stdin_open)
        json_object_set_new(j, "stdin_open", json_true());
    if (s->platform)
        json_object_set_new(j, "platform", json_string(s->platform));
    if (s->pid)
        json_object_set_new(j, "pid", json_string(s->pid));
    if (s->ipc)
        json_object_set_new(j, "ipc", json_string(s->ipc));
}

static json_t *file_defs_json(const envmgr_file_def_t *defs, size_t n)
{
    static const char *const sources[] = {"file", "environment", "content"};
    json_t *all = json_object();
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_object();
        /* content: is a config's text (not a secret); environment: names the variable only */
        json_object_set_new(d, sources[defs[i].source], json_string(defs[i].value));
        if (defs[i].name)
            json_object_set_new(d, "name", json_string(defs[i].name));
        json_object_set_new(all, defs[i].key, d);
    }
    return all;
}

static json_t *networks_json(const json_opts_t *o, const envmgr_project_t *p)
{
    json_t *all = json_object();
    for (size_t i = 0; i < p->n_networks; i++) {
        const envmgr_network_def_t *n = &p->networks[i];
        json_t *nj = json_object();
        if (n->name)
            json_object_set_new(nj, "name", json_string(n->name));
        else if (!n->external)
            json_object_set_new(nj, "name", json_sprintf("%s_%s", p->name, n->key));
        if (n->external)
            json_object_set_new(nj, "external", json_true());
        if (n->internal)
            json_object_set_new(nj, "internal", json_true());
        if (n->attachable)
            json_object_set_new(nj, "attachable", json_true());
        if (n->enable_ipv6)
            json_object_set_new(nj, "enable_ipv6", json_true());
        set_if(nj, "labels", kv_json(o, &n->labels), n->labels.n > 0);
        set_if(nj, "driver_opts", kv_json(o, &n->driver_opts), n->driver_opts.n > 0);
        if (n->subnets.n) {
            json_t *cfg = json_array();
            for (size_t k = 0; k < n->subnets.n; k++)
                json_array_append_new(cfg, json_pack("{s:s}", "subnet", n->subnets.items[k]));
            json_object_set_new(nj, "ipam", json_pack("{s:o}", "config", cfg));
        }
        json_object_set_new(all, n->key, nj);
    }
    return all;
}

static json_t *service_json(const json_opts_t *o, const envmgr_service_t *s)
{
    json_t *j = json_object();
    json_t *ports = json_array(), *mounts = json_array(), *expose = json_array();
    if (s->image)
        json_object_set_new(j, "image", str_json(o, s->image));
    if (s->build)
        json_object_set_new(j, "build", build_json(o, s->build));
    set_if(j, "command", strv_json(o, &s->command), s->has_command);
    set_if(j, "entrypoint", strv_json(o, &s->entrypoint), s->has_entrypoint);
    set_if(j, "environment", kv_json(o, &s->environment), s->environment.n > 0);
    for (size_t i = 0; i < s->n_ports; i++)
        json_array_append_new(ports, port_json(&s->ports[i]));
    set_if(j, "ports", ports, s->n_ports > 0);
    for (size_t i = 0; i < s->n_expose; i++)
        json_array_append_new(expose, json_sprintf("%d", s->expose[i]));
    set_if(j, "expose", expose, s->n_expose > 0);
    bool health_set = s->healthcheck.kind != ENVMGR_HEALTHCHECK_UNSET ||
                      s->healthcheck.interval_ms != 30000 || s->healthcheck.timeout_ms != 30000 ||
                      s->healthcheck.start_period_ms != 0 || s->healthcheck.retries != 3 ||
                      s->healthcheck.start_interval_ms != 0;
    set_if(j, "healthcheck", healthcheck_json(o, &s->healthcheck), health_set);
    set_if(j, "depends_on", depends_json(s), s->n_depends_on > 0);
    set_if(j, "labels", kv_json(o, &s->labels), s->labels.n > 0);
    for (size_t i = 0; i < s->n_mounts; i++)
        json_array_append_new(mounts, mount_json(&s->mounts[i]));
    set_if(j, "volumes", mounts, s->n_mounts > 0);
    if (s->working_dir)
        json_object_set_new(j, "working_dir", str_json(o, s->working_dir));
    if (s->user)
        json_object_set_new(j, "user", str_json(o, s->user));
    if (s->hostname)
        json_object_set_new(j, "hostname", str_json(o, s->hostname));
    if (s->init)
        json_object_set_new(j, "init", json_true());
    compat_json(o, s, j);
    if (s->x_envtest)
        json_object_set(j, "x-envtest", s->x_envtest);
    return j;
}

json_t *envmgr_service_to_json(const envmgr_service_t *service)
{
    json_opts_t o = {NULL};
    return service_json(&o, service);
}

json_t *envmgr_project_to_json(const envmgr_project_t *project, bool mask_secrets)
{
    json_opts_t o = {mask_secrets ? &project->secret_values : NULL};
    json_t *j = json_object(), *services = json_object(), *volumes = json_object();
    json_object_set_new(j, "name", json_string(project->name));
    for (size_t i = 0; i < project->n_services; i++)
        json_object_set_new(services, project->services[i].name,
                            service_json(&o, &project->services[i]));
    json_object_set_new(j, "services", services);
    for (size_t i = 0; i < project->n_volumes; i++) {
        const envmgr_volume_def_t *v = &project->volumes[i];
        json_t *vj = json_object();
        if (v->name)
            json_object_set_new(vj, "name", json_string(v->name));
        if (v->external)
            json_object_set_new(vj, "external", json_true());
        if (v->labels.n)
            json_object_set_new(vj, "labels", kv_json(&o, &v->labels));
        json_object_set_new(volumes, v->key, vj);
    }
    set_if(j, "volumes", volumes, project->n_volumes > 0);
    set_if(j, "networks", networks_json(&o, project), project->n_networks > 0);
    set_if(j, "secrets", file_defs_json(project->secret_defs, project->n_secret_defs),
           project->n_secret_defs > 0);
    set_if(j, "configs", file_defs_json(project->config_defs, project->n_config_defs),
           project->n_config_defs > 0);
    if (project->x_envtest)
        json_object_set(j, "x-envtest", project->x_envtest);
    /* services replaced by real ones (--real, ENVTEST_REAL_<SERVICE>, x-envtest.real) */
    if (project->real_services.n)
        json_object_set_new(j, "real_services", kv_json(&o, &project->real_services));
    return j;
}

/* Every string value with '$' written "$$": the loader interpolates every value (keys are not),
 * so that the output loads again into the same model. */
static json_t *escape_dollars(json_t *j)
{
    if (json_is_string(j)) {
        const char *s = json_string_value(j);
        size_t len = json_string_length(j);
        if (!memchr(s, '$', len))
            return j;
        envmgr_buf_t b = ENVMGR_BUF_INIT;
        for (size_t i = 0; i < len; i++)
            envmgr_buf_add(&b, s[i] == '$' ? "$$" : s + i, s[i] == '$' ? 2 : 1);
        json_t *escaped = json_stringn_nocheck(b.data, b.len);
        envmgr_buf_free(&b);
        json_decref(j);
        return escaped;
    }
    if (json_is_object(j)) {
        const char *key;
        json_t *value;
        void *tmp;
        json_object_foreach_safe(j, tmp, key, value)
        {
            json_object_set_new_nocheck(j, key, escape_dollars(json_incref(value)));
        }
    } else if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++)
            json_array_set_new(j, i, escape_dollars(json_incref(json_array_get(j, i))));
    }
    return j;
}

char *envmgr_project_config_text(const envmgr_project_t *project, bool mask_secrets)
{
    json_t *j = escape_dollars(envmgr_project_to_json(project, mask_secrets));
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(j);
    return text ? text : envmgr_xstrdup("");
}
