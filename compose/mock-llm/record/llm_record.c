/* mock-llm's record mode (see llm_record.h and ../README.md, "Record mode"). The handler copies
 * the request and defers it: a pool thread POSTs it upstream with libcurl and, when the answer is
 * a 200, merges the exchange into the cassette document and writes the file (temporary file +
 * rename, under a mutex); the loop then passes the upstream answer through unchanged (status,
 * content type, body; a stream is sent on event by event once the upstream finished it). */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "llm_record.h"

#define UPSTREAM_TIMEOUT_S 300L
#define UPSTREAM_CONNECT_TIMEOUT_S 15L

typedef struct llm_recorder {
    char *upstream; /* base URL, no trailing slash */
    char *key;      /* bearer key or NULL; never logged, never written */
    char *path;     /* the cassette file */
    uv_mutex_t lock;
    json_t *doc; /* the cassette being written (under lock) */
} llm_recorder_t;

typedef struct exchange {
    llm_recorder_t *rec;
    const char *route;
    char *body;
    size_t len;
    long status;
    char *content_type;
    mock_buf_t answer;
    char error[CURL_ERROR_SIZE];
    char outcome[160]; /* the journal's "matched" */
} exchange_t;

/* ---- the cassette document ------------------------------------------------------------------ */

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* The question a rule matches exactly and only: match {"user": Q} or {"user": {"exact": Q}}. */
static const char *rule_question(json_t *rule)
{
    json_t *m = json_object_get(rule, "match"), *u = json_object_get(m, "user");
    if (json_object_size(m) != 1)
        return NULL;
    if (json_is_object(u) && json_object_size(u) == 1)
        u = json_object_get(u, "exact");
    return json_string_value(u);
}

/* Text of a message's content: a string, or the text parts joined by newlines (as llm_chat.c). */
static void content_text(json_t *content, mock_buf_t *out)
{
    if (json_is_string(content)) {
        mock_buf_add(out, json_string_value(content), json_string_length(content));
        return;
    }
    for (size_t k = 0; k < json_array_size(content); k++) {
        json_t *part = json_array_get(content, k), *text = json_object_get(part, "text");
        if (!json_is_string(text) ||
            strcmp(or_empty(json_string_value(json_object_get(part, "type"))), "text") != 0)
            continue;
        if (out->len)
            mock_buf_adds(out, "\n");
        mock_buf_add(out, json_string_value(text), json_string_length(text));
    }
}

static unsigned int fnv32(const char *s)
{
    unsigned int h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int merge_chat(json_t *cassette, json_t *request, json_t *response, const char *stream_text,
                      const char **why)
{
    json_t *msgs = json_object_get(request, "messages");
    mock_buf_t q = MOCK_BUF_INIT;
    bool have_user = false;
    for (size_t i = 0; i < json_array_size(msgs); i++) {
        json_t *m = json_array_get(msgs, i);
        if (strcmp(or_empty(json_string_value(json_object_get(m, "role"))), "user") != 0)
            continue;
        mock_buf_reset(&q);
        content_text(json_object_get(m, "content"), &q);
        have_user = true;
    }
    const char *answer = stream_text;
    if (!answer)
        answer = json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(response, "choices"), 0), "message"),
            "content"));
    if (!have_user || !answer) {
        mock_buf_free(&q);
        *why = !have_user ? "no user message" : "no text in choices[0].message.content";
        return 0;
    }
    const char *question = q.data ? q.data : "";
    json_t *rules = json_object_get(cassette, "rules");
    if (!json_is_array(rules)) {
        rules = json_array();
        json_object_set_new(cassette, "rules", rules);
    }
    size_t insert_at = 0;
    for (size_t i = 0; i < json_array_size(rules); i++) {
        json_t *r = json_array_get(rules, i);
        const char *rq = rule_question(r);
        if (!rq)
            continue;
        insert_at = i + 1;
        if (strcmp(rq, question) == 0) { /* the same question: the new answer replaces it */
            json_object_del(r, "error");
            json_object_set_new(r, "reply", json_string(answer));
            mock_buf_free(&q);
            *why = "recorded (replaced)";
            return 1;
        }
    }
    /* New questions go after the other exact ones, before any contains/regex rule that could
     * otherwise answer them first. */
    char name[32];
    snprintf(name, sizeof(name), "recorded-%08x", fnv32(question));
    json_array_insert_new(
        rules, insert_at,
        json_pack("{s:s,s:{s:s},s:s}", "name", name, "match", "user", question, "reply", answer));
    mock_buf_free(&q);
    *why = "recorded";
    return 1;
}

static int base64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* The OpenAI API's base64 embedding (little-endian float32) as JSON numbers; NULL when invalid. */
static json_t *base64_floats(const char *s)
{
    size_t n = strlen(s), len = 0;
    unsigned char *bytes = mock_xmalloc(n / 4 * 3 + 3);
    unsigned int acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        int v = base64_value(s[i]);
        if (v < 0) {
            free(bytes);
            return NULL;
        }
        acc = (acc << 6) | (unsigned int)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            bytes[len++] = (unsigned char)(acc >> bits);
        }
    }
    json_t *out = len % 4 == 0 && len > 0 ? json_array() : NULL;
    for (size_t i = 0; out && i < len; i += 4) {
        uint32_t u = (uint32_t)bytes[i] | (uint32_t)bytes[i + 1] << 8 |
                     (uint32_t)bytes[i + 2] << 16 | (uint32_t)bytes[i + 3] << 24;
        float f;
        memcpy(&f, &u, sizeof(f));
        json_array_append_new(out, json_real(f));
    }
    free(bytes);
    return out;
}

static int merge_embeddings(json_t *cassette, json_t *request, json_t *response, const char **why)
{
    json_t *input = json_object_get(request, "input"), *data = json_object_get(response, "data");
    const char *model = or_empty(json_string_value(json_object_get(request, "model")));
    json_t *list = json_object_get(cassette, "embeddings");
    if (!json_is_array(list)) {
        list = json_array();
        json_object_set_new(cassette, "embeddings", list);
    }
    int written = 0;
    for (size_t i = 0; i < json_array_size(data); i++) {
        json_t *d = json_array_get(data, i), *vec = json_object_get(d, "embedding");
        json_t *idx = json_object_get(d, "index");
        size_t k = json_is_integer(idx) ? (size_t)json_integer_value(idx) : i;
        json_t *text = json_is_string(input) && k == 0 ? input : json_array_get(input, k);
        if (!json_is_string(text)) /* token arrays are not recorded */
            continue;
        json_t *floats = json_is_string(vec)  ? base64_floats(json_string_value(vec))
                         : json_is_array(vec) ? json_deep_copy(vec)
                                              : NULL;
        if (!floats || json_array_size(floats) == 0) {
            json_decref(floats);
            continue;
        }
        json_t *entry =
            json_pack("{s:O,s:s,s:o}", "input", text, "model", model, "embedding", floats);
        size_t at = json_array_size(list);
        for (size_t e = 0; e < json_array_size(list); e++) {
            json_t *old = json_array_get(list, e);
            if (json_equal(json_object_get(old, "input"), text) &&
                json_array_size(json_object_get(old, "embedding")) == json_array_size(floats))
                at = e;
        }
        if (at < json_array_size(list))
            json_array_set_new(list, at, entry);
        else
            json_array_append_new(list, entry);
        written++;
    }
    *why = written ? "recorded" : "no text input with an embedding in the answer";
    return written;
}

int llm_record_merge(json_t *cassette, const char *route, json_t *request, json_t *response,
                     const char *stream_text, const char **why)
{
    if (!json_is_object(request) || (!stream_text && !json_is_object(response))) {
        *why = "request or answer is not a JSON object";
        return 0;
    }
    if (strcmp(route, "/chat/completions") == 0)
        return merge_chat(cassette, request, response, stream_text, why);
    return merge_embeddings(cassette, request, response, why);
}

/* The assembled text of a streamed completion: choices[0].delta.content of every event. NULL
 * when no event carried content. */
static char *stream_assemble(const char *sse)
{
    mock_buf_t text = MOCK_BUF_INIT;
    bool any = false;
    for (const char *line = sse; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        if (n > 6 && strncmp(line, "data: ", 6) == 0) {
            json_t *ev = json_loadb(line + 6, n - 6, 0, NULL);
            json_t *c = json_object_get(
                json_object_get(json_array_get(json_object_get(ev, "choices"), 0), "delta"),
                "content");
            if (json_is_string(c)) {
                mock_buf_add(&text, json_string_value(c), json_string_length(c));
                any = true;
            }
            json_decref(ev);
        }
        line = end ? end + 1 : NULL;
    }
    if (!any) {
        mock_buf_free(&text);
        return NULL;
    }
    if (!text.data)
        return mock_xstrdup("");
    return text.data;
}

/* The document as the cassettes are written by hand (2-space indentation), except that each
 * recorded embedding takes one line (a vector is hundreds of numbers). */
static char *cassette_text(json_t *cassette)
{
    json_t *rest = json_copy(cassette), *list = json_object_get(cassette, "embeddings");
    json_object_del(rest, "embeddings");
    char *head = json_dumps(rest, JSON_INDENT(2));
    json_decref(rest);
    if (!head || json_array_size(list) == 0)
        return head;
    mock_buf_t b = MOCK_BUF_INIT;
    size_t n = strlen(head);
    if (n >= 2 && strcmp(head + n - 2, "\n}") == 0) { /* drop the closing "\n}" */
        mock_buf_add(&b, head, n - 2);
        mock_buf_adds(&b, ",\n");
    } else {
        mock_buf_adds(&b, "{\n"); /* "{}" */
    }
    free(head);
    mock_buf_adds(&b, "  \"embeddings\": [");
    for (size_t i = 0; i < json_array_size(list); i++) {
        char *e = json_dumps(json_array_get(list, i), JSON_COMPACT | JSON_REAL_PRECISION(9));
        mock_buf_addf(&b, "%s\n    %s", i ? "," : "", e ? e : "null");
        free(e);
    }
    mock_buf_adds(&b, "\n  ]\n}");
    return b.data;
}

/* Writes the document to PATH.tmp, then renames it over PATH (readers never see half a file). */
static int cassette_write(llm_recorder_t *rec, char *msg, size_t msgsize)
{
    char *doc = cassette_text(rec->doc);
    if (!doc)
        return snprintf(msg, msgsize, "cannot serialise the cassette"), -1;
    mock_buf_t tmp = MOCK_BUF_INIT;
    mock_buf_addf(&tmp, "%s.tmp", rec->path);
    FILE *f = fopen(tmp.data, "w");
    int rc = -1;
    if (!f) {
        snprintf(msg, msgsize, "%s: %s", tmp.data, strerror(errno));
    } else {
        bool ok =
            fputs(doc, f) >= 0 && fputc('\n', f) != EOF && fflush(f) == 0 && fsync(fileno(f)) == 0;
        int saved = errno;
        if (fclose(f) != 0 && ok)
            ok = false, saved = errno;
        if (!ok)
            snprintf(msg, msgsize, "%s: %s", tmp.data, strerror(saved));
        else if (rename(tmp.data, rec->path) != 0)
            snprintf(msg, msgsize, "rename to %s: %s", rec->path, strerror(errno));
        else
            rc = 0;
        if (rc < 0)
            unlink(tmp.data);
    }
    mock_buf_free(&tmp);
    free(doc);
    return rc;
}

/* On the pool thread, after a 200: the exchange into the cassette, the file rewritten. */
static void record_exchange(exchange_t *x)
{
    llm_recorder_t *rec = x->rec;
    json_t *request = json_loadb(x->body, x->len, 0, NULL);
    bool stream = x->content_type && strncmp(x->content_type, "text/event-stream", 17) == 0;
    json_t *response = stream ? NULL : json_loadb(or_empty(x->answer.data), x->answer.len, 0, NULL);
    char *stream_text = stream ? stream_assemble(or_empty(x->answer.data)) : NULL;
    const char *why = "";
    if (stream && !stream_text) {
        snprintf(x->outcome, sizeof(x->outcome),
                 "upstream 200, not recorded: no content in the "
                 "stream");
    } else {
        uv_mutex_lock(&rec->lock);
        int n = llm_record_merge(rec->doc, x->route, request, response, stream_text, &why);
        char msg[512];
        if (n > 0 && cassette_write(rec, msg, sizeof(msg)) < 0) {
            fprintf(stderr, "mock-llm: record: cannot write the cassette: %s\n", msg);
            snprintf(x->outcome, sizeof(x->outcome), "upstream 200, not recorded: write failed");
        } else {
            snprintf(x->outcome, sizeof(x->outcome), "upstream 200, %s%s",
                     n > 0 ? ""
                           : "not "
                             "recorded: ",
                     why);
        }
        uv_mutex_unlock(&rec->lock);
    }
    free(stream_text);
    json_decref(request);
    json_decref(response);
}

/* ---- the exchange --------------------------------------------------------------------------- */

static size_t answer_sink(char *p, size_t size, size_t n, void *user)
{
    mock_buf_add(user, p, size * n);
    return size * n;
}

static void exchange_work(void *data)
{
    exchange_t *x = data;
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(x->error, sizeof(x->error), "curl_easy_init failed");
        return;
    }
    mock_buf_t url = MOCK_BUF_INIT, auth = MOCK_BUF_INIT;
    mock_buf_addf(&url, "%s%s", x->rec->upstream, x->route);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");
    if (x->rec->key) {
        mock_buf_addf(&auth, "Authorization: Bearer %s", x->rec->key);
        headers = curl_slist_append(headers, auth.data);
    }
    curl_easy_setopt(h, CURLOPT_URL, url.data);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, x->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, answer_sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x->answer);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->error);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, UPSTREAM_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, UPSTREAM_CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "envtest-mock-llm-recorder");
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK) {
        char *ct = NULL;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &x->status);
        curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
        x->content_type = ct ? mock_xstrdup(ct) : NULL;
        x->error[0] = '\0';
    } else if (!x->error[0]) {
        snprintf(x->error, sizeof(x->error), "%s", curl_easy_strerror(rc));
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    if (auth.data) /* the key does not outlive the request in this buffer */
        memset(auth.data, 0, auth.len);
    mock_buf_free(&auth);
    mock_buf_free(&url);
    if (rc != CURLE_OK)
        return;
    if (x->status == 200)
        record_exchange(x);
    else
        snprintf(x->outcome, sizeof(x->outcome), "upstream %ld, not recorded", x->status);
}

static void exchange_free(exchange_t *x)
{
    free(x->body);
    free(x->content_type);
    mock_buf_free(&x->answer);
    free(x);
}

/* Sends a server-sent-events body on as a stream, one event per write. */
static void stream_through(mock_request_t *req, exchange_t *x)
{
    mock_stream_begin(req, (int)x->status, x->content_type);
    const char *p = or_empty(x->answer.data), *end = p + x->answer.len;
    while (p < end) {
        const char *sep = strstr(p, "\n\n");
        size_t n = sep ? (size_t)(sep + 2 - p) : (size_t)(end - p);
        if (mock_stream_write(req, p, n) < 0)
            break;
        p += n;
    }
    mock_stream_end(req);
}

static void exchange_done(mock_request_t *req, void *data)
{
    exchange_t *x = data;
    if (req && x->status == 0) {
        mock_request_set_matched(req, "upstream unreachable, not recorded");
        llm_respond_error(req, 502, "server_error", NULL, "upstream_unreachable",
                          "mock-llm record mode: upstream %s: %s", x->route, x->error);
    } else if (req) {
        mock_request_set_matched(req, x->outcome);
        if (x->content_type && strncmp(x->content_type, "text/event-stream", 17) == 0)
            stream_through(req, x);
        else
            mock_respond(req, (int)x->status, x->content_type, or_empty(x->answer.data),
                         x->answer.len);
    }
    exchange_free(x);
}

static void record_proxy(llm_state_t *st, mock_request_t *req, const char *route)
{
    exchange_t *x = mock_xcalloc(1, sizeof(*x));
    x->rec = st->recorder;
    x->route = route; /* a string literal */
    x->len = mock_request_body_len(req);
    x->body = mock_xstrndup(mock_request_body(req), x->len);
    if (mock_request_defer(req, exchange_work, exchange_done, x) < 0) {
        exchange_free(x);
        llm_respond_error(req, 500, "server_error", NULL, NULL, "could not defer the request");
    }
}

/* ---- start and stop ------------------------------------------------------------------------- */

int llm_record_start(llm_state_t *st, const char *upstream, const char *key_env, char *msg,
                     size_t msgsize)
{
    if (strncmp(upstream, "http://", 7) != 0 && strncmp(upstream, "https://", 8) != 0)
        return snprintf(msg, msgsize,
                        "--record %s: expected an http:// or https:// base URL such as "
                        "https://api.openai.com/v1",
                        upstream),
               -1;
    if (!st->cassette_path)
        return snprintf(msg, msgsize, "--record needs --cassette FILE (the file it writes)"), -1;
    const char *key = getenv(key_env ? key_env : "OPENAI_API_KEY");
    if (key_env && !key)
        return snprintf(msg, msgsize, "--upstream-key-env %s: that variable is not set", key_env),
               -1;
    json_t *doc;
    if (access(st->cassette_path, F_OK) == 0) {
        json_error_t e;
        doc = json_load_file(st->cassette_path, JSON_REJECT_DUPLICATES, &e);
        if (!doc || !json_is_object(doc)) {
            json_decref(doc);
            return snprintf(msg, msgsize, "cassette %s:%d:%d: %s", st->cassette_path, e.line,
                            e.column, doc ? "must be a JSON object" : e.text),
                   -1;
        }
    } else {
        doc = json_pack("{s:[]}", "rules");
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        json_decref(doc);
        return snprintf(msg, msgsize, "curl_global_init failed"), -1;
    }
    llm_recorder_t *rec = mock_xcalloc(1, sizeof(*rec));
    rec->upstream = mock_xstrdup(upstream);
    size_t n = strlen(rec->upstream);
    while (n > 0 && rec->upstream[n - 1] == '/')
        rec->upstream[--n] = '\0';
    rec->key = key && *key ? mock_xstrdup(key) : NULL;
    rec->path = mock_xstrdup(st->cassette_path);
    rec->doc = doc;
    uv_mutex_init(&rec->lock);
    st->recorder = rec;
    st->proxy = record_proxy;
    /* The upstream URL without any user:password@ part. */
    const char *host = strstr(rec->upstream, "://") + 3, *at = strchr(host, '@');
    const char *slash = strchr(host, '/');
    if (at && (!slash || at < slash))
        host = at + 1;
    printf("mock-llm: record mode: %.*s%s -> %s (key: %s)\n",
           (int)(strstr(rec->upstream, "://") + 3 - rec->upstream), rec->upstream, host, rec->path,
           rec->key ? "set" : "none");
    fflush(stdout);
    return 0;
}

void llm_record_free(llm_state_t *st)
{
    llm_recorder_t *rec = st->recorder;
    if (!rec)
        return;
    uv_mutex_destroy(&rec->lock);
    json_decref(rec->doc);
    if (rec->key)
        memset(rec->key, 0, strlen(rec->key));
    free(rec->key);
    free(rec->upstream);
    free(rec->path);
    free(rec);
    st->recorder = NULL;
    st->proxy = NULL;
    curl_global_cleanup();
}
