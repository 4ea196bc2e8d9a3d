/* Pod mode: one network namespace per environment, held by a pause container (see pod.h). */
#include "pod.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "project.h"
#include "scratch_image.h"
#include <envmgr/log.h>
#include <envmgr/util.h>

struct envmgr_pod {
    envmgr_engine_t *engine; /* the start thread's own handle */
    char *holder;            /* container name */
    char *holder_id;
    char hash[65];
    bool created; /* by this up */
    bool need_start;
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done; /* guarded by lock */
    envmgr_error_t start_err;
    int start_result;
};

int envmgr_pod_wanted(const envmgr_project_t *project, bool forced, bool *on, envmgr_error_t *err)
{
    json_t *pod = json_object_get(project->x_envtest, "pod");
    *on = forced;
    if (!pod || json_is_null(pod))
        return 0;
    if (!json_is_boolean(pod))
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                "%s: x-envtest.pod: expected true or false", project->file);
    *on = forced || json_is_true(pod);
    return 0;
}

static int refuse(const envmgr_project_t *p, const envmgr_service_t *s, const char *what,
                  envmgr_error_t *err)
{
    envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                     "%s:%d: service %s: %s, which pod mode (x-envtest.pod, up --pod: one network "
                     "namespace for all services) cannot keep",
                     p->file, s->line, s->name, what);
    return envmgr_error_hint(err, "change the service, or bring the project up without pod mode");
}

/* One container port of the pod: who listens on it. */
struct pod_port {
    int port;
    const char *protocol;
    const envmgr_service_t *service;
};

static int claim_port(const envmgr_project_t *p, const envmgr_service_t *s, int port,
                      const char *protocol, struct pod_port **ports, size_t *n, envmgr_error_t *err)
{
    for (size_t i = 0; i < *n; i++) {
        struct pod_port *q = &(*ports)[i];
        if (q->port != port || strcmp(q->protocol, protocol) != 0)
            continue;
        if (q->service == s)
            return 0; /* the same port published twice by one service */
        envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                         "%s:%d: service %s: container port %d/%s is also service %s's (line "
                         "%d): in pod mode (x-envtest.pod, up --pod) all services share one "
                         "network namespace, so two services cannot listen on one port",
                         p->file, s->line, s->name, port, protocol, q->service->name,
                         q->service->line);
        return envmgr_error_hint(err, "make one of them listen on another port, or bring the "
                                      "project up without pod mode");
    }
    *ports = envmgr_xrealloc(*ports, (*n + 1) * sizeof(**ports));
    (*ports)[(*n)++] = (struct pod_port){port, protocol, s};
    return 0;
}

static int check_service(const envmgr_project_t *p, const envmgr_service_t *s, envmgr_error_t *err)
{
    if (s->network_mode)
        return refuse(p, s, "it has network_mode", err);
    if (s->n_networks != 1 || strcmp(s->networks[0].key, "default") != 0)
        return refuse(p, s, "it is on networks other than the project's default one", err);
    const envmgr_service_network_t *n = &s->networks[0];
    if (n->aliases.n || n->ipv4_address || n->ipv6_address)
        return refuse(p, s, "it has network aliases or a fixed address", err);
    if (s->hostname)
        return refuse(p, s, "it sets hostname", err);
    if (s->extra_hosts.n || s->dns.n || s->dns_search.n || s->dns_opt.n)
        return refuse(p, s, "it sets extra_hosts or dns", err);
    if (s->links.n)
        return refuse(p, s, "it has links", err);
    return 0;
}

int envmgr_pod_check(const envmgr_project_t *p, envmgr_error_t *err)
{
    struct pod_port *ports = NULL;
    size_t n = 0;
    int r = 0;
    for (size_t i = 0; i < p->n_services && r == 0; i++) {
        const envmgr_service_t *s = &p->services[i];
        if (envmgr_project_real_url(p, s->name))
            continue;
        r = check_service(p, s, err);
        for (size_t k = 0; k < s->n_ports && r == 0; k++)
            r = claim_port(p, s, s->ports[k].container_port, s->ports[k].protocol, &ports, &n, err);
        for (size_t k = 0; k < s->n_expose && r == 0; k++)
            r = claim_port(p, s, s->expose[k], "tcp", &ports, &n, err);
    }
    free(ports);
    return r;
}

/* ---- the holder's image: envtest/pause:<digest of envtest-pause>, FROM scratch ------------- */

static const envmgr_scratch_program_t pause_program = {
    .name = "pause",
    .env_var = "ENVTEST_PAUSE_BIN",
    .what = "pod holder",
    .hint = "install envtest (cmake --install), or set ENVTEST_PAUSE_BIN to the built "
            "cmd/envtest-pause"};

/* ---- the holder ----------------------------------------------------------------------------- */

static char *holder_name(const envmgr_project_t *p)
{
    return envmgr_xasprintf("%s-pod-holder", p->name);
}

static json_t *holder_config(const envmgr_project_t *p, const char *image)
{
    envmgr_cleanup_free char *network = envmgr_project_network_engine_name(p, "default");
    json_t *exposed = json_object(), *bindings = json_object();
    json_t *hosts = json_array(), *aliases = json_array();
    for (size_t i = 0; i < p->n_services; i++) {
        const envmgr_service_t *s = &p->services[i];
        if (envmgr_project_real_url(p, s->name))
            continue;
        json_array_append_new(hosts, json_sprintf("%s:127.0.0.1", s->name));
        json_array_append_new(aliases, json_string(s->name));
        envmgr_project_port_bindings(s, exposed, bindings);
    }
    return json_pack("{s:s, s:{s:s, s:s}, s:o, s:{s:o, s:s, s:o}, s:{s:{s:{s:o}}}}", "Image", image,
                     "Labels", ENVMGR_LABEL_PROJECT, p->name, ENVMGR_LABEL_POD, "holder",
                     "ExposedPorts", exposed, "HostConfig", "PortBindings", bindings, "NetworkMode",
                     network, "ExtraHosts", hosts, "NetworkingConfig", "EndpointsConfig", network,
                     "Aliases", aliases);
}

static void *start_thread(void *arg)
{
    envmgr_pod_t *pod = arg;
    int r = envmgr_engine_container_start(pod->engine, pod->holder_id, &pod->start_err);
    if (r < 0)
        envmgr_error_wrap(&pod->start_err, "pod holder %s: start", pod->holder);
    pthread_mutex_lock(&pod->lock);
    pod->start_result = r;
    pod->done = true;
    pthread_cond_broadcast(&pod->cond);
    pthread_mutex_unlock(&pod->lock);
    return NULL;
}

/* Reuses a holder with the same hash (started when it is not running); removes another one. */
static int holder_existing(envmgr_engine_t *engine, const envmgr_project_t *p, envmgr_pod_t *pod,
                           envmgr_error_t *err)
{
    envmgr_cleanup_json json_t *existing = NULL;
    envmgr_error_t lookup_err = {0};
    if (envmgr_engine_container_inspect(engine, pod->holder, &existing, &lookup_err) < 0) {
        if (lookup_err.kind == ENVMGR_E_NOT_FOUND)
            return 0;
        *err = lookup_err;
        return -1;
    }
    json_t *labels = json_object_get(json_object_get(existing, "Config"), "Labels");
    const char *owner = json_string_value(json_object_get(labels, ENVMGR_LABEL_PROJECT));
    const char *hash = json_string_value(json_object_get(labels, ENVMGR_LABEL_CONFIG_HASH));
    if (!owner || strcmp(owner, p->name) != 0 || !json_object_get(labels, ENVMGR_LABEL_POD)) {
        envmgr_error_set(err, ENVMGR_E_ENV, 409,
                         "container name %s (the pod holder) is in use by a container of %s",
                         pod->holder, owner ? owner : "another program");
        return envmgr_error_hint(err, "remove it, or choose another project name with -p");
    }
    if (hash && strcmp(hash, pod->hash) == 0) {
        pod->holder_id = envmgr_xstrdup(json_string_value(json_object_get(existing, "Id")));
        json_t *running = json_object_get(json_object_get(existing, "State"), "Running");
        pod->need_start = !json_is_true(running);
        return 0;
    }
    envmgr_info("pod holder %s: ports or services changed, recreating", pod->holder);
    return envmgr_engine_container_remove(engine, pod->holder, true, true, err);
}

int envmgr_pod_open(envmgr_engine_t *engine, const envmgr_project_t *p, envmgr_pod_t **out,
                    envmgr_error_t *err)
{
    *out = NULL;
    envmgr_cleanup_free char *image = NULL;
    if (envmgr_scratch_image_ensure(engine, &pause_program, &image, err) < 0)
        return -1;
    envmgr_pod_t *pod = envmgr_xcalloc(1, sizeof(*pod));
    pthread_mutex_init(&pod->lock, NULL);
    pthread_cond_init(&pod->cond, NULL);
    pod->holder = holder_name(p);
    envmgr_cleanup_json json_t *config = holder_config(p, image);
    char *text = json_dumps(config, JSON_SORT_KEYS | JSON_COMPACT);
    envmgr_sha256_hex(text, strlen(text), pod->hash);
    free(text);
    json_object_set_new(json_object_get(config, "Labels"), ENVMGR_LABEL_CONFIG_HASH,
                        json_string(pod->hash));
    *out = pod;
    if (holder_existing(engine, p, pod, err) < 0)
        return -1;
    if (!pod->holder_id) {
        if (envmgr_engine_container_create(engine, pod->holder, config, &pod->holder_id, err) < 0)
            return envmgr_error_wrap(err, "pod holder %s", pod->holder);
        pod->created = true;
        pod->need_start = true;
    }
    if (!pod->need_start) {
        pod->done = true;
        return 0;
    }
    if (envmgr_engine_dup(engine, &pod->engine, err) < 0)
        return -1;
    if (pthread_create(&pod->thread, NULL, start_thread, pod) != 0)
        return envmgr_error_errno(err, errno, "pod holder: start a thread");
    pod->thread_started = true;
    return 0;
}

int envmgr_pod_wait_running(envmgr_pod_t *pod, envmgr_error_t *err)
{
    pthread_mutex_lock(&pod->lock);
    while (!pod->done)
        pthread_cond_wait(&pod->cond, &pod->lock);
    int r = pod->start_result;
    pthread_mutex_unlock(&pod->lock);
    if (r < 0)
        return envmgr_error_set(err, pod->start_err.kind, pod->start_err.code, "%s",
                                pod->start_err.message);
    return 0;
}

void envmgr_pod_config_hash(const envmgr_pod_t *pod, const envmgr_service_t *service,
                            const char *image_id, char out[65])
{
    envmgr_cleanup_free char *key =
        envmgr_xasprintf("%s pod %s", image_id ? image_id : "", pod->hash);
    envmgr_project_config_hash(service, key, out);
}

void envmgr_pod_container_config(const envmgr_pod_t *pod, const envmgr_service_t *s, json_t *config)
{
    json_t *host = json_object_get(config, "HostConfig");
    json_object_set_new(host, "NetworkMode", json_sprintf("container:%s", pod->holder));
    json_object_del(host, "PortBindings");
    json_object_del(config, "ExposedPorts");
    json_object_del(config, "NetworkingConfig");
    envmgr_buf_t ports = ENVMGR_BUF_INIT;
    for (size_t i = 0; i < s->n_ports; i++)
        envmgr_buf_addf(&ports, "%s%d/%s", ports.len ? "," : "", s->ports[i].container_port,
                        s->ports[i].protocol);
    for (size_t i = 0; i < s->n_expose; i++)
        envmgr_buf_addf(&ports, "%s%d/tcp", ports.len ? "," : "", s->expose[i]);
    json_object_set_new(json_object_get(config, "Labels"), ENVMGR_LABEL_POD_PORTS,
                        json_string(ports.data ? ports.data : ""));
    envmgr_buf_free(&ports);
}

void envmgr_pod_close(envmgr_engine_t *engine, envmgr_pod_t *pod, bool failed)
{
    if (!pod)
        return;
    if (pod->thread_started)
        pthread_join(pod->thread, NULL);
    if (failed && pod->created) {
        envmgr_error_t ignored = {0};
        envmgr_engine_container_remove(engine, pod->holder, true, true, &ignored);
    }
    if (pod->engine)
        envmgr_engine_close(pod->engine);
    pthread_cond_destroy(&pod->cond);
    pthread_mutex_destroy(&pod->lock);
    free(pod->holder);
    free(pod->holder_id);
    free(pod);
}

const char *envmgr_pod_ports_label(json_t *inspect)
{
    json_t *labels = json_object_get(json_object_get(inspect, "Config"), "Labels");
    return json_string_value(json_object_get(labels, ENVMGR_LABEL_POD_PORTS));
}

int envmgr_pod_holder_inspect(envmgr_engine_t *engine, json_t *inspect, json_t **holder,
                              envmgr_error_t *err)
{
    *holder = NULL;
    const char *mode =
        json_string_value(json_object_get(json_object_get(inspect, "HostConfig"), "NetworkMode"));
    if (!envmgr_pod_ports_label(inspect) || !mode || strncmp(mode, "container:", 10) != 0)
        return 0;
    return envmgr_engine_container_inspect(engine, mode + 10, holder, err);
}

size_t envmgr_pod_tcp_ports(json_t *inspect, int *ports, size_t max)
{
    const char *label = envmgr_pod_ports_label(inspect);
    size_t n = 0;
    for (const char *p = label; p && *p && n < max;) {
        int port = 0;
        char proto[8] = "";
        if (sscanf(p, "%d/%7[a-z]", &port, proto) == 2 && strcmp(proto, "tcp") == 0)
            ports[n++] = port;
        p = strchr(p, ',');
        p = p ? p + 1 : NULL;
    }
    return n;
}

int envmgr_pod_remove_stale(envmgr_engine_t *engine, const envmgr_project_t *p, envmgr_error_t *err)
{
    envmgr_cleanup_free char *holder = holder_name(p);
    envmgr_cleanup_json json_t *existing = NULL;
    envmgr_error_t lookup_err = {0};
    if (envmgr_engine_container_inspect(engine, holder, &existing, &lookup_err) < 0)
        return lookup_err.kind == ENVMGR_E_NOT_FOUND ? 0 : (*err = lookup_err, -1);
    json_t *labels = json_object_get(json_object_get(existing, "Config"), "Labels");
    const char *owner = json_string_value(json_object_get(labels, ENVMGR_LABEL_PROJECT));
    if (!owner || strcmp(owner, p->name) != 0 || !json_object_get(labels, ENVMGR_LABEL_POD))
        return 0;
    envmgr_info("pod holder %s: not in pod mode any more, removing it", holder);
    return envmgr_engine_container_remove(engine, holder, true, true, err);
}
