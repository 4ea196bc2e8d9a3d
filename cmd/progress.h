/* Per-service progress for up/down: redrawn in place on a TTY, one plain line per change otherwise.
 */
#ifndef ENVTEST_PROGRESS_H
#define ENVTEST_PROGRESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include <envmgr/lifecycle.h>

typedef struct envtest_progress {
    pthread_mutex_t lock;
    FILE *out;
    bool tty;
    bool quiet;
    struct envtest_progress_row {
        char *service;
        enum envmgr_service_phase phase;
        long long elapsed_ms;
        char detail[96];
    } * rows;
    size_t n_rows;
    size_t drawn; /* rows on screen (tty) */
} envtest_progress_t;

void envtest_progress_init(envtest_progress_t *p, FILE *out, bool tty, bool quiet);
void envtest_progress_finish(envtest_progress_t *p);
/* An envmgr_progress_cb; userdata is the envtest_progress_t. */
void envtest_progress_cb(void *userdata, const char *service, enum envmgr_service_phase phase,
                         int64_t elapsed_ms, const char *detail);

#endif
