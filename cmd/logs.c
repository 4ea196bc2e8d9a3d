/* envtest logs [SERVICE...] [--tail N] [-f]: services' logs, prefixed with the service name. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "lifecycle.h"
#include "util.h"

struct log_sink {
    const char *service;
    bool prefix;
    envmgr_buf_t partial; /* an unfinished line */
};

static int print_log_cb(void *userdata, enum envmgr_stream stream, const char *data, size_t len)
{
    struct log_sink *sink = userdata;
    FILE *out = stream == ENVMGR_STREAM_STDERR ? stderr : stdout;
    envmgr_buf_add(&sink->partial, data, len);
    char *start = sink->partial.data;
    char *nl;
    while ((nl = memchr(start, '\n', sink->partial.len - (size_t)(start - sink->partial.data)))) {
        if (sink->prefix)
            fprintf(out, "%-12s | ", sink->service);
        fwrite(start, 1, (size_t)(nl - start) + 1, out);
        start = nl + 1;
    }
    size_t rest = sink->partial.len - (size_t)(start - sink->partial.data);
    memmove(sink->partial.data, start, rest);
    sink->partial.len = rest;
    sink->partial.data[rest] = '\0';
    fflush(out);
    return envmgr_interrupted() ? 1 : 0;
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
    /* -f is --file everywhere else; follow is -F or --follow here (and -f after a service name
     * would be ambiguous). */
    while ((opt = getopt_long(argc, argv, ENVTEST_COMMON_SHORTOPTS "n:Fth", longopts, NULL)) !=
           -1) {
        if (envtest_common_option(g, opt, optarg))
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
        case 'F':
            follow = true;
            break;
        case 't':
            timestamps = true;
            break;
        case 'h':
            printf("Usage: envtest logs [SERVICE...] [--tail N] [--follow|-F] [--timestamps]\n\n"
                   "Prints the services' logs (all services when none is named).\n"
                   "With --follow, one service at a time is followed.\n");
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
    if (services.n == 0)
        for (size_t i = 0; i < project->n_services; i++)
            envmgr_strv_push(&services, project->services[i].name);
    if (follow && services.n > 1) {
        envmgr_project_free(project);
        envmgr_strv_free(&services);
        return envtest_usage_error("logs", "--follow takes one service");
    }
    envmgr_engine_t *engine = NULL;
    int code = ENVTEST_EXIT_OK;
    if (envtest_open_engine(g, &engine, &err) < 0) {
        code = envtest_report_error(&err);
        goto out;
    }
    for (size_t i = 0; i < services.n && code == ENVTEST_EXIT_OK; i++) {
        cleanup_free char *id = NULL;
        if (envmgr_service_container(engine, project->name, services.items[i], &id, &err) < 0) {
            if (optind >= argc && err.kind == ENVMGR_E_NOT_FOUND)
                continue; /* all services asked: show those that have a container */
            code = envtest_report_error(&err);
            break;
        }
        struct log_sink sink = {.service = services.items[i], .prefix = services.n > 1};
        if (envmgr_engine_container_logs(engine, id, tail, follow, timestamps, print_log_cb, &sink,
                                         &err) < 0 &&
            !envmgr_interrupted())
            code = envtest_report_error(&err);
        if (sink.partial.len)
            printf("%s\n", sink.partial.data);
        envmgr_buf_free(&sink.partial);
    }
    envmgr_engine_close(engine);
out:
    envmgr_project_free(project);
    envmgr_strv_free(&services);
    return code;
}
