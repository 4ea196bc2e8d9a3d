/* Services' logs (`envtest logs`), demultiplexed into whole lines; with follow, every service at
 * once (one thread and one engine connection each) until the streams end or envmgr_interrupt(). */
#ifndef ENVMGR_LOGS_H
#define ENVMGR_LOGS_H

#include <stdbool.h>
#include <stddef.h>

#include <envmgr/compose.h>
#include <envmgr/engine.h>
#include <envmgr/error.h>

/* One whole line of a service, with its '\n' (without one only at the end of a stream). Calls are
 * serialised: the lines of two services never mix. */
typedef void (*envmgr_log_line_cb)(void *userdata, const char *service, enum envmgr_stream stream,
                                   const char *line, size_t len);

typedef struct envmgr_logs_options {
    /* NULL-terminated service names, or NULL (or empty) for all the model's services, of which
     * those without a container are left out. A named service without one is an error. */
    const char *const *services;
    int tail; /* last lines per service, -1: all */
    bool follow;
    bool timestamps;
    envmgr_log_line_cb line;
    void *userdata;
} envmgr_logs_options_t;

/* Without follow, the services one after another in the model's order. Fails with ENVMGR_E_USAGE
 * for an unknown service, ENVMGR_E_ENV when no service has a container, ENVMGR_E_INTERRUPTED
 * after envmgr_interrupt() (the normal end of follow). */
int envmgr_logs(envmgr_engine_t *engine, const envmgr_project_t *project,
                const envmgr_logs_options_t *opts, envmgr_error_t *err);

#endif
