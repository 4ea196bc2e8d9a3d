/* mock-vector: routing, responses and collection handlers of the Qdrant REST API. */
#include "qdrant_internal.h"

#include <ctype.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mv_alloc.h"

#define MAX_DIMENSION 65536
#define TRIM_AFTER_BODY_BYTES (1u << 20)

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- responses ------------------------------------------------------------------------------ */

static int reply_json(request_t *r, int status, json_t *doc)
{
    if (!r->untimed)
        json_object_set_new(doc, "time", json_real(now_seconds() - r->start));
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!text)
        text = mv_strdup("{\"status\":{\"error\":\"Service internal error: cannot encode\"}}");
    free(r->res->body);
    r->res->status = status;
    r->res->content_type = "application/json";
    r->res->body = text;
    r->res->body_len = strlen(text);
    return status;
}

int reply_ok(request_t *r, json_t *result)
{
    return reply_json(r, 200, json_pack("{s:o,s:s}", "result", result, "status", "ok"));
}

static int reply_verror(request_t *r, int status, const char *prefix, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static int reply_verror(request_t *r, int status, const char *prefix, const char *fmt, va_list ap)
{
    char msg[1024];
    size_t n = (size_t)snprintf(msg, sizeof(msg), "%s", prefix);
    vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
    json_t *m = json_string(msg);
    if (!m) /* not valid UTF-8 (a name echoed from the request): say so without echoing it */
        m = json_string("Bad request: request contains invalid UTF-8");
    return reply_json(r, status, json_pack("{s:{s:o}}", "status", "error", m));
}

int reply_error(request_t *r, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_verror(r, status, "", fmt, ap);
    va_end(ap);
    return status;
}

int reply_format_error(request_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_verror(r, 400, "Format error in JSON body: ", fmt, ap);
    va_end(ap);
    return 400;
}

int reply_validation_error(request_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reply_verror(r, 422, "Validation error in JSON body: ", fmt, ap);
    va_end(ap);
    return 422;
}

int reply_not_found_collection(request_t *r, const char *name)
{
    return reply_error(r, 404, "Not found: Collection `%s` doesn't exist!", name);
}

static int reply_text(request_t *r, int status, const char *text)
{
    free(r->res->body);
    r->res->status = status;
    r->res->content_type = "text/plain; charset=utf-8";
    r->res->body = mv_strdup(text);
    r->res->body_len = strlen(text);
    return status;
}

void qdrant_response_clear(qdrant_response_t *res)
{
    free(res->body);
    memset(res, 0, sizeof(*res));
}

/* ---- request helpers ------------------------------------------------------------------------ */

bool query_flag(const request_t *r, const char *name, bool fallback)
{
    size_t len = strlen(name);
    for (const char *p = r->query; p && *p;) {
        size_t plen = strcspn(p, "&");
        if (plen > len && strncmp(p, name, len) == 0 && p[len] == '=') {
            const char *v = p + len + 1;
            size_t vlen = plen - len - 1;
            return (vlen == 4 && strncmp(v, "true", 4) == 0) || (vlen == 1 && *v == '1');
        }
        p += plen;
        if (*p == '&')
            p++;
    }
    return fallback;
}

json_t *body_object(request_t *r)
{
    if (!r->body)
        return json_object();
    if (!json_is_object(r->body)) {
        reply_format_error(r, "expected a JSON object at the top level");
        return NULL;
    }
    return json_incref(r->body);
}

collection_t *qdrant_find(qdrant_t *q, const char *name)
{
    for (size_t i = 0; i < q->n; i++) {
        if (strcmp(collection_name(q->collections[i]), name) == 0)
            return q->collections[i];
    }
    return NULL;
}

/* ---- engine --------------------------------------------------------------------------------- */

qdrant_t *qdrant_new(void)
{
    qdrant_t *q = mv_calloc(1, sizeof(qdrant_t));
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    qdrant_set_search_threads(q, cpus > 0 ? (size_t)cpus : 1, 16384);
    return q;
}

void qdrant_set_search_threads(qdrant_t *q, size_t threads, size_t min_points_per_thread)
{
    q->search_threads = threads > SEARCH_MAX_THREADS ? SEARCH_MAX_THREADS : threads;
    q->min_points_per_thread = min_points_per_thread;
}

void qdrant_reset(qdrant_t *q)
{
    for (size_t i = 0; i < q->n; i++)
        collection_free(q->collections[i]);
    q->n = 0;
}

void qdrant_free(qdrant_t *q)
{
    if (!q)
        return;
    qdrant_reset(q);
    free(q->collections);
    free(q);
}

size_t qdrant_memory(const qdrant_t *q)
{
    size_t total = 0;
    for (size_t i = 0; i < q->n; i++)
        total += collection_memory(q->collections[i]);
    return total;
}

/* ---- collection handlers -------------------------------------------------------------------- */

static int handle_root(request_t *r)
{
    r->untimed = true; /* Qdrant's version document carries no time */
    return reply_json(r, 200,
                      json_pack("{s:s,s:s,s:s}", "title", "qdrant - vector search engine",
                                "version", QDRANT_MOCK_VERSION, "commit", "mock-vector"));
}

static int handle_collections_list(request_t *r)
{
    json_t *list = json_array();
    for (size_t i = 0; i < r->q->n; i++)
        json_array_append_new(list,
                              json_pack("{s:s}", "name", collection_name(r->q->collections[i])));
    return reply_ok(r, json_pack("{s:o}", "collections", list));
}

static bool valid_collection_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > 255)
        return false;
    for (const char *p = name; *p; p++) {
        if (strchr("<>:\"/\\|?*", *p) || (unsigned char)*p < 0x20)
            return false;
    }
    return true;
}

static int parse_vector_params(request_t *r, const json_t *vectors, size_t *dim, distance_t *dist)
{
    if (!vectors)
        return reply_format_error(r, "missing field `vectors`"), -1;
    if (!json_is_object(vectors))
        return reply_format_error(r,
                                  "field `vectors`: expected an object {\"size\", \"distance\"}"),
               -1;
    const json_t *size = json_object_get(vectors, "size");
    const json_t *distance = json_object_get(vectors, "distance");
    if (!size && !distance && json_object_size(vectors) > 0)
        return reply_error(r, 400,
                           "Wrong input: named vectors are not supported by mock-vector; use "
                           "{\"vectors\": {\"size\": n, \"distance\": \"Cosine\"}}"),
               -1;
    if (!size)
        return reply_format_error(r, "missing field `vectors.size`"), -1;
    if (!json_is_integer(size) || json_integer_value(size) < 0)
        return reply_format_error(r, "field `vectors.size`: expected an unsigned integer"), -1;
    if (json_integer_value(size) < 1 || json_integer_value(size) > MAX_DIMENSION)
        return reply_validation_error(r, "vectors.size: value %lld invalid, must be from 1 to %d",
                                      (long long)json_integer_value(size), MAX_DIMENSION),
               -1;
    if (!distance)
        return reply_format_error(r, "missing field `vectors.distance`"), -1;
    if (!json_is_string(distance) || distance_parse(json_string_value(distance), dist) < 0)
        return reply_format_error(r, "field `vectors.distance`: unknown variant, expected one of "
                                     "`Cosine`, `Euclid`, `Dot`, `Manhattan`"),
               -1;
    *dim = (size_t)json_integer_value(size);
    return 0;
}

static int handle_collection_create(request_t *r, const char *name)
{
    if (!valid_collection_name(name))
        return reply_validation_error(r, "collection_name: invalid collection name `%s`", name);
    json_t *body = body_object(r);
    if (!body)
        return r->res->status;
    size_t dim = 0;
    distance_t dist = DISTANCE_COSINE;
    int rc = parse_vector_params(r, json_object_get(body, "vectors"), &dim, &dist);
    json_decref(body);
    if (rc < 0)
        return r->res->status;
    if (qdrant_find(r->q, name))
        return reply_error(r, 409, "Wrong input: Collection `%s` already exists!", name);
    if (r->q->n == r->q->cap) {
        r->q->cap = r->q->cap ? r->q->cap * 2 : 8;
        r->q->collections = mv_realloc(r->q->collections, r->q->cap * sizeof(collection_t *));
    }
    r->q->collections[r->q->n++] = collection_new(name, dim, dist);
    return reply_ok(r, json_true());
}

static int handle_collection_delete(request_t *r, const char *name)
{
    for (size_t i = 0; i < r->q->n; i++) {
        if (strcmp(collection_name(r->q->collections[i]), name) == 0) {
            collection_free(r->q->collections[i]);
            memmove(&r->q->collections[i], &r->q->collections[i + 1],
                    (r->q->n - i - 1) * sizeof(collection_t *));
            r->q->n--;
            return reply_ok(r, json_true());
        }
    }
    return reply_ok(r, json_false());
}

static int handle_collection_info(request_t *r, collection_t *c)
{
    json_t *params =
        json_pack("{s:{s:I,s:s},s:i,s:i,s:i,s:b}", "vectors", "size", (json_int_t)collection_dim(c),
                  "distance", distance_name(collection_distance(c)), "shard_number", 1,
                  "replication_factor", 1, "write_consistency_factor", 1, "on_disk_payload", 1);
    json_t *hnsw = json_pack("{s:i,s:i,s:i,s:i,s:b}", "m", 16, "ef_construct", 100,
                             "full_scan_threshold", 10000, "max_indexing_threads", 0, "on_disk", 0);
    json_t *optimizer = json_pack("{s:f,s:i,s:i,s:n,s:n,s:i,s:i,s:n}", "deleted_threshold", 0.2,
                                  "vacuum_min_vector_number", 1000, "default_segment_number", 0,
                                  "max_segment_size", "memmap_threshold", "indexing_threshold",
                                  20000, "flush_interval_sec", 5, "max_optimization_threads");
    json_t *wal = json_pack("{s:i,s:i}", "wal_capacity_mb", 32, "wal_segments_ahead", 0);
    json_t *info = json_pack("{s:s,s:s,s:i,s:I,s:i,s:{s:o,s:o,s:o,s:o,s:n},s:{}}", "status",
                             "green", "optimizer_status", "ok", "indexed_vectors_count", 0,
                             "points_count", (json_int_t)collection_count(c), "segments_count", 1,
                             "config", "params", params, "hnsw_config", hnsw, "optimizer_config",
                             optimizer, "wal_config", wal, "quantization_config", "payload_schema");
    return reply_ok(r, info);
}

static int handle_field_index(request_t *r, collection_t *c)
{
    /* Payload indexes only speed up Qdrant; exact search needs none. Accept and ignore. */
    json_t *body = body_object(r);
    if (!body)
        return r->res->status;
    bool has_name = json_is_string(json_object_get(body, "field_name"));
    json_decref(body);
    if (!has_name)
        return reply_format_error(r, "missing field `field_name`");
    return reply_ok(r, json_pack("{s:I,s:s}", "operation_id",
                                 (json_int_t)collection_next_operation(c), "status",
                                 query_flag(r, "wait", false) ? "completed" : "acknowledged"));
}

/* ---- routing -------------------------------------------------------------------------------- */

static bool is_method(const request_t *r, const char *m)
{
    return strcmp(r->method, m) == 0;
}

static int route_points(request_t *r, collection_t *c)
{
    /* segs: collections {name} points [action [sub]] */
    const char *action = r->nsegs > 3 ? r->segs[3] : NULL;
    const char *sub = r->nsegs > 4 ? r->segs[4] : NULL;
    if (r->nsegs > 5)
        return -1;
    if (!action) {
        if (is_method(r, "PUT"))
            return handle_points_upsert(r, c);
        if (is_method(r, "POST"))
            return handle_points_retrieve(r, c);
        return -1;
    }
    if (sub) {
        if (is_method(r, "POST") && strcmp(sub, "batch") == 0) {
            if (strcmp(action, "search") == 0)
                return handle_points_search_batch(r, c);
            if (strcmp(action, "query") == 0)
                return handle_points_query_batch(r, c);
        }
        return -1;
    }
    if (is_method(r, "GET"))
        return handle_point_get(r, c, action);
    if (is_method(r, "POST")) {
        if (strcmp(action, "delete") == 0)
            return handle_points_delete(r, c);
        if (strcmp(action, "count") == 0)
            return handle_points_count(r, c);
        if (strcmp(action, "search") == 0)
            return handle_points_search(r, c);
        if (strcmp(action, "query") == 0)
            return handle_points_query(r, c);
        if (strcmp(action, "scroll") == 0)
            return handle_points_scroll(r, c);
        if (strcmp(action, "payload") == 0)
            return handle_points_payload(r, c, false);
    }
    if (is_method(r, "PUT") && strcmp(action, "payload") == 0)
        return handle_points_payload(r, c, true);
    return -1;
}

static int route_collection(request_t *r)
{
    const char *name = r->segs[1];
    if (r->nsegs == 2) {
        if (is_method(r, "PUT"))
            return handle_collection_create(r, name);
        if (is_method(r, "DELETE"))
            return handle_collection_delete(r, name);
    }
    if (r->nsegs == 3 && strcmp(r->segs[2], "exists") == 0 && is_method(r, "GET"))
        return reply_ok(r, json_pack("{s:b}", "exists", qdrant_find(r->q, name) != NULL));
    collection_t *c = qdrant_find(r->q, name);
    bool known = r->nsegs == 2 ? (is_method(r, "GET") || is_method(r, "PATCH"))
                               : (strcmp(r->segs[2], "points") == 0 ||
                                  (r->nsegs == 3 && strcmp(r->segs[2], "index") == 0));
    if (!known)
        return -1;
    if (!c)
        return reply_not_found_collection(r, name);
    if (r->nsegs == 2)
        return is_method(r, "GET") ? handle_collection_info(r, c) : reply_ok(r, json_true());
    if (strcmp(r->segs[2], "index") == 0)
        return is_method(r, "PUT") ? handle_field_index(r, c) : -1;
    return route_points(r, c);
}

static int route(request_t *r)
{
    if (r->nsegs == 0)
        return is_method(r, "GET") ? handle_root(r) : -1;
    if (r->nsegs == 1 && is_method(r, "GET")) {
        if (strcmp(r->segs[0], "healthz") == 0 || strcmp(r->segs[0], "livez") == 0)
            return reply_text(r, 200, "healthz check passed");
        if (strcmp(r->segs[0], "readyz") == 0)
            return reply_text(r, 200, "all shards are ready");
        if (strcmp(r->segs[0], "collections") == 0)
            return handle_collections_list(r);
    }
    if (r->nsegs >= 2 && strcmp(r->segs[0], "collections") == 0)
        return route_collection(r);
    return -1;
}

/* Percent-decodes one path segment; NULL if it is malformed or decodes to a NUL byte. */
static char *segment_decode(const char *s, size_t len)
{
    char *out = mv_malloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            if (i + 2 >= len + 0 || !isxdigit((unsigned char)s[i + 1]) ||
                !isxdigit((unsigned char)s[i + 2])) {
                free(out);
                return NULL;
            }
            char hex[3] = {s[i + 1], s[i + 2], 0};
            out[o] = (char)strtol(hex, NULL, 16);
            if (out[o] == '\0') {
                free(out);
                return NULL;
            }
            o++;
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

/* Splits "/a/b?x=y" into decoded segments and the query; -1 on a malformed or too long path. */
static int split_target(request_t *r, const char *target)
{
    size_t path_len = strcspn(target, "?");
    if (target[path_len] == '?')
        r->query = mv_strdup(target + path_len + 1);
    const char *p = target;
    const char *end = target + path_len;
    while (p < end) {
        while (p < end && *p == '/')
            p++;
        if (p == end)
            break;
        const char *slash = memchr(p, '/', (size_t)(end - p));
        size_t len = slash ? (size_t)(slash - p) : (size_t)(end - p);
        if (r->nsegs == sizeof(r->segs) / sizeof(r->segs[0]))
            return -1;
        if (!(r->segs[r->nsegs] = segment_decode(p, len)))
            return -1;
        r->nsegs++;
        p += len;
    }
    return 0;
}

static bool method_has_body(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

/* PUT /collections/{existing}/points: the body can be hundreds of MB of vectors, streamed rather
 * than parsed into a tree. Other collections keep the tree path (a malformed body is reported
 * before the missing collection, as before). */
static bool is_streamed_upsert(const request_t *r)
{
    return r->nsegs == 3 && strcmp(r->method, "PUT") == 0 &&
           strcmp(r->segs[0], "collections") == 0 && strcmp(r->segs[2], "points") == 0 &&
           qdrant_find(r->q, r->segs[1]) != NULL;
}

/* The parse tree of a large body is freed in the middle of the heap, where glibc keeps it: hand
 * the pages back so that resident memory stays near the stored data. At most once a second (each
 * trim costs the next large request its page faults), or when a small request follows large
 * ones (the bulk load is over). */
static void heap_trim(qdrant_t *q, size_t body_len)
{
#ifdef __GLIBC__
    bool large = body_len >= TRIM_AFTER_BODY_BYTES;
    q->trim_pending = q->trim_pending || large;
    double t = now_seconds();
    if (q->trim_pending && (!large || t - q->last_trim >= 1.0)) {
        malloc_trim(0);
        q->last_trim = t;
        q->trim_pending = false;
    }
#else
    (void)q;
    (void)body_len;
#endif
}

int qdrant_handle(qdrant_t *q, const char *method, const char *target, const char *body,
                  size_t body_len, qdrant_response_t *res)
{
    memset(res, 0, sizeof(*res));
    request_t r = {.q = q, .method = method, .res = res, .start = now_seconds()};
    int status;
    if (split_target(&r, target ? target : "/") < 0) {
        status = reply_error(&r, 404, "Not found: malformed path");
        goto out;
    }
    for (size_t i = 0; i < r.nsegs; i++) {
        json_t *check = json_string(r.segs[i]); /* jansson validates UTF-8 */
        if (!check) {
            status = reply_error(&r, 400, "Bad request: the path is not valid UTF-8");
            goto out;
        }
        json_decref(check);
    }
    if (body_len > 0 && is_streamed_upsert(&r)) {
        r.raw_body = body; /* parsed as it is read: qdrant_upsert.c */
        r.raw_len = body_len;
    } else if (body_len > 0 && method_has_body(method)) {
        json_error_t jerr;
        r.body = json_loadb(body, body_len, JSON_DECODE_ANY, &jerr);
        if (!r.body) {
            status = reply_format_error(&r, "%s at line %d column %d", jerr.text, jerr.line,
                                        jerr.column);
            goto out;
        }
    }
    status = route(&r);
    if (status < 0)
        status = reply_error(&r, 404, "Not found: no route for %s /%s%s", method,
                             r.nsegs ? r.segs[0] : "", r.nsegs > 1 ? "/..." : "");
out:
    for (size_t i = 0; i < r.nsegs; i++)
        free(r.segs[i]);
    free(r.query);
    json_decref(r.body);
    heap_trim(q, body_len);
    return status;
}
