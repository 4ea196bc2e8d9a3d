/* The typed live state of a project (envmgr_env_inspect): containers found by label, one inspect
 * each; database credentials found by one rule (MYSQL_* or MARIADB_*). */
#include <envmgr/env.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "pod.h"
#include "probe.h"
#include "project.h"
#include <envmgr/lifecycle.h>

/* The one rule for a database setting: MYSQL_<name>, else MARIADB_<name>. */
static const char *db_setting(json_t *env, const char *name)
{
    char key[64];
    snprintf(key, sizeof(key), "MYSQL_%s", name);
    const char *value = envmgr_project_container_env(env, key);
    if (value)
        return value;
    snprintf(key, sizeof(key), "MARIADB_%s", name);
    return envmgr_project_container_env(env, key);
}

static envmgr_db_credentials_t *db_credentials(json_t *env, const envmgr_service_state_t *s)
{
    int host_port = 0;
    const envmgr_port_binding_t *binding = NULL;
    for (size_t i = 0; i < s->n_ports && !host_port; i++)
        if (s->ports[i].container_port == ENVMGR_MYSQL_PORT &&
            strcmp(s->ports[i].protocol, "tcp") == 0) {
            host_port = s->ports[i].host_port;
            binding = &s->ports[i];
        }
    const char *root_pw = db_setting(env, "ROOT_PASSWORD");
    const char *user = db_setting(env, "USER");
    const char *password = db_setting(env, "PASSWORD");
    const char *database = db_setting(env, "DATABASE");
    if (!host_port || (!root_pw && !user && !database))
        return NULL;
    envmgr_db_credentials_t *db = envmgr_xcalloc(1, sizeof(*db));
    db->host_port = host_port;
    db->host = binding->reach_host;
    db->port = binding->reach_port;
    db->root_password = envmgr_xstrdup(root_pw ? root_pw : "");
    db->user = envmgr_xstrdup(user ? user : "root");
    db->password = envmgr_xstrdup(user ? (password ? password : "") : db->root_password);
    db->database = envmgr_xstrdup(database ? database : "");
    return db;
}

/* only: NULL, or a pod's ports label ("3306/tcp,8080/tcp"): the holder's bindings of those. */
static bool port_listed(const char *only, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = only; p && *p;) {
        if (strncmp(p, key, n) == 0 && (p[n] == ',' || p[n] == '\0'))
            return true;
        p = strchr(p, ',');
        p = p ? p + 1 : NULL;
    }
    return false;
}

/* reach_ip: the address envtest reaches the container at (envmgr_engine_self), or NULL: at its
 * published ports. */
static void read_ports(json_t *inspect, const char *only, const char *reach_ip,
                       envmgr_service_state_t *s)
{
    json_t *ports = json_object_get(json_object_get(inspect, "NetworkSettings"), "Ports");
    const char *key;
    json_t *bindings;
    json_object_foreach(ports, key, bindings)
    {
        if (only && !port_listed(only, key))
            continue;
        int cport = 0;
        char proto[8] = "tcp";
        sscanf(key, "%d/%7s", &cport, proto);
        for (size_t i = 0; i < json_array_size(bindings); i++) {
            json_t *b = json_array_get(bindings, i);
            const char *ip = json_string_value(json_object_get(b, "HostIp"));
            const char *hp = json_string_value(json_object_get(b, "HostPort"));
            if (ip && strchr(ip, ':'))
                continue; /* IPv6 duplicate of the same binding */
            s->ports = envmgr_xrealloc(s->ports, (s->n_ports + 1) * sizeof(*s->ports));
            envmgr_port_binding_t *p = &s->ports[s->n_ports++];
            memset(p, 0, sizeof(*p));
            p->container_port = cport;
            snprintf(p->protocol, sizeof(p->protocol), "%s", proto);
            p->host_ip = envmgr_xstrdup(ip ? ip : "");
            p->host_port = hp ? atoi(hp) : 0;
            bool any = !ip || !*ip || strcmp(ip, "0.0.0.0") == 0;
            p->reach_host = envmgr_xstrdup(reach_ip ? reach_ip : any ? "127.0.0.1" : ip);
            p->reach_port = reach_ip ? cport : p->host_port;
        }
    }
}

static json_t *find_service_container(json_t *list, const char *service)
{
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *c = json_array_get(list, i);
        const char *s =
            json_string_value(json_object_get(json_object_get(c, "Labels"), ENVMGR_LABEL_SERVICE));
        if (s && strcmp(s, service) == 0)
            return c;
    }
    return NULL;
}

static int inspect_service(envmgr_engine_t *engine, json_t *containers, envmgr_service_state_t *s,
                           envmgr_error_t *err)
{
    json_t *c = find_service_container(containers, s->service);
    if (!c) {
        s->state = envmgr_xstrdup("missing");
        s->health = envmgr_xstrdup("none");
        s->health_checked_by = envmgr_xstrdup("none");
        return 0;
    }
    const char *id = json_string_value(json_object_get(c, "Id"));
    envmgr_cleanup_json json_t *inspect = NULL;
    if (envmgr_engine_container_inspect(engine, id, &inspect, err) < 0)
        return -1;
    json_t *state = json_object_get(inspect, "State");
    const char *health =
        json_string_value(json_object_get(json_object_get(state, "Health"), "Status"));
    const char *name = json_string_value(json_object_get(inspect, "Name"));
    s->id = envmgr_xstrdup(id ? id : "");
    s->container = envmgr_xstrdup(name ? (name[0] == '/' ? name + 1 : name) : "");
    s->state = envmgr_xstrdup(json_string_value(json_object_get(state, "Status")) ?: "unknown");
    s->health = envmgr_xstrdup(health ? health : "none");
    s->health_checked_by = envmgr_xstrdup(health ? "engine" : "none");
    envmgr_cleanup_json json_t *holder = NULL; /* pod mode: the ports are the holder's */
    if (envmgr_pod_holder_inspect(engine, inspect, &holder, err) < 0)
        return -1;
    char ip[64] = "";
    if (envmgr_engine_self(engine) &&
        envmgr_probe_container_ip(engine, holder ? holder : inspect, ip, sizeof(ip), err) < 0)
        return -1;
    const char *reach_ip = ip[0] ? ip : NULL;
    /* in a pod, only the holder's of the service's own ports: Podman reports the namespace's
     * every port on each container in it */
    if (holder)
        read_ports(holder, envmgr_pod_ports_label(inspect), reach_ip, s);
    else
        read_ports(inspect, NULL, reach_ip, s);
    s->db = db_credentials(json_object_get(json_object_get(inspect, "Config"), "Env"), s);
    return 0;
}

int envmgr_env_inspect(envmgr_engine_t *engine, const envmgr_project_t *project,
                       envmgr_env_state_t *out, envmgr_error_t *err)
{
    memset(out, 0, sizeof(*out));
    envmgr_cleanup_free char *filter = envmgr_project_label_filter(project->name);
    envmgr_cleanup_json json_t *containers = NULL;
    if (envmgr_engine_container_list(engine, filter, true, &containers, err) < 0)
        return envmgr_error_wrap(err, "status %s", project->name);
    out->project = envmgr_xstrdup(project->name);
    if (envmgr_keep_get(engine, project->name, &out->kept, err) < 0) {
        envmgr_env_state_free(out);
        return -1;
    }
    out->services = envmgr_xcalloc(project->n_services + 1, sizeof(*out->services));
    for (size_t i = 0; i < project->n_services; i++) {
        envmgr_service_state_t *s = &out->services[out->n_services++];
        s->service = envmgr_xstrdup(project->services[i].name);
        const char *url = envmgr_project_real_url(project, s->service);
        if (url) { /* a real service: not run by envtest (a container left from the mock is
                      removed by the next up) */
            s->url = envmgr_xstrdup(url);
            s->state = envmgr_xstrdup("real");
            s->health = envmgr_xstrdup("none");
            s->health_checked_by = envmgr_xstrdup("none");
            continue;
        }
        if (inspect_service(engine, containers, s, err) < 0) {
            envmgr_env_state_free(out);
            return envmgr_error_wrap(err, "status %s", project->name);
        }
        if (!out->mysql && s->db)
            out->mysql = s;
    }
    return 0;
}

static void service_state_clear(envmgr_service_state_t *s)
{
    free(s->service);
    free(s->container);
    free(s->id);
    free(s->state);
    free(s->health);
    free(s->health_checked_by);
    free(s->url);
    for (size_t i = 0; i < s->n_ports; i++) {
        free(s->ports[i].host_ip);
        free(s->ports[i].reach_host);
    }
    free(s->ports);
    if (s->db) {
        free(s->db->root_password);
        free(s->db->user);
        free(s->db->password);
        free(s->db->database);
        free(s->db);
    }
}

void envmgr_env_state_free(envmgr_env_state_t *state)
{
    for (size_t i = 0; i < state->n_services; i++)
        service_state_clear(&state->services[i]);
    free(state->services);
    free(state->project);
    memset(state, 0, sizeof(*state));
}

static void set_string(char **field, const char *value)
{
    free(*field);
    *field = envmgr_xstrdup(value);
}

int envmgr_env_check_starting(envmgr_engine_t *engine, const envmgr_project_t *project,
                              envmgr_env_state_t *state, envmgr_error_t *err)
{
    for (size_t i = 0; i < state->n_services; i++) {
        envmgr_service_state_t *s = &state->services[i];
        const envmgr_service_t *service = envmgr_project_service(project, s->service);
        if (!service || !s->id || strcmp(s->health, "starting") != 0 ||
            strcmp(s->state, "running") != 0)
            continue;
        /* The image's healthcheck (in the container's Config) only where the file has none:
         * envmgr_env_inspect read the rest already. */
        envmgr_cleanup_json json_t *inspect = NULL;
        if (service->healthcheck.kind == ENVMGR_HEALTHCHECK_UNSET &&
            envmgr_engine_container_inspect(engine, s->id, &inspect, err) < 0)
            return -1;
        envmgr_healthcheck_t hc;
        if (!envmgr_health_resolve(service, inspect, &hc))
            continue;
        bool passed = false;
        envmgr_error_t probe_err = {0}; /* a check that cannot run says "starting" still */
        envmgr_health_probe(engine, s->id, &hc, &passed, &probe_err);
        envmgr_healthcheck_clear(&hc);
        if (passed)
            set_string(&s->health, "healthy");
        set_string(&s->health_checked_by, "envtest");
    }
    return 0;
}

bool envmgr_env_state_healthy(const envmgr_env_state_t *state)
{
    if (state->n_services == 0)
        return false;
    for (size_t i = 0; i < state->n_services; i++) {
        const envmgr_service_state_t *s = &state->services[i];
        if (s->url)
            continue; /* a real service: envtest does not run it */
        if (strcmp(s->state, "running") != 0)
            return false;
        if (strcmp(s->health, "none") != 0 && strcmp(s->health, "healthy") != 0 &&
            strcmp(s->health, "starting") != 0)
            return false;
    }
    return true;
}

bool envmgr_env_state_up(const envmgr_env_state_t *state)
{
    for (size_t i = 0; i < state->n_services; i++)
        if (state->services[i].id)
            return true;
    return false;
}

const envmgr_service_state_t *envmgr_env_state_service(const envmgr_env_state_t *state,
                                                       const char *service)
{
    for (size_t i = 0; i < state->n_services; i++)
        if (strcmp(state->services[i].service, service) == 0)
            return &state->services[i];
    return NULL;
}

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *envmgr_env_state_to_json(const envmgr_env_state_t *state)
{
    json_t *services = json_array();
    for (size_t i = 0; i < state->n_services; i++) {
        const envmgr_service_state_t *s = &state->services[i];
        json_t *ports = json_array();
        for (size_t p = 0; p < s->n_ports; p++)
            json_array_append_new(ports,
                                  json_pack("{s:i, s:s, s:s, s:i}", "container_port",
                                            s->ports[p].container_port, "protocol",
                                            s->ports[p].protocol, "host_ip", s->ports[p].host_ip,
                                            "host_port", s->ports[p].host_port));
        json_t *entry = json_pack("{s:s, s:o, s:o, s:s, s:s}", "service", s->service, "container",
                                  string_or_null(s->container), "id", string_or_null(s->id),
                                  "state", s->state, "health", s->health);
        if (s->id)
            json_object_set_new(entry, "health_checked_by", json_string(s->health_checked_by));
        if (s->url)
            json_object_set_new(entry, "url", json_string(s->url));
        json_object_set_new(entry, "ports", ports);
        json_array_append_new(services, entry);
    }
    return json_pack("{s:s, s:b, s:o}", "project", state->project, "kept", state->kept, "services",
                     services);
}

int envmgr_service_container(envmgr_engine_t *engine, const char *project_name, const char *service,
                             char **id_out, envmgr_error_t *err)
{
    envmgr_cleanup_free char *name = envmgr_project_container_name(project_name, service);
    envmgr_cleanup_json json_t *inspect = NULL;
    envmgr_cleanup_json json_t *list = NULL;
    envmgr_cleanup_free char *filter = envmgr_project_label_filter(project_name);
    envmgr_error_t list_err = {0};
    /* a service with container_name: found by its labels */
    if (envmgr_engine_container_list(engine, filter, true, &list, &list_err) == 0) {
        json_t *c = find_service_container(list, service);
        if (c) {
            free(name);
            name = envmgr_xstrdup(json_string_value(json_object_get(c, "Id")));
        }
    }
    if (envmgr_engine_container_inspect(engine, name, &inspect, err) < 0) {
        if (err->kind == ENVMGR_E_NOT_FOUND)
            envmgr_error_set(err, ENVMGR_E_NOT_FOUND, 404,
                             "service %s of project %s has no container (is it up?)", service,
                             project_name);
        return envmgr_error_hint(err, "run `envtest up` first");
    }
    *id_out = envmgr_xstrdup(json_string_value(json_object_get(inspect, "Id")));
    return 0;
}
