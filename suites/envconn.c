/* Environment variables, MySQL and HTTP helpers for the suites: see envconn.h. */
#include "envconn.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- cleanup ---- */
void envconn_freep(void *p)
{
    free(*(void **)p);
}

void envconn_json_decrefp(json_t **j)
{
    json_decref(*j);
}

void envconn_mysql_closep(MYSQL **m)
{
    if (*m)
        mysql_close(*m);
}

void envconn_mysql_res_freep(MYSQL_RES **r)
{
    if (*r)
        mysql_free_result(*r);
}

void envconn_mysql_stmt_closep(MYSQL_STMT **s)
{
    if (*s)
        mysql_stmt_close(*s);
}

/* ---- variables ---- */
static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

char *envconn_percent_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        int hi = i + 1 < len ? hexval((unsigned char)s[i + 1]) : -1;
        int lo = i + 2 < len ? hexval((unsigned char)s[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            free(out);
            return NULL;
        }
        out[o++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[o] = '\0';
    return out;
}

static char *dup_range(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    if (!out)
        abort();
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

static int url_fail(char **why, const char *what)
{
    *why = tap_fmt("DATABASE_URL: %s (expected mysql://user:password@host:port/database, "
                   "special characters in the password percent-encoded)",
                   what);
    return -1;
}

int envconn_parse_database_url(const char *url, envconn_t *env, char **why)
{
    static const char *schemes[] = {"mysql://", "mariadb://", "mysql+pymysql://"};
    const char *p = NULL;
    for (size_t i = 0; i < TAP_COUNT(schemes) && !p; i++)
        if (strncmp(url, schemes[i], strlen(schemes[i])) == 0)
            p = url + strlen(schemes[i]);
    if (!p)
        return url_fail(why, "scheme is not mysql://");
    const char *slash = strchr(p, '/');
    if (!slash)
        return url_fail(why, "no /database after the host");
    /* userinfo ends at the last '@' before the path (an unencoded '@' in a password still works) */
    const char *at = NULL;
    for (const char *q = p; q < slash; q++)
        if (*q == '@')
            at = q;
    if (!at)
        return url_fail(why, "no user@ before the host");
    const char *colon = memchr(p, ':', (size_t)(at - p));
    size_t user_len = colon ? (size_t)(colon - p) : (size_t)(at - p);
    env->db_user = envconn_percent_decode(p, user_len);
    env->db_password =
        colon ? envconn_percent_decode(colon + 1, (size_t)(at - colon - 1)) : dup_range("", 0);
    if (!env->db_user || !env->db_password || !*env->db_user)
        return url_fail(why, "user or password is empty or badly percent-encoded");
    const char *host = at + 1, *host_end, *port_start = NULL;
    if (*host == '[') { /* [ipv6]:port */
        const char *close = memchr(host, ']', (size_t)(slash - host));
        if (!close)
            return url_fail(why, "unterminated [ in the host");
        env->db_host = dup_range(host + 1, (size_t)(close - host - 1));
        host_end = close + 1;
        if (*host_end == ':')
            port_start = host_end + 1;
    } else {
        const char *c = memchr(host, ':', (size_t)(slash - host));
        host_end = c ? c : slash;
        env->db_host = dup_range(host, (size_t)(host_end - host));
        if (c)
            port_start = c + 1;
    }
    if (!*env->db_host)
        return url_fail(why, "empty host");
    env->db_port = 3306;
    if (port_start) {
        char *end = NULL;
        errno = 0;
        unsigned long port = strtoul(port_start, &end, 10);
        if (errno || end != slash || port == 0 || port > 65535)
            return url_fail(why, "port is not a number between 1 and 65535");
        env->db_port = (unsigned)port;
    }
    size_t db_len = strcspn(slash + 1, "?#");
    env->db_name = envconn_percent_decode(slash + 1, db_len);
    if (!env->db_name || !*env->db_name)
        return url_fail(why, "no database name after the /");
    return 0;
}

static int env_missing(const char *var)
{
    char *detail = tap_fmt("%s is not set (run it with envtest run)", var);
    tap_environment_failure(detail, detail);
    free(detail);
    return -1;
}

static int service_url(const char *service, const char *override_var, const char *suffix,
                       char **base, char **override)
{
    char host_var[64], port_var[64];
    snprintf(host_var, sizeof(host_var), "ENVTEST_%s_HOST", service);
    snprintf(port_var, sizeof(port_var), "ENVTEST_%s_PORT", service);
    const char *host = getenv(host_var), *port = getenv(port_var);
    if (!host || !*host)
        return env_missing(host_var);
    if (!port || !*port)
        return env_missing(port_var);
    char *end = NULL;
    long number = strtol(port, &end, 10);
    if (*end || number < 1 || number > 65535) {
        cleanup_free char *what = tap_fmt("%s is not a port number", port_var);
        cleanup_free char *detail =
            tap_fmt("%s='%s': expected 1-65535 (run it with envtest run)", port_var, port);
        tap_environment_failure(what, detail);
        return -1;
    }
    bool v6 = strchr(host, ':') != NULL;
    *base = tap_fmt(v6 ? "http://[%s]:%s" : "http://%s:%s", host, port);
    const char *ov = getenv(override_var);
    *override = ov && *ov ? tap_fmt("%s", ov) : tap_fmt("%s%s", *base, suffix);
    size_t n = strlen(*override);
    while (n > 0 && (*override)[n - 1] == '/')
        (*override)[--n] = '\0';
    return 0;
}

int envconn_load(envconn_t *env, unsigned needs)
{
    memset(env, 0, sizeof(*env));
    if (needs & ENVCONN_NEED_MYSQL) {
        const char *url = getenv("DATABASE_URL");
        if (!url || !*url)
            return env_missing("DATABASE_URL");
        cleanup_free char *why = NULL;
        if (envconn_parse_database_url(url, env, &why) < 0) {
            tap_environment_failure("DATABASE_URL is invalid", why);
            return -1;
        }
        const char *base = getenv("ENVTEST_MYSQL_DATABASE");
        env->base_db_name = base && *base ? base : NULL;
    }
    if ((needs & ENVCONN_NEED_LLM) &&
        service_url("MOCK_LLM", "OPENAI_BASE_URL", "/v1", &env->llm_url, &env->openai_url) < 0)
        return -1;
    if (needs & ENVCONN_NEED_VECTOR) {
        cleanup_free char *base = NULL;
        if (service_url("MOCK_VECTOR", "QDRANT_URL", "", &base, &env->vector_url) < 0)
            return -1;
    }
    return 0;
}

void envconn_free(envconn_t *env)
{
    free(env->db_user);
    free(env->db_password);
    free(env->db_host);
    free(env->db_name);
    free(env->llm_url);
    free(env->openai_url);
    free(env->vector_url);
    memset(env, 0, sizeof(*env));
}

/* ---- MySQL ---- */
MYSQL *suite_mysql_connect_at(const envconn_t *env, const char *file, int line)
{
    MYSQL *db = mysql_init(NULL);
    if (!db) {
        tap_fail(file, line, NULL, NULL, "mysql_init: out of memory");
        return NULL;
    }
    unsigned timeout = 10;
    mysql_options(db, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    unsigned rw_timeout = 60;
    mysql_options(db, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
    mysql_options(db, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
    mysql_options(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    unsigned proto = MYSQL_PROTOCOL_TCP;
    mysql_options(db, MYSQL_OPT_PROTOCOL, &proto);
    if (!mysql_real_connect(db, env->db_host, env->db_user, env->db_password, env->db_name,
                            env->db_port, NULL, 0)) {
        tap_fail(file, line, NULL, NULL, "connect to MySQL at %s:%u as %s, database %s: %s",
                 env->db_host, env->db_port, env->db_user, env->db_name, mysql_error(db));
        mysql_close(db);
        return NULL;
    }
    return db;
}

static void sql_fail(MYSQL *db, const char *sql, const char *file, int line)
{
    tap_fail(file, line, NULL, NULL, "SQL failed: %s (error %u)", mysql_error(db), mysql_errno(db));
    tap_fail_data("query", "%s", sql);
}

int suite_sql_exec_at(MYSQL *db, const char *sql, const char *file, int line)
{
    if (mysql_query(db, sql) != 0) {
        sql_fail(db, sql, file, line);
        return -1;
    }
    MYSQL_RES *res = mysql_store_result(db);
    if (res)
        mysql_free_result(res);
    return 0;
}

MYSQL_RES *suite_sql_query_at(MYSQL *db, const char *sql, const char *file, int line)
{
    if (mysql_query(db, sql) != 0) {
        sql_fail(db, sql, file, line);
        return NULL;
    }
    MYSQL_RES *res = mysql_store_result(db);
    if (!res) {
        tap_fail(file, line, NULL, NULL, "query returned no result set: %s", mysql_error(db));
        tap_fail_data("query", "%s", sql);
    }
    return res;
}

char *suite_sql_str_at(MYSQL *db, const char *sql, const char *file, int line)
{
    cleanup_mysql_res MYSQL_RES *res = suite_sql_query_at(db, sql, file, line);
    if (!res)
        return NULL;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (!row || mysql_num_fields(res) < 1 || !row[0]) {
        tap_fail(file, line, row ? "NULL" : "no rows", "one value", "query returned no value");
        tap_fail_data("query", "%s", sql);
        return NULL;
    }
    return tap_fmt("%s", row[0]);
}

long long suite_sql_int_at(MYSQL *db, const char *sql, const char *file, int line)
{
    cleanup_free char *s = suite_sql_str_at(db, sql, file, line);
    if (!s)
        return -1;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || (*end && *end != '.')) {
        tap_fail(file, line, s, "an integer", "query returned a value that is not an integer");
        tap_fail_data("query", "%s", sql);
        return -1;
    }
    return v;
}

/* ---- HTTP ---- */
void http_response_free(http_response_t *r)
{
    free(r->body);
    free(r->content_type);
    free(r->retry_after);
    memset(r, 0, sizeof(*r));
}

size_t envconn_body_append(char **body, size_t *len, const char *data, size_t add)
{
    char *grown = realloc(*body, *len + add + 1);
    if (!grown)
        return 0;
    *body = grown;
    memcpy(*body + *len, data, add);
    *len += add;
    (*body)[*len] = '\0';
    return add;
}

static size_t http_write_cb(char *data, size_t size, size_t n, void *ud)
{
    http_response_t *r = ud;
    return envconn_body_append(&r->body, &r->len, data, size * n);
}

static char *header_value(const char *line, size_t n, const char *name)
{
    size_t nl = strlen(name);
    if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return NULL;
    const char *v = line + nl + 1;
    const char *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    return dup_range(v, (size_t)(end - v));
}

static size_t http_header_cb(char *data, size_t size, size_t n, void *ud)
{
    http_response_t *r = ud;
    size_t len = size * n;
    char *v;
    if ((v = header_value(data, len, "Content-Type"))) {
        free(r->content_type);
        r->content_type = v;
    } else if ((v = header_value(data, len, "Retry-After"))) {
        free(r->retry_after);
        r->retry_after = v;
    }
    return len;
}

char *url_join(const char *base, const char *path)
{
    return tap_fmt("%s%s", base, path);
}

void http_request(const char *method, const char *url, const char *body, http_response_t *resp)
{
    memset(resp, 0, sizeof(*resp));
    resp->body = dup_range("", 0);
    CURL *curl = curl_easy_init();
    if (!curl) {
        resp->transport_error = CURLE_FAILED_INIT;
        snprintf(resp->error, sizeof(resp->error), "curl_easy_init failed");
        return;
    }
    struct curl_slist *headers = NULL;
    headers = curl_slist_append(headers, "Accept: application/json, text/event-stream");
    if (body)
        headers = curl_slist_append(headers, "Content-Type: application/json");
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, http_write_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, http_header_cb);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else if (strcmp(method, "GET") != 0 && strcmp(method, "DELETE") != 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
    }
    CURLcode rc = curl_easy_perform(curl);
    resp->transport_error = (int)rc;
    if (rc != CURLE_OK)
        snprintf(resp->error, sizeof(resp->error), "%s", *errbuf ? errbuf : curl_easy_strerror(rc));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
    double total = 0;
    curl_easy_getinfo(curl, CURLINFO_TOTAL_TIME, &total);
    resp->total_ms = total * 1000.0;
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
}

json_t *suite_http_json_at(const char *method, const char *base, const char *path,
                           const json_t *body, long expect_status, const char *file, int line)
{
    cleanup_free char *url = url_join(base, path);
    cleanup_free char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    cleanup_http http_response_t resp;
    /* Another suite may be injecting faults into the same mock (they are global): like any real
     * client, retry what is retryable (no response, 429, 5xx) a few times with backoff. */
    for (int attempt = 1;; attempt++) {
        http_request(method, url, text, &resp);
        bool retryable = resp.transport_error || resp.status == 429 ||
                         (resp.status >= 500 && resp.status != expect_status);
        if (!retryable || attempt == 4)
            break;
        tap_note("%s %s: %s, retrying (attempt %d)", method, url,
                 resp.transport_error ? resp.error : "retryable status", attempt + 1);
        struct timespec ts = {0, 100000000L << (attempt - 1)};
        nanosleep(&ts, NULL);
        http_response_free(&resp);
    }
    if (resp.transport_error) {
        tap_fail(file, line, resp.error, NULL, "%s %s: no complete response", method, url);
        return NULL;
    }
    if (resp.status != expect_status) {
        cleanup_free char *got = tap_fmt("%ld", resp.status);
        cleanup_free char *want = tap_fmt("%ld", expect_status);
        tap_fail(file, line, got, want, "%s %s: unexpected HTTP status", method, url);
        tap_fail_data("response_body", "%s", resp.body);
        if (text) { /* an embedding vector is long: keep the start, on a UTF-8 boundary */
            size_t n = strlen(text), cut = n > 600 ? 600 : n;
            while (cut < n && ((unsigned char)text[cut] & 0xC0) == 0x80)
                cut++;
            tap_fail_data("request_body", "%.*s%s", (int)cut, text, cut < n ? "... (cut)" : "");
        }
        return NULL;
    }
    json_error_t jerr;
    json_t *json = json_loadb(resp.body, resp.len, 0, &jerr);
    if (!json) {
        tap_fail(file, line, NULL, NULL, "%s %s: response is not JSON: %s", method, url, jerr.text);
        tap_fail_data("response_body", "%s", resp.body);
    }
    return json;
}

int envconn_retry(int attempts, int base_ms, int (*fn)(void *ud), void *ud, int *used,
                  long *slept_ms)
{
    int rc = -1;
    long delay = base_ms, slept = 0;
    int i;
    for (i = 1; i <= attempts; i++) {
        rc = fn(ud);
        if (rc == 0)
            break;
        if (i == attempts)
            break;
        struct timespec ts = {delay / 1000, (delay % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        slept += delay;
        delay *= 2;
    }
    if (used)
        *used = i > attempts ? attempts : i;
    if (slept_ms)
        *slept_ms = slept;
    return rc;
}

/* Parses an SSE body: the data: payloads in order (strings), and whether [DONE] ended it. */
json_t *suite_sse_parse(const char *body, bool *done, char **bad_line)
{
    json_t *events = json_array();
    *done = false;
    *bad_line = NULL;
    const char *p = body;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n >= 5 && strncmp(p, "data:", 5) == 0) {
            const char *v = p + 5;
            size_t vn = n - 5;
            if (vn && *v == ' ')
                v++, vn--;
            if (*done && !*bad_line)
                *bad_line = tap_fmt("event after [DONE]: %.*s", (int)vn, v);
            if (vn == 6 && strncmp(v, "[DONE]", 6) == 0)
                *done = true;
            else
                json_array_append_new(events, json_stringn(v, vn));
        } else if (n > 0 && *p != ':' && !*bad_line) {
            *bad_line = tap_fmt("not an SSE data line: %.*s", (int)n, p);
        }
        p += nl ? (size_t)(nl - p) + 1 : n;
    }
    return events;
}

/* ---- mock-service helpers ---- */
char *suite_model_at(const envconn_t *env, enum suite_model_kind kind, const char *file, int line)
{
    static char *cached[2]; /* one /v1/models per process */
    if (cached[kind])
        return tap_fmt("%s", cached[kind]);
    cleanup_json json_t *models =
        suite_http_json_at("GET", env->openai_url, "/models", NULL, 200, file, line);
    if (!models)
        return NULL;
    const char *first = NULL, *pick = NULL;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(models, "data"), i, m)
    {
        const char *id = json_string_value(json_object_get(m, "id"));
        if (!id)
            continue;
        first = first ? first : id;
        bool embedding = strstr(id, "embedding") != NULL;
        if (!pick && embedding == (kind == SUITE_MODEL_EMBEDDING))
            pick = id;
    }
    if (!first) {
        tap_fail(file, line, NULL, "data[].id", "GET /v1/models lists no model");
        return NULL;
    }
    cached[kind] = tap_fmt("%s", pick ? pick : first);
    return tap_fmt("%s", cached[kind]);
}

char *suite_chat_answer_at(const envconn_t *env, const char *question, const char *file, int line)
{
    cleanup_free char *model = suite_model_at(env, SUITE_MODEL_CHAT, file, line);
    if (!model)
        return NULL;
    cleanup_json json_t *req = json_pack("{s:s, s:[{s:s, s:s}], s:b}", "model", model, "messages",
                                         "role", "user", "content", question, "stream", 0);
    cleanup_json json_t *resp =
        suite_http_json_at("POST", env->openai_url, "/chat/completions", req, 200, file, line);
    if (!resp)
        return NULL;
    json_t *choice = json_array_get(json_object_get(resp, "choices"), 0);
    const char *content =
        json_string_value(json_object_get(json_object_get(choice, "message"), "content"));
    if (!content) {
        cleanup_free char *dump = json_dumps(resp, JSON_COMPACT);
        tap_fail(file, line, dump, "choices[0].message.content", "chat completion has no content");
        return NULL;
    }
    return tap_fmt("%s", content);
}

json_t *suite_embed_at(const envconn_t *env, const char *text, const char *file, int line)
{
    cleanup_free char *model = suite_model_at(env, SUITE_MODEL_EMBEDDING, file, line);
    if (!model)
        return NULL;
    cleanup_json json_t *req = json_pack("{s:s, s:s}", "model", model, "input", text);
    cleanup_json json_t *resp =
        suite_http_json_at("POST", env->openai_url, "/embeddings", req, 200, file, line);
    if (!resp)
        return NULL;
    json_t *vec = json_object_get(json_array_get(json_object_get(resp, "data"), 0), "embedding");
    if (!json_is_array(vec) || json_array_size(vec) == 0) {
        tap_fail(file, line, NULL, "data[0].embedding: array of numbers", "embedding missing");
        return NULL;
    }
    return json_incref(vec);
}

char *suite_extract_sql(const char *answer)
{
    const char *start = answer, *end = answer + strlen(answer);
    const char *fence = strstr(answer, "```");
    if (fence) {
        const char *nl = strchr(fence, '\n');
        if (nl) {
            start = nl + 1;
            const char *close = strstr(start, "```");
            end = close ? close : end;
        }
    }
    while (start < end && isspace((unsigned char)*start))
        start++;
    while (end > start && (isspace((unsigned char)end[-1]) || end[-1] == ';'))
        end--;
    return dup_range(start, (size_t)(end - start));
}

int suite_mock_clear_faults_at(const char *base, const char *file, int line)
{
    cleanup_free char *url = url_join(base, "/__admin/faults");
    cleanup_http http_response_t resp;
    http_request("DELETE", url, NULL, &resp);
    if (resp.transport_error || resp.status < 200 || resp.status >= 300) {
        cleanup_free char *got = tap_fmt("%ld %s", resp.status, resp.error);
        tap_fail(file, line, got, "2xx", "DELETE %s failed", url);
        tap_fail_data("response_body", "%s", resp.body ? resp.body : "");
        return -1;
    }
    return 0;
}

/* ---- mock faults and journal ---- */
long mock_fault_add_at(const char *base, const json_t *fault, const char *file, int line)
{
    cleanup_json json_t *r =
        suite_http_json_at("POST", base, "/__admin/faults", fault, 200, file, line);
    if (!r)
        return -1;
    json_t *id = json_object_get(r, "id");
    if (!json_is_integer(id)) {
        cleanup_free char *dump = json_dumps(r, JSON_COMPACT);
        tap_fail(file, line, dump, "{\"id\": N}", "POST /__admin/faults did not answer an id");
        return -1;
    }
    return (long)json_integer_value(id);
}

int mock_fault_remove_at(const char *base, long id, const char *file, int line)
{
    cleanup_free char *url = tap_fmt("%s/__admin/faults/%ld", base, id);
    cleanup_http http_response_t resp;
    http_request("DELETE", url, NULL, &resp);
    if (resp.transport_error || resp.status < 200 || resp.status >= 300) {
        cleanup_free char *got = tap_fmt("%ld %s", resp.status, resp.error);
        tap_fail(file, line, got, "2xx", "DELETE %s failed", url);
        tap_fail_data("response_body", "%s", resp.body ? resp.body : "");
        return -1;
    }
    return 0;
}

json_t *mock_journal_find_at(const char *base, const char *text, const char *file, int line)
{
    cleanup_json json_t *j =
        suite_http_json_at("GET", base, "/__admin/requests", NULL, 200, file, line);
    if (!j)
        return NULL;
    json_t *found = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(j, "requests"), i, e)
    {
        const char *body = json_string_value(json_object_get(e, "body"));
        if (body && strstr(body, text))
            json_array_append(found, e);
    }
    return found;
}

int envconn_run_suite(unsigned needs, const tap_test_t *tests, size_t n)
{
    envconn_t env;
    if (envconn_load(&env, needs) < 0)
        return 1;
    int rc = tap_run(tests, n, &env);
    envconn_free(&env);
    return rc;
}
