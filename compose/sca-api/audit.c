/* sca-api: the audit log. Every answered request (refused ones too) is queued on the loop with
 * time, key role, method, path (no query, no body, no key), status and latency; pool threads write
 * the queue to audit_log (and the API routes' lines to request_log, for the KPIs) in one INSERT
 * each. GET /api/v1/audit and /kpi flush first, so they see every request answered before them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "sca.h"

#define QUEUE_MAX 20000

typedef struct audit_entry {
    char time[64];
    char role[16], method[16];
    char *path;
    int status;
    double elapsed_ms;
} audit_entry_t;

struct sca_audit {
    pthread_mutex_t lock;  /* the queue */
    pthread_mutex_t flush; /* one writer at a time, in order */
    audit_entry_t *q;
    size_t n, cap;
    size_t dropped;
};

sca_audit_t *sca_audit_new(void)
{
    sca_audit_t *a = mock_xcalloc(1, sizeof(*a));
    pthread_mutex_init(&a->lock, NULL);
    pthread_mutex_init(&a->flush, NULL);
    return a;
}

static void entries_free(audit_entry_t *q, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(q[i].path);
    free(q);
}

void sca_audit_free(sca_audit_t *a)
{
    if (!a)
        return;
    entries_free(a->q, a->n);
    pthread_mutex_destroy(&a->lock);
    pthread_mutex_destroy(&a->flush);
    free(a);
}

void sca_audit_add(sca_audit_t *a, const char *role, const char *method, const char *path,
                   int status, double elapsed_ms)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    audit_entry_t e = {.status = status, .elapsed_ms = elapsed_ms};
    snprintf(e.time, sizeof(e.time), "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
    snprintf(e.role, sizeof(e.role), "%s", role);
    snprintf(e.method, sizeof(e.method), "%s", method);
    size_t plen = strlen(path);
    e.path = mock_xstrndup(path, plen > 500 ? 500 : plen);
    pthread_mutex_lock(&a->lock);
    if (a->n >= QUEUE_MAX) { /* the database is away for long: keep the newest */
        free(a->q[0].path);
        memmove(a->q, a->q + 1, (a->n - 1) * sizeof(*a->q));
        a->n--;
        a->dropped++;
    }
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->q = mock_xrealloc(a->q, a->cap * sizeof(*a->q));
    }
    a->q[a->n++] = e;
    pthread_mutex_unlock(&a->lock);
}

bool sca_audit_pending(sca_audit_t *a)
{
    pthread_mutex_lock(&a->lock);
    bool p = a->n > 0;
    pthread_mutex_unlock(&a->lock);
    return p;
}

/* "/api/v1/analysis/sql" for request_log's route; NULL for what is not an API route. */
static const char *route_of(const char *path)
{
    if (strncmp(path, "/api/v1/", 8) != 0)
        return NULL;
    if (strcmp(path, "/api/v1/analysis/sql") == 0)
        return "analysis";
    if (strncmp(path, "/api/v1/reports", 15) == 0)
        return "reports";
    if (strncmp(path, "/api/v1/documents", 17) == 0)
        return "documents";
    return "other";
}

void sca_audit_flush(sca_app_t *app)
{
    sca_audit_t *a = app->audit;
    pthread_mutex_lock(&a->flush);
    pthread_mutex_lock(&a->lock);
    audit_entry_t *q = a->q;
    size_t n = a->n;
    a->q = NULL;
    a->n = a->cap = 0;
    pthread_mutex_unlock(&a->lock);
    if (n == 0) {
        pthread_mutex_unlock(&a->flush);
        return;
    }
    sca_error_t e = {0};
    MYSQL *m = sca_db_get(app->db, &e);
    if (m) {
        mock_buf_t audit = MOCK_BUF_INIT, req = MOCK_BUF_INIT;
        mock_buf_adds(&audit, "INSERT INTO audit_log (time, role, method, path, status, "
                              "elapsed_ms) VALUES ");
        mock_buf_adds(&req, "INSERT INTO request_log (time, role, route, status, elapsed_ms) "
                            "VALUES ");
        size_t nreq = 0;
        for (size_t i = 0; i < n; i++) {
            char *path = sca_db_quote(m, q[i].path, strlen(q[i].path));
            mock_buf_addf(&audit, "%s('%s','%s','%s',%s,%d,%.3f)", i ? "," : "", q[i].time,
                          q[i].role, q[i].method, path, q[i].status, q[i].elapsed_ms);
            free(path);
            const char *route = route_of(q[i].path);
            if (route)
                mock_buf_addf(&req, "%s('%s','%s','%s',%d,%.3f)", nreq++ ? "," : "", q[i].time,
                              q[i].role, route, q[i].status, q[i].elapsed_ms);
        }
        bool ok =
            sca_db_exec(m, audit.data, &e) == 0 && (nreq == 0 || sca_db_exec(m, req.data, &e) == 0);
        if (!ok)
            fprintf(stderr, "sca-api: audit: %zu entries not written: %s\n", n, e.message);
        sca_db_put(app->db, m, !ok);
        mock_buf_free(&audit);
        mock_buf_free(&req);
    } else {
        fprintf(stderr, "sca-api: audit: %zu entries not written: %s\n", n, e.message);
    }
    entries_free(q, n);
    pthread_mutex_unlock(&a->flush);
}
