/* The Seoul analysis service for the ADR-009 suites: see sca.h. */
#include "sca.h"

#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define SCA_AUDIT_LIMIT 1000 /* entries read back: enough for five suites running at once */

double suite_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

size_t suite_count(const char *hay, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    for (const char *p = hay; p && len && (p = strstr(p, needle)); p += len)
        n++;
    return n;
}

/* ---- environment ---- */
static int sca_missing(const char *var)
{
    cleanup_free char *what = tap_fmt("%s is not set", var);
    cleanup_free char *detail =
        tap_fmt("%s is not set (run it with envtest run, whose x-envtest.environment sets it; or "
                "set it to point the suites at your own implementation of the API)",
                var);
    tap_environment_failure(what, detail);
    return -1;
}

static int sca_load(sca_t *s, const char *suite)
{
    memset(s, 0, sizeof(*s));
    const char *url = getenv("SCA_API_URL");
    if (url && *url) {
        s->url = tap_fmt("%s", url);
    } else {
        const char *host = getenv("ENVTEST_SCA_API_HOST"), *port = getenv("ENVTEST_SCA_API_PORT");
        if (!host || !*host || !port || !*port)
            return sca_missing("SCA_API_URL");
        s->url = tap_fmt("http://%s:%s", host, port);
    }
    for (size_t n = strlen(s->url); n > 0 && s->url[n - 1] == '/'; n--)
        s->url[n - 1] = '\0';
    const char *admin = getenv("SCA_ADMIN_KEY"), *reader = getenv("SCA_READER_KEY");
    if (!admin || !*admin)
        return sca_missing("SCA_ADMIN_KEY");
    if (!reader || !*reader)
        return sca_missing("SCA_READER_KEY");
    s->admin_key = tap_fmt("%s", admin);
    s->reader_key = tap_fmt("%s", reader);
    s->curl = curl_easy_init();
    if (!s->curl) {
        tap_environment_failure("libcurl", "curl_easy_init failed");
        return -1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(s->marker, sizeof(s->marker), "%s-%lx%lx", suite, (unsigned long)getpid() & 0xfffff,
             (unsigned long)(ts.tv_nsec / 1000) & 0xfffff);
    return 0;
}

static void sca_free(sca_t *s)
{
    if (s->curl)
        curl_easy_cleanup(s->curl);
    free(s->url);
    free(s->admin_key);
    free(s->reader_key);
    memset(s, 0, sizeof(*s));
}

MYSQL *suite_db(suite_t *s)
{
    if (!s->db)
        s->db = suite_mysql_connect(&s->env);
    return s->db;
}

int suite_main(const char *name, unsigned needs, const tap_test_t *tests, size_t n)
{
    suite_t s;
    memset(&s, 0, sizeof(s));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = 1;
    if (envconn_load(&s.env, needs) < 0)
        goto out;
    if (sca_load(&s.sca, name) < 0)
        goto out;
    if (needs & ENVCONN_NEED_MYSQL) {
        const char *base = getenv("ENVTEST_MYSQL_BASE_DATABASE");
        if (!base || !*base)
            base = s.env.base_db_name;
        if (!base || !*base) {
            sca_missing("ENVTEST_MYSQL_BASE_DATABASE");
            goto out;
        }
        s.base_db = tap_fmt("`%s`", base);
    }
    rc = tap_run(tests, n, &s);
out:
    if (s.db)
        mysql_close(s.db);
    free(s.base_db);
    sca_free(&s.sca);
    envconn_free(&s.env);
    curl_global_cleanup();
    return rc;
}

/* ---- HTTP ---- */
void sca_resp_free(sca_resp_t *r)
{
    free(r->body);
    free(r->content_type);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

static size_t sca_write_cb(char *data, size_t size, size_t n, void *ud)
{
    sca_resp_t *r = ud;
    return envconn_body_append(&r->body, &r->len, data, size * n);
}

static size_t sca_header_cb(char *data, size_t size, size_t n, void *ud)
{
    sca_resp_t *r = ud;
    size_t len = size * n;
    if (len > 13 && strncasecmp(data, "Content-Type:", 13) == 0) {
        const char *v = data + 13;
        while (*v == ' ')
            v++;
        size_t vl = len - (size_t)(v - data);
        while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
            vl--;
        free(r->content_type);
        r->content_type = tap_fmt("%.*s", (int)vl, v);
    }
    return len;
}

void sca_send(sca_t *s, const char *method, const char *path, sca_role_t role, const char *ctype,
              const char *body, size_t len, sca_resp_t *out)
{
    memset(out, 0, sizeof(*out));
    out->body = tap_fmt("%s", "");
    CURL *c = s->curl;
    curl_easy_reset(c); /* keeps the connection cache: keep-alive */
    cleanup_free char *url = tap_fmt("%s%s", s->url, path);
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Accept: application/json");
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    cleanup_free char *auth = NULL;
    if (role == SCA_ADMIN || role == SCA_READER || role == SCA_BADKEY)
        auth = tap_fmt("Authorization: Bearer %s", role == SCA_ADMIN    ? s->admin_key
                                                   : role == SCA_READER ? s->reader_key
                                                                        : "not-a-key-of-this-api");
    if (auth)
        h = curl_slist_append(h, auth);
    cleanup_free char *ct = NULL;
    if (body) {
        ct = tap_fmt("Content-Type: %s", ctype ? ctype : "application/json");
        h = curl_slist_append(h, ct);
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sca_write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, sca_header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    double start = suite_now_ms();
    CURLcode rc = curl_easy_perform(c);
    out->ms = suite_now_ms() - start;
    out->transport_error = (int)rc;
    if (rc != CURLE_OK)
        snprintf(out->error, sizeof(out->error), "%s", *errbuf ? errbuf : curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(h);
    if (out->len)
        out->json = json_loadb(out->body, out->len, 0, NULL);
}

static void fail_request(const char *method, const char *path, const char *body, size_t len,
                         const sca_resp_t *r)
{
    tap_fail_data("request", "%s %s", method, path);
    if (body) {
        size_t cut = len > 600 ? 600 : len;
        while (cut < len && ((unsigned char)body[cut] & 0xC0) == 0x80)
            cut++;
        tap_fail_data("request_body", "%.*s%s", (int)cut, body, cut < len ? "... (cut)" : "");
    }
    tap_fail_data("response_body", "%s", r->body ? r->body : "");
}

json_t *sca_call_at(sca_t *s, const char *method, const char *path, sca_role_t role,
                    const json_t *body, long expect, const char *file, int line)
{
    cleanup_free char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    cleanup_sca_resp sca_resp_t r;
    sca_send(s, method, path, role, NULL, text, text ? strlen(text) : 0, &r);
    if (r.transport_error) {
        tap_fail(file, line, r.error, NULL, "%s %s%s: no complete response", method, s->url, path);
        return NULL;
    }
    if (r.status != expect) {
        cleanup_free char *got = tap_fmt("%ld", r.status);
        cleanup_free char *want = tap_fmt("%ld", expect);
        tap_fail(file, line, got, want, "%s %s: unexpected HTTP status", method, path);
        fail_request(method, path, text, text ? strlen(text) : 0, &r);
        return NULL;
    }
    if (!r.json) {
        tap_fail(file, line, NULL, "a JSON body", "%s %s: the answer is not JSON", method, path);
        fail_request(method, path, text, text ? strlen(text) : 0, &r);
        return NULL;
    }
    return json_incref(r.json);
}

const char *sca_expect_error_at(sca_t *s, const char *method, const char *path, sca_role_t role,
                                const char *ctype, const char *body, size_t len, long status,
                                const char *code, sca_resp_t *out, const char *file, int line)
{
    sca_send(s, method, path, role, ctype, body, len, out);
    if (out->transport_error) {
        tap_fail(file, line, out->error, NULL, "%s %s: no complete response", method, path);
        return NULL;
    }
    json_t *err = json_object_get(out->json, "error");
    const char *got_code = json_string_value(json_object_get(err, "code"));
    const char *message = json_string_value(json_object_get(err, "message"));
    if (out->status != status || !got_code || strcmp(got_code, code) != 0 || !message ||
        !*message) {
        cleanup_free char *got = tap_fmt("%ld %s", out->status, got_code ? got_code : "(no code)");
        cleanup_free char *want = tap_fmt("%ld %s with a message", status, code);
        tap_fail(file, line, got, want, "%s %s: expected error %ld %s", method, path, status, code);
        fail_request(method, path, body, len, out);
        return NULL;
    }
    return message;
}

json_t *sca_analysis_at(sca_t *s, const char *question, sca_role_t role, const char *file, int line)
{
    cleanup_json json_t *req = json_pack("{s:s}", "question", question);
    return sca_call_at(s, "POST", "/api/v1/analysis/sql", role, req, 200, file, line);
}

char *sca_unique(sca_t *s, const char *tag, const char *question, char **tag_out)
{
    char *t = tap_fmt("[%s-%s-%u]", tag, s->marker, ++s->seq);
    char *q = tap_fmt("%s %s", t, question);
    if (tag_out)
        *tag_out = t;
    else
        free(t);
    return q;
}

/* ---- checks ---- */
char *suite_cell_text(const json_t *cell)
{
    if (json_is_integer(cell))
        return tap_fmt("%lld", (long long)json_integer_value(cell));
    if (json_is_real(cell))
        return tap_fmt("%.17g", json_real_value(cell));
    if (json_is_string(cell))
        return tap_fmt("%s", json_string_value(cell));
    if (json_is_null(cell))
        return tap_fmt("NULL");
    return json_dumps(cell, JSON_COMPACT | JSON_ENCODE_ANY);
}

static bool cell_equal(const json_t *cell, const char *want)
{
    if (!want)
        return json_is_null(cell);
    if (json_is_number(cell)) {
        char *end = NULL;
        errno = 0;
        double w = strtod(want, &end);
        if (errno || end == want || *end)
            return false;
        if (json_is_integer(cell) && strchr(want, '.') == NULL && strchr(want, 'e') == NULL)
            return strtoll(want, NULL, 10) == (long long)json_integer_value(cell);
        double g = json_number_value(cell);
        return fabs(g - w) <= 1e-9 * fmax(1.0, fmax(fabs(g), fabs(w)));
    }
    return json_is_string(cell) && strcmp(json_string_value(cell), want) == 0;
}

int suite_rows_match_at(const json_t *rows, MYSQL *db, const char *sql, const char *file, int line)
{
    cleanup_mysql_res MYSQL_RES *res = suite_sql_query_at(db, sql, file, line);
    if (!res)
        return -1;
    size_t want_rows = (size_t)mysql_num_rows(res);
    unsigned cols = mysql_num_fields(res);
    if (!json_is_array(rows) || json_array_size(rows) != want_rows) {
        cleanup_free char *got = tap_fmt("%zu rows", json_array_size(rows));
        cleanup_free char *want = tap_fmt("%zu rows", want_rows);
        tap_fail(file, line, got, want, "the service's rows differ from the independent query");
        tap_fail_data("independent_sql", "%s", sql);
        return -1;
    }
    MYSQL_ROW row;
    for (size_t i = 0; (row = mysql_fetch_row(res)); i++) {
        json_t *got_row = json_array_get(rows, i);
        cleanup_free char *got_text = json_dumps(got_row, JSON_COMPACT);
        if (json_array_size(got_row) != cols) {
            cleanup_free char *want = tap_fmt("%u columns", cols);
            tap_fail(file, line, got_text, want, "row %zu has another number of columns", i + 1);
            tap_fail_data("independent_sql", "%s", sql);
            return -1;
        }
        for (unsigned c = 0; c < cols; c++) {
            if (!cell_equal(json_array_get(got_row, c), row[c])) {
                cleanup_free char *want = tap_fmt("%s", row[c] ? row[c] : "NULL");
                cleanup_free char *cell = suite_cell_text(json_array_get(got_row, c));
                tap_fail(file, line, cell, want,
                         "row %zu column %u differs from the independent query", i + 1, c + 1);
                tap_fail_data("row", "%s", got_text);
                tap_fail_data("independent_sql", "%s", sql);
                return -1;
            }
        }
    }
    return 0;
}

/* ---- audit ---- */
static json_t *audit_entries(sca_t *s, int limit, const char *file, int line)
{
    cleanup_free char *path = tap_fmt("/api/v1/audit?limit=%d", limit);
    json_t *r = sca_call_at(s, "GET", path, SCA_ADMIN, NULL, 200, file, line);
    if (r && !json_is_array(json_object_get(r, "entries"))) {
        cleanup_free char *dump = json_dumps(r, JSON_COMPACT);
        tap_fail(file, line, dump, "{\"entries\": [...]}", "GET /api/v1/audit: no entries list");
        json_decref(r);
        return NULL;
    }
    return r;
}

json_t *sca_audit_mark_at(sca_t *s, const char *file, int line)
{
    cleanup_json json_t *r = audit_entries(s, 1, file, line);
    if (!r)
        return NULL;
    json_t *first = json_array_get(json_object_get(r, "entries"), 0);
    return first ? json_incref(first) : json_null();
}

static bool str_match(const char *want, const json_t *got)
{
    return !want || (json_string_value(got) && strcmp(want, json_string_value(got)) == 0);
}

json_t *sca_audit_new_at(sca_t *s, const json_t *mark, const char *method, const char *path,
                         long status, const char *role, const char *file, int line)
{
    cleanup_json json_t *r = audit_entries(s, SCA_AUDIT_LIMIT, file, line);
    if (!r)
        return NULL;
    json_t *found = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r, "entries"), i, e)
    {
        if (mark && !json_is_null(mark) && json_equal(e, (json_t *)mark))
            break; /* older entries from here on */
        if (str_match(method, json_object_get(e, "method")) &&
            str_match(path, json_object_get(e, "path")) &&
            str_match(role, json_object_get(e, "role")) &&
            (!status || json_integer_value(json_object_get(e, "status")) == status))
            json_array_append(found, e);
    }
    return found;
}
