#include "progress.h"

#include <stdlib.h>
#include <string.h>

#include <envmgr/util.h>

void envtest_progress_init(envtest_progress_t *p, FILE *out, bool tty, bool quiet)
{
    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    p->out = out;
    p->tty = tty;
    p->quiet = quiet;
}

void envtest_progress_finish(envtest_progress_t *p)
{
    for (size_t i = 0; i < p->n_rows; i++)
        free(p->rows[i].service);
    free(p->rows);
    pthread_mutex_destroy(&p->lock);
}

static const char *phase_mark(enum envmgr_service_phase phase)
{
    switch (phase) {
    case ENVMGR_PHASE_HEALTHY:
    case ENVMGR_PHASE_RUNNING:
    case ENVMGR_PHASE_EXITED:
    case ENVMGR_PHASE_UNCHANGED:
    case ENVMGR_PHASE_REMOVED:
    case ENVMGR_PHASE_REAL:
        return "\u2714";
    case ENVMGR_PHASE_FAILED:
        return "\u2718";
    case ENVMGR_PHASE_STOPPED: /* cut short: another service failed */
        return "\u2013";
    default:
        return "\u2026";
    }
}

static void first_line(char *dst, size_t size, const char *src)
{
    size_t n = strcspn(src, "\n");
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void envtest_progress_cb(void *userdata, const char *service, enum envmgr_service_phase phase,
                         int64_t elapsed_ms, const char *detail)
{
    envtest_progress_t *p = userdata;
    if (p->quiet)
        return;
    pthread_mutex_lock(&p->lock);
    struct envtest_progress_row *row = NULL;
    for (size_t i = 0; i < p->n_rows; i++)
        if (strcmp(p->rows[i].service, service) == 0)
            row = &p->rows[i];
    if (!row) {
        p->rows = envmgr_xrealloc(p->rows, (p->n_rows + 1) * sizeof(*p->rows));
        row = &p->rows[p->n_rows++];
        memset(row, 0, sizeof(*row));
        row->service = envmgr_xstrdup(service);
    }
    row->phase = phase;
    row->elapsed_ms = elapsed_ms;
    /* A failure's message comes whole in the error the command prints: not a cut copy here. */
    if (phase == ENVMGR_PHASE_FAILED)
        detail = "(the error follows)";
    first_line(row->detail, sizeof(row->detail), detail ? detail : "");
    if (p->tty) {
        size_t width = 14; /* the service column fits the longest name */
        for (size_t i = 0; i < p->n_rows; i++)
            if (strlen(p->rows[i].service) > width)
                width = strlen(p->rows[i].service);
        if (p->drawn)
            fprintf(p->out, "\033[%zuA", p->drawn);
        for (size_t i = 0; i < p->n_rows; i++) {
            struct envtest_progress_row *r = &p->rows[i];
            fprintf(p->out, "\r\033[K %s %-*s %-10s %5.1fs  %s\n", phase_mark(r->phase), (int)width,
                    r->service, envmgr_service_phase_name(r->phase), r->elapsed_ms / 1000.0,
                    r->detail);
        }
        p->drawn = p->n_rows;
    } else {
        fprintf(p->out, "%s: %s (%.1fs)%s%s\n", service, envmgr_service_phase_name(phase),
                elapsed_ms / 1000.0, row->detail[0] ? " " : "", row->detail);
    }
    fflush(p->out);
    pthread_mutex_unlock(&p->lock);
}
