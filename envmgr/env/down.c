/* down: everything found again by the project label, removed (containers in parallel). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pod.h"
#include "project.h"
#include <envmgr/lifecycle.h>
#include <envmgr/lock.h>
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
    bool holder; /* the pod holder (pod.h) */
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

/* Takes the container off the network (force). Errors are ignored: the removal after it is what
 * must succeed. */
static void force_disconnect(envmgr_engine_t *engine, const char *network, const char *container)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("/networks/%s/disconnect", network);
    envmgr_cleanup_json json_t *body = json_pack("{s:s, s:b}", "Container", container, "Force", 1);
    envmgr_error_t ignored = {0};
    envmgr_engine_request(engine, "POST", path, body, NULL, &ignored);
}

static void disconnect_all(envmgr_engine_t *engine, struct remove_job *job)
{
    const char *name;
    json_t *net;
    json_object_foreach(job->networks, name, net)
    {
        const char *network_id = json_string_value(json_object_get(net, "NetworkID"));
        force_disconnect(engine, network_id ? network_id : name, job->id);
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

/* Disconnects (force) what is still on the listed networks: containers that are not the project's
 * (the container of an envtest that ran in one and joined the network, see envmgr_reach_prepare;
 * one a user connected by hand), which would keep a network from being removed. */
static void disconnect_endpoints(envmgr_engine_t *engine, json_t *networks)
{
    for (size_t i = 0; i < json_array_size(networks); i++) {
        const char *id = json_string_value(json_object_get(json_array_get(networks, i), "Id"));
        envmgr_cleanup_json json_t *net = NULL;
        envmgr_error_t ignored = {0}; /* the removal after is what must succeed */
        if (!id || envmgr_engine_network_inspect(engine, id, &net, &ignored) < 0)
            continue;
        const char *container;
        json_t *unused;
        json_object_foreach(json_object_get(net, "Containers"), container, unused)
        {
            force_disconnect(engine, id, container);
        }
    }
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
        jobs[i].holder = json_object_get(json_object_get(c, "Labels"), ENVMGR_LABEL_POD) != NULL;
        if (!jobs[i].service) /* the pod holder (pod.h), or a container of unknown service */
            jobs[i].service = jobs[i].holder ? "pod holder" : jobs[i].id;
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
    /* what is left on them is not the project's: off first (Docker would refuse the removal;
     * Podman 4.3 would remove the network and leave the container a dangling attachment) */
    disconnect_endpoints(engine, networks);
    int network_ret = remove_networks(engine, networks, &network_count, &network_err);

    int ret = 0;
    for (size_t i = 0; i < n; i++)
        if (started[i])
            pthread_join(threads[i], NULL);
    /* A pod holder removed while a service in its namespace still existed: Podman refuses that
     * ("has dependent containers"), Docker does not; once the others are gone, once more. */
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].result == 0 || !jobs[i].holder)
            continue;
        envmgr_error_t again = {0};
        if (envmgr_engine_container_remove(engine, jobs[i].id, true, volumes, &again) == 0 ||
            again.kind == ENVMGR_E_NOT_FOUND) {
            jobs[i].result = 0;
            if (progress)
                progress(userdata, jobs[i].service, ENVMGR_PHASE_REMOVED, envmgr_now_ms() - t0,
                         NULL);
        }
    }
    for (size_t i = 0; i < n; i++) {
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
        json_t *labels = json_object_get(v, "Labels");
        bool is_keep = json_object_get(labels, ENVMGR_LABEL_KEEP) != NULL ||
                       json_object_get(labels, ENVMGR_LABEL_EPHEMERAL) != NULL;
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
