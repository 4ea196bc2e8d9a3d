/* mock-vector: PUT /collections/{name}/points, the body read by YAJL's streaming (SAX) parser.
 *
 * An upsert of 100,000 x 384 dims is ~371 MB of JSON: a jansson tree of it (one json_t per float)
 * cost ~10 s. Here the numbers of every vector go straight into a growable float buffer; the rest
 * of each point (id, payload, a vector that is not a plain list) is built as a small jansson tree
 * from the events and checked by the same functions as before (qdrant_points.c), so the errors
 * and their order are unchanged: the first bad point (for the batch form: the first bad index,
 * id before vector before payload) is reported, after the whole body has been read (a malformed
 * body anywhere is a format error first), and nothing is stored unless every point is good. */
#include "qdrant_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "mv_alloc.h"

#define NONE ((size_t)-1)

/* Where the parser is, outside a value being built as a jansson tree. */
typedef enum {
    AT_TOP,
    IN_TOP,
    IN_POINTS,
    IN_POINT,
    IN_BATCH,
    IN_BVECTORS,
    IN_VECTOR,
    AT_END
} where_t;

/* What a value built as a jansson tree is for. */
typedef enum {
    FOR_DISCARD,
    FOR_TOP,           /* the top-level value is not an object */
    FOR_POINTS,        /* "points" is not a list */
    FOR_POINT_ELEMENT, /* an element of "points" that is not an object */
    FOR_POINT_FIELD,   /* a field of a point */
    FOR_BATCH,         /* "batch" is not an object */
    FOR_BATCH_FIELD,   /* a field of "batch" (ids, payloads, a "vectors" that is not a list) */
    FOR_BVECTOR,       /* an element of "batch.vectors" that is not a list */
} target_t;

/* An error response kept until the body is read: the one with the lowest (index, rank) wins. */
typedef struct pending {
    bool set;
    size_t index;
    int rank;
    qdrant_response_t res;
} pending_t;

typedef struct frame {
    json_t *value; /* object or array being built */
    char *key;     /* an object's next key */
} frame_t;

typedef struct upsert {
    request_t *r;
    yajl_handle h; /* its offset ends the token of the current event */
    request_t rq;  /* r answering into `scratch`: the checks' errors become pending ones */
    qdrant_response_t scratch;
    collection_t *c;
    size_t dim;
    where_t at;
    char *key; /* last key read at IN_TOP, IN_POINT or IN_BATCH */
    char fatal[160];
    /* the jansson value being built */
    frame_t *frames;
    size_t depth, frames_cap;
    target_t target;
    char *target_key;
    bool top_not_object;
    /* {"points": [...]}; the batch form fills ids and payloads too, at the end */
    bool points_seen;
    pending_t points_err;
    size_t n, cap;
    point_id_t *ids;
    float *vectors;
    char **payloads;
    json_t *point; /* fields of the current point besides a streamed vector */
    bool vec_streamed;
    size_t vec_count, vec_bad;
    /* {"batch": {...}} */
    bool batch_seen, batch_not_object, bvecs_listed;
    json_t *batch;
    size_t bn, bcap;
    float *bvectors;
    pending_t bvec_err;
    /* the vector being streamed */
    float *vout;
    size_t vcount, vbad, vnest;
    where_t vreturn;
} upsert_t;

/* ---- pending errors ------------------------------------------------------------------------- */

static void pending_clear(pending_t *p)
{
    if (p->set)
        qdrant_response_clear(&p->res);
    memset(p, 0, sizeof(*p));
}

/* Keeps the error just written to u->scratch in p when it comes first. */
static void pending_take(upsert_t *u, pending_t *p, size_t index, int rank)
{
    if (!p->set || index < p->index || (index == p->index && rank < p->rank)) {
        pending_clear(p);
        *p = (pending_t){.set = true, .index = index, .rank = rank, .res = u->scratch};
    } else {
        qdrant_response_clear(&u->scratch);
    }
    memset(&u->scratch, 0, sizeof(u->scratch));
}

static int pending_reply(upsert_t *u, pending_t *p)
{
    qdrant_response_clear(u->r->res);
    *u->r->res = p->res;
    memset(p, 0, sizeof(*p));
    return u->r->res->status;
}

/* ---- numbers -------------------------------------------------------------------------------- */

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* The float jansson's reading gives ((float) of strtod, or of the integer) for the common forms
 * "-ddd.ddd" with at most 15 significant digits: m / 10^k with both exact in a double is the
 * correctly rounded quotient, i.e. strtod's result. false: use the general path. */
static bool number_fast(const char *s, size_t len, float *out)
{
    const char *p = s, *end = s + len;
    bool neg = p < end && *p == '-', real = false;
    uint64_t m = 0;
    int digits = 0, scale = 0;
    p += neg;
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        digits += m || *p != '0';
        m = m * 10 + (uint64_t)(*p - '0');
        if (digits > 15)
            return false;
    }
    if (p < end && *p == '.') {
        real = true;
        for (p++; p < end && *p >= '0' && *p <= '9'; p++, scale++) {
            digits += m || *p != '0';
            m = m * 10 + (uint64_t)(*p - '0');
            if (digits > 15 || scale >= 22)
                return false;
        }
    }
    if (p != end)
        return false; /* an exponent */
    if (!real) {
        *out = (float)(neg ? -(json_int_t)m : (json_int_t)m);
        return true;
    }
    double d = (double)m / pow10_exact[scale];
    *out = (float)(neg ? -d : d);
    return true;
}

/* A number token as jansson reads it (integer, or real; its range errors); NULL and u->fatal. */
static json_t *number_json(upsert_t *u, const char *s, size_t len)
{
    json_error_t jerr;
    json_t *v = json_loadb(s, len, JSON_DECODE_ANY, &jerr);
    if (!v)
        snprintf(u->fatal, sizeof(u->fatal), "%s", jerr.text);
    return v;
}

/* ---- the points form ------------------------------------------------------------------------ */

static void points_reset(upsert_t *u)
{
    for (size_t i = 0; i < u->n; i++)
        free(u->payloads[i]);
    u->n = 0;
    pending_clear(&u->points_err);
    u->points_seen = true;
}

/* Room for one more point (its vector too for the points form); returns its index. */
static size_t point_slot(upsert_t *u, bool with_vector)
{
    if (u->n == u->cap) {
        u->cap = u->cap ? 2 * u->cap : 64;
        u->ids = mv_realloc(u->ids, u->cap * sizeof(*u->ids));
        if (with_vector)
            u->vectors = mv_realloc(u->vectors, u->cap * u->dim * sizeof(float));
        u->payloads = mv_realloc(u->payloads, u->cap * sizeof(*u->payloads));
    }
    u->payloads[u->n] = NULL;
    return u->n++;
}

static void point_begin(upsert_t *u)
{
    point_slot(u, true);
    u->point = json_object();
    u->vec_streamed = false;
}

/* The dimension and element checks of vector_read for a streamed vector; -1 after replying. */
static int vector_check(request_t *rq, size_t dim, const char *field, size_t count, size_t bad)
{
    if (count != dim)
        return reply_error(rq, 400,
                           "Wrong input: Vector dimension error: expected dim: %zu, got %zu", dim,
                           count),
               -1;
    if (bad != NONE)
        return reply_format_error(rq, "field `%s[%zu]`: expected a number", field, bad), -1;
    return 0;
}

/* The checks of the old tree reader, for point i, in its order: id, vector, payload. */
static int point_check(upsert_t *u, size_t i)
{
    char field[64];
    snprintf(field, sizeof(field), "points[%zu].id", i);
    if (id_from_json(&u->rq, json_object_get(u->point, "id"), field, &u->ids[i]) < 0)
        return -1;
    snprintf(field, sizeof(field), "points[%zu].vector", i);
    const json_t *v = json_object_get(u->point, "vector");
    if (u->vec_streamed) {
        if (vector_check(&u->rq, u->dim, field, u->vec_count, u->vec_bad) < 0)
            return -1;
    } else if (!v) {
        return reply_format_error(&u->rq, "missing field `%s`", field), -1;
    } else if (vector_read(&u->rq, u->c, v, field, u->vectors + i * u->dim) < 0) {
        return -1;
    }
    snprintf(field, sizeof(field), "points[%zu].payload", i);
    return payload_read(&u->rq, json_object_get(u->point, "payload"), field, &u->payloads[i]);
}

static void point_end(upsert_t *u)
{
    if (!u->points_err.set && point_check(u, u->n - 1) < 0)
        pending_take(u, &u->points_err, u->n - 1, 0);
    json_decref(u->point);
    u->point = NULL;
}

/* ---- the batch form ------------------------------------------------------------------------- */

static void batch_reset(upsert_t *u)
{
    json_decref(u->batch);
    u->batch = NULL;
    u->batch_seen = true;
    u->batch_not_object = false;
    u->bvecs_listed = false;
    u->bn = 0;
    pending_clear(&u->bvec_err);
}

static size_t bvector_slot(upsert_t *u)
{
    if (u->bn == u->bcap) {
        u->bcap = u->bcap ? 2 * u->bcap : 64;
        u->bvectors = mv_realloc(u->bvectors, u->bcap * u->dim * sizeof(float));
    }
    return u->bn++;
}

/* The checks of the old tree reader for the batch form, once the body is read. Fills ids and
 * payloads; -1 after replying. */
static int batch_check(upsert_t *u)
{
    request_t *r = u->r;
    char field[64];
    const json_t *ids = json_object_get(u->batch, "ids");
    const json_t *vectors = json_object_get(u->batch, "vectors");
    const json_t *payloads = json_object_get(u->batch, "payloads");
    if (u->batch_not_object)
        return reply_format_error(r, "field `batch`: expected an object"), -1;
    if (!json_is_array(ids))
        return reply_format_error(r, "%s `batch.ids`",
                                  ids ? "expected a list in field" : "missing field"),
               -1;
    if (!u->bvecs_listed)
        return reply_format_error(r, "%s `batch.vectors`",
                                  vectors ? "expected a list in field" : "missing field"),
               -1;
    size_t n = json_array_size(ids);
    if (u->bn != n || (payloads && !json_is_null(payloads) &&
                       (!json_is_array(payloads) || json_array_size(payloads) != n)))
        return reply_error(r, 400,
                           "Wrong input: batch.ids, batch.vectors and batch.payloads must have "
                           "the same length (%zu ids)",
                           n),
               -1;
    for (size_t i = 0; i < n; i++) {
        point_slot(u, false);
        snprintf(field, sizeof(field), "batch.ids[%zu]", i);
        if (id_from_json(r, json_array_get(ids, i), field, &u->ids[i]) < 0)
            return -1;
        if (u->bvec_err.set && u->bvec_err.index == i)
            return pending_reply(u, &u->bvec_err), -1;
        snprintf(field, sizeof(field), "batch.payloads[%zu]", i);
        if (json_is_array(payloads) &&
            payload_read(r, json_array_get(payloads, i), field, &u->payloads[i]) < 0)
            return -1;
    }
    return 0;
}

/* ---- vectors -------------------------------------------------------------------------------- */

static void vector_begin(upsert_t *u, float *out, where_t back)
{
    u->vout = out;
    u->vcount = 0;
    u->vbad = NONE;
    u->vnest = 0;
    u->vreturn = back;
    u->at = IN_VECTOR;
}

static void vector_end(upsert_t *u)
{
    u->at = u->vreturn;
    if (u->at == IN_POINT) {
        u->vec_streamed = true;
        u->vec_count = u->vcount;
        u->vec_bad = u->vbad;
        return;
    }
    char field[64];
    size_t j = u->bn - 1;
    snprintf(field, sizeof(field), "batch.vectors[%zu]", j);
    if (!u->bvec_err.set && vector_check(&u->rq, u->dim, field, u->vcount, u->vbad) < 0)
        pending_take(u, &u->bvec_err, j, 0);
}

/* An element of a streamed vector that is not a number (nested containers count once). */
static void vector_bad_element(upsert_t *u)
{
    if (u->vnest == 0) {
        if (u->vbad == NONE)
            u->vbad = u->vcount;
        u->vcount++;
    }
}

/* ---- values built as jansson trees ---------------------------------------------------------- */

static bool key_is(const upsert_t *u, const char *name)
{
    return u->key && strcmp(u->key, name) == 0;
}

/* A value starts outside any tree being built: say what it is for. */
static void build_begin(upsert_t *u)
{
    u->target = FOR_DISCARD;
    free(u->target_key);
    u->target_key = u->key ? mv_strdup(u->key) : NULL;
    switch (u->at) {
    case AT_TOP:
        u->target = FOR_TOP;
        break;
    case IN_TOP:
        if (key_is(u, "points")) {
            points_reset(u);
            u->target = FOR_POINTS;
        } else if (key_is(u, "batch")) {
            batch_reset(u);
            u->target = FOR_BATCH;
        }
        break;
    case IN_POINTS:
        point_slot(u, true);
        u->target = FOR_POINT_ELEMENT;
        break;
    case IN_POINT:
        u->target = FOR_POINT_FIELD;
        break;
    case IN_BATCH:
        u->target = FOR_BATCH_FIELD;
        break;
    case IN_BVECTORS:
        u->target = FOR_BVECTOR;
        break;
    default:
        break;
    }
}

/* A built value is complete (v is stolen). */
static void deliver(upsert_t *u, json_t *v)
{
    char field[64];
    switch (u->target) {
    case FOR_TOP:
        u->top_not_object = true;
        break;
    case FOR_POINTS:
        reply_format_error(&u->rq, "field `points`: expected a list of points");
        pending_take(u, &u->points_err, 0, 0);
        break;
    case FOR_POINT_ELEMENT:
        if (!u->points_err.set) {
            reply_format_error(&u->rq, "field `points[%zu]`: expected an object", u->n - 1);
            pending_take(u, &u->points_err, u->n - 1, 0);
        }
        break;
    case FOR_POINT_FIELD:
        if (strcmp(u->target_key, "vector") == 0)
            u->vec_streamed = false;
        json_object_set(u->point, u->target_key, v);
        break;
    case FOR_BATCH:
        u->batch_not_object = true;
        break;
    case FOR_BATCH_FIELD:
        if (strcmp(u->target_key, "vectors") == 0)
            u->bvecs_listed = false;
        json_object_set(u->batch, u->target_key, v);
        break;
    case FOR_BVECTOR: {
        size_t j = bvector_slot(u);
        snprintf(field, sizeof(field), "batch.vectors[%zu]", j);
        if (!u->bvec_err.set && vector_read(&u->rq, u->c, v, field, u->bvectors + j * u->dim) < 0)
            pending_take(u, &u->bvec_err, j, 0);
        break;
    }
    case FOR_DISCARD:
        break;
    }
    json_decref(v);
}

/* A complete value (stolen): into the tree being built, or delivered. */
static void value_done(upsert_t *u, json_t *v)
{
    if (u->depth == 0) {
        deliver(u, v);
        return;
    }
    frame_t *f = &u->frames[u->depth - 1];
    if (json_is_object(f->value)) {
        json_object_set_new(f->value, f->key ? f->key : "", v);
        free(f->key);
        f->key = NULL;
    } else {
        json_array_append_new(f->value, v);
    }
}

static void build_push(upsert_t *u, json_t *container)
{
    if (u->depth == 0)
        build_begin(u);
    if (u->depth == u->frames_cap) {
        u->frames_cap = u->frames_cap ? 2 * u->frames_cap : 16;
        u->frames = mv_realloc(u->frames, u->frames_cap * sizeof(*u->frames));
    }
    u->frames[u->depth++] = (frame_t){.value = container};
}

static void build_scalar(upsert_t *u, json_t *v)
{
    if (u->depth == 0)
        build_begin(u);
    value_done(u, v);
}

/* ---- YAJL callbacks ------------------------------------------------------------------------- */

static int on_scalar(upsert_t *u, json_t *v)
{
    if (!v)
        return 0;
    if (u->at == IN_VECTOR && u->depth == 0) {
        vector_bad_element(u);
        json_decref(v);
        return 1;
    }
    build_scalar(u, v);
    return 1;
}

static int on_null(void *ctx)
{
    return on_scalar(ctx, json_null());
}

static int on_boolean(void *ctx, int b)
{
    return on_scalar(ctx, json_boolean(b));
}

static int on_number(void *ctx, const char *s, size_t len)
{
    upsert_t *u = ctx;
    if (u->at == IN_VECTOR && u->depth == 0) {
        float f; /* converted inside nested lists too: an out-of-range number is an error */
        if (!number_fast(s, len, &f)) {
            json_t *v = number_json(u, s, len);
            if (!v)
                return 0;
            f = json_is_integer(v) ? (float)json_integer_value(v) : (float)json_real_value(v);
            json_decref(v);
        }
        if (u->vnest > 0)
            return 1;
        if (u->vcount < u->dim)
            u->vout[u->vcount] = f;
        u->vcount++;
        return 1;
    }
    return on_scalar(u, number_json(u, s, len));
}

/* The raw text of the string token that ends at the parser's offset, quotes included, if it has
 * an escape (YAJL decodes escapes more leniently than jansson, e.g. a lone "\ud800"); else NULL. */
static const char *escaped_token(const upsert_t *u, size_t *len)
{
    const char *body = u->r->raw_body;
    size_t end = yajl_get_bytes_consumed(u->h);
    if (end < 2 || end > u->r->raw_len || body[end - 1] != '"')
        return NULL;
    bool escaped = false;
    for (size_t i = end - 1; i-- > 0;) {
        escaped = escaped || body[i] == '\\';
        if (body[i] != '"')
            continue;
        size_t slashes = 0;
        while (slashes < i && body[i - 1 - slashes] == '\\')
            slashes++;
        if (slashes % 2 == 0) { /* the opening quote */
            *len = end - i;
            return escaped ? body + i : NULL;
        }
    }
    return NULL;
}

/* A string as jansson accepts it (no NUL, valid UTF-8, its escapes), or NULL and u->fatal. */
static json_t *string_json(upsert_t *u, const unsigned char *s, size_t len)
{
    size_t raw_len = 0;
    const char *raw = escaped_token(u, &raw_len);
    if (raw) {
        json_error_t jerr;
        json_t *v = json_loadb(raw, raw_len, JSON_DECODE_ANY, &jerr);
        if (!v)
            snprintf(u->fatal, sizeof(u->fatal), "%s", jerr.text);
        return v;
    }
    if (memchr(s, 0, len)) {
        snprintf(u->fatal, sizeof(u->fatal), "\\u0000 is not allowed without JSON_ALLOW_NUL");
        return NULL;
    }
    json_t *v = json_stringn((const char *)s, len);
    if (!v)
        snprintf(u->fatal, sizeof(u->fatal), "invalid UTF-8 in a string");
    return v;
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
    upsert_t *u = ctx;
    return on_scalar(u, string_json(u, s, len));
}

static int on_key(void *ctx, const unsigned char *s, size_t len)
{
    upsert_t *u = ctx;
    json_t *k = string_json(u, s, len);
    if (!k)
        return 0;
    char **slot = u->depth > 0 ? &u->frames[u->depth - 1].key : &u->key;
    if (u->at != IN_VECTOR || u->depth > 0) {
        free(*slot);
        *slot = mv_strdup(json_string_value(k));
    }
    json_decref(k);
    return 1;
}

static int on_start(upsert_t *u, bool map)
{
    if (u->depth == 0) {
        if (u->at == IN_VECTOR) {
            vector_bad_element(u);
            u->vnest++;
            return 1;
        }
        if (map && u->at == AT_TOP) {
            u->at = IN_TOP;
            return 1;
        }
        if (map && u->at == IN_POINTS) {
            point_begin(u);
            u->at = IN_POINT;
            return 1;
        }
        if (map && u->at == IN_TOP && key_is(u, "batch")) {
            batch_reset(u);
            u->batch = json_object();
            u->at = IN_BATCH;
            return 1;
        }
        if (!map && u->at == IN_TOP && key_is(u, "points")) {
            points_reset(u);
            u->at = IN_POINTS;
            return 1;
        }
        if (!map && u->at == IN_POINT && key_is(u, "vector")) {
            json_object_del(u->point, "vector");
            vector_begin(u, u->vectors + (u->n - 1) * u->dim, IN_POINT);
            return 1;
        }
        if (!map && u->at == IN_BATCH && key_is(u, "vectors")) {
            json_object_del(u->batch, "vectors");
            u->bvecs_listed = true;
            u->bn = 0;
            pending_clear(&u->bvec_err);
            u->at = IN_BVECTORS;
            return 1;
        }
        if (!map && u->at == IN_BVECTORS) {
            size_t j = bvector_slot(u);
            vector_begin(u, u->bvectors + j * u->dim, IN_BVECTORS);
            return 1;
        }
    }
    build_push(u, map ? json_object() : json_array());
    return 1;
}

static int on_start_map(void *ctx)
{
    return on_start(ctx, true);
}

static int on_start_array(void *ctx)
{
    return on_start(ctx, false);
}

static int on_end(void *ctx)
{
    upsert_t *u = ctx;
    if (u->depth > 0) {
        frame_t *f = &u->frames[--u->depth];
        free(f->key);
        value_done(u, f->value);
        return 1;
    }
    switch (u->at) {
    case IN_VECTOR:
        if (u->vnest > 0)
            u->vnest--;
        else
            vector_end(u);
        break;
    case IN_TOP:
        u->at = AT_END;
        break;
    case IN_POINT:
        point_end(u);
        u->at = IN_POINTS;
        break;
    case IN_POINTS:
    case IN_BATCH:
        u->at = IN_TOP;
        break;
    case IN_BVECTORS:
        u->at = IN_BATCH;
        break;
    default:
        break;
    }
    return 1;
}

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_key,
    .yajl_end_map = on_end,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end,
};

/* ---- the handler ---------------------------------------------------------------------------- */

static void upsert_clear(upsert_t *u)
{
    for (size_t i = 0; i < u->depth; i++) {
        json_decref(u->frames[i].value);
        free(u->frames[i].key);
    }
    free(u->frames);
    for (size_t i = 0; i < u->n; i++)
        free(u->payloads[i]);
    free(u->payloads);
    free(u->ids);
    free(u->vectors);
    free(u->bvectors);
    free(u->key);
    free(u->target_key);
    json_decref(u->point);
    json_decref(u->batch);
    pending_clear(&u->points_err);
    pending_clear(&u->bvec_err);
    qdrant_response_clear(&u->scratch);
}

/* "Format error in JSON body: <what> at line L column C", as for a body jansson cannot read. */
static int reply_parse_error(upsert_t *u, yajl_handle h, size_t offset)
{
    const char *body = u->r->raw_body;
    unsigned char *yerr = NULL;
    const char *what = u->fatal;
    if (!u->fatal[0]) {
        yerr = yajl_get_error(h, 0, (const unsigned char *)body, u->r->raw_len);
        what = (const char *)yerr;
    }
    size_t len = strlen(what);
    while (len > 0 && (what[len - 1] == '\n' || what[len - 1] == ' ' || what[len - 1] == '.'))
        len--;
    int line = 1, column = 0;
    for (size_t i = 0; i < offset && i < u->r->raw_len; i++) {
        column = body[i] == '\n' ? 0 : column + 1;
        line += body[i] == '\n';
    }
    reply_format_error(u->r, "%.*s at line %d column %d", (int)len, what, line, column);
    if (yerr)
        yajl_free_error(h, yerr);
    return u->r->res->status;
}

static int commit(upsert_t *u, const float *vectors)
{
    uint64_t op = collection_next_operation(u->c);
    for (size_t i = 0; i < u->n; i++)
        collection_upsert(u->c, &u->ids[i], vectors + i * u->dim, u->payloads[i], op);
    return reply_ok(u->r, update_result(u->r, op));
}

/* The body has been read without a syntax error: reply as the tree reader did. */
static int upsert_finish(upsert_t *u)
{
    request_t *r = u->r;
    if (u->top_not_object)
        return reply_format_error(r, "expected a JSON object at the top level");
    if (u->points_seen)
        return u->points_err.set ? pending_reply(u, &u->points_err) : commit(u, u->vectors);
    if (u->batch_seen) {
        if (batch_check(u) < 0)
            return r->res->status;
        return commit(u, u->bvectors);
    }
    return reply_format_error(r, "missing field `points` (a list of points) or `batch` "
                                 "({ids, vectors, payloads})");
}

int handle_points_upsert(request_t *r, collection_t *c)
{
    upsert_t u = {.r = r, .rq = *r, .c = c, .dim = collection_dim(c)};
    u.rq.res = &u.scratch;
    if (!r->raw_body) /* an empty body: an empty object */
        return upsert_finish(&u);
    yajl_handle h = yajl_alloc(&callbacks, NULL, &u);
    u.h = h;
    if (!h)
        return reply_error(r, 500, "Service internal error: out of memory");
    const unsigned char *body = (const unsigned char *)r->raw_body;
    yajl_status st = yajl_parse(h, body, r->raw_len);
    size_t offset = yajl_get_bytes_consumed(h);
    if (st == yajl_status_ok) {
        st = yajl_complete_parse(h);
        offset = r->raw_len;
    }
    if (st != yajl_status_ok)
        reply_parse_error(&u, h, offset);
    else
        upsert_finish(&u);
    yajl_free(h);
    upsert_clear(&u);
    return r->res->status;
}
