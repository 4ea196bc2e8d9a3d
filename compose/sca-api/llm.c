/* sca-api: the LLM (OpenAI chat completions and embeddings) and the vector store (Qdrant REST). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sca.h"

static const char system_prompt[] =
    "You translate questions about Seoul commercial-district sales into one MySQL SELECT "
    "statement.\n"
    "Tables (MySQL 8):\n"
    "- seoul_sales(quarter_code INT -- 20241 = 2024 Q1, district_code INT, district VARCHAR -- "
    "자치구 name, area_type_code CHAR(1), area_type VARCHAR -- "
    "골목상권/발달상권/전통시장/관광특구, "
    "area_code INT, area_name VARCHAR, industry_code CHAR(8), industry_name VARCHAR, category "
    "VARCHAR -- 음식점업/서비스업/소매업, sales_amount BIGINT -- won per quarter, sales_count INT, "
    "weekday_sales_amount, weekend_sales_amount, weekday_sales_count, weekend_sales_count, "
    "time_00_06_sales_amount, time_06_11_sales_amount, time_11_14_sales_amount, "
    "time_14_17_sales_amount, time_17_21_sales_amount, time_21_24_sales_amount, "
    "male_sales_amount, female_sales_amount, male_sales_count, female_sales_count, "
    "age_10_sales_amount ... age_50_sales_amount, age_60_above_sales_amount)\n"
    "- seoul_areas(area_code, area_name, area_type_code, area_type, district_code, district)\n"
    "- seoul_industries(industry_code, industry_name, category_code, category)\n"
    "Rules: one read-only SELECT over these tables only; no comments; no other statements; "
    "strings in single quotes; standard SQL functions only (COUNT, SUM, AVG, MIN, MAX, ROUND, "
    "FLOOR, ...); answer with the SQL in a ```sql fenced block.";

char *sca_extract_sql(const char *content)
{
    if (!content)
        return NULL;
    const char *start = content, *end = content + strlen(content);
    const char *fence = strstr(content, "```");
    if (fence) {
        const char *body = fence + 3;
        while (*body && *body != '\n' && !isspace((unsigned char)*body))
            body++; /* the info string: sql, mysql, ... */
        const char *close = strstr(body, "```");
        start = body;
        end = close ? close : end;
    }
    while (start < end && isspace((unsigned char)*start))
        start++;
    while (end > start && isspace((unsigned char)end[-1]))
        end--;
    return mock_xstrndup(start, (size_t)(end - start));
}

int sca_llm_sql(sca_app_t *app, const char *question, char **sql, sca_error_t *e)
{
    *sql = NULL;
    sca_settings_t s = sca_app_settings(app);
    json_t *req = json_pack("{s:s,s:f,s:[{s:s,s:s},{s:s,s:s}]}", "model", s.llm_model,
                            "temperature", 0.0, "messages", "role", "system", "content",
                            system_prompt, "role", "user", "content", question);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    char url[1024];
    snprintf(url, sizeof(url), "%s/chat/completions", app->cfg.openai_base_url);
    sca_http_result_t r;
    int rc = sca_http_json("POST", url, app->cfg.openai_api_key, body, s.llm_timeout_ms,
                           app->cfg.llm_retries, app->cfg.backoff_ms, &r);
    free(body);
    if (rc < 0 || r.status != 200) {
        sca_fail(e, 200, "llm_unavailable",
                 "AI 분석 서비스를 일시적으로 사용할 수 없습니다. 잠시 후 다시 시도해 주세요. "
                 "(LLM: %s after %d attempts)",
                 r.error[0] ? r.error : "no answer", r.attempts);
        if (rc == 0 && r.status != 200)
            snprintf(e->message, sizeof(e->message),
                     "AI 분석 서비스가 질문을 처리하지 못했습니다. (LLM: HTTP %ld)", r.status);
        sca_http_result_free(&r);
        return 1;
    }
    json_t *doc = json_loads(r.body, 0, NULL);
    sca_http_result_free(&r);
    json_t *content = json_object_get(
        json_object_get(json_array_get(json_object_get(doc, "choices"), 0), "message"), "content");
    if (!json_is_string(content)) {
        json_decref(doc);
        sca_fail(
            e, 200, "llm_garbage",
            "AI 분석 서비스의 응답을 해석할 수 없습니다. (LLM: no choices[0].message.content)");
        return 1;
    }
    const char *text = json_string_value(content);
    *sql = sca_extract_sql(text);
    /* No fence and no statement keyword first: prose, not SQL (the fallback, not the guard) */
    bool prose = !strstr(text, "```") && !isalpha((unsigned char)(*sql)[0]) && (*sql)[0] != '(';
    json_decref(doc);
    if (prose) {
        free(*sql);
        *sql = NULL;
        sca_fail(e, 200, "llm_garbage", "AI 분석 서비스가 SQL 대신 다른 답을 했습니다.");
        return 1;
    }
    if (!**sql) {
        free(*sql);
        *sql = NULL;
        sca_fail(e, 200, "llm_garbage", "AI 분석 서비스가 SQL을 답하지 않았습니다.");
        return 1;
    }
    return 0;
}

json_t *sca_llm_embed(sca_app_t *app, const char *const *texts, size_t n, sca_error_t *e)
{
    json_t *input = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(input, json_string(texts[i]));
    json_t *req = json_pack("{s:s,s:o,s:i}", "model", "text-embedding-3-small", "input", input,
                            "dimensions", SCA_EMBED_DIM);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    char url[1024];
    snprintf(url, sizeof(url), "%s/embeddings", app->cfg.openai_base_url);
    sca_settings_t s = sca_app_settings(app);
    sca_http_result_t r;
    int rc = sca_http_json("POST", url, app->cfg.openai_api_key, body, s.llm_timeout_ms,
                           app->cfg.llm_retries, app->cfg.backoff_ms, &r);
    free(body);
    if (rc < 0 || r.status != 200) {
        sca_fail(e, 503, "llm_unavailable", "embeddings unavailable: %s",
                 r.error[0] ? r.error : "unexpected status");
        sca_http_result_free(&r);
        return NULL;
    }
    json_t *doc = json_loads(r.body, 0, NULL);
    sca_http_result_free(&r);
    json_t *data = json_object_get(doc, "data");
    if (!json_is_array(data) || json_array_size(data) != n) {
        json_decref(doc);
        sca_fail(e, 502, "llm_unavailable", "embeddings: answer without %zu vectors", n);
        return NULL;
    }
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(json_array_get(data, i), "embedding");
        if (!json_is_array(v)) {
            json_decref(out);
            json_decref(doc);
            sca_fail(e, 502, "llm_unavailable", "embeddings: data[%zu].embedding missing", i);
            return NULL;
        }
        json_array_append(out, v);
    }
    json_decref(doc);
    return out;
}

json_t *sca_vector_search(sca_app_t *app, const char *query, int top_k, sca_error_t *e)
{
    json_t *vecs = sca_llm_embed(app, &query, 1, e);
    if (!vecs)
        return NULL;
    json_t *req = json_pack("{s:O,s:i,s:b}", "vector", json_array_get(vecs, 0), "limit", top_k,
                            "with_payload", 1);
    json_decref(vecs);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    char url[1024];
    snprintf(url, sizeof(url), "%s/collections/%s/points/search", app->cfg.qdrant_url,
             SCA_COLLECTION);
    sca_http_result_t r;
    int rc =
        sca_http_json("POST", url, NULL, body, 5000, app->cfg.llm_retries, app->cfg.backoff_ms, &r);
    free(body);
    if (rc < 0 || r.status != 200) {
        sca_fail(e, 503, "vector_unavailable", "vector search unavailable: %s",
                 r.error[0] ? r.error : "unexpected status");
        if (rc == 0 && r.status == 404)
            sca_fail(e, 200, "no_documents", "no documents");
        sca_http_result_free(&r);
        return NULL;
    }
    json_t *doc = json_loads(r.body, 0, NULL);
    sca_http_result_free(&r);
    json_t *hits = json_object_get(doc, "result");
    json_t *results = json_array();
    size_t i;
    json_t *h;
    json_array_foreach(hits, i, h)
    {
        json_t *p = json_object_get(h, "payload");
        json_t *text = json_object_get(p, "text"), *source = json_object_get(p, "source");
        json_t *page = json_object_get(p, "page"), *score = json_object_get(h, "score");
        json_array_append_new(
            results, json_pack("{s:s,s:s,s:I,s:f}", "text",
                               json_is_string(text) ? json_string_value(text) : "", "source",
                               json_is_string(source) ? json_string_value(source) : "", "page",
                               json_is_integer(page) ? json_integer_value(page) : 0, "score",
                               json_number_value(score)));
    }
    json_decref(doc);
    return results;
}

/* Creates the collection when absent, then upserts points ([{id, vector, payload}]). */
int sca_vector_upsert(sca_app_t *app, json_t *points, sca_error_t *e)
{
    char url[1024];
    sca_http_result_t r;
    snprintf(url, sizeof(url), "%s/collections/%s", app->cfg.qdrant_url, SCA_COLLECTION);
    if (sca_http_json("GET", url, NULL, NULL, 5000, app->cfg.llm_retries, app->cfg.backoff_ms,
                      &r) == 0 &&
        r.status == 404) {
        sca_http_result_free(&r);
        char body[160];
        snprintf(body, sizeof(body), "{\"vectors\":{\"size\":%d,\"distance\":\"Cosine\"}}",
                 SCA_EMBED_DIM);
        if (sca_http_json("PUT", url, NULL, body, 5000, app->cfg.llm_retries, app->cfg.backoff_ms,
                          &r) < 0 ||
            r.status >= 300) {
            sca_fail(e, 503, "vector_unavailable", "vector store: cannot create %s: %s",
                     SCA_COLLECTION,
                     r.error[0] ? r.error
                     : r.body   ? r.body
                                : "");
            sca_http_result_free(&r);
            return -1;
        }
    }
    sca_http_result_free(&r);
    json_t *req = json_pack("{s:O}", "points", points);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    snprintf(url, sizeof(url), "%s/collections/%s/points?wait=true", app->cfg.qdrant_url,
             SCA_COLLECTION);
    int rc =
        sca_http_json("PUT", url, NULL, body, 30000, app->cfg.llm_retries, app->cfg.backoff_ms, &r);
    free(body);
    if (rc < 0 || r.status >= 300) {
        sca_fail(e, 503, "vector_unavailable", "vector store: upsert failed: %s",
                 r.error[0] ? r.error : "unexpected status");
        sca_http_result_free(&r);
        return -1;
    }
    sca_http_result_free(&r);
    return 0;
}
