/* mock-common: the WireMock-like admin API: request journal and seeded fault injection. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "mock_internal.h"

/* ---- journal ------------------------------------------------------------------------------- */
static void entry_free(mock_journal_entry_t *e)
{
    free(e->method);
    free(e->path);
    free(e->query);
    free(e->body);
    free(e->matched);
    free(e->fault);
    memset(e, 0, sizeof(*e));
}

static void journal_drop_oldest(mock_server_t *srv)
{
    mock_journal_entry_t *e = &srv->journal[srv->journal_head];
    srv->journal_bytes -= e->body_len;
    entry_free(e);
    srv->journal_head = (srv->journal_head + 1) % srv->cfg.journal_max;
    srv->journal_len--;
}

void mock_journal_add(mock_server_t *srv, mock_request_t *req, const char *body, size_t body_len)
{
    (void)body;
    (void)body_len; /* the journal keeps the request body, not the response */
    mock_conn_t *c = req->conn;
    srv->journal_total++;
    if (srv->cfg.journal_max == 0)
        return; /* --journal-max 0: counted, not kept */
    size_t len = c->body.len;
    bool truncated = len > MOCK_JOURNAL_BODY_MAX;
    if (truncated)
        len = MOCK_JOURNAL_BODY_MAX;
    if (srv->journal_len == srv->cfg.journal_max)
        journal_drop_oldest(srv);
    while (srv->journal_len > 0 && srv->journal_bytes + len > MOCK_JOURNAL_BYTES_MAX)
        journal_drop_oldest(srv);
    size_t slot = (srv->journal_head + srv->journal_len) % srv->cfg.journal_max;
    mock_journal_entry_t *e = &srv->journal[slot];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    e->id = srv->journal_next_id++;
    e->time_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    e->method = mock_xstrdup(req->method);
    e->path = mock_xstrdup(req->path);
    e->query = mock_xstrdup(req->query);
    e->body = mock_xstrndup(c->body.data ? c->body.data : "", len);
    e->body_len = len;
    e->body_truncated = truncated;
    e->matched = mock_xstrdup(req->matched);
    e->fault = mock_xstrdup(req->fault.desc);
    e->status = req->status;
    e->latency_ms = (double)(uv_hrtime() - req->start_ns) / 1e6;
    srv->journal_bytes += len;
    srv->journal_len++;
}

void mock_journal_clear(mock_server_t *srv)
{
    while (srv->journal_len > 0)
        journal_drop_oldest(srv);
    srv->journal_head = 0;
    srv->journal_total = 0;
}

static json_t *journal_json(mock_server_t *srv, size_t limit)
{
    json_t *arr = json_array();
    size_t first = srv->journal_len > limit ? srv->journal_len - limit : 0;
    for (size_t i = first; i < srv->journal_len; i++) {
        mock_journal_entry_t *e = &srv->journal[(srv->journal_head + i) % srv->cfg.journal_max];
        json_t *o = json_pack("{s:I,s:I,s:s,s:s,s:s,s:i,s:f}", "id", (json_int_t)e->id, "time_ms",
                              (json_int_t)e->time_ms, "method", e->method, "path", e->path, "query",
                              e->query, "status", e->status, "latency_ms", e->latency_ms);
        json_object_set_new(o, "matched", e->matched[0] ? json_string(e->matched) : json_null());
        json_object_set_new(o, "fault", e->fault[0] ? json_string(e->fault) : json_null());
        json_t *b = json_stringn(e->body, e->body_len); /* NULL when not UTF-8 */
        json_object_set_new(o, "body", b ? b : json_null());
        if (!b)
            json_object_set_new(o, "body_invalid_utf8", json_true());
        if (e->body_truncated)
            json_object_set_new(o, "body_truncated", json_true());
        json_array_append_new(arr, o);
    }
    return json_pack("{s:o,s:{s:I}}", "requests", arr, "meta", "total",
                     (json_int_t)srv->journal_total);
}

/* PUT /__admin/requests: replaces the journal with a GET /__admin/requests document (ids, times,
 * bodies kept; meta.total restored), so that a restored environment (envtest up --from) holds the
 * journal of the one it was saved from. The whole document is checked before anything changes. */
static void journal_put(mock_server_t *srv, mock_request_t *req)
{
    char msg[256];
    bool bad_utf8;
    json_t *doc = mock_json_parse(mock_request_body(req), mock_request_body_len(req), msg,
                                  sizeof(msg), &bad_utf8);
    if (!doc) {
        mock_respond_error(req, 400, msg);
        return;
    }
    json_t *requests = json_object_get(doc, "requests");
    if (!json_is_array(requests)) {
        json_decref(doc);
        mock_respond_error(req, 400, "requests: expected an array");
        return;
    }
    size_t i;
    json_t *o;
    json_array_foreach(requests, i, o)
    {
        if (!json_is_integer(json_object_get(o, "id")) ||
            !json_is_integer(json_object_get(o, "time_ms")) ||
            !json_is_string(json_object_get(o, "method")) ||
            !json_is_string(json_object_get(o, "path")) ||
            !json_is_string(json_object_get(o, "query")) ||
            !json_is_integer(json_object_get(o, "status"))) {
            snprintf(msg, sizeof(msg),
                     "requests[%zu]: id, time_ms, method, path, query and status are required", i);
            json_decref(doc);
            mock_respond_error(req, 400, msg);
            return;
        }
    }
    mock_journal_clear(srv);
    uint64_t next_id = srv->journal_next_id;
    json_array_foreach(requests, i, o)
    {
        if (srv->cfg.journal_max == 0)
            break;
        if (srv->journal_len == srv->cfg.journal_max)
            journal_drop_oldest(srv);
        size_t slot = (srv->journal_head + srv->journal_len) % srv->cfg.journal_max;
        mock_journal_entry_t *e = &srv->journal[slot];
        const char *body = json_string_value(json_object_get(o, "body"));
        const char *matched = json_string_value(json_object_get(o, "matched"));
        const char *fault = json_string_value(json_object_get(o, "fault"));
        e->id = (uint64_t)json_integer_value(json_object_get(o, "id"));
        e->time_ms = json_integer_value(json_object_get(o, "time_ms"));
        e->method = mock_xstrdup(json_string_value(json_object_get(o, "method")));
        e->path = mock_xstrdup(json_string_value(json_object_get(o, "path")));
        e->query = mock_xstrdup(json_string_value(json_object_get(o, "query")));
        e->body_len = body ? json_string_length(json_object_get(o, "body")) : 0;
        e->body = mock_xstrndup(body ? body : "", e->body_len);
        e->body_truncated = json_is_true(json_object_get(o, "body_truncated"));
        e->matched = mock_xstrdup(matched ? matched : "");
        e->fault = mock_xstrdup(fault ? fault : "");
        e->status = (int)json_integer_value(json_object_get(o, "status"));
        e->latency_ms = json_number_value(json_object_get(o, "latency_ms"));
        srv->journal_bytes += e->body_len;
        srv->journal_len++;
        if (e->id >= next_id)
            next_id = e->id + 1;
    }
    srv->journal_next_id = next_id;
    json_t *total = json_object_get(json_object_get(doc, "meta"), "total");
    srv->journal_total =
        json_is_integer(total) ? (uint64_t)json_integer_value(total) : json_array_size(requests);
    json_decref(doc);
    mock_respond_json(req, 200, json_pack("{s:I}", "requests", (json_int_t)srv->journal_len));
}

/* ---- faults ----------------------------------------------------------------------------- */
static const char *const fault_names[] = {"none", "delay",     "status",
                                          "drop", "malformed", "stream_disconnect"};

static void fault_free(mock_fault_t *f)
{
    free(f->path);
    free(f->method);
    free(f->body_contains);
}

void mock_faults_clear(mock_server_t *srv)
{
    for (size_t i = 0; i < srv->nfaults; i++)
        fault_free(&srv->faults[i]);
    free(srv->faults);
    srv->faults = NULL;
    srv->nfaults = 0;
}

/* splitmix64: small, seeded, the same sequence everywhere */
static uint64_t rng_next(mock_server_t *srv)
{
    uint64_t z = (srv->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_unit(mock_server_t *srv)
{
    return (double)(rng_next(srv) >> 11) / 9007199254740992.0; /* [0, 1) */
}

static bool fault_matches(const mock_server_t *srv, const mock_fault_t *f, const mock_request_t *r)
{
    if (f->method && strcasecmp(f->method, r->method) != 0)
        return false;
    if (f->body_contains) {
        const mock_conn_t *c = r->conn;
        if (!c->body.data ||
            !memmem(c->body.data, c->body.len, f->body_contains, strlen(f->body_contains)))
            return false;
    }
    if (!f->path)
        return r->journaled; /* global faults spare the health path */
    size_t n = strlen(f->path);
    if (n > 0 && f->path[n - 1] == '*')
        return strncmp(r->path, f->path, n - 1) == 0;
    return strcmp(r->path, f->path) == 0;
}

void mock_faults_decide(mock_server_t *srv, mock_request_t *req)
{
    mock_fault_hit_t *hit = &req->fault;
    size_t off = 0;
    for (size_t i = 0; i < srv->nfaults; i++) {
        mock_fault_t *f = &srv->faults[i];
        if (f->times == 0 || !fault_matches(srv, f, req))
            continue;
        if (f->type != MOCK_FAULT_DELAY && hit->type != MOCK_FAULT_NONE)
            continue;
        if (rng_unit(srv) >= f->probability)
            continue;
        if (f->times > 0)
            f->times--;
        if (f->type == MOCK_FAULT_DELAY) {
            uint64_t d = f->delay_ms;
            if (f->delay_max_ms > f->delay_ms)
                d += rng_next(srv) % (f->delay_max_ms - f->delay_ms + 1);
            hit->delay_ms += d;
            off += (size_t)snprintf(hit->desc + off, sizeof(hit->desc) - off, "%sdelay %llums",
                                    off ? ", " : "", (unsigned long long)d);
        } else {
            hit->type = f->type;
            hit->status = f->status;
            hit->retry_after = f->retry_after;
            hit->after_chunks = f->after_chunks;
            if (f->type == MOCK_FAULT_STATUS)
                off += (size_t)snprintf(hit->desc + off, sizeof(hit->desc) - off, "%sstatus %d",
                                        off ? ", " : "", f->status);
            else
                off += (size_t)snprintf(hit->desc + off, sizeof(hit->desc) - off, "%s%s",
                                        off ? ", " : "", fault_names[f->type]);
        }
        if (off >= sizeof(hit->desc))
            off = sizeof(hit->desc) - 1;
    }
}

static int parse_fault(json_t *o, size_t idx, mock_fault_t *f, char *msg, size_t msgsize)
{
    memset(f, 0, sizeof(*f));
    f->probability = 1.0;
    f->times = -1;
    f->after_chunks = 1;
    f->retry_after = 1;
    if (!json_is_object(o))
        return snprintf(msg, msgsize, "faults[%zu]: must be an object", idx), -1;
    json_t *t = json_object_get(o, "type");
    if (!json_is_string(t))
        return snprintf(msg, msgsize, "faults[%zu].type: missing or not a string", idx), -1;
    for (int k = MOCK_FAULT_DELAY; k <= MOCK_FAULT_STREAM_DISCONNECT; k++)
        if (strcmp(json_string_value(t), fault_names[k]) == 0)
            f->type = (mock_fault_type_t)k;
    if (f->type == MOCK_FAULT_NONE)
        return snprintf(msg, msgsize,
                        "faults[%zu].type: must be one of delay, status, drop, malformed, "
                        "stream_disconnect",
                        idx),
               -1;
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        bool ok = true;
        if (strcmp(key, "type") == 0 || strcmp(key, "id") == 0)
            continue; /* "id": what GET shows, so that its output can be PUT back */
        if (strcmp(key, "path") == 0 && (ok = json_is_string(v)))
            f->path = strcmp(json_string_value(v), "*") ? mock_xstrdup(json_string_value(v)) : NULL;
        else if (strcmp(key, "method") == 0 && (ok = json_is_string(v)))
            f->method = mock_xstrdup(json_string_value(v));
        else if (strcmp(key, "body_contains") == 0 &&
                 (ok = json_is_string(v) && json_string_length(v) > 0))
            f->body_contains = mock_xstrdup(json_string_value(v));
        else if (strcmp(key, "probability") == 0 && (ok = json_is_number(v)))
            f->probability = json_number_value(v);
        else if (strcmp(key, "delay_ms") == 0 &&
                 (ok = json_is_integer(v) && json_integer_value(v) >= 0))
            f->delay_ms = (uint64_t)json_integer_value(v);
        else if (strcmp(key, "delay_max_ms") == 0 &&
                 (ok = json_is_integer(v) && json_integer_value(v) >= 0))
            f->delay_max_ms = (uint64_t)json_integer_value(v);
        else if (strcmp(key, "status") == 0 &&
                 (ok = json_is_integer(v) && json_integer_value(v) >= 400 &&
                       json_integer_value(v) <= 599))
            f->status = (int)json_integer_value(v);
        else if (strcmp(key, "retry_after") == 0 &&
                 (ok = json_is_integer(v) && json_integer_value(v) >= 0))
            f->retry_after = (int)json_integer_value(v);
        else if (strcmp(key, "after_chunks") == 0 &&
                 (ok = json_is_integer(v) && json_integer_value(v) >= 0))
            f->after_chunks = (int)json_integer_value(v);
        else if (strcmp(key, "times") == 0 && /* -1: unlimited, as GET shows it */
                 (ok = json_is_integer(v) && json_integer_value(v) >= -1))
            f->times = (long)json_integer_value(v);
        else if (ok)
            return snprintf(msg, msgsize, "faults[%zu].%s: unknown field", idx, key), -1;
        if (!ok)
            return snprintf(msg, msgsize, "faults[%zu].%s: wrong type or out of range", idx, key),
                   -1;
    }
    if (f->probability < 0 || f->probability > 1 || isnan(f->probability))
        return snprintf(msg, msgsize, "faults[%zu].probability: must be between 0 and 1", idx), -1;
    if (f->type == MOCK_FAULT_STATUS && f->status == 0)
        return snprintf(msg, msgsize, "faults[%zu].status: required for type status (400-599)",
                        idx),
               -1;
    if (f->type == MOCK_FAULT_DELAY && f->delay_ms == 0 && f->delay_max_ms == 0)
        return snprintf(msg, msgsize, "faults[%zu].delay_ms: required for type delay", idx), -1;
    return 0;
}

static json_t *faults_json(mock_server_t *srv)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < srv->nfaults; i++) {
        mock_fault_t *f = &srv->faults[i];
        json_t *o =
            json_pack("{s:I,s:s,s:f,s:I}", "id", (json_int_t)f->id, "type", fault_names[f->type],
                      "probability", f->probability, "times", (json_int_t)f->times);
        json_object_set_new(o, "path", f->path ? json_string(f->path) : json_null());
        if (f->method)
            json_object_set_new(o, "method", json_string(f->method));
        if (f->body_contains)
            json_object_set_new(o, "body_contains", json_string(f->body_contains));
        if (f->type == MOCK_FAULT_DELAY) {
            json_object_set_new(o, "delay_ms", json_integer((json_int_t)f->delay_ms));
            json_object_set_new(o, "delay_max_ms", json_integer((json_int_t)f->delay_max_ms));
        }
        if (f->type == MOCK_FAULT_STATUS) {
            json_object_set_new(o, "status", json_integer(f->status));
            json_object_set_new(o, "retry_after", json_integer(f->retry_after));
        }
        if (f->type == MOCK_FAULT_STREAM_DISCONNECT)
            json_object_set_new(o, "after_chunks", json_integer(f->after_chunks));
        json_array_append_new(arr, o);
    }
    return json_pack("{s:I,s:o}", "seed", (json_int_t)srv->seed, "faults", arr);
}

/* PUT /__admin/faults: {"seed": N, "faults": [ {...}, ... ]} or one fault object. */
static void faults_put(mock_server_t *srv, mock_request_t *req)
{
    char msg[256];
    bool bad_utf8 = false;
    json_t *doc = mock_json_parse(mock_request_body(req), mock_request_body_len(req), msg,
                                  sizeof(msg), &bad_utf8);
    if (!doc) {
        mock_respond_error(req, 400, msg);
        return;
    }
    json_t *list = json_object_get(doc, "faults");
    json_t *seed = json_object_get(doc, "seed");
    json_t *single = NULL;
    if (!json_is_object(doc) || (list && !json_is_array(list)) ||
        (seed && !(json_is_integer(seed) && json_integer_value(seed) >= 0))) {
        json_decref(doc);
        mock_respond_error(req, 400,
                           "faults: body must be an object with \"seed\" (integer >= 0) and "
                           "\"faults\" (array), or one fault object with \"type\"");
        return;
    }
    if (!list && json_object_get(doc, "type")) {
        single = json_deep_copy(doc);
        json_object_del(single, "seed");
        list = json_array();
        json_array_append_new(list, single);
    } else if (list) {
        json_incref(list);
    } else {
        list = json_array();
    }
    size_t n = json_array_size(list);
    mock_fault_t *faults = mock_xcalloc(n ? n : 1, sizeof(*faults));
    for (size_t i = 0; i < n; i++) {
        if (parse_fault(json_array_get(list, i), i, &faults[i], msg, sizeof(msg)) < 0) {
            for (size_t k = 0; k <= i; k++)
                fault_free(&faults[k]);
            free(faults);
            json_decref(list);
            json_decref(doc);
            mock_respond_error(req, 400, msg);
            return;
        }
    }
    mock_faults_clear(srv);
    for (size_t i = 0; i < n; i++)
        faults[i].id = ++srv->fault_next_id;
    srv->faults = faults;
    srv->nfaults = n;
    srv->seed = seed ? (uint64_t)json_integer_value(seed) : 0;
    srv->rng = srv->seed;
    json_decref(list);
    json_decref(doc);
    mock_respond_json(req, 200, faults_json(srv));
}

/* POST /__admin/faults: one fault object, appended after the others (seed and generator kept);
 * answers {"id": N}. Parallel test suites each add their own (scoped with body_contains) and
 * remove it again with DELETE /__admin/faults/{id}. */
static void faults_post(mock_server_t *srv, mock_request_t *req)
{
    char msg[256];
    json_t *doc =
        mock_json_parse(mock_request_body(req), mock_request_body_len(req), msg, sizeof(msg), NULL);
    if (!doc) {
        mock_respond_error(req, 400, msg);
        return;
    }
    mock_fault_t f;
    if (!json_is_object(doc) || json_object_get(doc, "faults")) {
        json_decref(doc);
        mock_respond_error(req, 400,
                           "faults: POST takes one fault object with \"type\" (PUT replaces "
                           "the whole list)");
        return;
    }
    if (parse_fault(doc, 0, &f, msg, sizeof(msg)) < 0) {
        fault_free(&f);
        json_decref(doc);
        mock_respond_error(req, 400, msg);
        return;
    }
    json_decref(doc);
    f.id = ++srv->fault_next_id;
    srv->faults = mock_xrealloc(srv->faults, (srv->nfaults + 1) * sizeof(*srv->faults));
    srv->faults[srv->nfaults++] = f;
    mock_respond_json(req, 200, json_pack("{s:I}", "id", (json_int_t)f.id));
}

/* DELETE /__admin/faults/{id} */
static void faults_delete_one(mock_server_t *srv, mock_request_t *req, const char *id_text)
{
    char *end = NULL;
    unsigned long long id = strtoull(id_text, &end, 10);
    if (!*id_text || *end) {
        mock_respond_error(req, 400, "faults/{id}: the id must be a number");
        return;
    }
    for (size_t i = 0; i < srv->nfaults; i++) {
        if (srv->faults[i].id != id)
            continue;
        fault_free(&srv->faults[i]);
        memmove(&srv->faults[i], &srv->faults[i + 1],
                (srv->nfaults - i - 1) * sizeof(*srv->faults));
        srv->nfaults--;
        mock_respond_json(req, 200, json_pack("{s:I}", "deleted", (json_int_t)id));
        return;
    }
    char msg[96];
    snprintf(msg, sizeof(msg), "no fault with id %llu", id);
    mock_respond_error(req, 404, msg);
}

/* ---- routes ------------------------------------------------------------------------------ */
bool mock_admin_handle(mock_server_t *srv, mock_request_t *req)
{
    const char *m = req->method, *p = req->path;
    if (strcmp(p, "/__admin/requests") == 0) {
        if (strcmp(m, "GET") == 0) {
            char lim[32];
            size_t limit = (size_t)-1;
            if (mock_request_query_param(req, "limit", lim, sizeof(lim)))
                limit = (size_t)strtoull(lim, NULL, 10);
            mock_respond_json(req, 200, journal_json(srv, limit));
        } else if (strcmp(m, "DELETE") == 0) {
            mock_journal_clear(srv);
            mock_respond_json(req, 200, json_pack("{s:b}", "cleared", 1));
        } else if (strcmp(m, "PUT") == 0) {
            journal_put(srv, req);
        } else {
            mock_respond_error(req, 405, "/__admin/requests: use GET, PUT or DELETE");
        }
        return true;
    }
    if (strcmp(p, "/__admin/faults") == 0) {
        if (strcmp(m, "GET") == 0) {
            mock_respond_json(req, 200, faults_json(srv));
        } else if (strcmp(m, "PUT") == 0) {
            faults_put(srv, req);
        } else if (strcmp(m, "POST") == 0) {
            faults_post(srv, req);
        } else if (strcmp(m, "DELETE") == 0) {
            mock_faults_clear(srv);
            srv->rng = srv->seed;
            mock_respond_json(req, 200, faults_json(srv));
        } else {
            mock_respond_error(req, 405, "/__admin/faults: use GET, PUT, POST or DELETE");
        }
        return true;
    }
    if (strncmp(p, "/__admin/faults/", 16) == 0) {
        if (strcmp(m, "DELETE") == 0)
            faults_delete_one(srv, req, p + 16);
        else
            mock_respond_error(req, 405, "/__admin/faults/{id}: use DELETE");
        return true;
    }
    if (strcmp(p, "/__admin/reset") == 0) {
        if (strcmp(m, "POST") != 0) {
            mock_respond_error(req, 405, "/__admin/reset: use POST");
            return true;
        }
        mock_journal_clear(srv);
        mock_faults_clear(srv);
        srv->seed = srv->rng = 0;
        if (srv->cfg.reset)
            srv->cfg.reset(srv->cfg.user);
        mock_respond_json(req, 200, json_pack("{s:b}", "reset", 1));
        return true;
    }
    return false; /* the service's own admin routes */
}
