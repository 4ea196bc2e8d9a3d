/* mock-vector: exact nearest-neighbour search, the classic search API and the universal query. */
#include "qdrant_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mv_alloc.h"

typedef struct search_request {
    float *vector; /* owned; NULL for a query without a nearest vector */
    long exclude_slot;
    const json_t *filter;
    size_t limit, offset;
    bool has_threshold;
    float threshold;
    payload_selector_t payload;
    bool with_vector;
} search_request_t;

/* Common fields of search and query bodies; -1 after replying. */
static int read_common(request_t *r, const json_t *body, size_t default_limit, bool limit_required,
                       search_request_t *s)
{
    const json_t *thr = json_object_get(body, "score_threshold");
    if (limit_required && !json_object_get(body, "limit"))
        return reply_format_error(r, "missing field `limit`"), -1;
    if (uint_field(r, body, "limit", default_limit, &s->limit) < 0 ||
        uint_field(r, body, "offset", 0, &s->offset) < 0 || filter_field(r, body, &s->filter) < 0 ||
        payload_selector_parse(r, json_object_get(body, "with_payload"), false, &s->payload) < 0 ||
        with_vector_parse(r, json_object_get(body, "with_vector"), &s->with_vector) < 0)
        return -1;
    if (thr && !json_is_null(thr)) {
        if (!json_is_number(thr))
            return reply_format_error(r, "field `score_threshold`: expected a number"), -1;
        s->has_threshold = true;
        s->threshold = (float)json_number_value(thr);
    }
    const json_t *using = json_object_get(body, "using");
    if (using && !json_is_null(using) &&
        !(json_is_string(using) && json_string_value(using)[0] == '\0'))
        return reply_error(r, 400,
                           "Wrong input: Not existing vector name error: mock-vector collections "
                           "have only the unnamed vector"),
               -1;
    return 0;
}

static json_t *run_search(const qdrant_t *q, collection_t *c, const search_request_t *s)
{
    json_t *points = json_array();
    size_t count = collection_count(c);
    if (s->offset >= count || s->limit == 0)
        return points;
    size_t k = s->limit > count - s->offset ? count : s->offset + s->limit;
    scored_t *out = mv_malloc(k * sizeof(*out));
    size_t n;
    filter_ctx_t fc;
    filter_ctx_init(&fc, s->filter);
    if (s->vector) {
        search_params_t p = {.query = s->vector,
                             .k = k,
                             .has_threshold = s->has_threshold,
                             .threshold = s->threshold,
                             .accept = s->filter ? filter_accept : NULL,
                             .accept_ctx = &fc,
                             .exclude_slot = s->exclude_slot,
                             .threads = q->search_threads,
                             .min_points_per_thread = q->min_points_per_thread};
        n = collection_search(c, &p, out);
    } else {
        /* no query: points in id order, as scroll gives them, with score 0 */
        uint32_t *sorted = collection_sorted_slots(c);
        n = 0;
        for (size_t i = 0; i < count && n < k; i++) {
            if (!s->filter || filter_accept(&fc, c, sorted[i]))
                out[n++] = (scored_t){sorted[i], 0.0f};
        }
        free(sorted);
    }
    filter_ctx_clear(&fc);
    for (size_t i = s->offset; i < n; i++)
        json_array_append_new(
            points, point_to_json(c, out[i].slot, &s->payload, s->with_vector, &out[i].score));
    free(out);
    return points;
}

static float *query_vector(request_t *r, collection_t *c, const json_t *v, const char *field)
{
    float *vec = vector_from_json(r, c, v, field);
    if (vec && collection_distance(c) == DISTANCE_COSINE)
        vector_normalize(vec, collection_dim(c));
    return vec;
}

/* {"vector": [..]} or the named form {"vector": {"name": "", "vector": [..]}}. */
static int read_search(request_t *r, collection_t *c, const json_t *body, search_request_t *s)
{
    const json_t *v = json_object_get(body, "vector");
    if (!v)
        return reply_format_error(r, "missing field `vector`"), -1;
    if (json_is_object(v) && json_object_get(v, "vector")) {
        const json_t *name = json_object_get(v, "name");
        if (name && !(json_is_string(name) && json_string_value(name)[0] == '\0'))
            return reply_error(r, 400,
                               "Wrong input: Not existing vector name error: mock-vector "
                               "collections have only the unnamed vector"),
                   -1;
        v = json_object_get(v, "vector");
    }
    if (read_common(r, body, 10, true, s) < 0)
        return -1;
    s->vector = query_vector(r, c, v, "vector");
    return s->vector ? 0 : -1;
}

static bool is_point_id(const json_t *v)
{
    point_id_t tmp;
    return json_is_integer(v) || (json_is_string(v) && point_id_from_json(v, &tmp) == 0);
}

/* The query field: [..] | {"nearest": [..] | id} | id | absent. */
static int read_query(request_t *r, collection_t *c, const json_t *body, search_request_t *s)
{
    const json_t *q = json_object_get(body, "query");
    const json_t *prefetch = json_object_get(body, "prefetch");
    if (prefetch && !json_is_null(prefetch))
        return reply_error(r, 400, "Wrong input: prefetch is not supported by mock-vector"), -1;
    if (read_common(r, body, 10, false, s) < 0)
        return -1;
    if (!q || json_is_null(q))
        return 0;
    if (json_is_object(q)) {
        const json_t *nearest = json_object_get(q, "nearest");
        if (!nearest) {
            const char *kind =
                json_object_size(q) ? json_object_iter_key(json_object_iter((json_t *)q)) : "{}";
            return reply_error(r, 400,
                               "Wrong input: query `%s` is not supported by mock-vector (use a "
                               "vector, {\"nearest\": vector} or a point id)",
                               kind),
                   -1;
        }
        q = nearest;
    }
    if (is_point_id(q)) {
        point_id_t id;
        if (point_id_from_json(q, &id) < 0)
            return reply_format_error(r, "field `query`: not a valid point ID"), -1;
        long slot = collection_find(c, &id);
        if (slot < 0)
            return reply_error(r, 404, "Not found: No point with id %s found",
                               json_is_string(q) ? json_string_value(q) : "given in `query`"),
                   -1;
        s->vector = mv_malloc(collection_dim(c) * sizeof(float));
        memcpy(s->vector, collection_slot_vector(c, (size_t)slot),
               collection_dim(c) * sizeof(float));
        s->exclude_slot = slot;
        return 0;
    }
    s->vector = query_vector(r, c, q, "query");
    return s->vector ? 0 : -1;
}

typedef int (*read_fn)(request_t *r, collection_t *c, const json_t *body, search_request_t *s);

/* One request body -> the list of scored points, or NULL after replying. */
static json_t *search_one(request_t *r, collection_t *c, const json_t *body, read_fn read)
{
    search_request_t s = {.exclude_slot = -1};
    if (!json_is_object(body)) {
        reply_format_error(r, "expected a JSON object");
        return NULL;
    }
    json_t *points = read(r, c, body, &s) == 0 ? run_search(r->q, c, &s) : NULL;
    free(s.vector);
    return points;
}

static int handle_single(request_t *r, collection_t *c, read_fn read, bool wrap_points)
{
    json_t *body = body_object(r);
    if (!body)
        return r->res->status;
    json_t *points = search_one(r, c, body, read);
    if (points)
        reply_ok(r, wrap_points ? json_pack("{s:o}", "points", points) : points);
    json_decref(body);
    return r->res->status;
}

static int handle_batch(request_t *r, collection_t *c, read_fn read, bool wrap_points)
{
    json_t *body = body_object(r);
    if (!body)
        return r->res->status;
    const json_t *searches = json_object_get(body, "searches");
    if (!json_is_array(searches)) {
        reply_format_error(r, "%s `searches`",
                           searches ? "expected a list in field" : "missing field");
        json_decref(body);
        return r->res->status;
    }
    json_t *results = json_array();
    for (size_t i = 0; i < json_array_size(searches); i++) {
        json_t *points = search_one(r, c, json_array_get(searches, i), read);
        if (!points) {
            json_decref(results);
            json_decref(body);
            return r->res->status;
        }
        json_array_append_new(results, wrap_points ? json_pack("{s:o}", "points", points) : points);
    }
    reply_ok(r, results);
    json_decref(body);
    return r->res->status;
}

int handle_points_search(request_t *r, collection_t *c)
{
    return handle_single(r, c, read_search, false);
}

int handle_points_search_batch(request_t *r, collection_t *c)
{
    return handle_batch(r, c, read_search, false);
}

int handle_points_query(request_t *r, collection_t *c)
{
    return handle_single(r, c, read_query, true);
}

int handle_points_query_batch(request_t *r, collection_t *c)
{
    return handle_batch(r, c, read_query, true);
}
