/* Services' logs: one job per service; with follow, one thread each. Lines are cut from each
 * service's stream and handed over whole, under one lock. */
#include <envmgr/logs.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <envmgr/env.h>
#include <envmgr/util.h>

struct logs_shared {
    pthread_mutex_t lock; /* one line at a time */
    const envmgr_logs_options_t *opts;
};

struct log_job {
    struct logs_shared *shared;
    const envmgr_engine_t *engine;
    const char *service;
    char *id;
    enum envmgr_stream last_stream;
    envmgr_buf_t partial; /* an unfinished line */
    envmgr_error_t err;
    int result;
};

static void emit_line(struct log_job *job, enum envmgr_stream stream, const char *line, size_t len)
{
    job->shared->opts->line(job->shared->opts->userdata, job->service, stream, line, len);
}

static int log_chunk_cb(void *userdata, enum envmgr_stream stream, const char *data, size_t len)
{
    struct log_job *job = userdata;
    envmgr_buf_add(&job->partial, data, len);
    job->last_stream = stream;
    char *start = job->partial.data;
    char *end = job->partial.data + job->partial.len;
    char *nl;
    pthread_mutex_lock(&job->shared->lock);
    while ((nl = memchr(start, '\n', (size_t)(end - start)))) {
        emit_line(job, stream, start, (size_t)(nl - start) + 1);
        start = nl + 1;
    }
    pthread_mutex_unlock(&job->shared->lock);
    size_t rest = (size_t)(end - start);
    memmove(job->partial.data, start, rest);
    job->partial.len = rest;
    job->partial.data[rest] = '\0';
    return envmgr_interrupted() ? 1 : 0;
}

static void *log_thread(void *arg)
{
    struct log_job *job = arg;
    const envmgr_logs_options_t *o = job->shared->opts;
    envmgr_engine_t *engine = NULL;
    job->result = envmgr_engine_dup(job->engine, &engine, &job->err);
    if (job->result == 0) {
        job->result = envmgr_engine_container_logs(engine, job->id, o->tail, o->follow,
                                                   o->timestamps, log_chunk_cb, job, &job->err);
        envmgr_engine_close(engine);
    }
    if (job->partial.len) {
        pthread_mutex_lock(&job->shared->lock);
        emit_line(job, job->last_stream, job->partial.data, job->partial.len);
        pthread_mutex_unlock(&job->shared->lock);
    }
    envmgr_buf_free(&job->partial);
    return NULL;
}

/* The jobs: the named services (each must have a container), or every service that has one. */
static int make_jobs(envmgr_engine_t *engine, const envmgr_project_t *project,
                     const envmgr_logs_options_t *o, struct log_job *jobs, size_t *n,
                     envmgr_error_t *err)
{
    bool all = !o->services || !o->services[0];
    size_t count = all ? project->n_services : 0;
    while (!all && o->services[count])
        count++;
    for (size_t i = 0; i < count; i++) {
        const char *service = all ? project->services[i].name : o->services[i];
        if (!envmgr_project_service(project, service))
            return envmgr_error_set(err, ENVMGR_E_USAGE, 0, "no such service: '%s'", service);
        char *id = NULL;
        if (envmgr_service_container(engine, project->name, service, &id, err) < 0) {
            if (all && err->kind == ENVMGR_E_NOT_FOUND) {
                envmgr_error_clear(err);
                continue; /* all services asked: those that have a container */
            }
            return -1;
        }
        jobs[*n] = (struct log_job){.engine = engine, .service = service, .id = id};
        (*n)++;
    }
    if (*n == 0) {
        envmgr_error_set(err, ENVMGR_E_ENV, 0, "project %s is not up: it has no containers",
                         project->name);
        return envmgr_error_hint(err, "run `envtest up` first");
    }
    return 0;
}

/* Every job at once; a thread that cannot start stops the others (envmgr_interrupt). */
static int follow_all(struct log_job *jobs, size_t n, envmgr_error_t *err)
{
    pthread_t *threads = envmgr_xcalloc(n, sizeof(*threads));
    size_t started = 0;
    int create_errno = 0;
    while (started < n && !create_errno) {
        create_errno = pthread_create(&threads[started], NULL, log_thread, &jobs[started]);
        if (!create_errno)
            started++;
    }
    if (create_errno)
        envmgr_interrupt();
    for (size_t i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    if (create_errno)
        return envmgr_error_errno(err, create_errno, "follow the logs of %s: start a thread",
                                  jobs[started].service);
    return 0;
}

int envmgr_logs(envmgr_engine_t *engine, const envmgr_project_t *project,
                const envmgr_logs_options_t *opts, envmgr_error_t *err)
{
    size_t cap = project->n_services;
    for (size_t i = 0; opts->services && opts->services[i]; i++)
        cap = i + 1 > cap ? i + 1 : cap;
    struct logs_shared shared = {.opts = opts};
    pthread_mutex_init(&shared.lock, NULL);
    struct log_job *jobs = envmgr_xcalloc(cap + 1, sizeof(*jobs));
    size_t n = 0;
    int rc = make_jobs(engine, project, opts, jobs, &n, err);
    for (size_t i = 0; i < n; i++)
        jobs[i].shared = &shared;
    if (rc == 0 && !opts->follow) {
        for (size_t i = 0; i < n; i++)
            log_thread(&jobs[i]);
    } else if (rc == 0) {
        rc = follow_all(jobs, n, err);
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        if (jobs[i].result < 0 && jobs[i].err.kind != ENVMGR_E_INTERRUPTED &&
            !envmgr_interrupted()) {
            *err = jobs[i].err;
            rc = -1;
        }
    if (rc == 0 && envmgr_interrupted())
        rc = envmgr_error_set(err, ENVMGR_E_INTERRUPTED, 0, "interrupted");
    for (size_t i = 0; i < n; i++)
        free(jobs[i].id);
    free(jobs);
    pthread_mutex_destroy(&shared.lock);
    return rc;
}
