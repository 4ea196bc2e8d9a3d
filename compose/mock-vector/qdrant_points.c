/* mock-vector: point handlers (upsert, retrieve, delete, count, scroll, payload) and the JSON
 * helpers they share with the search handlers. */
#include "qdrant_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mv_alloc.h"

/* ---- JSON helpers --------------------------------------------------------------------------- */

json_t *json_float(float f)
{
    char buf[32];
    for (int precision = 1; precision <= 9; precision++) {
        snprintf(buf, sizeof(buf), "%.*g", precision, (double)f);
        double d = strtod(buf, NULL);
        if ((float)d == f)
            return json_real(d);
    }
    return json_real((double)f);
}

json_t *vector_to_json(const float *v, size_t dim)
{
    json_t *a = json_array();
    for (size_t i = 0; i < dim; i++)
        json_array_append_new(a, json_float(v[i]));
    return a;
}

/* Reads dim numbers from v into out; -1 after replying. */
int vector_read(request_t *r, const collection_t *c, const json_t *v, const char *field, float *out)
{
    if (json_is_object(v)) {
        /* {"": [...]} is the default (unnamed) vector */
        const json_t *unnamed = json_object_get(v, "");
        if (!unnamed || json_object_size(v) != 1)
            return reply_error(r, 400,
                               "Wrong input: Not existing vector name error: %s uses named "
                               "vectors; mock-vector supports only the unnamed vector",
                               field),
                   -1;
        v = unnamed;
    }
    if (!json_is_array(v))
        return reply_format_error(r, "field `%s`: expected a list of numbers", field), -1;
    size_t dim = collection_dim(c);
    if (json_array_size(v) != dim)
        return reply_error(r, 400,
                           "Wrong input: Vector dimension error: expected dim: %zu, got %zu", dim,
                           json_array_size(v)),
               -1;
    for (size_t i = 0; i < dim; i++) {
        const json_t *x = json_array_get(v, i);
        if (json_is_real(x))
            out[i] = (float)json_real_value(x);
        else if (json_is_integer(x))
            out[i] = (float)json_integer_value(x);
        else
            return reply_format_error(r, "field `%s[%zu]`: expected a number", field, i), -1;
    }
    return 0;
}

float *vector_from_json(request_t *r, const collection_t *c, const json_t *v, const char *field)
{
    float *out = mv_malloc(collection_dim(c) * sizeof(float));
    if (vector_read(r, c, v, field, out) < 0) {
        free(out);
        return NULL;
    }
    return out;
}

int payload_selector_parse(request_t *r, const json_t *v, bool fallback, payload_selector_t *out)
{
    memset(out, 0, sizeof(*out));
    out->enabled = fallback;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_boolean(v)) {
        out->enabled = json_is_true(v);
        return 0;
    }
    const json_t *keys = v;
    if (json_is_object(v)) {
        out->include = json_object_get(v, "include");
        out->exclude = json_object_get(v, "exclude");
        keys = out->include ? out->include : out->exclude;
    } else {
        out->include = v;
    }
    if (!json_is_array(keys))
        return reply_format_error(r, "field `with_payload`: expected a boolean, a list of keys "
                                     "or {\"include\"|\"exclude\": [keys]}"),
               -1;
    for (size_t i = 0; i < json_array_size(keys); i++) {
        if (!json_is_string(json_array_get(keys, i)))
            return reply_format_error(r, "field `with_payload[%zu]`: expected a string", i), -1;
    }
    out->enabled = true;
    return 0;
}

int with_vector_parse(request_t *r, const json_t *v, bool *out)
{
    if (!v || json_is_null(v))
        return 0;
    if (json_is_boolean(v))
        *out = json_is_true(v);
    else if (json_is_array(v))
        *out = json_array_size(v) > 0;
    else
        return reply_format_error(r, "field `with_vector`: expected a boolean or a list of names"),
               -1;
    return 0;
}

static bool key_listed(const json_t *keys, const char *key)
{
    for (size_t i = 0; i < json_array_size(keys); i++) {
        const char *k = json_string_value(json_array_get(keys, i));
        size_t len = strcspn(k, ".[");
        if (k && strlen(key) == len && strncmp(k, key, len) == 0)
            return true;
    }
    return false;
}

json_t *payload_select(const char *payload_text, const payload_selector_t *sel)
{
    json_t *payload = payload_text ? json_loads(payload_text, 0, NULL) : NULL;
    if (!payload)
        return json_object();
    if (sel->include || sel->exclude) {
        const char *key;
        json_t *value, *tmp;
        json_object_foreach_safe(payload, tmp, key, value)
        {
            bool listed = key_listed(sel->include ? sel->include : sel->exclude, key);
            if (sel->include ? !listed : listed)
                json_object_del(payload, key);
        }
    }
    return payload;
}

json_t *point_to_json(const collection_t *c, size_t slot, const payload_selector_t *sel,
                      bool with_vector, const float *score)
{
    json_t *p = json_pack("{s:o}", "id", point_id_to_json(collection_slot_id(c, slot)));
    if (score) {
        json_object_set_new(p, "version",
                            json_integer((json_int_t)collection_slot_version(c, slot)));
        json_object_set_new(p, "score", json_float(*score));
    }
    if (sel->enabled)
        json_object_set_new(p, "payload", payload_select(collection_slot_payload(c, slot), sel));
    if (with_vector)
        json_object_set_new(p, "vector",
                            vector_to_json(collection_slot_vector(c, slot), collection_dim(c)));
    return p;
}

int filter_field(request_t *r, const json_t *body, const json_t **filter)
{
    char err[512];
    const json_t *f = json_object_get(body, "filter");
    *filter = NULL;
    if (!f || json_is_null(f))
        return 0;
    if (filter_validate(f, "filter", err, sizeof(err)) < 0)
        return reply_format_error(r, "%s", err), -1;
    *filter = f;
    return 0;
}

static void needle_add(filter_ctx_t *ctx, const json_t *cond)
{
    const json_t *value = json_object_get(json_object_get(cond, "match"), "value");
    if (!json_is_object(cond) || !json_object_get(cond, "key") || !json_is_string(value) ||
        ctx->n_needles == sizeof(ctx->needles) / sizeof(ctx->needles[0]))
        return;
    /* stored payloads are compact jansson dumps: a string value appears exactly so */
    char *needle = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
    if (needle)
        ctx->needles[ctx->n_needles++] = needle;
}

void filter_ctx_init(filter_ctx_t *ctx, const json_t *filter)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->filter = filter;
    const json_t *must = json_object_get(filter, "must");
    if (json_is_object(must))
        needle_add(ctx, must);
    for (size_t i = 0; json_is_array(must) && i < json_array_size(must); i++)
        needle_add(ctx, json_array_get(must, i));
}

void filter_ctx_clear(filter_ctx_t *ctx)
{
    for (size_t i = 0; i < ctx->n_needles; i++)
        free(ctx->needles[i]);
    ctx->n_needles = 0;
}

bool filter_accept(void *ctx, const collection_t *c, size_t slot)
{
    const filter_ctx_t *fc = ctx;
    const char *text = collection_slot_payload(c, slot);
    for (size_t i = 0; i < fc->n_needles; i++) {
        if (!text || !strstr(text, fc->needles[i]))
            return false;
    }
    filter_point_t p = {.id = collection_slot_id(c, slot), .payload_text = text};
    bool ok = filter_match(fc->filter, &p);
    filter_point_clear(&p);
    return ok;
}

int uint_field(request_t *r, const json_t *body, const char *name, size_t fallback, size_t *out)
{
    const json_t *v = json_object_get(body, name);
    *out = fallback;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return reply_format_error(r, "field `%s`: expected an unsigned integer", name), -1;
    *out = (size_t)json_integer_value(v);
    return 0;
}

int id_from_json(request_t *r, const json_t *v, const char *field, point_id_t *out)
{
    if (!v)
        return reply_format_error(r, "missing field `%s`", field), -1;
    if (point_id_from_json(v, out) < 0)
        return reply_format_error(r,
                                  "field `%s`: not a valid point ID, valid values are either an "
                                  "unsigned integer or a UUID",
                                  field),
               -1;
    return 0;
}

json_t *update_result(request_t *r, uint64_t operation)
{
    return json_pack("{s:I,s:s}", "operation_id", (json_int_t)operation, "status",
                     query_flag(r, "wait", false) ? "completed" : "acknowledged");
}

/* ---- upsert (the body is streamed: qdrant_upsert.c) ----------------------------------------- */

int payload_read(request_t *r, const json_t *v, const char *field, char **out)
{
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return reply_format_error(r, "field `%s`: expected an object", field), -1;
    if (json_object_size(v) > 0)
        *out = json_dumps(v, JSON_COMPACT);
    return 0;
}

/* ---- retrieve ------------------------------------------------------------------------------- */

int handle_points_retrieve(request_t *r, collection_t *c)
{
    json_t *body = body_object(r);
    if (!body)
        return r->res->status;
    const json_t *ids = json_object_get(body, "ids");
    payload_selector_t sel;
    bool with_vector = false;
    char field[64];
    if (!json_is_array(ids)) {
        reply_format_error(r, "%s `ids`", ids ? "expected a list in field" : "missing field");
        goto out;
    }
    if (payload_selector_parse(r, json_object_get(body, "with_payload"), true, &sel) < 0 ||
        with_vector_parse(r, json_object_get(body, "with_vector"), &with_vector) < 0)
        goto out;
    json_t *result = json_array();
    for (size_t i = 0; i < json_array_size(ids); i++) {
        point_id_t id;
        snprintf(field, sizeof(field), "ids[%zu]", i);
        if (id_from_json(r, json_array_get(ids, i), field, &id) < 0) {
            json_decref(result);
            goto out;
        }
        long slot = collection_find(c, &id);
        if (slot >= 0)
            json_array_append_new(result, point_to_json(c, (size_t)slot, &sel, with_vector, NULL));
    }
    reply_ok(r, result);
out:
    json_decref(body);
    return r->res->status;
}

static int path_id_parse(const char *s, point_id_t *out)
{
    if (*s >= '0' && *s <= '9' && strspn(s, "0123456789") == strlen(s)) {
        errno = 0;
        char *end;
        unsigned long long n = strtoull(s, &end, 10);
        if (errno || *end)
            return -1;
        memset(out, 0, sizeof(*out));
        out->num = n;
        return 0;
    }
    return point_id_parse_uuid(s, out);
}

int handle_point_get(request_t *r, collection_t *c, const char *id_text)
{
    point_id_t id;
    if (path_id_parse(id_text, &id) < 0)
        return reply_error(r, 400,
                           "Format error in path: `%s` is not a valid point ID, valid values are "
                           "either an unsigned integer or a UUID",
                           id_text);
    long slot = collection_find(c, &id);
    if (slot < 0)
        return reply_error(r, 404, "Not found: No point with id %s found", id_text);
    payload_selector_t sel = {.enabled = true};
    return reply_ok(r, point_to_json(c, (size_t)slot, &sel, true, NULL));
}

/* ---- selection by ids or filter ------------------------------------------------------------- */

/* Slots selected by {"points": [ids]} or {"filter": ...}; -1 after replying. */
static int select_slots(request_t *r, collection_t *c, const json_t *body, uint32_t **slots,
                        size_t *n)
{
    const json_t *points = json_object_get(body, "points");
    const json_t *filter = NULL;
    char field[64];
    *slots = NULL;
    *n = 0;
    if (points) {
        if (!json_is_array(points))
            return reply_format_error(r, "field `points`: expected a list of point ids"), -1;
        *slots = mv_malloc((json_array_size(points) + 1) * sizeof(**slots));
        for (size_t i = 0; i < json_array_size(points); i++) {
            point_id_t id;
            snprintf(field, sizeof(field), "points[%zu]", i);
            if (id_from_json(r, json_array_get(points, i), field, &id) < 0)
                return -1;
            long slot = collection_find(c, &id);
            if (slot >= 0)
                (*slots)[(*n)++] = (uint32_t)slot;
        }
        return 0;
    }
    if (filter_field(r, body, &filter) < 0)
        return -1;
    if (!filter)
        return reply_format_error(r, "missing field `points` (a list of ids) or `filter`"), -1;
    *slots = mv_malloc((collection_count(c) + 1) * sizeof(**slots));
    filter_ctx_t fc;
    filter_ctx_init(&fc, filter);
    for (size_t slot = 0; slot < collection_count(c); slot++) {
        if (filter_accept(&fc, c, slot))
            (*slots)[(*n)++] = (uint32_t)slot;
    }
    filter_ctx_clear(&fc);
    return 0;
}

int handle_points_delete(request_t *r, collection_t *c)
{
    json_t *body = body_object(r);
    if (!body)
        return r->res->status;
    uint32_t *slots;
    size_t n;
    if (select_slots(r, c, body, &slots, &n) == 0) {
        /* resolve ids first: deleting moves points between slots */
        point_id_t *ids = mv_malloc((n + 1) * sizeof(*ids));
        for (size_t i = 0; i < n; i++)
            ids[i] = *collection_slot_id(c, slots[i]);
        uint64_t op = collection_next_operation(c);
        for (size_t i = 0; i < n; i++)
            collection_delete(c, &ids[i]);
        free(ids);
        reply_ok(r, update_result(r, op));
    }
    free(slots);
    json_decref(body);
    return r->res->status;
}

int handle_points_payload(request_t *r, collection_t *c, bool overwrite)
{
    json_t *body = body_object(r);
    if (!body)
        return r->res->status;
    const json_t *payload = json_object_get(body, "payload");
    uint32_t *slots = NULL;
    size_t n = 0;
    if (!json_is_object(payload)) {
        reply_format_error(r, "%s `payload`",
                           payload ? "expected an object in field" : "missing field");
    } else if (json_object_get(body, "key")) {
        reply_error(r, 400,
                    "Wrong input: `key` (nested payload update) is not supported by "
                    "mock-vector");
    } else if (select_slots(r, c, body, &slots, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            json_t *merged = overwrite ? json_deep_copy(payload)
                                       : payload_select(collection_slot_payload(c, slots[i]),
                                                        &(payload_selector_t){.enabled = true});
            if (!overwrite)
                json_object_update(merged, (json_t *)payload);
            char *text = json_object_size(merged) ? json_dumps(merged, JSON_COMPACT) : NULL;
            collection_slot_set_payload(c, slots[i], text);
            free(text);
            json_decref(merged);
        }
        reply_ok(r, update_result(r, collection_next_operation(c)));
    }
    free(slots);
    json_decref(body);
    return r->res->status;
}

/* ---- count and scroll ----------------------------------------------------------------------- */

int handle_points_count(request_t *r, collection_t *c)
{
    json_t *body = body_object(r);
    if (!body)
        return r->res->status;
    const json_t *filter;
    const json_t *exact = json_object_get(body, "exact");
    if (exact && !json_is_boolean(exact) && !json_is_null(exact)) {
        reply_format_error(r, "field `exact`: expected a boolean");
    } else if (filter_field(r, body, &filter) == 0) {
        size_t count = 0;
        filter_ctx_t fc;
        filter_ctx_init(&fc, filter);
        for (size_t slot = 0; slot < collection_count(c); slot++)
            count += !filter || filter_accept(&fc, c, slot);
        filter_ctx_clear(&fc);
        reply_ok(r, json_pack("{s:I}", "count", (json_int_t)count));
    }
    json_decref(body);
    return r->res->status;
}

int handle_points_scroll(request_t *r, collection_t *c)
{
    json_t *body = body_object(r);
    if (!body)
        return r->res->status;
    const json_t *filter;
    payload_selector_t sel;
    bool with_vector = false;
    size_t limit;
    point_id_t start = {0};
    const json_t *offset = json_object_get(body, "offset");
    if (json_object_get(body, "order_by") && !json_is_null(json_object_get(body, "order_by"))) {
        reply_error(r, 400, "Wrong input: order_by is not supported by mock-vector");
        goto out;
    }
    if (filter_field(r, body, &filter) < 0 || uint_field(r, body, "limit", 10, &limit) < 0 ||
        payload_selector_parse(r, json_object_get(body, "with_payload"), true, &sel) < 0 ||
        with_vector_parse(r, json_object_get(body, "with_vector"), &with_vector) < 0)
        goto out;
    if (offset && !json_is_null(offset) && id_from_json(r, offset, "offset", &start) < 0)
        goto out;
    uint32_t *sorted = collection_sorted_slots(c);
    json_t *points = json_array();
    json_t *next = json_null();
    filter_ctx_t fc;
    filter_ctx_init(&fc, filter);
    for (size_t i = 0; i < collection_count(c); i++) {
        size_t slot = sorted[i];
        if (point_id_compare(collection_slot_id(c, slot), &start) < 0)
            continue;
        if (filter && !filter_accept(&fc, c, slot))
            continue;
        if (json_array_size(points) == limit) {
            json_decref(next);
            next = point_id_to_json(collection_slot_id(c, slot));
            break;
        }
        json_array_append_new(points, point_to_json(c, slot, &sel, with_vector, NULL));
    }
    free(sorted);
    filter_ctx_clear(&fc);
    reply_ok(r, json_pack("{s:o,s:o}", "points", points, "next_page_offset", next));
out:
    json_decref(body);
    return r->res->status;
}
