/* sca-api: request dispatch on the loop: routes, methods, authentication, body checks; the
 * route's work is deferred to libuv's thread pool (mock_request_defer) and answered on the loop.
 * Every answer is audited (sca_audit_add). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sca.h"

typedef enum need { PUBLIC, READER, ADMIN } need_t;

typedef struct route {
    const char *method;
    const char *pattern; /* "*" matches one path segment (the id) */
    need_t need;
    bool json_body; /* the body must be a JSON object */
    sca_job_fn fn;
} route_t;

static const route_t routes[] = {
    {"GET", "/health", PUBLIC, false, sca_route_health},
    {"POST", "/api/v1/analysis/sql", READER, true, sca_route_analysis},
    {"POST", "/api/v1/analysis/*/feedback", READER, true, sca_route_feedback},
    {"POST", "/api/v1/documents", ADMIN, false, sca_route_documents_upload},
    {"POST", "/api/v1/documents/search", READER, true, sca_route_documents_search},
    {"POST", "/api/v1/reports", READER, true, sca_route_reports_create},
    {"GET", "/api/v1/reports/*", READER, false, sca_route_reports_get},
    {"POST", "/api/v1/etl/sales", ADMIN, false, sca_route_etl},
    {"GET", "/api/v1/kpi", READER, false, sca_route_kpi},
    {"GET", "/api/v1/settings", READER, false, sca_route_settings_get},
    {"PUT", "/api/v1/settings", ADMIN, true, sca_route_settings_put},
    {"GET", "/api/v1/cache", READER, false, sca_route_cache_get},
    {"DELETE", "/api/v1/cache", ADMIN, false, sca_route_cache_delete},
    {"GET", "/api/v1/audit", ADMIN, false, sca_route_audit},
};

const char *sca_role_name(sca_role_t r)
{
    switch (r) {
    case SCA_ROLE_ADMIN:
        return "admin";
    case SCA_ROLE_READER:
        return "reader";
    case SCA_ROLE_INVALID:
        return "invalid";
    default:
        return "none";
    }
}

json_t *sca_error_json(const char *code, const char *message)
{
    json_t *msg = json_string(message);
    if (!msg)
        msg = json_string("(message not valid UTF-8)");
    return json_pack("{s:{s:s,s:o}}", "error", "code", code, "message", msg);
}

void sca_job_error(sca_job_t *job, const sca_error_t *e)
{
    job->status = e->status;
    json_decref(job->reply);
    job->reply = sca_error_json(e->code ? e->code : "internal_error", e->message);
}

MYSQL *sca_job_db(sca_job_t *job, sca_error_t *e)
{
    MYSQL *m = sca_db_get(job->app->db, e);
    if (!m)
        sca_job_error(job, e);
    return m;
}

/* Constant-time comparison: the keys are secrets. */
static bool key_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = la != lb;
    for (size_t i = 0; i < la; i++)
        d |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return d == 0;
}

static sca_role_t role_of(const sca_app_t *app, mock_request_t *req)
{
    const char *h = mock_request_header(req, "Authorization");
    if (!h || !*h)
        return SCA_ROLE_NONE;
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return SCA_ROLE_INVALID;
    const char *k = h + 7;
    while (*k == ' ')
        k++;
    if (key_equal(k, app->cfg.admin_key))
        return SCA_ROLE_ADMIN;
    if (key_equal(k, app->cfg.reader_key))
        return SCA_ROLE_READER;
    return SCA_ROLE_INVALID;
}

/* pattern vs path; the "*" segment is copied to id. */
static bool path_match(const char *pattern, const char *path, char *id, size_t idlen)
{
    while (*pattern && *path) {
        if (*pattern == '*') {
            const char *end = strchr(path, '/');
            size_t n = end ? (size_t)(end - path) : strlen(path);
            if (n == 0 || n >= idlen)
                return false;
            memcpy(id, path, n);
            id[n] = '\0';
            path += n;
            pattern++;
            continue;
        }
        if (*pattern++ != *path++)
            return false;
    }
    return *pattern == '\0' && *path == '\0';
}

static void respond(mock_request_t *req, sca_app_t *app, sca_role_t role, int status, json_t *body,
                    uint64_t start_ns)
{
    double ms = (double)(uv_hrtime() - start_ns) / 1e6;
    sca_audit_add(app->audit, sca_role_name(role), mock_request_method(req), mock_request_path(req),
                  status, ms);
    mock_respond_json(req, status, body);
}

static void respond_error(mock_request_t *req, sca_app_t *app, sca_role_t role, int status,
                          const char *code, const char *message, uint64_t start_ns)
{
    respond(req, app, role, status, sca_error_json(code, message), start_ns);
}

static void job_free(sca_job_t *job)
{
    free(job->path);
    free(job->query);
    free(job->body);
    json_decref(job->input);
    json_decref(job->reply);
    free(job->raw_reply);
    free(job);
}

static void job_work(void *data)
{
    sca_job_t *job = data;
    job->status = 500;
    job->run(job);
    if (!job->reply && !job->raw_reply) {
        job->status = 500;
        job->reply = sca_error_json("internal_error", "the route gave no answer");
    }
}

static void job_done(mock_request_t *req, void *data)
{
    sca_job_t *job = data;
    if (req) {
        double ms = (double)(uv_hrtime() - job->start_ns) / 1e6;
        sca_audit_add(job->app->audit, sca_role_name(job->role), job->method, job->path,
                      job->status, ms);
        if (job->raw_reply)
            mock_respond(req, job->status, job->content_type, job->raw_reply,
                         strlen(job->raw_reply));
        else {
            mock_respond_json(req, job->status, job->reply);
            job->reply = NULL;
        }
    } else {
        /* the client left: the work is done, the audit says so (status 499, nginx's) */
        sca_audit_add(job->app->audit, sca_role_name(job->role), job->method, job->path, 499,
                      (double)(uv_hrtime() - job->start_ns) / 1e6);
    }
    job_free(job);
}

void sca_handle(mock_request_t *req, void *user)
{
    sca_app_t *app = user;
    uint64_t start = uv_hrtime();
    const char *path = mock_request_path(req), *method = mock_request_method(req);
    sca_role_t role = role_of(app, req);
    char id[64] = "";
    const route_t *found = NULL;
    bool path_known = false;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        char tmp[64];
        if (!path_match(routes[i].pattern, path, tmp, sizeof(tmp)))
            continue;
        path_known = true;
        if (strcmp(routes[i].method, method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0)) {
            found = &routes[i];
            memcpy(id, tmp, sizeof(id));
            break;
        }
    }
    if (!found) {
        if (path_known)
            respond_error(req, app, role, 405, "method_not_allowed",
                          "this method is not allowed on this path", start);
        else
            respond_error(req, app, role, 404, "not_found", "no such route", start);
        return;
    }
    if (found->need != PUBLIC) {
        if (role == SCA_ROLE_NONE || role == SCA_ROLE_INVALID) {
            mock_response_header(req, "WWW-Authenticate", "Bearer");
            respond_error(req, app, role, 401, "unauthorized",
                          role == SCA_ROLE_NONE ? "missing Authorization: Bearer <key>"
                                                : "unknown API key",
                          start);
            return;
        }
        if (found->need == ADMIN && role != SCA_ROLE_ADMIN) {
            respond_error(req, app, role, 403, "forbidden", "this route needs the admin key",
                          start);
            return;
        }
    }
    json_t *input = NULL;
    if (found->json_body) {
        char msg[256];
        input = mock_json_parse(mock_request_body(req), mock_request_body_len(req), msg,
                                sizeof(msg), NULL);
        if (!input || !json_is_object(input)) {
            json_decref(input);
            respond_error(req, app, role, 400, "validation_error",
                          input ? "body: must be a JSON object" : msg, start);
            return;
        }
    }
    sca_job_t *job = mock_xcalloc(1, sizeof(*job));
    job->app = app;
    job->role = role;
    snprintf(job->method, sizeof(job->method), "%s", method);
    job->path = mock_xstrdup(path);
    job->query = mock_xstrdup(mock_request_query(req));
    job->body_len = mock_request_body_len(req);
    job->body = mock_xmalloc(job->body_len + 1);
    memcpy(job->body, mock_request_body(req), job->body_len);
    job->body[job->body_len] = '\0';
    job->input = input;
    memcpy(job->id, id, sizeof(job->id));
    job->start_ns = start;
    job->run = found->fn;
    if (mock_request_defer(req, job_work, job_done, job) != 0) {
        job_free(job);
        respond_error(req, app, role, 503, "overloaded", "cannot queue the request", start);
    }
}

/* The layer's own answers (413, malformed HTTP, ...) in the service's error shape, audited. */
void sca_layer_error(mock_request_t *req, int status, const char *message, void *user)
{
    sca_app_t *app = user;
    const char *code = status == 413   ? "payload_too_large"
                       : status == 400 ? "validation_error"
                       : status == 404 ? "not_found"
                       : status == 405 ? "method_not_allowed"
                                       : "internal_error";
    respond_error(req, app, role_of(app, req), status, code, message, uv_hrtime());
}
