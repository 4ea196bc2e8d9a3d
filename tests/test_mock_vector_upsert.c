/* Unit tests of mock-vector's streamed upsert (compose/mock-vector/qdrant_upsert.c, YAJL): both
 * body forms, every error message of the tree reader it replaced, atomicity, normalisation of
 * vectors and ids, payload round trips and a large batch. qdrant_handle without sockets. */
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

typedef struct text {
    char *data;
    size_t len, cap;
} text_t;

static void add(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(text_t *t, const char *fmt, ...)
{
    if (!t->data) {
        t->cap = 256;
        t->data = malloc(t->cap);
        assert_non_null(t->data);
    }
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        assert_true(n >= 0);
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        t->cap = 2 * (t->cap + (size_t)n + 64);
        t->data = realloc(t->data, t->cap);
        assert_non_null(t->data);
    }
}

/* Calls the engine with a body of len bytes; asserts the status; returns the JSON reply. */
static json_t *calln(qdrant_t *q, const char *method, const char *target, const char *body,
                     size_t len, int want)
{
    qdrant_response_t res;
    int status = qdrant_handle(q, method, target, body, len, &res);
    if (status != want)
        print_error("%s %s -> %d %s\n", method, target, status, res.body);
    assert_int_equal(status, want);
    json_t *doc = json_loads(res.body, 0, NULL);
    assert_non_null(doc);
    qdrant_response_clear(&res);
    return doc;
}

static json_t *call(qdrant_t *q, const char *method, const char *target, const char *body, int want)
{
    return calln(q, method, target, body, body ? strlen(body) : 0, want);
}

/* The error message of a 400 upsert into collection c. */
static void assert_upsert_error(qdrant_t *q, const char *body, const char *want)
{
    json_t *doc = call(q, "PUT", "/collections/c/points", body, 400);
    const char *e = json_string_value(json_object_get(json_object_get(doc, "status"), "error"));
    assert_non_null(e);
    if (strncmp(e, want, strlen(want)) != 0)
        print_error("error `%s`, expected it to start with `%s`\n", e, want);
    assert_true(strncmp(e, want, strlen(want)) == 0);
    json_decref(doc);
}

static void create(qdrant_t *q, const char *name, int dim, const char *distance)
{
    char target[64], body[128];
    snprintf(target, sizeof(target), "/collections/%s", name);
    snprintf(body, sizeof(body), "{\"vectors\":{\"size\":%d,\"distance\":\"%s\"}}", dim, distance);
    json_decref(call(q, "PUT", target, body, 200));
}

static long count(qdrant_t *q)
{
    json_t *doc = call(q, "POST", "/collections/c/points/count", "{}", 200);
    long n = (long)json_integer_value(json_object_get(json_object_get(doc, "result"), "count"));
    json_decref(doc);
    return n;
}

/* The stored point {id, vector, payload} with this id (JSON text), or NULL. */
static json_t *retrieve(qdrant_t *q, const char *id_json)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"ids\":[%s],\"with_vector\":true,\"with_payload\":true}",
             id_json);
    json_t *doc = call(q, "POST", "/collections/c/points", body, 200);
    json_t *p = json_incref(json_array_get(json_object_get(doc, "result"), 0));
    json_decref(doc);
    return p;
}

static float vec_at(const json_t *p, size_t i)
{
    return (float)json_number_value(json_array_get(json_object_get(p, "vector"), i));
}

static int setup(void **state)
{
    qdrant_t *q = qdrant_new();
    create(q, "c", 3, "Dot");
    *state = q;
    return 0;
}

static int teardown(void **state)
{
    qdrant_free(*state);
    return 0;
}

static void test_errors_points_form(void **state)
{
    qdrant_t *q = *state;
    assert_upsert_error(q, "{\"points\":[{\"id\":1,\"vector\":[1,2]}]}",
                        "Wrong input: Vector dimension error: expected dim: 3, got 2");
    assert_upsert_error(q, "{\"points\":[{\"id\":1,\"vector\":[1,2,3,4,5]}]}",
                        "Wrong input: Vector dimension error: expected dim: 3, got 5");
    assert_upsert_error(q, "{\"points\":[{\"vector\":[1,2,3]}]}",
                        "Format error in JSON body: missing field `points[0].id`");
    assert_upsert_error(q, "{\"points\":[{\"id\":1,\"vector\":[1,2,3]},{\"id\":2}]}",
                        "Format error in JSON body: missing field `points[1].vector`");
    const char *bad_ids[] = {"-1", "1.5", "\"not-a-uuid\"", "null", "[1]", "true"};
    for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
        char body[128];
        snprintf(body, sizeof(body), "{\"points\":[{\"id\":%s,\"vector\":[1,2,3]}]}", bad_ids[i]);
        assert_upsert_error(q, body,
                            "Format error in JSON body: field `points[0].id`: not a valid point "
                            "ID, valid values are either an unsigned integer or a UUID");
    }
    assert_upsert_error(
        q, "{\"points\":[{\"id\":1,\"vector\":[1,\"x\",3]}]}",
        "Format error in JSON body: field `points[0].vector[1]`: expected a number");
    assert_upsert_error(
        q, "{\"points\":[{\"id\":1,\"vector\":[1,2,{\"a\":[1]}]}]}",
        "Format error in JSON body: field `points[0].vector[2]`: expected a number");
    /* the length is checked before the elements, as before */
    assert_upsert_error(q, "{\"points\":[{\"id\":1,\"vector\":[null,null]}]}",
                        "Wrong input: Vector dimension error: expected dim: 3, got 2");
    assert_upsert_error(q, "{\"points\":[{\"id\":1,\"vector\":\"1,2,3\"}]}",
                        "Format error in JSON body: field `points[0].vector`: expected a list");
    assert_upsert_error(q, "{\"points\":[{\"id\":1,\"vector\":{\"text\":[1,2,3]}}]}",
                        "Wrong input: Not existing vector name error: points[0].vector");
    assert_upsert_error(q, "{\"points\":[{\"id\":1,\"vector\":[1,2,3],\"payload\":[1]}]}",
                        "Format error in JSON body: field `points[0].payload`: expected an object");
    assert_upsert_error(q, "{\"points\":{\"id\":1}}",
                        "Format error in JSON body: field `points`: expected a list of points");
    assert_upsert_error(q, "{\"points\":[{\"id\":1,\"vector\":[1,2,3]},7]}",
                        "Format error in JSON body: field `points[1]`: expected an object");
    /* within a point: id, then vector, then payload, whatever the key order */
    assert_upsert_error(q, "{\"points\":[{\"payload\":3,\"vector\":[1],\"id\":-4}]}",
                        "Format error in JSON body: field `points[0].id`");
    assert_upsert_error(q, "{\"points\":[{\"payload\":3,\"vector\":[1],\"id\":4}]}",
                        "Wrong input: Vector dimension error: expected dim: 3, got 1");
    /* the first bad point is reported */
    assert_upsert_error(q,
                        "{\"points\":[{\"id\":1,\"vector\":[1,2,3]},{\"id\":2,\"vector\":[1]},"
                        "{\"id\":-3,\"vector\":[1,2,3]}]}",
                        "Wrong input: Vector dimension error: expected dim: 3, got 1");
    assert_upsert_error(q, "{}", "Format error in JSON body: missing field `points`");
    assert_upsert_error(q, "{\"shard_key\":{\"a\":[1,2]}}",
                        "Format error in JSON body: missing field `points`");
    assert_upsert_error(q, "[1,2]",
                        "Format error in JSON body: expected a JSON object at the top level");
    assert_upsert_error(q, "\"points\"",
                        "Format error in JSON body: expected a JSON object at the top level");
    assert_int_equal(count(q), 0);
}

static void test_errors_batch_form(void **state)
{
    qdrant_t *q = *state;
    assert_upsert_error(q, "{\"batch\":{\"ids\":[1,2],\"vectors\":[[1,2,3],[1,2]]}}",
                        "Wrong input: Vector dimension error: expected dim: 3, got 2");
    assert_upsert_error(
        q, "{\"batch\":{\"ids\":[1,2],\"vectors\":[[1,2,3],[1,2,true]]}}",
        "Format error in JSON body: field `batch.vectors[1][2]`: expected a number");
    assert_upsert_error(q, "{\"batch\":{\"ids\":[1,2],\"vectors\":[[1,2,3],5]}}",
                        "Format error in JSON body: field `batch.vectors[1]`: expected a list");
    assert_upsert_error(q, "{\"batch\":[1]}",
                        "Format error in JSON body: field `batch`: expected an object");
    assert_upsert_error(q, "{\"batch\":{\"vectors\":[[1,2,3]]}}",
                        "Format error in JSON body: missing field `batch.ids`");
    assert_upsert_error(q, "{\"batch\":{\"ids\":5,\"vectors\":[[1,2,3]]}}",
                        "Format error in JSON body: expected a list in field `batch.ids`");
    assert_upsert_error(q, "{\"batch\":{\"ids\":[1]}}",
                        "Format error in JSON body: missing field `batch.vectors`");
    assert_upsert_error(q, "{\"batch\":{\"vectors\":{\"a\":1},\"ids\":[1]}}",
                        "Format error in JSON body: expected a list in field `batch.vectors`");
    assert_upsert_error(q, "{\"batch\":{\"ids\":[1,2],\"vectors\":[[1,2,3]]}}",
                        "Wrong input: batch.ids, batch.vectors and batch.payloads must have the "
                        "same length (2 ids)");
    assert_upsert_error(q, "{\"batch\":{\"ids\":[1],\"vectors\":[[1,2,3]],\"payloads\":[{},{}]}}",
                        "Wrong input: batch.ids, batch.vectors and batch.payloads must have the "
                        "same length (1 ids)");
    /* by index, then id before vector before payload: vectors come first in the text here */
    assert_upsert_error(q, "{\"batch\":{\"vectors\":[[1,2,3],[1]],\"ids\":[1,-2]}}",
                        "Format error in JSON body: field `batch.ids[1]`");
    assert_upsert_error(q, "{\"batch\":{\"vectors\":[[1,2,3],[1]],\"ids\":[1,2,-3][0]}}",
                        "Format error in JSON body: ");
    assert_upsert_error(q,
                        "{\"batch\":{\"payloads\":[{},7,{}],\"vectors\":[[1,2,3],[1,2,3],[1]],"
                        "\"ids\":[1,2,3]}}",
                        "Format error in JSON body: field `batch.payloads[1]`: expected an object");
    assert_upsert_error(q,
                        "{\"batch\":{\"payloads\":[{},{},7],\"vectors\":[[1,2,3],[1,2,3],[1]],"
                        "\"ids\":[1,2,3]}}",
                        "Wrong input: Vector dimension error: expected dim: 3, got 1");
    assert_int_equal(count(q), 0);
}

static void test_errors_syntax_and_text(void **state)
{
    qdrant_t *q = *state;
    assert_upsert_error(q, "{\"points\":[{\"id\":1,\"vector\":[1,2", "Format error in JSON body: ");
    assert_upsert_error(q, "{\"points\":[{\"id\":1,\"vector\":[1,2,3]}]} x",
                        "Format error in JSON body: ");
    assert_upsert_error(q, "{\"points\":[{\"id\":1,\"vector\":[1,2,3,]}]}",
                        "Format error in JSON body: ");
    /* a syntax error after a bad point is what is reported (the whole body is read first) */
    json_t *doc = call(q, "PUT", "/collections/c/points",
                       "{\"points\":[{\"id\":-1,\"vector\":[1,2,3]},{\"id\":", 400);
    const char *e = json_string_value(json_object_get(json_object_get(doc, "status"), "error"));
    assert_non_null(strstr(e, "Format error in JSON body: "));
    assert_null(strstr(e, "points[0].id"));
    assert_non_null(strstr(e, "at line 1 column"));
    json_decref(doc);
    assert_upsert_error(q,
                        "{\"points\":[{\"id\":1,\"vector\":[1,2,3],\"payload\":{\"a\":\"\xff\"}}]}",
                        "Format error in JSON body: ");
    /* overlong and surrogate encodings: jansson refused them, so does the stream */
    assert_upsert_error(
        q, "{\"points\":[{\"id\":1,\"vector\":[1,2,3],\"payload\":{\"a\":\"\xc0\xaf\"}}]}",
        "Format error in JSON body: ");
    assert_upsert_error(
        q, "{\"points\":[{\"id\":1,\"vector\":[1,2,3],\"payload\":{\"\xed\xa0\x80\":1}}]}",
        "Format error in JSON body: ");
    assert_upsert_error(
        q, "{\"points\":[{\"id\":1,\"vector\":[1,2,3],\"payload\":{\"a\":\"x\\u0000\"}}]}",
        "Format error in JSON body: ");
    assert_upsert_error(q, "{\"points\":[{\"id\":1,\"vector\":[1,[2,[1e999]],3]}]}",
                        "Format error in JSON body: real number overflow");
    assert_upsert_error(q, "{\"points\":[{\"id\":1,\"vector\":[1,2,1e999]}]}",
                        "Format error in JSON body: real number overflow");
    assert_upsert_error(q, "{\"points\":[{\"id\":1,\"vector\":[1,2,99999999999999999999]}]}",
                        "Format error in JSON body: too big integer");
    assert_upsert_error(q, "{\"points\":[{\"id\":99999999999999999999,\"vector\":[1,2,3]}]}",
                        "Format error in JSON body: too big integer");
    /* escapes are read as jansson read them: a lone surrogate is refused, in values and keys */
    assert_upsert_error(
        q, "{\"points\":[{\"id\":1,\"vector\":[1,2,3],\"payload\":{\"a\":\"\\ud800\"}}]}",
        "Format error in JSON body: invalid Unicode '\\uD800'");
    assert_upsert_error(q,
                        "{\"points\":[{\"id\":1,\"vector\":[1,2,3],\"payload\":{\"\\udc00\":1}}]}",
                        "Format error in JSON body: invalid Unicode '\\uDC00'");
    assert_upsert_error(q, "{\"batch\":{\"ids\":[\"\\ud800\"],\"vectors\":[[1,2,3]]}}",
                        "Format error in JSON body: invalid Unicode '\\uD800'");
    /* a body that is JSON, but spread over lines: the position names the line */
    doc = call(q, "PUT", "/collections/c/points",
               "{\"points\":[\n{\"id\":1,\n\"vector\":[1,2,#]}]}", 400);
    e = json_string_value(json_object_get(json_object_get(doc, "status"), "error"));
    assert_non_null(strstr(e, "at line 3 column"));
    json_decref(doc);
    assert_int_equal(count(q), 0);
}

static void test_atomic(void **state)
{
    qdrant_t *q = *state;
    json_decref(call(q, "PUT", "/collections/c/points",
                     "{\"points\":[{\"id\":1,\"vector\":[1,1,1]}]}", 200));
    assert_upsert_error(q,
                        "{\"points\":[{\"id\":1,\"vector\":[2,2,2]},{\"id\":2,\"vector\":[1,2,3]},"
                        "{\"id\":3,\"vector\":[1,2]}]}",
                        "Wrong input: Vector dimension error: expected dim: 3, got 2");
    assert_upsert_error(q,
                        "{\"batch\":{\"ids\":[1,2,3],\"vectors\":[[2,2,2],[1,2,3],[1,2,\"3\"]]}}",
                        "Format error in JSON body: field `batch.vectors[2][2]`");
    assert_int_equal(count(q), 1);
    json_t *p = retrieve(q, "1");
    assert_true(vec_at(p, 0) == 1.0f && vec_at(p, 2) == 1.0f);
    json_decref(p);
}

static void test_numbers_ids_payloads(void **state)
{
    qdrant_t *q = *state;
    const char *payload =
        "{\"city\":\"서울특별시\",\"n\":3,\"x\":1.5,\"tags\":[\"a\",{\"b\":[1,"
        "null,true]}],\"nested\":{\"deep\":{\"k\":\"스타트업 지원 정책\"}},"
        "\"esc\":\"q\\\"\\\\\\n\\u00e9\\ud83d\\ude00\\\\\",\"\\\"k\\\\\":\"\\/\"}";
    text_t body = {0};
    add(&body,
        "{\"points\":[{\"payload\":%s,\"vector\":[1e-3,2,-0.5],\"id\":7},"
        "{\"id\":\"{550E8400-E29B-41D4-A716-446655440000}\",\"vector\":[0.12345678901234568,"
        "-0,1E+2]},{\"id\":\"urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8\",\"vector\":{\"\":"
        "[-3,-2.5e0,123456789012345678]},\"payload\":{}}]}",
        payload);
    json_decref(call(q, "PUT", "/collections/c/points?wait=true", body.data, 200));
    free(body.data);
    assert_int_equal(count(q), 3);

    json_t *p = retrieve(q, "7");
    assert_int_equal(json_integer_value(json_object_get(p, "id")), 7);
    assert_true(vec_at(p, 0) == (float)1e-3 && vec_at(p, 1) == 2.0f && vec_at(p, 2) == -0.5f);
    json_t *want = json_loads(payload, 0, NULL);
    assert_non_null(want);
    assert_true(json_equal(json_object_get(p, "payload"), want));
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(json_object_get(p, "payload"), "nested"), "deep"),
            "k")),
        "스타트업 지원 정책");
    json_decref(want);
    json_decref(p);

    p = retrieve(q, "\"550e8400-e29b-41d4-a716-446655440000\"");
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "id")),
                        "550e8400-e29b-41d4-a716-446655440000");
    assert_true(vec_at(p, 0) == (float)strtod("0.12345678901234568", NULL));
    assert_true(vec_at(p, 1) == 0.0f && vec_at(p, 2) == 100.0f);
    assert_int_equal(json_object_size(json_object_get(p, "payload")), 0);
    json_decref(p);

    p = retrieve(q, "\"6BA7B8109DAD11D180B400C04FD430C8\"");
    assert_non_null(p);
    assert_true(vec_at(p, 0) == -3.0f && vec_at(p, 1) == -2.5f);
    assert_true(vec_at(p, 2) == (float)123456789012345678LL);
    json_decref(p);
}

static void test_batch_form_and_cosine(void **state)
{
    qdrant_t *q = *state;
    create(q, "cos", 2, "Cosine");
    json_decref(call(q, "PUT", "/collections/cos/points",
                     "{\"batch\":{\"payloads\":[{\"k\":\"가\"},null],\"ids\":[1,"
                     "\"00000000-0000-0000-0000-000000000002\"],\"vectors\":[[3,4],[0,-2]]}}",
                     200));
    json_t *doc = call(q, "POST", "/collections/cos/points",
                       "{\"ids\":[1,\"00000000-0000-0000-0000-000000000002\"],\"with_vector\":"
                       "true}",
                       200);
    json_t *res = json_object_get(doc, "result");
    assert_int_equal(json_array_size(res), 2);
    json_t *p1 = json_array_get(res, 0), *p2 = json_array_get(res, 1);
    assert_true(fabsf(vec_at(p1, 0) - 0.6f) < 1e-6f && fabsf(vec_at(p1, 1) - 0.8f) < 1e-6f);
    assert_string_equal(json_string_value(json_object_get(json_object_get(p1, "payload"), "k")),
                        "가");
    assert_true(vec_at(p2, 0) == 0.0f && vec_at(p2, 1) == -1.0f);
    assert_int_equal(json_object_size(json_object_get(p2, "payload")), 0);
    json_decref(doc);
    /* points wins over batch when both are there, in either order */
    json_decref(call(q, "PUT", "/collections/c/points",
                     "{\"batch\":{\"ids\":[5],\"vectors\":[[1]]},\"points\":[{\"id\":6,\"vector\":"
                     "[1,2,3]}]}",
                     200));
    assert_int_equal(count(q), 1);
    json_t *p = retrieve(q, "6");
    assert_non_null(p);
    json_decref(p);
}

/* 20,000 points of 64 dims in each form: every point stored with its own values. */
static void test_large_batches(void **state)
{
    qdrant_t *q = *state;
    enum { N = 20000, D = 64 };
    create(q, "big", D, "Dot");
    for (int form = 0; form < 2; form++) {
        text_t ids = {0}, vecs = {0}, pts = {0};
        for (int i = 0; i < N; i++) {
            text_t *v = form ? &vecs : &pts;
            long id = (long)form * N + i;
            if (form)
                add(&ids, "%s%ld", i ? "," : "", id);
            else
                add(&pts, "%s{\"id\":%ld,\"payload\":{\"i\":%d},\"vector\":", i ? "," : "", id, i);
            for (int j = 0; j < D; j++)
                add(v, "%s%.6f", j ? "," : "[", (double)((i * 31 + j) % 1000) / 997.0 - 0.5);
            add(v, "]%s", form ? (i + 1 < N ? "," : "") : "}");
        }
        text_t body = {0};
        if (form)
            add(&body, "{\"batch\":{\"ids\":[%s],\"vectors\":[%s]}}", ids.data, vecs.data);
        else
            add(&body, "{\"points\":[%s]}", pts.data);
        json_decref(calln(q, "PUT", "/collections/big/points", body.data, body.len, 200));
        free(ids.data);
        free(vecs.data);
        free(pts.data);
        free(body.data);
    }
    json_t *doc = call(q, "POST", "/collections/big/points/count", "{}", 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "result"), "count")),
                     2 * N);
    json_decref(doc);
    const long probe[] = {0, 1, N - 1, N, N + 12345, 2 * N - 1};
    for (size_t k = 0; k < sizeof(probe) / sizeof(probe[0]); k++) {
        char body[128];
        snprintf(body, sizeof(body), "{\"ids\":[%ld],\"with_vector\":true}", probe[k]);
        doc = call(q, "POST", "/collections/big/points", body, 200);
        json_t *p = json_array_get(json_object_get(doc, "result"), 0);
        long i = probe[k] % N;
        for (int j = 0; j < D; j++) {
            char num[32];
            snprintf(num, sizeof(num), "%.6f", (double)((i * 31 + j) % 1000) / 997.0 - 0.5);
            assert_true(vec_at(p, (size_t)j) == (float)strtod(num, NULL));
        }
        if (probe[k] < N)
            assert_int_equal(
                json_integer_value(json_object_get(json_object_get(p, "payload"), "i")), i);
        json_decref(doc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_errors_points_form, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_batch_form, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_syntax_and_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numbers_ids_payloads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_form_and_cosine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_batches, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
