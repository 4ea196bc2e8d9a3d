#include "project.h"

#include <ctype.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <envmgr/util.h>

char *envmgr_project_container_name(const char *project, const char *service)
{
    return envmgr_xasprintf("%s-%s-1", project, service);
}

char *envmgr_project_network_name(const char *project)
{
    return envmgr_xasprintf("%s_default", project);
}

char *envmgr_project_volume_name(const char *project, const envmgr_volume_def_t *volume)
{
    if (volume->name)
        return envmgr_xstrdup(volume->name);
    return envmgr_xasprintf("%s_%s", project, volume->key);
}

char *envmgr_project_image_name(const char *project, const char *service)
{
    return envmgr_xasprintf("%s-%s:latest", project, service);
}

char *envmgr_project_label_filter(const char *project)
{
    return envmgr_xasprintf("%s=%s", "io.envtest.project", project);
}

char *envmgr_project_env_stem(const char *service)
{
    char *stem = envmgr_xstrdup(service);
    for (char *p = stem; *p; p++)
        *p = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
    return stem;
}

char *envmgr_service_image(const envmgr_project_t *project, const envmgr_service_t *service)
{
    if (service->image && (!service->build || strchr(service->image, ':')))
        return envmgr_xstrdup(service->image);
    if (service->image)
        return envmgr_xasprintf("%s:latest", service->image);
    return envmgr_project_image_name(project->name, service->name);
}

static ssize_t service_index(const envmgr_project_t *project, const char *name)
{
    for (size_t i = 0; i < project->n_services; i++)
        if (strcmp(project->services[i].name, name) == 0)
            return (ssize_t)i;
    return -1;
}

enum mark { UNVISITED, VISITING, DONE };

static int plan_visit(const envmgr_project_t *project, size_t i, enum mark *marks, size_t *order,
                      size_t *n, envmgr_error_t *err)
{
    if (marks[i] == DONE)
        return 0;
    if (envmgr_project_real_url(project, project->services[i].name)) {
        marks[i] = DONE; /* a real service: not started, nor what it depends on for it */
        return 0;
    }
    if (marks[i] == VISITING)
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                "%s: dependency cycle through service '%s'", project->file,
                                project->services[i].name);
    marks[i] = VISITING;
    const envmgr_service_t *s = &project->services[i];
    for (size_t d = 0; d < s->n_depends_on; d++) {
        ssize_t j = service_index(project, s->depends_on[d].service);
        if (j < 0) {
            if (!s->depends_on[d].required)
                continue;
            return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                    "%s:%d: service '%s' depends on unknown service '%s'",
                                    project->file, s->line, s->name, s->depends_on[d].service);
        }
        if (plan_visit(project, (size_t)j, marks, order, n, err) < 0)
            return -1;
    }
    marks[i] = DONE;
    order[(*n)++] = i;
    return 0;
}

int envmgr_project_plan(const envmgr_project_t *project, const char *const *names, size_t **order,
                        size_t *n_order, envmgr_error_t *err)
{
    enum mark *marks = envmgr_xcalloc(project->n_services, sizeof(*marks));
    size_t *out = envmgr_xcalloc(project->n_services, sizeof(*out));
    size_t n = 0;
    int ret = 0;
    if (names) {
        for (size_t k = 0; names[k] && ret == 0; k++) {
            ssize_t i = service_index(project, names[k]);
            if (i < 0) {
                ret = envmgr_error_set(err, ENVMGR_E_USAGE, 0, "no such service: '%s' (in %s)",
                                       names[k], project->file);
                break;
            }
            ret = plan_visit(project, (size_t)i, marks, out, &n, err);
        }
    } else {
        for (size_t i = 0; i < project->n_services && ret == 0; i++)
            ret = plan_visit(project, i, marks, out, &n, err);
    }
    free(marks);
    if (ret < 0) {
        free(out);
        return -1;
    }
    *order = out;
    *n_order = n;
    return 0;
}

static json_t *strv_json(const envmgr_strv_t *v)
{
    json_t *a = json_array();
    for (size_t i = 0; i < v->n; i++)
        json_array_append_new(a, json_string(v->items[i]));
    return a;
}

static json_t *healthcheck_json(const envmgr_healthcheck_t *h)
{
    json_t *test = json_array();
    switch (h->kind) {
    case ENVMGR_HEALTHCHECK_NONE:
        json_array_append_new(test, json_string("NONE"));
        break;
    case ENVMGR_HEALTHCHECK_CMD:
        json_array_append_new(test, json_string("CMD"));
        for (size_t i = 0; i < h->test.n; i++)
            json_array_append_new(test, json_string(h->test.items[i]));
        break;
    case ENVMGR_HEALTHCHECK_CMD_SHELL:
        json_array_append_new(test, json_string("CMD-SHELL"));
        if (h->test.n)
            json_array_append_new(test, json_string(h->test.items[0]));
        break;
    case ENVMGR_HEALTHCHECK_UNSET:
        break;
    }
    /* The engine's own schedule still runs (docker ps shows health); envtest polls faster itself.
     */
    return json_pack("{s:o, s:I, s:I, s:I, s:i}", "Test", test, "Interval",
                     (json_int_t)h->interval_ms * 1000000, "Timeout",
                     (json_int_t)h->timeout_ms * 1000000, "StartPeriod",
                     (json_int_t)h->start_period_ms * 1000000, "Retries", h->retries);
}

static json_t *mounts_json(const envmgr_project_t *project, const envmgr_service_t *s)
{
    json_t *mounts = json_array();
    for (size_t i = 0; i < s->n_mounts; i++) {
        const envmgr_mount_t *m = &s->mounts[i];
        json_t *j = json_pack("{s:s, s:b}", "Target", m->target, "ReadOnly", m->read_only);
        switch (m->type) {
        case ENVMGR_MOUNT_VOLUME: {
            json_object_set_new(j, "Type", json_string("volume"));
            if (m->source) {
                char *name = NULL;
                for (size_t v = 0; v < project->n_volumes; v++)
                    if (strcmp(project->volumes[v].key, m->source) == 0)
                        name = envmgr_project_volume_name(project->name, &project->volumes[v]);
                if (!name)
                    name = envmgr_xasprintf("%s_%s", project->name, m->source);
                json_object_set_new(j, "Source", json_string(name));
                free(name);
            }
            break;
        }
        case ENVMGR_MOUNT_BIND:
            json_object_set_new(j, "Type", json_string("bind"));
            json_object_set_new(j, "Source", json_string(m->source));
            break;
        case ENVMGR_MOUNT_TMPFS:
            json_object_set_new(j, "Type", json_string("tmpfs"));
            if (m->tmpfs_size > 0)
                json_object_set_new(j, "TmpfsOptions",
                                    json_pack("{s:I}", "SizeBytes", (json_int_t)m->tmpfs_size));
            break;
        }
        json_array_append_new(mounts, j);
    }
    return mounts;
}

json_t *envmgr_project_container_config(const envmgr_project_t *project, const envmgr_service_t *s,
                                        const char *image, const char *config_hash)
{
    envmgr_cleanup_free char *network = envmgr_project_network_name(project->name);
    json_t *env = json_array();
    for (size_t i = 0; i < s->environment.n; i++) {
        const envmgr_kv_t *kv = &s->environment.items[i];
        if (kv->value)
            json_array_append_new(env, json_sprintf("%s=%s", kv->key, kv->value));
    }
    json_t *labels = json_object();
    for (size_t i = 0; i < s->labels.n; i++)
        json_object_set_new(labels, s->labels.items[i].key,
                            json_string(s->labels.items[i].value ? s->labels.items[i].value : ""));
    json_object_set_new(labels, "io.envtest.project", json_string(project->name));
    json_object_set_new(labels, "io.envtest.service", json_string(s->name));
    json_object_set_new(labels, "io.envtest.config-hash", json_string(config_hash));
    json_object_set_new(labels, "com.docker.compose.project", json_string(project->name));
    json_object_set_new(labels, "com.docker.compose.service", json_string(s->name));

    json_t *exposed = json_object();
    json_t *bindings = json_object();
    envmgr_project_port_bindings(s, exposed, bindings);

    json_t *host = json_pack("{s:o, s:s, s:o, s:b}", "PortBindings", bindings, "NetworkMode",
                             network, "Mounts", mounts_json(project, s), "Init", s->init);
    json_t *aliases = json_pack("[s]", s->name);
    json_t *config = json_pack("{s:s, s:o, s:o, s:o, s:o, s:{s:{s:{s:o}}}}", "Image", image, "Env",
                               env, "Labels", labels, "ExposedPorts", exposed, "HostConfig", host,
                               "NetworkingConfig", "EndpointsConfig", network, "Aliases", aliases);
    if (s->has_command)
        json_object_set_new(config, "Cmd", strv_json(&s->command));
    if (s->has_entrypoint)
        json_object_set_new(config, "Entrypoint", strv_json(&s->entrypoint));
    if (s->working_dir)
        json_object_set_new(config, "WorkingDir", json_string(s->working_dir));
    if (s->user)
        json_object_set_new(config, "User", json_string(s->user));
    if (s->healthcheck.kind != ENVMGR_HEALTHCHECK_UNSET)
        json_object_set_new(config, "Healthcheck", healthcheck_json(&s->healthcheck));
    envmgr_project_container_compat(project, s, config);
    return config;
}

void envmgr_project_config_hash(const envmgr_service_t *service, const char *image_id, char out[65])
{
    json_t *j = envmgr_service_to_json(service);
    json_object_set_new(j, "image_id", json_string(image_id ? image_id : ""));
    char *text = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    envmgr_sha256_hex(text, strlen(text), out);
    free(text);
    json_decref(j);
}

void envmgr_project_port_bindings(const envmgr_service_t *s, json_t *exposed, json_t *bindings)
{
    for (size_t i = 0; i < s->n_ports; i++) {
        const envmgr_port_t *p = &s->ports[i];
        envmgr_cleanup_free char *key = envmgr_xasprintf("%d/%s", p->container_port, p->protocol);
        json_object_set_new(exposed, key, json_object());
        json_t *list = json_object_get(bindings, key);
        if (!list) {
            list = json_array();
            json_object_set_new(bindings, key, list);
        }
        envmgr_cleanup_free char *host_port =
            p->host_port ? envmgr_xasprintf("%d", p->host_port) : envmgr_xstrdup("");
        json_array_append_new(list,
                              json_pack("{s:s, s:s}", "HostIp", p->host_ip, "HostPort", host_port));
    }
    for (size_t i = 0; i < s->n_expose; i++) {
        envmgr_cleanup_free char *key = envmgr_xasprintf("%d/tcp", s->expose[i]);
        json_object_set_new(exposed, key, json_object());
    }
}

char *envmgr_project_sibling_program(const char *env_var, const char *name)
{
    const char *env = getenv(env_var);
    if (env && *env)
        return envmgr_xstrdup(env);
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return NULL;
    self[n] = '\0';
    return envmgr_xasprintf("%s/%s", dirname(self), name);
}

const char *envmgr_project_container_env(json_t *env, const char *key)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i < json_array_size(env); i++) {
        const char *e = json_string_value(json_array_get(env, i));
        if (e && strncmp(e, key, klen) == 0 && e[klen] == '=')
            return e + klen + 1;
    }
    return NULL;
}
