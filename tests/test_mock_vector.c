/* Unit tests of the mock-vector Qdrant engine (compose/mock-vector): qdrant_handle without
 * sockets. Expected scores are computed here independently, in double precision. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qdrant.h"

/* Calls the engine; asserts the status, returns the parsed body (NULL for a text body). */
static json_t *call(qdrant_t *q, const char *method, const char *target, const char *body,
                    int want_status)
{
    qdrant_response_t res;
    int status = qdrant_handle(q, method, target, body, body ? strlen(body) : 0, &res);
    if (status != want_status)
        print_error("%s %s -> %d %s\n", method, target, status, res.body);
    assert_int_equal(status, want_status);
    assert_int_equal(res.status, status);
    assert_non_null(res.body);
    assert_int_equal(strlen(res.body), res.body_len);
    json_t *doc = NULL;
    if (strcmp(res.content_type, "application/json") == 0) {
        json_error_t err;
        doc = json_loads(res.body, 0, &err);
        if (!doc)
            print_error("not JSON: %s\n", res.body);
        assert_non_null(doc);
        if (strcmp(target, "/") != 0)
            assert_true(json_is_real(json_object_get(doc, "time")));
        if (status == 200 && json_object_get(doc, "result"))
            assert_string_equal(json_string_value(json_object_get(doc, "status")), "ok");
    }
    qdrant_response_clear(&res);
    return doc;
}

static json_t *callf(qdrant_t *q, const char *method, const char *target, int want_status,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static json_t *callf(qdrant_t *q, const char *method, const char *target, int want_status,
                     const char *fmt, ...)
{
    char *body = NULL;
    va_list ap;
    va_start(ap, fmt);
    assert_true(vasprintf(&body, fmt, ap) >= 0);
    va_end(ap);
    json_t *doc = call(q, method, target, body, want_status);
    free(body);
    return doc;
}

static const char *error_of(const json_t *doc)
{
    const char *e = json_string_value(json_object_get(json_object_get(doc, "status"), "error"));
    assert_non_null(e);
    return e;
}

static void assert_error(qdrant_t *q, const char *method, const char *target, const char *body,
                         int status, const char *needle)
{
    json_t *doc = call(q, method, target, body, status);
    const char *e = error_of(doc);
    if (!strstr(e, needle))
        print_error("error `%s` lacks `%s`\n", e, needle);
    assert_non_null(strstr(e, needle));
    json_decref(doc);
}

static json_t *result_of(json_t *doc)
{
    return json_object_get(doc, "result");
}

static void create(qdrant_t *q, const char *name, int dim, const char *distance)
{
    char target[128];
    snprintf(target, sizeof(target), "/collections/%s", name);
    json_t *doc = callf(q, "PUT", target, 200, "{\"vectors\":{\"size\":%d,\"distance\":\"%s\"}}",
                        dim, distance);
    assert_true(json_is_true(result_of(doc)));
    json_decref(doc);
}

static size_t points_count(qdrant_t *q, const char *name)
{
    char target[128];
    snprintf(target, sizeof(target), "/collections/%s", name);
    json_t *doc = call(q, "GET", target, NULL, 200);
    size_t n = (size_t)json_integer_value(json_object_get(result_of(doc), "points_count"));
    json_decref(doc);
    return n;
}

static double dot(const double *a, const double *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_root_and_health(void **state)
{
    qdrant_t *q = qdrant_new();
    json_t *doc = call(q, "GET", "/", NULL, 200);
    assert_string_equal(json_string_value(json_object_get(doc, "title")),
                        "qdrant - vector search engine");
    assert_string_equal(json_string_value(json_object_get(doc, "version")), QDRANT_MOCK_VERSION);
    assert_null(json_object_get(doc, "time"));
    json_decref(doc);
    qdrant_response_t res;
    assert_int_equal(qdrant_handle(q, "GET", "/healthz", NULL, 0, &res), 200);
    assert_string_equal(res.body, "healthz check passed");
    assert_non_null(strstr(res.content_type, "text/plain"));
    qdrant_response_clear(&res);
    assert_int_equal(qdrant_handle(q, "GET", "/readyz", NULL, 0, &res), 200);
    assert_string_equal(res.body, "all shards are ready");
    qdrant_response_clear(&res);
    assert_int_equal(qdrant_handle(q, "GET", "/livez", NULL, 0, &res), 200);
    qdrant_response_clear(&res);
    assert_error(q, "GET", "/nope", NULL, 404, "Not found");
    assert_error(q, "DELETE", "/collections", NULL, 404, "Not found");
    qdrant_free(q);
}

static void test_collection_lifecycle(void **state)
{
    qdrant_t *q = qdrant_new();
    json_t *doc = call(q, "GET", "/collections", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(result_of(doc), "collections")), 0);
    json_decref(doc);

    create(q, "docs", 4, "Dot");
    assert_error(q, "PUT", "/collections/docs", "{\"vectors\":{\"size\":4,\"distance\":\"Dot\"}}",
                 409, "Collection `docs` already exists!");
    doc = call(q, "GET", "/collections/docs", NULL, 200);
    json_t *info = result_of(doc);
    assert_string_equal(json_string_value(json_object_get(info, "status")), "green");
    assert_int_equal(json_integer_value(json_object_get(info, "points_count")), 0);
    json_t *vectors =
        json_object_get(json_object_get(json_object_get(info, "config"), "params"), "vectors");
    assert_int_equal(json_integer_value(json_object_get(vectors, "size")), 4);
    assert_string_equal(json_string_value(json_object_get(vectors, "distance")), "Dot");
    json_decref(doc);

    doc = call(q, "GET", "/collections/docs/exists", NULL, 200);
    assert_true(json_is_true(json_object_get(result_of(doc), "exists")));
    json_decref(doc);
    doc = call(q, "GET", "/collections/other/exists", NULL, 200);
    assert_true(json_is_false(json_object_get(result_of(doc), "exists")));
    json_decref(doc);

    create(q, "second", 2, "Euclid");
    doc = call(q, "GET", "/collections", NULL, 200);
    json_t *list = json_object_get(result_of(doc), "collections");
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "name")),
                        "second");
    json_decref(doc);

    doc = call(q, "DELETE", "/collections/docs", NULL, 200);
    assert_true(json_is_true(result_of(doc)));
    json_decref(doc);
    doc = call(q, "DELETE", "/collections/docs", NULL, 200);
    assert_true(json_is_false(result_of(doc)));
    json_decref(doc);
    doc = call(q, "GET", "/collections/docs", NULL, 404);
    assert_string_equal(error_of(doc), "Not found: Collection `docs` doesn't exist!");
    json_decref(doc);
    assert_error(q, "POST", "/collections/docs/points/search", "{\"vector\":[1,2],\"limit\":1}",
                 404, "Collection `docs` doesn't exist!");
    /* percent-encoded names are decoded */
    create(q, "my%20docs", 2, "Cosine");
    doc = call(q, "GET", "/collections/my docs/exists", NULL, 200);
    assert_true(json_is_true(json_object_get(result_of(doc), "exists")));
    json_decref(doc);
    qdrant_reset(q);
    doc = call(q, "GET", "/collections", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(result_of(doc), "collections")), 0);
    json_decref(doc);
    qdrant_free(q);
}

static void test_collection_bad_input(void **state)
{
    qdrant_t *q = qdrant_new();
    assert_error(q, "PUT", "/collections/c", "{}", 400, "missing field `vectors`");
    assert_error(q, "PUT", "/collections/c", "{\"vectors\":{\"distance\":\"Dot\"}}", 400,
                 "`vectors.size`");
    assert_error(q, "PUT", "/collections/c", "{\"vectors\":{\"size\":\"4\",\"distance\":\"Dot\"}}",
                 400, "`vectors.size`");
    assert_error(q, "PUT", "/collections/c", "{\"vectors\":{\"size\":4,\"distance\":\"Dots\"}}",
                 400, "`vectors.distance`");
    assert_error(q, "PUT", "/collections/c", "{\"vectors\":{\"size\":0,\"distance\":\"Dot\"}}", 422,
                 "Validation error in JSON body");
    assert_error(q, "PUT", "/collections/c", "{\"vectors\":", 400, "Format error in JSON body");
    assert_error(q, "PUT", "/collections/c", "[1,2]", 400, "Format error in JSON body");
    assert_error(q, "PUT", "/collections/c",
                 "{\"vectors\":{\"size\":4,\"distance\":\"Dot\"},\"x\":\"\xff\xfe\"}", 400,
                 "Format error in JSON body");
    assert_error(q, "PUT", "/collections/c\xff", "{\"vectors\":{\"size\":4,\"distance\":\"Dot\"}}",
                 400, "UTF-8");
    qdrant_free(q);
}

static void test_upsert_retrieve_uuid(void **state)
{
    qdrant_t *q = qdrant_new();
    create(q, "c", 3, "Cosine");
    json_t *doc = call(q, "PUT", "/collections/c/points?wait=true",
                       "{\"points\":["
                       "{\"id\":1,\"vector\":[3,0,4],\"payload\":{\"city\":\"Seoul\",\"n\":7}},"
                       "{\"id\":\"5C56C793-69F3-4FBF-87E6-C4BF54C28C26\",\"vector\":[1,1,1]},"
                       "{\"id\":\"{0000000069f34fbf87e6c4bf54c28c27}\",\"vector\":[0,2,0],"
                       "\"payload\":null}]}",
                       200);
    assert_string_equal(json_string_value(json_object_get(result_of(doc), "status")), "completed");
    assert_int_equal(json_integer_value(json_object_get(result_of(doc), "operation_id")), 0);
    json_decref(doc);
    assert_int_equal(points_count(q, "c"), 3);

    /* Cosine vectors are stored normalised: [3,0,4] -> [0.6, 0, 0.8] */
    doc = call(q, "GET", "/collections/c/points/1", NULL, 200);
    json_t *p = result_of(doc);
    assert_int_equal(json_integer_value(json_object_get(p, "id")), 1);
    json_t *v = json_object_get(p, "vector");
    assert_int_equal(json_array_size(v), 3);
    assert_float_equal(json_number_value(json_array_get(v, 0)), 0.6, 1e-6);
    assert_float_equal(json_number_value(json_array_get(v, 2)), 0.8, 1e-6);
    assert_string_equal(json_string_value(json_object_get(json_object_get(p, "payload"), "city")),
                        "Seoul");
    json_decref(doc);

    /* UUIDs are normalised to lowercase hyphenated, and found by any accepted form */
    doc = call(q, "GET", "/collections/c/points/5c56c793-69f3-4fbf-87e6-c4bf54c28c26", NULL, 200);
    assert_string_equal(json_string_value(json_object_get(result_of(doc), "id")),
                        "5c56c793-69f3-4fbf-87e6-c4bf54c28c26");
    assert_int_equal(json_object_size(json_object_get(result_of(doc), "payload")), 0);
    json_decref(doc);
    doc = call(q, "POST", "/collections/c/points",
               "{\"ids\":[\"00000000-69f3-4fbf-87e6-c4bf54c28c27\",42,1],\"with_vector\":false}",
               200);
    json_t *list = result_of(doc);
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "id")),
                        "00000000-69f3-4fbf-87e6-c4bf54c28c27");
    assert_null(json_object_get(json_array_get(list, 0), "vector"));
    assert_int_equal(json_integer_value(
                         json_object_get(json_object_get(json_array_get(list, 1), "payload"), "n")),
                     7);
    json_decref(doc);
    doc = call(q, "POST", "/collections/c/points", "{\"ids\":[1],\"with_payload\":false}", 200);
    assert_null(json_object_get(json_array_get(result_of(doc), 0), "payload"));
    json_decref(doc);

    /* overwrite: same id, new vector and payload; the count does not change */
    doc = call(q, "PUT", "/collections/c/points",
               "{\"points\":[{\"id\":1,\"vector\":[0,0,2],\"payload\":{\"k\":true}}]}", 200);
    assert_string_equal(json_string_value(json_object_get(result_of(doc), "status")),
                        "acknowledged");
    assert_int_equal(json_integer_value(json_object_get(result_of(doc), "operation_id")), 1);
    json_decref(doc);
    assert_int_equal(points_count(q, "c"), 3);
    doc = call(q, "GET", "/collections/c/points/1", NULL, 200);
    assert_true(json_is_true(json_object_get(json_object_get(result_of(doc), "payload"), "k")));
    assert_null(json_object_get(json_object_get(result_of(doc), "payload"), "city"));
    assert_float_equal(
        json_number_value(json_array_get(json_object_get(result_of(doc), "vector"), 2)), 1.0, 1e-7);
    json_decref(doc);

    assert_error(q, "GET", "/collections/c/points/77", NULL, 404, "No point with id 77 found");
    assert_error(q, "GET", "/collections/c/points/not-an-id", NULL, 400, "not a valid point ID");
    qdrant_free(q);
}

static void test_upsert_batch_and_errors(void **state)
{
    qdrant_t *q = qdrant_new();
    create(q, "c", 2, "Dot");
    json_t *doc = call(q, "PUT", "/collections/c/points",
                       "{\"batch\":{\"ids\":[10,11,12],\"vectors\":[[1,0],[0,1],[1,1]],"
                       "\"payloads\":[{\"a\":1},null,{\"a\":3}]}}",
                       200);
    json_decref(doc);
    assert_int_equal(points_count(q, "c"), 3);
    doc = call(q, "GET", "/collections/c/points/12", NULL, 200);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(result_of(doc), "payload"), "a")), 3);
    /* Dot vectors are stored as given */
    assert_float_equal(
        json_number_value(json_array_get(json_object_get(result_of(doc), "vector"), 0)), 1.0, 0);
    json_decref(doc);

    assert_error(q, "PUT", "/collections/c/points", "{\"points\":[{\"id\":1,\"vector\":[1,2,3]}]}",
                 400, "Wrong input: Vector dimension error: expected dim: 2, got 3");
    assert_error(q, "PUT", "/collections/c/points", "{\"points\":[{\"vector\":[1,2]}]}", 400,
                 "missing field `points[0].id`");
    assert_error(q, "PUT", "/collections/c/points", "{\"points\":[{\"id\":1}]}", 400,
                 "missing field `points[0].vector`");
    assert_error(q, "PUT", "/collections/c/points", "{\"points\":[{\"id\":-1,\"vector\":[1,2]}]}",
                 400, "not a valid point ID");
    assert_error(q, "PUT", "/collections/c/points",
                 "{\"points\":[{\"id\":\"abc\",\"vector\":[1,2]}]}", 400, "`points[0].id`");
    assert_error(q, "PUT", "/collections/c/points",
                 "{\"points\":[{\"id\":1,\"vector\":[1,\"x\"]}]}", 400, "`points[0].vector[1]`");
    assert_error(q, "PUT", "/collections/c/points",
                 "{\"points\":[{\"id\":1,\"vector\":[1,2],\"payload\":[1]}]}", 400,
                 "`points[0].payload`");
    assert_error(q, "PUT", "/collections/c/points",
                 "{\"batch\":{\"ids\":[1,2],\"vectors\":[[1,2]]}}", 400, "same length");
    assert_error(q, "PUT", "/collections/c/points", "{}", 400, "missing field `points`");
    /* a failed request changes nothing: the valid first point is not applied */
    assert_error(q, "PUT", "/collections/c/points",
                 "{\"points\":[{\"id\":99,\"vector\":[1,2]},{\"id\":98,\"vector\":[1]}]}", 400,
                 "expected dim: 2, got 1");
    assert_int_equal(points_count(q, "c"), 3);
    qdrant_free(q);
}

/* Searches and returns the result array (caller decrefs the document). */
static json_t *search(qdrant_t *q, json_t **doc, const char *body)
{
    *doc = call(q, "POST", "/collections/c/points/search", body, 200);
    json_t *r = result_of(*doc);
    assert_true(json_is_array(r));
    return r;
}

static json_int_t hit_id(json_t *hits, size_t i)
{
    return json_integer_value(json_object_get(json_array_get(hits, i), "id"));
}

static double hit_score(json_t *hits, size_t i)
{
    return json_number_value(json_object_get(json_array_get(hits, i), "score"));
}

static const double points4[5][4] = {
    {0.1, 0.2, 0.3, 0.4}, {1, 0, 0, 0}, {-0.5, 0.5, 2, 1}, {0, 0, 0, 3}, {0.9, 0.1, 0.0, 0.2}};

static void load_points4(qdrant_t *q, const char *distance)
{
    create(q, "c", 4, distance);
    char body[2048];
    size_t n = (size_t)snprintf(body, sizeof(body), "{\"points\":[");
    for (int i = 0; i < 5; i++)
        n += (size_t)snprintf(body + n, sizeof(body) - n,
                              "%s{\"id\":%d,\"vector\":[%g,%g,%g,%g],\"payload\":{\"i\":%d}}",
                              i ? "," : "", i + 1, points4[i][0], points4[i][1], points4[i][2],
                              points4[i][3], i + 1);
    snprintf(body + n, sizeof(body) - n, "]}");
    json_decref(call(q, "PUT", "/collections/c/points?wait=true", body, 200));
}

/* Checks that the hits are exactly the points ordered by the expected scores. */
static void check_ranking(json_t *hits, const double *expected, bool ascending, size_t limit)
{
    int order[5] = {0, 1, 2, 3, 4};
    for (int i = 0; i < 5; i++) { /* insertion sort by expected score, ties by id */
        for (int j = i; j > 0; j--) {
            double a = expected[order[j - 1]], b = expected[order[j]];
            if (ascending ? a > b : a < b) {
                int t = order[j];
                order[j] = order[j - 1];
                order[j - 1] = t;
            }
        }
    }
    assert_int_equal(json_array_size(hits), limit);
    for (size_t i = 0; i < limit; i++) {
        assert_int_equal(hit_id(hits, i), order[i] + 1);
        assert_float_equal(hit_score(hits, i), expected[order[i]], 1e-5);
    }
}

static void test_search_distances(void **state)
{
    const double query[4] = {0.2, 0.1, 0.9, 0.3};
    const char *body = "{\"vector\":[0.2,0.1,0.9,0.3],\"limit\":5,\"with_payload\":true}";
    double expected[5];
    json_t *doc, *hits;

    qdrant_t *q = qdrant_new();
    load_points4(q, "Cosine");
    for (int i = 0; i < 5; i++)
        expected[i] =
            dot(points4[i], query, 4) / sqrt(dot(points4[i], points4[i], 4) * dot(query, query, 4));
    hits = search(q, &doc, body);
    check_ranking(hits, expected, false, 5);
    assert_int_equal(json_integer_value(
                         json_object_get(json_object_get(json_array_get(hits, 0), "payload"), "i")),
                     hit_id(hits, 0));
    json_decref(doc);
    qdrant_free(q);

    q = qdrant_new();
    load_points4(q, "Dot");
    for (int i = 0; i < 5; i++)
        expected[i] = dot(points4[i], query, 4);
    hits = search(q, &doc, body);
    check_ranking(hits, expected, false, 5);
    json_decref(doc);
    qdrant_free(q);

    q = qdrant_new();
    load_points4(q, "Euclid");
    for (int i = 0; i < 5; i++) {
        double s = 0;
        for (int j = 0; j < 4; j++)
            s += (points4[i][j] - query[j]) * (points4[i][j] - query[j]);
        expected[i] = sqrt(s);
    }
    hits = search(q, &doc, body);
    check_ranking(hits, expected, true, 5);
    json_decref(doc);
    /* threshold on a distance keeps the points at most that far */
    hits = search(q, &doc, "{\"vector\":[0.2,0.1,0.9,0.3],\"limit\":5,\"score_threshold\":1.5}");
    for (size_t i = 0; i < json_array_size(hits); i++)
        assert_true(hit_score(hits, i) <= 1.5);
    size_t within = 0;
    for (int i = 0; i < 5; i++)
        within += expected[i] <= 1.5;
    assert_int_equal(json_array_size(hits), within);
    json_decref(doc);
    qdrant_free(q);

    q = qdrant_new();
    load_points4(q, "Manhattan");
    for (int i = 0; i < 5; i++) {
        expected[i] = 0;
        for (int j = 0; j < 4; j++)
            expected[i] += fabs(points4[i][j] - query[j]);
    }
    hits = search(q, &doc, body);
    check_ranking(hits, expected, true, 5);
    json_decref(doc);
    qdrant_free(q);
}

static void test_search_options(void **state)
{
    qdrant_t *q = qdrant_new();
    load_points4(q, "Dot");
    const double query[4] = {1, 1, 1, 1};
    double expected[5];
    for (int i = 0; i < 5; i++)
        expected[i] = dot(points4[i], query, 4);
    json_t *doc, *hits;
    /* limit and offset */
    hits = search(q, &doc, "{\"vector\":[1,1,1,1],\"limit\":5}");
    check_ranking(hits, expected, false, 5);
    json_int_t third = hit_id(hits, 2);
    assert_null(json_object_get(json_array_get(hits, 0), "payload"));
    assert_null(json_object_get(json_array_get(hits, 0), "vector"));
    assert_true(json_is_integer(json_object_get(json_array_get(hits, 0), "version")));
    json_decref(doc);
    hits = search(q, &doc, "{\"vector\":[1,1,1,1],\"limit\":2,\"offset\":2}");
    assert_int_equal(json_array_size(hits), 2);
    assert_int_equal(hit_id(hits, 0), third);
    json_decref(doc);
    hits = search(q, &doc, "{\"vector\":[1,1,1,1],\"limit\":3,\"offset\":10}");
    assert_int_equal(json_array_size(hits), 0);
    json_decref(doc);
    /* score_threshold for a similarity keeps scores >= threshold */
    hits = search(q, &doc, "{\"vector\":[1,1,1,1],\"limit\":5,\"score_threshold\":1.0}");
    size_t above = 0;
    for (int i = 0; i < 5; i++)
        above += expected[i] >= 1.0;
    assert_int_equal(json_array_size(hits), above);
    json_decref(doc);
    /* with_vector and with_payload as a key list */
    hits = search(q, &doc,
                  "{\"vector\":[1,0,0,0],\"limit\":1,\"with_vector\":true,"
                  "\"with_payload\":[\"missing\"]}");
    assert_int_equal(hit_id(hits, 0), 2);
    assert_float_equal(
        json_number_value(json_array_get(json_object_get(json_array_get(hits, 0), "vector"), 0)),
        1.0, 0);
    assert_int_equal(json_object_size(json_object_get(json_array_get(hits, 0), "payload")), 0);
    json_decref(doc);
    hits = search(q, &doc,
                  "{\"vector\":[1,0,0,0],\"limit\":1,\"with_payload\":{\"include\":[\"i\"]}}");
    assert_int_equal(json_integer_value(
                         json_object_get(json_object_get(json_array_get(hits, 0), "payload"), "i")),
                     2);
    json_decref(doc);
    /* named form of the vector */
    hits = search(q, &doc, "{\"vector\":{\"name\":\"\",\"vector\":[1,0,0,0]},\"limit\":1}");
    assert_int_equal(hit_id(hits, 0), 2);
    json_decref(doc);

    assert_error(q, "POST", "/collections/c/points/search", "{\"vector\":[1,1,1],\"limit\":1}", 400,
                 "Wrong input: Vector dimension error: expected dim: 4, got 3");
    assert_error(q, "POST", "/collections/c/points/search", "{\"limit\":1}", 400,
                 "missing field `vector`");
    assert_error(q, "POST", "/collections/c/points/search", "{\"vector\":[1,1,1,1]}", 400,
                 "missing field `limit`");
    assert_error(q, "POST", "/collections/c/points/search", "{\"vector\":[1,1,1,1],\"limit\":-1}",
                 400, "`limit`");
    assert_error(q, "POST", "/collections/c/points/search",
                 "{\"vector\":[1,1,1,1],\"limit\":1,\"with_payload\":3}", 400, "`with_payload`");
    assert_error(q, "POST", "/collections/c/points/search",
                 "{\"vector\":[1,1,1,1],\"limit\":1,\"score_threshold\":\"x\"}", 400,
                 "`score_threshold`");
    assert_error(q, "POST", "/collections/c/points/search",
                 "{\"vector\":[1,1,1,1],\"limit\":1,"
                 "\"filter\":{\"must\":[{\"key\":1}]}}",
                 400, "filter.must[0].key");
    qdrant_free(q);
}

static void test_search_ties_by_id(void **state)
{
    qdrant_t *q = qdrant_new();
    create(q, "c", 2, "Dot");
    json_decref(call(q, "PUT", "/collections/c/points",
                     "{\"points\":[{\"id\":9,\"vector\":[1,0]},{\"id\":3,\"vector\":[1,0]},"
                     "{\"id\":\"00000000-0000-0000-0000-000000000001\",\"vector\":[1,0]},"
                     "{\"id\":5,\"vector\":[1,0]},{\"id\":7,\"vector\":[0,1]}]}",
                     200));
    json_t *doc, *hits = search(q, &doc, "{\"vector\":[1,0],\"limit\":3}");
    assert_int_equal(hit_id(hits, 0), 3);
    assert_int_equal(hit_id(hits, 1), 5);
    assert_int_equal(hit_id(hits, 2), 9);
    json_decref(doc);
    hits = search(q, &doc, "{\"vector\":[1,0],\"limit\":5}");
    assert_string_equal(json_string_value(json_object_get(json_array_get(hits, 3), "id")),
                        "00000000-0000-0000-0000-000000000001");
    assert_int_equal(hit_id(hits, 4), 7);
    json_decref(doc);
    qdrant_free(q);
}

/* Loads six points with payloads for the filter tests (the filtering page's example, extended). */
static void load_cities(qdrant_t *q)
{
    create(q, "c", 2, "Dot");
    json_decref(
        call(q, "PUT", "/collections/c/points",
             "{\"points\":["
             "{\"id\":1,\"vector\":[1,0],\"payload\":{\"city\":\"London\",\"color\":\"green\","
             "\"price\":10,\"tags\":[\"a\",\"b\"],\"meta\":{\"lang\":\"en\",\"rank\":1}}},"
             "{\"id\":2,\"vector\":[0.9,0],\"payload\":{\"city\":\"London\",\"color\":\"red\","
             "\"price\":20.5,\"tags\":[],\"note\":null}},"
             "{\"id\":3,\"vector\":[0.8,0],\"payload\":{\"city\":\"London\",\"color\":\"blue\","
             "\"price\":30,\"desc\":\"a quiet startup office\"}},"
             "{\"id\":4,\"vector\":[0.7,0],\"payload\":{\"city\":\"Berlin\",\"color\":\"red\","
             "\"price\":40,\"meta\":{\"lang\":\"de\",\"rank\":2}}},"
             "{\"id\":5,\"vector\":[0.6,0],\"payload\":{\"city\":\"Moscow\",\"color\":\"green\","
             "\"count\":5,\"items\":[{\"n\":\"x\",\"q\":1},{\"n\":\"y\",\"q\":9}]}},"
             "{\"id\":6,\"vector\":[0.5,0],\"payload\":{\"city\":\"Moscow\",\"color\":\"blue\","
             "\"count\":6,\"items\":[{\"n\":\"x\",\"q\":9}]}}]}",
             200));
}

/* Ids (as a compact string like "1,3") of the points that pass a filter, via scroll. */
static char *filtered_ids(qdrant_t *q, const char *filter)
{
    json_t *doc = callf(q, "POST", "/collections/c/points/scroll", 200,
                        "{\"filter\":%s,\"limit\":100,\"with_payload\":false}", filter);
    json_t *points = json_object_get(result_of(doc), "points");
    char *out = calloc(1, 256);
    for (size_t i = 0; i < json_array_size(points); i++)
        snprintf(out + strlen(out), 256 - strlen(out), "%s%lld", i ? "," : "",
                 (long long)json_integer_value(json_object_get(json_array_get(points, i), "id")));
    json_decref(doc);
    return out;
}

static void check_filter(qdrant_t *q, const char *filter, const char *want)
{
    char *got = filtered_ids(q, filter);
    if (strcmp(got, want) != 0)
        print_error("filter %s\n", filter);
    assert_string_equal(got, want);
    free(got);
    /* count agrees with scroll */
    json_t *doc = callf(q, "POST", "/collections/c/points/count", 200, "{\"filter\":%s}", filter);
    size_t n = want[0] ? 1 : 0;
    for (const char *p = want; *p; p++)
        n += *p == ',';
    assert_int_equal(json_integer_value(json_object_get(result_of(doc), "count")), n);
    json_decref(doc);
}

static void test_filters(void **state)
{
    qdrant_t *q = qdrant_new();
    load_cities(q);
    check_filter(q, "{\"must\":[{\"key\":\"city\",\"match\":{\"value\":\"London\"}}]}", "1,2,3");
    check_filter(q,
                 "{\"must\":[{\"key\":\"city\",\"match\":{\"value\":\"London\"}},"
                 "{\"key\":\"color\",\"match\":{\"value\":\"red\"}}]}",
                 "2");
    check_filter(q,
                 "{\"should\":[{\"key\":\"city\",\"match\":{\"value\":\"Berlin\"}},"
                 "{\"key\":\"color\",\"match\":{\"value\":\"blue\"}}]}",
                 "3,4,6");
    check_filter(q,
                 "{\"must_not\":[{\"key\":\"city\",\"match\":{\"value\":\"London\"}},"
                 "{\"key\":\"color\",\"match\":{\"value\":\"red\"}}]}",
                 "5,6");
    check_filter(q,
                 "{\"must\":{\"key\":\"city\",\"match\":{\"value\":\"London\"}},"
                 "\"must_not\":{\"key\":\"color\",\"match\":{\"value\":\"red\"}}}",
                 "1,3");
    check_filter(q, "{\"must\":[{\"key\":\"color\",\"match\":{\"any\":[\"red\",\"blue\"]}}]}",
                 "2,3,4,6");
    check_filter(q, "{\"must\":[{\"key\":\"color\",\"match\":{\"except\":[\"red\",\"blue\"]}}]}",
                 "1,5");
    check_filter(q, "{\"must\":[{\"key\":\"price\",\"range\":{\"gt\":10,\"lte\":30}}]}", "2,3");
    check_filter(q, "{\"must\":[{\"key\":\"price\",\"range\":{\"gte\":10,\"lt\":20.5}}]}", "1");
    check_filter(q, "{\"must\":[{\"key\":\"count\",\"match\":{\"value\":5}}]}", "5");
    check_filter(q, "{\"must\":[{\"key\":\"meta.lang\",\"match\":{\"value\":\"de\"}}]}", "4");
    check_filter(q, "{\"must\":[{\"key\":\"meta.rank\",\"range\":{\"lt\":2}}]}", "1");
    check_filter(q, "{\"must\":[{\"key\":\"tags\",\"match\":{\"value\":\"b\"}}]}", "1");
    check_filter(q, "{\"must\":[{\"key\":\"tags\",\"values_count\":{\"gte\":2}}]}", "1");
    check_filter(q, "{\"must\":[{\"key\":\"items[].n\",\"match\":{\"value\":\"y\"}}]}", "5");
    check_filter(q, "{\"must\":[{\"key\":\"items[].q\",\"range\":{\"gte\":9}}]}", "5,6");
    /* nested: both conditions on the same array element */
    check_filter(q,
                 "{\"must\":[{\"nested\":{\"key\":\"items\",\"filter\":{\"must\":["
                 "{\"key\":\"n\",\"match\":{\"value\":\"x\"}},{\"key\":\"q\",\"range\":"
                 "{\"gte\":9}}]}}}]}",
                 "6");
    check_filter(q, "{\"must\":[{\"has_id\":[2,4,77]}]}", "2,4");
    check_filter(q, "{\"must\":[{\"is_empty\":{\"key\":\"tags\"}}]}", "2,3,4,5,6");
    check_filter(q, "{\"must\":[{\"is_null\":{\"key\":\"note\"}}]}", "2");
    check_filter(q, "{\"must_not\":[{\"is_empty\":{\"key\":\"meta\"}}]}", "1,4");
    check_filter(q, "{\"must\":[{\"key\":\"desc\",\"match\":{\"text\":\"startup\"}}]}", "3");
    check_filter(q,
                 "{\"min_should\":{\"conditions\":[{\"key\":\"city\",\"match\":{\"value\":"
                 "\"London\"}},{\"key\":\"color\",\"match\":{\"value\":\"red\"}},{\"key\":"
                 "\"price\",\"range\":{\"gte\":20}}],\"min_count\":2}}",
                 "2,3,4");
    /* a filter nested as a condition */
    check_filter(q,
                 "{\"must\":[{\"should\":[{\"key\":\"city\",\"match\":{\"value\":\"Berlin\"}},"
                 "{\"key\":\"city\",\"match\":{\"value\":\"Moscow\"}}]},{\"key\":\"color\","
                 "\"match\":{\"value\":\"red\"}}]}",
                 "4");
    /* a type mismatch does not match: a range over strings, a string value against integers */
    check_filter(q, "{\"must\":[{\"key\":\"city\",\"range\":{\"gt\":0}}]}", "");
    check_filter(q, "{}", "1,2,3,4,5,6");

    /* filtered search: best scores among the matching points only */
    json_t *doc, *hits = search(q, &doc,
                                "{\"vector\":[1,0],\"limit\":2,\"filter\":{\"must\":[{\"key\":"
                                "\"color\",\"match\":{\"value\":\"blue\"}}]}}");
    assert_int_equal(json_array_size(hits), 2);
    assert_int_equal(hit_id(hits, 0), 3);
    assert_int_equal(hit_id(hits, 1), 6);
    assert_float_equal(hit_score(hits, 1), 0.5, 1e-7);
    json_decref(doc);

    assert_error(q, "POST", "/collections/c/points/count",
                 "{\"filter\":{\"must\":[{\"key\":\"a\",\"match\":{\"value\":1.5}}]}}", 400,
                 "filter.must[0].match.value");
    assert_error(q, "POST", "/collections/c/points/count",
                 "{\"filter\":{\"must\":[{\"key\":\"a\"}]}}", 400, "filter.must[0]");
    assert_error(q, "POST", "/collections/c/points/count",
                 "{\"filter\":{\"should\":[{\"bogus\":1}]}}", 400, "filter.should[0]");
    assert_error(q, "POST", "/collections/c/points/count",
                 "{\"filter\":{\"must\":[{\"key\":\"a\",\"match\":{\"any\":[1,\"x\"]}}]}}", 400,
                 "filter.must[0].match.any[1]");
    assert_error(q, "POST", "/collections/c/points/count", "{\"filter\":[]}", 400, "filter");
    qdrant_free(q);
}

/* Payload text pre-screening must not change results: escaped and non-ASCII values, values that
 * appear under another key, integers next to strings, nested filters in must. */
static void test_filter_prescreen(void **state)
{
    qdrant_t *q = qdrant_new();
    create(q, "c", 1, "Dot");
    json_decref(
        call(q, "PUT", "/collections/c/points",
             "{\"points\":["
             "{\"id\":1,\"vector\":[1],\"payload\":{\"name\":\"a\\\"b \u00fc/\",\"k\":\"x\"}},"
             "{\"id\":2,\"vector\":[1],\"payload\":{\"name\":\"x\",\"k\":\"a\\\"b \u00fc/\"}},"
             "{\"id\":3,\"vector\":[1],\"payload\":{\"name\":[\"y\",\"x\"],\"n\":7}},"
             "{\"id\":4,\"vector\":[1]}]}",
             200));
    check_filter(q, "{\"must\":{\"key\":\"name\",\"match\":{\"value\":\"a\\\"b \u00fc/\"}}}", "1");
    check_filter(q, "{\"must\":[{\"key\":\"name\",\"match\":{\"value\":\"x\"}}]}", "2,3");
    check_filter(q,
                 "{\"must\":[{\"key\":\"name\",\"match\":{\"value\":\"x\"}},{\"should\":[{"
                 "\"key\":\"n\",\"match\":{\"value\":7}},{\"has_id\":[2]}]}]}",
                 "2,3");
    check_filter(q, "{\"must_not\":[{\"key\":\"name\",\"match\":{\"value\":\"x\"}}]}", "1,4");
    check_filter(q, "{\"must\":[{\"has_id\":[4,1]}]}", "1,4");
    qdrant_free(q);
}

static void test_delete_and_count(void **state)
{
    qdrant_t *q = qdrant_new();
    load_cities(q);
    json_t *doc = call(q, "POST", "/collections/c/points/count", "{\"exact\":true}", 200);
    assert_int_equal(json_integer_value(json_object_get(result_of(doc), "count")), 6);
    json_decref(doc);
    doc = call(q, "POST", "/collections/c/points/delete?wait=true", "{\"points\":[2,77]}", 200);
    assert_string_equal(json_string_value(json_object_get(result_of(doc), "status")), "completed");
    json_decref(doc);
    assert_int_equal(points_count(q, "c"), 5);
    assert_error(q, "GET", "/collections/c/points/2", NULL, 404, "No point with id 2");
    json_decref(
        call(q, "POST", "/collections/c/points/delete",
             "{\"filter\":{\"must\":[{\"key\":\"city\",\"match\":{\"value\":\"Moscow\"}}]}}", 200));
    assert_int_equal(points_count(q, "c"), 3);
    check_filter(q, "{}", "1,3,4");
    /* the remaining points keep their vectors after slots moved */
    json_t *hits = search(q, &doc, "{\"vector\":[1,0],\"limit\":3}");
    assert_int_equal(hit_id(hits, 2), 4);
    assert_float_equal(hit_score(hits, 2), 0.7, 1e-7);
    json_decref(doc);
    assert_error(q, "POST", "/collections/c/points/delete", "{}", 400, "missing field `points`");
    assert_error(q, "POST", "/collections/c/points/delete", "{\"points\":[\"zz\"]}", 400,
                 "points[0]");
    qdrant_free(q);
}

static void test_query(void **state)
{
    qdrant_t *q = qdrant_new();
    load_cities(q);
    json_t *doc = call(q, "POST", "/collections/c/points/query",
                       "{\"query\":[1,0],\"limit\":2,\"with_payload\":true}", 200);
    json_t *points = json_object_get(result_of(doc), "points");
    assert_int_equal(json_array_size(points), 2);
    assert_int_equal(hit_id(points, 0), 1);
    assert_float_equal(hit_score(points, 1), 0.9, 1e-7);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(points, 0), "payload"), "city")),
                        "London");
    json_decref(doc);
    doc = call(q, "POST", "/collections/c/points/query",
               "{\"query\":{\"nearest\":[1,0]},\"offset\":1,\"limit\":2,\"filter\":{\"must\":"
               "[{\"key\":\"city\",\"match\":{\"value\":\"London\"}}]},\"score_threshold\":0.85}",
               200);
    points = json_object_get(result_of(doc), "points");
    assert_int_equal(json_array_size(points), 1);
    assert_int_equal(hit_id(points, 0), 2);
    json_decref(doc);
    /* query by point id: that point's vector, the point itself excluded */
    doc = call(q, "POST", "/collections/c/points/query", "{\"query\":3,\"limit\":1}", 200);
    points = json_object_get(result_of(doc), "points");
    assert_int_equal(hit_id(points, 0), 1);
    assert_float_equal(hit_score(points, 0), 0.8, 1e-6);
    json_decref(doc);
    /* no query: points in id order */
    doc = call(q, "POST", "/collections/c/points/query", "{\"limit\":2}", 200);
    points = json_object_get(result_of(doc), "points");
    assert_int_equal(json_array_size(points), 2);
    assert_int_equal(hit_id(points, 1), 2);
    json_decref(doc);
    /* batch */
    doc =
        call(q, "POST", "/collections/c/points/query/batch",
             "{\"searches\":[{\"query\":[1,0],\"limit\":1},{\"query\":[-1,0],\"limit\":1}]}", 200);
    assert_int_equal(hit_id(json_object_get(json_array_get(result_of(doc), 1), "points"), 0), 6);
    json_decref(doc);
    doc = call(q, "POST", "/collections/c/points/search/batch",
               "{\"searches\":[{\"vector\":[1,0],\"limit\":1},{\"vector\":[-1,0],\"limit\":2}]}",
               200);
    assert_int_equal(json_array_size(json_array_get(result_of(doc), 1)), 2);
    assert_int_equal(hit_id(json_array_get(result_of(doc), 1), 0), 6);
    json_decref(doc);
    assert_error(q, "POST", "/collections/c/points/query", "{\"query\":[1,0,0]}", 400,
                 "expected dim: 2, got 3");
    assert_error(q, "POST", "/collections/c/points/query", "{\"query\":{\"fusion\":\"rrf\"}}", 400,
                 "fusion");
    assert_error(q, "POST", "/collections/c/points/query", "{\"query\":99}", 404,
                 "No point with id");
    assert_error(q, "POST", "/collections/c/points/query", "{\"query\":\"x\"}", 400, "`query`");
    qdrant_free(q);
}

static void test_scroll_and_payload(void **state)
{
    qdrant_t *q = qdrant_new();
    load_cities(q);
    json_t *doc = call(q, "POST", "/collections/c/points/scroll", "{\"limit\":4}", 200);
    json_t *res = result_of(doc);
    assert_int_equal(json_array_size(json_object_get(res, "points")), 4);
    assert_int_equal(json_integer_value(json_object_get(res, "next_page_offset")), 5);
    assert_non_null(json_object_get(json_array_get(json_object_get(res, "points"), 0), "payload"));
    json_decref(doc);
    doc = call(q, "POST", "/collections/c/points/scroll", "{\"limit\":4,\"offset\":5}", 200);
    res = result_of(doc);
    assert_int_equal(json_array_size(json_object_get(res, "points")), 2);
    assert_true(json_is_null(json_object_get(res, "next_page_offset")));
    json_decref(doc);

    json_decref(call(q, "POST", "/collections/c/points/payload",
                     "{\"payload\":{\"color\":\"black\",\"new\":1},\"points\":[1]}", 200));
    doc = call(q, "GET", "/collections/c/points/1", NULL, 200);
    json_t *payload = json_object_get(result_of(doc), "payload");
    assert_string_equal(json_string_value(json_object_get(payload, "color")), "black");
    assert_string_equal(json_string_value(json_object_get(payload, "city")), "London");
    json_decref(doc);
    json_decref(call(q, "PUT", "/collections/c/points/payload",
                     "{\"payload\":{\"only\":true},\"filter\":{\"must\":{\"has_id\":[1]}}}", 200));
    doc = call(q, "GET", "/collections/c/points/1", NULL, 200);
    assert_int_equal(json_object_size(json_object_get(result_of(doc), "payload")), 1);
    json_decref(doc);
    json_decref(call(q, "PUT", "/collections/c/index?wait=true",
                     "{\"field_name\":\"city\",\"field_schema\":\"keyword\"}", 200));
    qdrant_free(q);
}

/* Random points against a brute-force reference computed here, with deletes moving slots. */
static void test_random_against_reference(void **state)
{
    enum { N = 400, DIM = 13 };
    static double vecs[N][DIM];
    static bool alive[N];
    srand(12345);
    qdrant_t *q = qdrant_new();
    create(q, "c", DIM, "Euclid");
    /* odd rounds split the scan over 3 threads of at least 50 points (the merge is tested too) */
    char *body = malloc(N * DIM * 16 + 1024);
    size_t n = (size_t)sprintf(body, "{\"points\":[");
    for (int i = 0; i < N; i++) {
        n += (size_t)sprintf(body + n, "%s{\"id\":%d,\"vector\":[", i ? "," : "", i * 7);
        for (int j = 0; j < DIM; j++) {
            vecs[i][j] = (double)(rand() % 2001 - 1000) / 1000.0;
            n += (size_t)sprintf(body + n, "%s%.3f", j ? "," : "", vecs[i][j]);
        }
        n += (size_t)sprintf(body + n, "]}");
        alive[i] = true;
    }
    sprintf(body + n, "]}");
    json_decref(call(q, "PUT", "/collections/c/points", body, 200));
    /* delete every third point */
    n = (size_t)sprintf(body, "{\"points\":[");
    for (int i = 0; i < N; i += 3) {
        n += (size_t)sprintf(body + n, "%s%d", i ? "," : "", i * 7);
        alive[i] = false;
    }
    sprintf(body + n, "]}");
    json_decref(call(q, "POST", "/collections/c/points/delete", body, 200));
    assert_int_equal(points_count(q, "c"), N - (N + 2) / 3);

    for (int round = 0; round < 20; round++) {
        qdrant_set_search_threads(q, round % 2 ? 3 : 1, 50);
        double query[DIM];
        n = (size_t)sprintf(body, "{\"limit\":10,\"vector\":[");
        for (int j = 0; j < DIM; j++) {
            query[j] = (double)(rand() % 2001 - 1000) / 1000.0;
            n += (size_t)sprintf(body + n, "%s%.3f", j ? "," : "", query[j]);
        }
        sprintf(body + n, "]}");
        double best[10];
        int best_id[10];
        int found = 0;
        for (int i = 0; i < N; i++) { /* insertion into a sorted top 10 */
            if (!alive[i])
                continue;
            double d = 0;
            for (int j = 0; j < DIM; j++)
                d += (vecs[i][j] - query[j]) * (vecs[i][j] - query[j]);
            d = sqrt(d);
            int pos = found < 10 ? found++ : 10;
            while (pos > 0 && best[pos - 1] > d) {
                if (pos < 10) {
                    best[pos] = best[pos - 1];
                    best_id[pos] = best_id[pos - 1];
                }
                pos--;
            }
            if (pos < 10) {
                best[pos] = d;
                best_id[pos] = i * 7;
            }
        }
        json_t *doc, *hits = search(q, &doc, body);
        assert_int_equal(json_array_size(hits), 10);
        for (int i = 0; i < 10; i++) {
            assert_float_equal(hit_score(hits, i), best[i], 1e-4);
            if (i == 0 || fabs(best[i] - best[i - 1]) > 1e-4)
                assert_int_equal(hit_id(hits, i), best_id[i]);
        }
        json_decref(doc);
    }
    free(body);
    qdrant_free(q);
}

/* Replaced payloads become garbage that a compaction reclaims; the live ones must survive it. */
static void test_payload_compaction(void **state)
{
    qdrant_t *q = qdrant_new();
    create(q, "c", 1, "Dot");
    char *filler = malloc(4001);
    memset(filler, 'x', 4000);
    filler[4000] = '\0';
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 300; i++) {
            json_t *doc = callf(q, "PUT", "/collections/c/points", 200,
                                "{\"points\":[{\"id\":%d,\"vector\":[%d],\"payload\":{\"round\":%d,"
                                "\"f\":\"%s\"}}]}",
                                i, i, round, filler);
            json_decref(doc);
        }
        json_decref(call(q, "POST", "/collections/c/points/delete", "{\"points\":[0,1,2]}", 200));
    }
    assert_int_equal(points_count(q, "c"), 297);
    for (int i = 3; i < 300; i += 37) {
        char target[64];
        snprintf(target, sizeof(target), "/collections/c/points/%d", i);
        json_t *doc = call(q, "GET", target, NULL, 200);
        json_t *payload = json_object_get(result_of(doc), "payload");
        assert_int_equal(json_integer_value(json_object_get(payload, "round")), 3);
        assert_string_equal(json_string_value(json_object_get(payload, "f")), filler);
        json_decref(doc);
    }
    free(filler);
    qdrant_free(q);
}

static void test_bad_requests(void **state)
{
    qdrant_t *q = qdrant_new();
    create(q, "c", 2, "Dot");
    assert_error(q, "POST", "/collections/c/points/search", "{\"vector\":[1,2],\"limit\":1", 400,
                 "Format error in JSON body");
    assert_error(q, "POST", "/collections/c/points/search", "\"text\"", 400,
                 "Format error in JSON body");
    assert_error(q, "POST", "/collections/c/points/search", "{\"vector\":\"\xc3\x28\"}", 400,
                 "Format error in JSON body");
    assert_error(q, "POST", "/collections/c/points/unknown", "{}", 404, "Not found");
    assert_error(q, "GET", "/collections/c/points/1/2/3/4", NULL, 404, "Not found");
    assert_error(q, "POST", "/collections/c/points", "{}", 400, "missing field `ids`");
    assert_error(q, "POST", "/collections/c/points", "{\"ids\":[{}]}", 400, "`ids[0]`");
    assert_error(q, "POST", "/collections/c/points/scroll", "{\"limit\":\"x\"}", 400, "`limit`");
    assert_error(q, "POST", "/collections/c/points/count", "{\"exact\":1}", 400, "`exact`");
    assert_error(q, "GET", "/collections/c/points/%zz", NULL, 404, "Not found");
    /* a body not NUL-terminated is read within its length only */
    qdrant_response_t res;
    const char buf[] = "{\"ids\":[1]}garbage";
    assert_int_equal(qdrant_handle(q, "POST", "/collections/c/points", buf, 11, &res), 200);
    qdrant_response_clear(&res);
    qdrant_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_and_health),
        cmocka_unit_test(test_collection_lifecycle),
        cmocka_unit_test(test_collection_bad_input),
        cmocka_unit_test(test_upsert_retrieve_uuid),
        cmocka_unit_test(test_upsert_batch_and_errors),
        cmocka_unit_test(test_search_distances),
        cmocka_unit_test(test_search_options),
        cmocka_unit_test(test_search_ties_by_id),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_filter_prescreen),
        cmocka_unit_test(test_delete_and_count),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_scroll_and_payload),
        cmocka_unit_test(test_random_against_reference),
        cmocka_unit_test(test_payload_compaction),
        cmocka_unit_test(test_bad_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
