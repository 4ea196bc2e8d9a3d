/* down, status, env, keep: everything found again by the project label. */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "project.h"
#include <envmgr/lifecycle.h>
#include <envmgr/log.h>

/* Containers are removed in parallel, one thread each. Each first disconnects its container from
 * the project's networks (force), so that the networks can be removed while the containers are
 * still being killed and deleted, instead of after. */
struct remove_batch {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t disconnected; /* jobs past their disconnect step */
};

struct remove_job {
    const envmgr_engine_t *engine;
    struct remove_batch *batch;
    const char *id;
    const char *service;
    json_t *networks; /* the container's NetworkSettings.Networks (borrowed) */
    bool volumes;
    envmgr_progress_cb progress;
    void *userdata;
    int64_t t0;
    envmgr_error_t err;
    int result;
};

static void remove_job_disconnected(struct remove_job *job)
{
    pthread_mutex_lock(&job->batch->lock);
    job->batch->disconnected++;
    pthread_cond_broadcast(&job->batch->cond);
    pthread_mutex_unlock(&job->batch->lock);
}

static void disconnect_all(envmgr_engine_t *engine, struct remove_job *job)
{
    const char *name;
    json_t *net;
    json_object_foreach(job->networks, name, net)
    {
        const char *network_id = json_string_value(json_object_get(net, "NetworkID"));
        envmgr_cleanup_free char *path =
            envmgr_xasprintf("/networks/%s/disconnect", network_id ? network_id : name);
        envmgr_cleanup_json json_t *body =
            json_pack("{s:s, s:b}", "Container", job->id, "Force", 1);
        envmgr_error_t ignored = {0}; /* the removal below is what must succeed */
        envmgr_engine_request(engine, "POST", path, body, NULL, &ignored);
    }
}

static void *remove_thread(void *arg)
{
    struct remove_job *job = arg;
    envmgr_engine_t *engine = NULL;
    job->result = envmgr_engine_dup(job->engine, &engine, &job->err);
    if (job->result < 0) {
        remove_job_disconnected(job);
        return NULL;
    }
    if (job->progress)
        job->progress(job->userdata, job->service, ENVMGR_PHASE_REMOVING, envmgr_now_ms() - job->t0,
                      NULL);
    disconnect_all(engine, job);
    remove_job_disconnected(job);
    job->result = envmgr_engine_container_remove(engine, job->id, true, job->volumes, &job->err);
    if (job->result < 0 && job->err.kind == ENVMGR_E_NOT_FOUND)
        job->result = 0; /* already gone: fine */
    if (job->result == 0 && job->progress)
        job->progress(job->userdata, job->service, ENVMGR_PHASE_REMOVED, envmgr_now_ms() - job->t0,
                      NULL);
    envmgr_engine_close(engine);
    return NULL;
}

/* Removes the networks of the list (by id); counts them in *count. */
static int remove_networks(envmgr_engine_t *engine, json_t *networks, int *count,
                           envmgr_error_t *err)
{
    for (size_t i = 0; i < json_array_size(networks); i++) {
        const char *id = json_string_value(json_object_get(json_array_get(networks, i), "Id"));
        if (envmgr_engine_network_remove(engine, id, err) == 0)
            (*count)++;
        else if (err->kind != ENVMGR_E_NOT_FOUND)
            return -1;
    }
    return 0;
}

static int remove_containers_and_networks(envmgr_engine_t *engine, json_t *list, json_t *networks,
                                          bool volumes, envmgr_progress_cb progress, void *userdata,
                                          int *removed, envmgr_error_t *err)
{
    size_t n = json_array_size(list);
    if (n == 0)
        return remove_networks(engine, networks, removed, err);
    struct remove_batch batch = {.disconnected = 0};
    pthread_mutex_init(&batch.lock, NULL);
    pthread_cond_init(&batch.cond, NULL);
    struct remove_job *jobs = envmgr_xcalloc(n, sizeof(*jobs));
    pthread_t *threads = envmgr_xcalloc(n, sizeof(*threads));
    bool *started = envmgr_xcalloc(n, sizeof(*started));
    int64_t t0 = envmgr_now_ms();
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(list, i);
        jobs[i].engine = engine;
        jobs[i].batch = &batch;
        jobs[i].id = json_string_value(json_object_get(c, "Id"));
        jobs[i].service =
            json_string_value(json_object_get(json_object_get(c, "Labels"), ENVMGR_LABEL_SERVICE));
        if (!jobs[i].service)
            jobs[i].service = jobs[i].id;
        jobs[i].networks = json_object_get(json_object_get(c, "NetworkSettings"), "Networks");
        jobs[i].volumes = volumes;
        jobs[i].progress = progress;
        jobs[i].userdata = userdata;
        jobs[i].t0 = t0;
        started[i] = pthread_create(&threads[i], NULL, remove_thread, &jobs[i]) == 0;
        if (!started[i])
            remove_thread(&jobs[i]);
    }
    /* the networks go as soon as every container is off them */
    pthread_mutex_lock(&batch.lock);
    while (batch.disconnected < n)
        pthread_cond_wait(&batch.cond, &batch.lock);
    pthread_mutex_unlock(&batch.lock);
    int network_count = 0;
    envmgr_error_t network_err = {0};
    int network_ret = remove_networks(engine, networks, &network_count, &network_err);

    int ret = 0;
    for (size_t i = 0; i < n; i++) {
        if (started[i])
            pthread_join(threads[i], NULL);
        if (jobs[i].result < 0 && ret == 0) {
            ret = envmgr_error_set(err, jobs[i].err.kind, jobs[i].err.code, "remove %s: %s",
                                   jobs[i].service, jobs[i].err.message);
        } else if (jobs[i].result == 0 && removed) {
            (*removed)++;
        }
    }
    /* A network that still had an endpoint (a container this run did not list) goes now. */
    if (ret == 0 && network_ret < 0) {
        envmgr_error_clear(&network_err);
        network_ret = remove_networks(engine, networks, &network_count, &network_err);
    }
    if (ret == 0 && network_ret < 0)
        ret = envmgr_error_set(err, network_err.kind, network_err.code, "%s", network_err.message);
    if (removed)
        *removed += network_count;
    free(jobs);
    free(threads);
    free(started);
    pthread_cond_destroy(&batch.cond);
    pthread_mutex_destroy(&batch.lock);
    return ret;
}

int envmgr_down(envmgr_engine_t *engine, const char *project_name, bool volumes,
                envmgr_progress_cb progress, void *userdata, int *removed, envmgr_error_t *err)
{
    envmgr_cleanup_free char *filter = envmgr_project_label_filter(project_name);
    int count = 0;
    envmgr_cleanup_json json_t *containers = NULL;
    envmgr_cleanup_json json_t *networks = NULL;
    if (envmgr_engine_container_list(engine, filter, true, &containers, err) < 0 ||
        envmgr_engine_network_list(engine, filter, &networks, err) < 0)
        return envmgr_error_wrap(err, "down %s", project_name);
    envmgr_project_files_remove(project_name);
    int ret = remove_containers_and_networks(engine, containers, networks, volumes, progress,
                                             userdata, &count, err);

    /* The keep mark always goes with the environment; other volumes only with -v. */
    envmgr_cleanup_json json_t *vols = NULL;
    if (ret == 0 && envmgr_engine_volume_list(engine, filter, &vols, err) < 0)
        ret = -1;
    for (size_t i = 0; ret == 0 && i < json_array_size(vols); i++) {
        json_t *v = json_array_get(vols, i);
        const char *name = json_string_value(json_object_get(v, "Name"));
        bool is_keep = json_object_get(json_object_get(v, "Labels"), ENVMGR_LABEL_KEEP) != NULL;
        if (!volumes && !is_keep)
            continue;
        if (envmgr_engine_volume_remove(engine, name, true, err) == 0) {
            if (!is_keep)
                count++;
        } else if (err->kind != ENVMGR_E_NOT_FOUND) {
            ret = -1;
        }
    }
    if (ret < 0)
        return envmgr_error_wrap(err, "down %s", project_name);
    envmgr_error_clear(err);
    if (removed)
        *removed = count;
    return 0;
}

int envmgr_down_images(envmgr_engine_t *engine, const char *project_name, int *removed,
                       envmgr_error_t *err)
{
    envmgr_cleanup_free char *filter = envmgr_project_label_filter(project_name);
    envmgr_cleanup_json json_t *images = NULL;
    if (envmgr_engine_image_list(engine, filter, &images, err) < 0)
        return envmgr_error_wrap(err, "images of %s", project_name);
    int count = 0;
    for (size_t i = 0; i < json_array_size(images); i++) {
        json_t *image = json_array_get(images, i);
        json_t *tags = json_object_get(image, "RepoTags");
        /* By tag: one build context can be tagged for several services (same image id), and
         * removing the last tag removes the image. An untagged image goes by id. */
        size_t n_tags = json_array_size(tags);
        for (size_t t = 0; t < (n_tags ? n_tags : 1); t++) {
            const char *name = n_tags ? json_string_value(json_array_get(tags, t))
                                      : json_string_value(json_object_get(image, "Id"));
            envmgr_error_t rm_err = {0};
            if (!name || strcmp(name, "<none>:<none>") == 0)
                continue;
            if (envmgr_engine_image_remove(engine, name, false, &rm_err) == 0)
                count++;
            else if (rm_err.kind != ENVMGR_E_NOT_FOUND)
                envmgr_warn("image %s of %s stays: %s", name, project_name, rm_err.message);
        }
    }
    if (removed)
        *removed = count;
    return 0;
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
    if (envmgr_engine_container_list(engine, filter, true, &list, &list_err) == 0)
        for (size_t i = 0; i < json_array_size(list); i++) {
            json_t *c = json_array_get(list, i);
            const char *svc = json_string_value(
                json_object_get(json_object_get(c, "Labels"), "io.envtest.service"));
            if (svc && !strcmp(svc, service)) {
                free(name);
                name = envmgr_xstrdup(json_string_value(json_object_get(c, "Id")));
                break;
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

static json_t *ports_json(json_t *inspect)
{
    json_t *out = json_array();
    json_t *ports = json_object_get(json_object_get(inspect, "NetworkSettings"), "Ports");
    const char *key;
    json_t *bindings;
    json_object_foreach(ports, key, bindings)
    {
        int cport = 0;
        char proto[8] = "tcp";
        sscanf(key, "%d/%7s", &cport, proto);
        for (size_t i = 0; i < json_array_size(bindings); i++) {
            json_t *b = json_array_get(bindings, i);
            const char *ip = json_string_value(json_object_get(b, "HostIp"));
            const char *hp = json_string_value(json_object_get(b, "HostPort"));
            if (ip && strchr(ip, ':'))
                continue; /* IPv6 duplicate of the same binding */
            json_array_append_new(out, json_pack("{s:i, s:s, s:s, s:i}", "container_port", cport,
                                                 "protocol", proto, "host_ip", ip ? ip : "",
                                                 "host_port", hp ? atoi(hp) : 0));
        }
    }
    return out;
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

int envmgr_status(envmgr_engine_t *engine, const envmgr_project_t *project, json_t **out,
                  envmgr_error_t *err)
{
    envmgr_cleanup_free char *filter = envmgr_project_label_filter(project->name);
    envmgr_cleanup_json json_t *containers = NULL;
    if (envmgr_engine_container_list(engine, filter, true, &containers, err) < 0)
        return envmgr_error_wrap(err, "status %s", project->name);
    bool kept = false;
    if (envmgr_keep_get(engine, project->name, &kept, err) < 0)
        return -1;
    json_t *services = json_array();
    for (size_t i = 0; i < project->n_services; i++) {
        const char *name = project->services[i].name;
        json_t *c = find_service_container(containers, name);
        if (envmgr_project_real_url(project, name)) {
            json_array_append_new(services, envmgr_real_status(project, name));
            continue; /* a container left from the mock is removed by the next up */
        }
        if (!c) {
            json_array_append_new(services, json_pack("{s:s, s:n, s:n, s:s, s:s, s:[]}", "service",
                                                      name, "container", "id", "state", "missing",
                                                      "health", "none", "ports"));
            continue;
        }
        const char *id = json_string_value(json_object_get(c, "Id"));
        envmgr_cleanup_json json_t *inspect = NULL;
        if (envmgr_engine_container_inspect(engine, id, &inspect, err) < 0) {
            json_decref(services);
            return -1;
        }
        json_t *state = json_object_get(inspect, "State");
        const char *health =
            json_string_value(json_object_get(json_object_get(state, "Health"), "Status"));
        const char *cname = json_string_value(json_object_get(inspect, "Name"));
        json_array_append_new(
            services,
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "service", name, "container",
                      cname ? (cname[0] == '/' ? cname + 1 : cname) : "", "id", id, "state",
                      json_string_value(json_object_get(state, "Status")) ?: "unknown", "health",
                      health ? health : "none", "health_checked_by", health ? "engine" : "none",
                      "ports", ports_json(inspect)));
    }
    *out =
        json_pack("{s:s, s:b, s:o}", "project", project->name, "kept", kept, "services", services);
    return 0;
}

int envmgr_status_check_starting(envmgr_engine_t *engine, const envmgr_project_t *project,
                                 json_t *status, envmgr_error_t *err)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(status, "services"), i, s)
    {
        const char *health = json_string_value(json_object_get(s, "health"));
        const char *state = json_string_value(json_object_get(s, "state"));
        const char *id = json_string_value(json_object_get(s, "id"));
        const envmgr_service_t *service =
            envmgr_project_service(project, json_string_value(json_object_get(s, "service")));
        if (!service || !id || strcmp(health ?: "", "starting") != 0 ||
            strcmp(state ?: "", "running") != 0)
            continue;
        /* The image's healthcheck (in the container's Config) only where the file has none:
         * envmgr_status inspected the container already, and needs no second look otherwise. */
        envmgr_cleanup_json json_t *inspect = NULL;
        if (service->healthcheck.kind == ENVMGR_HEALTHCHECK_UNSET &&
            envmgr_engine_container_inspect(engine, id, &inspect, err) < 0)
            return -1;
        envmgr_healthcheck_t hc;
        if (!envmgr_health_resolve(service, inspect, &hc))
            continue;
        bool passed = false;
        envmgr_error_t probe_err = {0}; /* a check that cannot run says "starting" still */
        envmgr_health_probe(engine, id, &hc, &passed, &probe_err);
        envmgr_healthcheck_clear(&hc);
        if (passed)
            json_object_set_new(s, "health", json_string("healthy"));
        json_object_set_new(s, "health_checked_by", json_string("envtest"));
    }
    return 0;
}

bool envmgr_status_all_healthy(const json_t *status)
{
    json_t *services = json_object_get(status, "services");
    if (json_array_size(services) == 0)
        return false;
    for (size_t i = 0; i < json_array_size(services); i++) {
        json_t *s = json_array_get(services, i);
        const char *state = json_string_value(json_object_get(s, "state"));
        const char *health = json_string_value(json_object_get(s, "health"));
        if (state && strcmp(state, "real") == 0)
            continue; /* a real service: envtest does not run it */
        if (!state || strcmp(state, "running") != 0)
            return false;
        if (health && strcmp(health, "none") != 0 && strcmp(health, "healthy") != 0 &&
            strcmp(health, "starting") != 0)
            return false;
    }
    return true;
}

static const char *env_lookup(json_t *env, const char *key)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i < json_array_size(env); i++) {
        const char *e = json_string_value(json_array_get(env, i));
        if (e && strncmp(e, key, klen) == 0 && e[klen] == '=')
            return e + klen + 1;
    }
    return NULL;
}

static char *url_escape(const char *s)
{
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || strchr("-._~", *p))
            envmgr_buf_add(&b, p, 1);
        else
            envmgr_buf_addf(&b, "%%%02X", *p);
    }
    return envmgr_buf_detach(&b);
}

static void add_mysql_vars(envmgr_kvlist_t *out, json_t *env, int port)
{
    const char *db = env_lookup(env, "MYSQL_DATABASE");
    const char *user = env_lookup(env, "MYSQL_USER");
    const char *password = env_lookup(env, "MYSQL_PASSWORD");
    if (!user) {
        user = "root";
        password = env_lookup(env, "MYSQL_ROOT_PASSWORD");
    }
    envmgr_cleanup_free char *u = url_escape(user);
    envmgr_cleanup_free char *pw = url_escape(password ? password : "");
    envmgr_cleanup_free char *url =
        envmgr_xasprintf("mysql://%s:%s@127.0.0.1:%d/%s", u, pw, port, db ? db : "");
    envmgr_kvlist_set(out, "DATABASE_URL", url);
    envmgr_kvlist_set(out, "ENVTEST_MYSQL_USER", user);
    envmgr_kvlist_set(out, "ENVTEST_MYSQL_PASSWORD", password ? password : "");
    envmgr_kvlist_set(out, "ENVTEST_MYSQL_DATABASE", db ? db : "");
}

static const char *x_environment_lookup(void *userdata, const char *name)
{
    const envmgr_project_t *project = ((void **)userdata)[0];
    const envmgr_kv_t *kv = envmgr_kvlist_find(((void **)userdata)[1], name);
    if (!kv)
        kv = envmgr_kvlist_find(&project->secret_values, name);
    return kv ? kv->value : NULL;
}

/* x-envtest.environment: values interpolated again against the variables above and the secrets
 * (written $${ENVTEST_SCA_API_PORT} in the file, since they are known only once the project is up).
 */
static int add_x_environment(const envmgr_project_t *project, envmgr_kvlist_t *out,
                             envmgr_error_t *err)
{
    const char *key;
    json_t *value;
    void *lookup[2] = {(void *)project, out};
    json_object_foreach(json_object_get(project->x_envtest, "environment"), key, value)
    {
        char *expanded = NULL;
        if (!json_is_string(value))
            return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                    "x-envtest.environment.%s: must be a string", key);
        if (envmgr_compose_interpolate(json_string_value(value), x_environment_lookup, lookup,
                                       &expanded, err) < 0)
            return envmgr_error_wrap(err, "x-envtest.environment.%s", key);
        envmgr_kvlist_set(out, key, expanded);
        free(expanded);
    }
    return 0;
}

int envmgr_env_vars(envmgr_engine_t *engine, const envmgr_project_t *project, envmgr_kvlist_t *out,
                    envmgr_error_t *err)
{
    envmgr_cleanup_json json_t *status = NULL;
    if (envmgr_status(engine, project, &status, err) < 0)
        return -1;
    json_t *services = json_object_get(status, "services");
    bool any = false;
    envmgr_kvlist_set(out, "ENVTEST_PROJECT", project->name);
    for (size_t i = 0; i < json_array_size(services); i++) {
        json_t *s = json_array_get(services, i);
        const char *name = json_string_value(json_object_get(s, "service"));
        const char *id = json_string_value(json_object_get(s, "id"));
        if (!id)
            continue;
        any = true;
        envmgr_cleanup_free char *stem = envmgr_project_env_stem(name);
        envmgr_cleanup_free char *host_key = envmgr_xasprintf("ENVTEST_%s_HOST", stem);
        envmgr_kvlist_set(out, host_key, "127.0.0.1");
        json_t *ports = json_object_get(s, "ports");
        int first = 0;
        for (size_t p = 0; p < json_array_size(ports); p++) {
            json_t *port = json_array_get(ports, p);
            int hp = (int)json_integer_value(json_object_get(port, "host_port"));
            int cp = (int)json_integer_value(json_object_get(port, "container_port"));
            if (!hp)
                continue;
            if (!first)
                first = hp;
            envmgr_cleanup_free char *k = envmgr_xasprintf("ENVTEST_%s_PORT_%d", stem, cp);
            envmgr_cleanup_free char *v = envmgr_xasprintf("%d", hp);
            envmgr_kvlist_set(out, k, v);
        }
        if (first) {
            envmgr_cleanup_free char *k = envmgr_xasprintf("ENVTEST_%s_PORT", stem);
            envmgr_cleanup_free char *v = envmgr_xasprintf("%d", first);
            envmgr_kvlist_set(out, k, v);
        }
        envmgr_cleanup_json json_t *inspect = NULL;
        if (envmgr_engine_container_inspect(engine, id, &inspect, err) < 0)
            return -1;
        json_t *env = json_object_get(json_object_get(inspect, "Config"), "Env");
        if (env_lookup(env, "MYSQL_DATABASE") || env_lookup(env, "MYSQL_ROOT_PASSWORD") ||
            env_lookup(env, "MARIADB_ROOT_PASSWORD")) {
            int port = 0;
            for (size_t p = 0; p < json_array_size(ports); p++) {
                json_t *pj = json_array_get(ports, p);
                if (json_integer_value(json_object_get(pj, "container_port")) == 3306)
                    port = (int)json_integer_value(json_object_get(pj, "host_port"));
            }
            if (port)
                add_mysql_vars(out, env, port);
        }
    }
    if (!any) {
        envmgr_error_set(err, ENVMGR_E_ENV, 0, "project %s is not up", project->name);
        return envmgr_error_hint(err, "run `envtest up` first");
    }
    if (envmgr_real_env_vars(project, out, err) < 0)
        return -1;
    return add_x_environment(project, out, err);
}

static char *keep_volume_name(const char *project_name)
{
    return envmgr_xasprintf("%s_envtest-keep", project_name);
}

/* The entry of project name in the object by_name, made on first use. */
static json_t *project_entry(json_t *by_name, const char *name)
{
    json_t *p = json_object_get(by_name, name);
    if (!p) {
        p = json_pack("{s:s, s:i, s:i, s:i, s:b, s:[]}", "name", name, "containers", 0, "running",
                      0, "networks", 0, "kept", 0, "services");
        json_object_set_new(by_name, name, p);
    }
    return p;
}

static void count(json_t *entry, const char *key)
{
    json_object_set_new(entry, key,
                        json_integer(json_integer_value(json_object_get(entry, key)) + 1));
}

static const char *project_label(json_t *object)
{
    return json_string_value(
        json_object_get(json_object_get(object, "Labels"), ENVMGR_LABEL_PROJECT));
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

int envmgr_projects(envmgr_engine_t *engine, json_t **out, envmgr_error_t *err)
{
    envmgr_cleanup_json json_t *containers = NULL;
    envmgr_cleanup_json json_t *networks = NULL;
    envmgr_cleanup_json json_t *volumes = NULL;
    envmgr_cleanup_free char *keep_filter = envmgr_xasprintf("%s=true", ENVMGR_LABEL_KEEP);
    if (envmgr_engine_container_list(engine, ENVMGR_LABEL_PROJECT, true, &containers, err) < 0 ||
        envmgr_engine_network_list(engine, ENVMGR_LABEL_PROJECT, &networks, err) < 0 ||
        envmgr_engine_volume_list(engine, keep_filter, &volumes, err) < 0)
        return envmgr_error_wrap(err, "list envtest projects");
    envmgr_cleanup_json json_t *by_name = json_object();
    for (size_t i = 0; i < json_array_size(containers); i++) {
        json_t *c = json_array_get(containers, i);
        const char *name = project_label(c);
        if (!name)
            continue;
        json_t *entry = project_entry(by_name, name);
        count(entry, "containers");
        if (strcmp(json_string_value(json_object_get(c, "State")) ?: "", "running") == 0)
            count(entry, "running");
        const char *service =
            json_string_value(json_object_get(json_object_get(c, "Labels"), ENVMGR_LABEL_SERVICE));
        if (service)
            json_array_append_new(json_object_get(entry, "services"), json_string(service));
    }
    for (size_t i = 0; i < json_array_size(networks); i++) {
        const char *name = project_label(json_array_get(networks, i));
        if (name)
            count(project_entry(by_name, name), "networks");
    }
    for (size_t i = 0; i < json_array_size(volumes); i++) {
        const char *name = project_label(json_array_get(volumes, i));
        if (name)
            json_object_set_new(project_entry(by_name, name), "kept", json_true());
    }
    json_t *list = json_array();
    const char *key;
    json_t *entry;
    json_object_foreach(by_name, key, entry)
    {
        envmgr_json_array_sort(json_object_get(entry, "services"), compare_strings);
        json_array_append(list, entry);
    }
    envmgr_json_array_sort(list, envmgr_json_compare_by_name);
    *out = list;
    return 0;
}

int envmgr_keep_set(envmgr_engine_t *engine, const char *project_name, bool keep,
                    envmgr_error_t *err)
{
    envmgr_cleanup_free char *name = keep_volume_name(project_name);
    if (!keep) {
        if (envmgr_engine_volume_remove(engine, name, true, err) < 0 &&
            err->kind != ENVMGR_E_NOT_FOUND)
            return -1;
        envmgr_error_clear(err);
        return 0;
    }
    envmgr_kvlist_t labels = {0};
    envmgr_kvlist_set(&labels, ENVMGR_LABEL_PROJECT, project_name);
    envmgr_kvlist_set(&labels, ENVMGR_LABEL_KEEP, "true");
    int r = envmgr_engine_volume_create(engine, name, &labels, err);
    envmgr_kvlist_free(&labels);
    return r;
}

int envmgr_keep_get(envmgr_engine_t *engine, const char *project_name, bool *kept,
                    envmgr_error_t *err)
{
    envmgr_cleanup_free char *filter = envmgr_xasprintf("%s=true", ENVMGR_LABEL_KEEP);
    envmgr_cleanup_json json_t *vols = NULL;
    if (envmgr_engine_volume_list(engine, filter, &vols, err) < 0)
        return -1;
    *kept = false;
    for (size_t i = 0; i < json_array_size(vols); i++) {
        const char *p = json_string_value(json_object_get(
            json_object_get(json_array_get(vols, i), "Labels"), ENVMGR_LABEL_PROJECT));
        if (p && strcmp(p, project_name) == 0)
            *kept = true;
    }
    return 0;
}
