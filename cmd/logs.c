/* envtest logs [SERVICE...] [--tail N] [-f]: services' logs, prefixed with the service name.
 * With -f every service is followed at once, one thread and one engine connection each; whole
 * lines are written under one lock, so that the services' lines never mix. */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include <envmgr/lifecycle.h>
#include <envmgr/util.h>

static pthread_mutex_t output_lock = PTHREAD_MUTEX_INITIALIZER;

struct log_sink {
    const char *service;
    bool prefix;
    envmgr_buf_t partial; /* an unfinished line */
};

static void write_line(const struct log_sink *sink, FILE *out, const char *line, size_t len)
{
    if (sink->prefix)
        fprintf(out, "%-12s | ", sink->service);
    fwrite(line, 1, len, out);
}

static int print_log_cb(void *userdata, enum envmgr_stream stream, const char *data, size_t len)
{
    struct log_sink *sink = userdata;
    FILE *out = stream == ENVMGR_STREAM_STDERR ? stderr : stdout;
    envmgr_buf_add(&sink->partial, data, len);
    char *start = sink->partial.data;
    char *nl;
    pthread_mutex_lock(&output_lock);
    while ((nl = memchr(start, '\n', sink->partial.len - (size_t)(start - sink->partial.data)))) {
        write_line(sink, out, start, (size_t)(nl - start) + 1);
        start = nl + 1;
    }
    fflush(out);
    pthread_mutex_unlock(&output_lock);
    size_t rest = sink->partial.len - (size_t)(start - sink->partial.data);
    memmove(sink->partial.data, start, rest);
    sink->partial.len = rest;
    sink->partial.data[rest] = '\0';
    return envmgr_interrupted() ? 1 : 0;
}

struct log_job {
    const envmgr_engine_t *engine;
    const char *id;
    int tail;
    bool follow, timestamps;
    struct log_sink sink;
    envmgr_error_t err;
    int result;
};

static void *log_thread(void *arg)
{
    struct log_job *job = arg;
    envmgr_engine_t *engine = NULL;
    job->result = envmgr_engine_dup(job->engine, &engine, &job->err);
    if (job->result == 0) {
        job->result =
            envmgr_engine_container_logs(engine, job->id, job->tail, job->follow, job->timestamps,
                                         print_log_cb, &job->sink, &job->err);
        envmgr_engine_close(engine);
    }
    if (job->sink.partial.len) {
        pthread_mutex_lock(&output_lock);
        write_line(&job->sink, stdout, job->sink.partial.data, job->sink.partial.len);
        fputc('\n', stdout);
        fflush(stdout);
        pthread_mutex_unlock(&output_lock);
    }
    envmgr_buf_free(&job->sink.partial);
    return NULL;
}

int cmd_logs(int argc, char **argv, envtest_globals_t *g)
{
    static const struct option longopts[] = {
        ENVTEST_COMMON_LONGOPTS,
        {"tail", required_argument, NULL, 'n'},
        {"follow", no_argument, NULL, 'F'},
        {"timestamps", no_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int tail = -1;
    bool follow = false, timestamps = false;
    int opt;
    /* As in `docker compose logs -f`: after the command, -f is --follow (-F too); the Compose file
     * is given before the command (envtest -f FILE logs -f) or as --file. */
    while ((opt = getopt_long(argc, argv, "p:H:n:fFth", longopts, NULL)) != -1) {
        if (opt != 'f' && envtest_common_option(g, opt, optarg))
            continue;
        switch (opt) {
        case 'n': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 0)
                return envtest_usage_error("logs", "--tail: '%s' is not a number of lines", optarg);
            tail = (int)v;
            break;
        }
        case 'f':
        case 'F':
            follow = true;
            break;
        case 't':
            timestamps = true;
            break;
        case 'h':
            printf("Usage: envtest logs [SERVICE...] [--tail N] [-f|--follow] [--timestamps]\n\n"
                   "Prints the services' logs (all services when none is named), each line\n"
                   "prefixed with its service when there are several. With -f, follows them\n"
                   "all at once until Ctrl-C. The Compose file goes before the command:\n"
                   "envtest -f FILE logs -f.\n");
            return ENVTEST_EXIT_OK;
        default:
            return envtest_usage_error("logs", "invalid option");
        }
    }
    envmgr_error_t err = {0};
    envmgr_project_t *project = NULL;
    if (envtest_load_project(g, &project, &err) < 0)
        return envtest_report_error(&err);
    envmgr_strv_t services = {0};
    for (int i = optind; i < argc; i++) {
        if (!envmgr_project_service(project, argv[i])) {
            envmgr_project_free(project);
            envmgr_strv_free(&services);
            return envtest_usage_error("logs", "no such service: '%s'", argv[i]);
        }
        envmgr_strv_push(&services, argv[i]);
    }
    bool all = services.n == 0;
    if (all)
        for (size_t i = 0; i < project->n_services; i++)
            envmgr_strv_push(&services, project->services[i].name);

    envmgr_engine_t *engine = NULL;
    int code = ENVTEST_EXIT_OK;
    struct log_job *jobs = envmgr_xcalloc(services.n, sizeof(*jobs));
    char **ids = envmgr_xcalloc(services.n, sizeof(*ids));
    size_t n = 0;
    if (envtest_open_engine(g, &engine, &err) < 0) {
        code = envtest_report_error(&err);
        goto out;
    }
    if (envtest_ci_masking()) {
        /* the logs may show the live environment's secrets: loading them masks them */
        envmgr_project_t *live = NULL;
        envmgr_error_t ignored = {0};
        if (envtest_load_live_project(g, engine, &live, NULL, &ignored) == 0)
            envmgr_project_free(live);
    }
    for (size_t i = 0; i < services.n; i++) {
        if (envmgr_service_container(engine, project->name, services.items[i], &ids[n], &err) < 0) {
            if (all && err.kind == ENVMGR_E_NOT_FOUND) {
                envmgr_error_clear(&err);
                continue; /* all services asked: show those that have a container */
            }
            code = envtest_report_error(&err);
            goto out;
        }
        jobs[n] =
            (struct log_job){.engine = engine,
                             .id = ids[n],
                             .tail = tail,
                             .follow = follow,
                             .timestamps = timestamps,
                             .sink = {.service = services.items[i], .prefix = services.n > 1}};
        n++;
    }
    if (n == 0) {
        envmgr_error_set(&err, ENVMGR_E_ENV, 0, "project %s is not up: it has no containers",
                         project->name);
        envmgr_error_hint(&err, "run `envtest up` first");
        code = envtest_report_error(&err);
        goto out;
    }
    if (!follow) {
        for (size_t i = 0; i < n; i++) /* one after another, in the file's order */
            log_thread(&jobs[i]);
    } else {
        pthread_t *threads = envmgr_xcalloc(n, sizeof(*threads));
        size_t started = 0;
        int create_errno = 0;
        while (started < n && !create_errno) {
            create_errno = pthread_create(&threads[started], NULL, log_thread, &jobs[started]);
            if (!create_errno)
                started++;
        }
        if (create_errno)
            envmgr_interrupt(); /* stop the ones that follow already */
        for (size_t i = 0; i < started; i++)
            pthread_join(threads[i], NULL);
        free(threads);
        if (create_errno) {
            envmgr_error_errno(&err, create_errno, "follow the logs of %s: start a thread",
                               jobs[started].sink.service);
            code = envtest_report_error(&err);
            goto out;
        }
    }
    for (size_t i = 0; i < n && code == ENVTEST_EXIT_OK; i++)
        if (jobs[i].result < 0 && jobs[i].err.kind != ENVMGR_E_INTERRUPTED && !envmgr_interrupted())
            code = envtest_report_error(&jobs[i].err);
    if (code == ENVTEST_EXIT_OK && envmgr_interrupted())
        code = ENVTEST_EXIT_INTERRUPTED; /* Ctrl-C, also the end of -f: exit 130 */
out:
    for (size_t i = 0; i < services.n; i++)
        free(ids[i]);
    free(ids);
    free(jobs);
    envmgr_engine_close(engine);
    envmgr_project_free(project);
    envmgr_strv_free(&services);
    return code;
}
