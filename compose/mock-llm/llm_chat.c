/* mock-llm: POST /v1/chat/completions, non-streaming and streaming (SSE), and token counts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"

#define BAD(param, ...)                                                                            \
    (llm_respond_error(req, 400, "invalid_request_error", param, NULL, __VA_ARGS__), -1)

/* ---- tokens ----------------------------------------------------------------------------- */
static bool is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Length of the token starting at s[0] (n > 0): an optional space and up to 4 ASCII letters or
 * digits, a whitespace run, one ASCII punctuation mark, or one other code point. */
static size_t token_len(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    if (s[0] == ' ' && n > 1 && is_alnum(s[1]))
        i = 1;
    if (is_alnum(s[i])) {
        size_t k = i;
        while (k < n && k < i + 4 && is_alnum(s[k]))
            k++;
        return k;
    }
    if (s[0] == ' ' || s[0] == '\n' || s[0] == '\t' || s[0] == '\r') {
        while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r'))
            i++;
        return i;
    }
    size_t len = s[0] < 0x80 ? 1 : s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 1;
    return len < n ? len : n;
}

int llm_count_tokens(const char *s)
{
    size_t n = strlen(s);
    int count = 0;
    for (size_t i = 0; i < n; i += token_len(s + i, n - i))
        count++;
    return count;
}

/* ---- request ------------------------------------------------------------------------------- */
typedef struct chat_request {
    const char *model;
    const char *user; /* last user message's text */
    mock_buf_t system, last_user;
    int prompt_tokens;
    bool stream, include_usage;
    long long max_tokens; /* 0: no limit */
} chat_request_t;

static const char *const roles[] = {"system", "developer", "user", "assistant", "tool", "function"};

/* Text of a message's content: a string, null, or an array of parts ({"type":"text",...}). */
static int content_text(mock_request_t *req, json_t *content, size_t i, mock_buf_t *out)
{
    char param[96];
    if (json_is_null(content) || !content)
        return 0;
    if (json_is_string(content)) {
        mock_buf_add(out, json_string_value(content), json_string_length(content));
        return 0;
    }
    snprintf(param, sizeof(param), "messages[%zu].content", i);
    if (!json_is_array(content))
        return BAD(param, "Invalid type for '%s': expected a string or an array of parts", param);
    for (size_t k = 0; k < json_array_size(content); k++) {
        json_t *part = json_array_get(content, k), *type = json_object_get(part, "type");
        snprintf(param, sizeof(param), "messages[%zu].content[%zu].type", i, k);
        if (!json_is_object(part) || !json_is_string(type))
            return BAD(param, "Missing required parameter: '%s'", param);
        if (strcmp(json_string_value(type), "text") != 0)
            continue; /* images and audio are accepted and ignored */
        json_t *text = json_object_get(part, "text");
        snprintf(param, sizeof(param), "messages[%zu].content[%zu].text", i, k);
        if (!json_is_string(text))
            return BAD(param, "Invalid type for '%s': expected a string", param);
        if (out->len)
            mock_buf_adds(out, "\n");
        mock_buf_add(out, json_string_value(text), json_string_length(text));
    }
    return 0;
}

static int parse_messages(mock_request_t *req, json_t *msgs, chat_request_t *cr)
{
    if (!msgs)
        return BAD("messages", "Missing required parameter: 'messages'.");
    if (!json_is_array(msgs))
        return BAD("messages", "Invalid type for 'messages': expected an array.");
    if (json_array_size(msgs) == 0)
        return BAD("messages", "Invalid 'messages': empty array. Expected an array with minimum "
                               "length 1.");
    cr->prompt_tokens = 3;
    for (size_t i = 0; i < json_array_size(msgs); i++) {
        json_t *m = json_array_get(msgs, i), *role = json_object_get(m, "role");
        char param[48];
        snprintf(param, sizeof(param), "messages[%zu].role", i);
        if (!json_is_object(m))
            return BAD(param, "Invalid type for 'messages[%zu]': expected an object.", i);
        if (!json_is_string(role))
            return BAD(param, "Missing required parameter: '%s'.", param);
        const char *r = json_string_value(role);
        size_t k = 0;
        while (k < sizeof(roles) / sizeof(*roles) && strcmp(r, roles[k]) != 0)
            k++;
        if (k == sizeof(roles) / sizeof(*roles))
            return BAD(param,
                       "Invalid value: '%s'. Supported values are: 'system', 'developer', "
                       "'user', 'assistant', 'tool' and 'function'.",
                       r);
        mock_buf_t text = MOCK_BUF_INIT;
        if (content_text(req, json_object_get(m, "content"), i, &text) < 0) {
            mock_buf_free(&text);
            return -1;
        }
        const char *t = text.data ? text.data : "";
        cr->prompt_tokens += 4 + llm_count_tokens(t);
        if (k <= 1) {
            if (cr->system.len)
                mock_buf_adds(&cr->system, "\n");
            mock_buf_adds(&cr->system, t);
        } else if (k == 2) {
            mock_buf_reset(&cr->last_user);
            mock_buf_adds(&cr->last_user, t);
        }
        mock_buf_free(&text);
    }
    return 0;
}

/* doc: an object with a string "model" (llm_request_parse). */
static int parse_chat(mock_request_t *req, json_t *doc, chat_request_t *cr)
{
    json_t *v;
    if (parse_messages(req, json_object_get(doc, "messages"), cr) < 0)
        return -1;
    if ((v = json_object_get(doc, "stream")) && !json_is_null(v)) {
        if (!json_is_boolean(v))
            return BAD("stream", "Invalid type for 'stream': expected a boolean.");
        cr->stream = json_is_true(v);
    }
    if ((v = json_object_get(doc, "stream_options")) && !json_is_null(v)) {
        json_t *iu = json_object_get(v, "include_usage");
        if (!json_is_object(v))
            return BAD("stream_options", "Invalid type for 'stream_options': expected an object.");
        if (iu && !json_is_boolean(iu))
            return BAD("stream_options.include_usage",
                       "Invalid type for 'stream_options.include_usage': expected a boolean.");
        if (!cr->stream)
            return BAD("stream_options", "The 'stream_options' parameter is only allowed when "
                                         "'stream' is enabled.");
        cr->include_usage = json_is_true(iu);
    }
    const char *limits[] = {"max_tokens", "max_completion_tokens"};
    for (int i = 0; i < 2; i++) {
        if (!(v = json_object_get(doc, limits[i])) || json_is_null(v))
            continue;
        if (!json_is_integer(v) || json_integer_value(v) < 1)
            return BAD(limits[i], "Invalid '%s': expected an integer >= 1.", limits[i]);
        cr->max_tokens = json_integer_value(v);
    }
    if ((v = json_object_get(doc, "n")) && !json_is_null(v) &&
        !(json_is_integer(v) && json_integer_value(v) == 1))
        return BAD("n", "Invalid 'n': mock-llm answers with one choice (n = 1).");
    if ((v = json_object_get(doc, "temperature")) && !json_is_null(v) && !json_is_number(v))
        return BAD("temperature", "Invalid type for 'temperature': expected a number.");
    cr->user = cr->last_user.data ? cr->last_user.data : "";
    return 0;
}

/* ---- answers ------------------------------------------------------------------------------ */
static void make_id(const char *body, size_t len, char out[40])
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)body[i]) * 0x100000001b3ull;
    snprintf(out, 40, "chatcmpl-mock%016llx", (unsigned long long)h);
}

static void rule_error(mock_request_t *req, const llm_rule_t *r)
{
    const char *type = r->error_type;
    if (!type)
        type = r->error_status == 429   ? "rate_limit_error"
               : r->error_status == 401 ? "authentication_error"
               : r->error_status >= 500 ? "server_error"
                                        : "invalid_request_error";
    llm_respond_error(req, r->error_status, type, NULL, r->error_code, "%s", r->error_message);
}

static json_t *usage_json(int prompt, int completion)
{
    return json_pack("{s:i,s:i,s:i}", "prompt_tokens", prompt, "completion_tokens", completion,
                     "total_tokens", prompt + completion);
}

static json_t *chunk_json(const char *id, long long created, const char *model)
{
    return json_pack("{s:s,s:s,s:I,s:s,s:s}", "id", id, "object", "chat.completion.chunk",
                     "created", (json_int_t)created, "model", model, "system_fingerprint",
                     "fp_envtest_mock");
}

static int send_event(mock_request_t *req, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    mock_buf_t b = MOCK_BUF_INIT;
    mock_buf_addf(&b, "data: %s\n\n", s);
    free(s);
    int r = mock_stream_write(req, b.data, b.len);
    mock_buf_free(&b);
    return r;
}

static void stream_answer(mock_request_t *req, const chat_request_t *cr, const char *id,
                          long long created, const char *reply, size_t reply_len, int completion,
                          const char *finish)
{
    mock_stream_begin(req, 200, "text/event-stream");
    json_t *usage_null = cr->include_usage ? json_null() : NULL;
    json_t *c = chunk_json(id, created, cr->model);
    json_object_set_new(c, "choices",
                        json_pack("[{s:i,s:{s:s,s:s,s:n},s:n,s:n}]", "index", 0, "delta", "role",
                                  "assistant", "content", "", "refusal", "logprobs",
                                  "finish_reason"));
    if (usage_null)
        json_object_set(c, "usage", usage_null);
    int r = send_event(req, c);
    for (size_t i = 0; r == 0 && i < reply_len;) {
        size_t n = token_len(reply + i, reply_len - i);
        c = chunk_json(id, created, cr->model);
        json_object_set_new(c, "choices",
                            json_pack("[{s:i,s:{s:s%},s:n,s:n}]", "index", 0, "delta", "content",
                                      reply + i, n, "logprobs", "finish_reason"));
        if (usage_null)
            json_object_set(c, "usage", usage_null);
        r = send_event(req, c);
        i += n;
    }
    if (r == 0) {
        c = chunk_json(id, created, cr->model);
        json_object_set_new(c, "choices",
                            json_pack("[{s:i,s:{},s:n,s:s}]", "index", 0, "delta", "logprobs",
                                      "finish_reason", finish));
        if (usage_null)
            json_object_set(c, "usage", usage_null);
        r = send_event(req, c);
    }
    if (r == 0 && cr->include_usage) {
        c = chunk_json(id, created, cr->model);
        json_object_set_new(c, "choices", json_array());
        json_object_set_new(c, "usage", usage_json(cr->prompt_tokens, completion));
        r = send_event(req, c);
    }
    if (r == 0)
        mock_stream_write(req, "data: [DONE]\n\n", 14);
    json_decref(usage_null);
    mock_stream_end(req);
}

static void answer(llm_state_t *st, mock_request_t *req, const chat_request_t *cr)
{
    const llm_rule_t *r = llm_cassette_match(st->cassette, cr->model,
                                             cr->system.data ? cr->system.data : "", cr->user);
    mock_request_set_matched(req, r->name);
    if (r->error_status) {
        rule_error(req, r);
        return;
    }
    char id[40];
    make_id(mock_request_body(req), mock_request_body_len(req), id);
    size_t len = strlen(r->reply), cut = 0;
    int completion = 0;
    while (cut < len && (cr->max_tokens == 0 || completion < cr->max_tokens)) {
        cut += token_len(r->reply + cut, len - cut);
        completion++;
    }
    const char *finish = cut < len ? "length" : "stop";
    long long created = st->cassette->created;
    if (cr->stream) {
        stream_answer(req, cr, id, created, r->reply, cut, completion, finish);
        return;
    }
    json_t *resp = json_pack(
        "{s:s,s:s,s:I,s:s,s:[{s:i,s:{s:s,s:s%,s:n},s:n,s:s}],s:o,s:s}", "id", id, "object",
        "chat.completion", "created", (json_int_t)created, "model", cr->model, "choices", "index",
        0, "message", "role", "assistant", "content", r->reply, cut, "refusal", "logprobs",
        "finish_reason", finish, "usage", usage_json(cr->prompt_tokens, completion),
        "system_fingerprint", "fp_envtest_mock");
    mock_respond_json(req, 200, resp);
}

void llm_chat_completions(llm_state_t *st, mock_request_t *req)
{
    chat_request_t cr = {0};
    json_t *doc = llm_request_parse(req, &cr.model);
    if (!doc)
        return;
    if (parse_chat(req, doc, &cr) == 0)
        answer(st, req, &cr);
    mock_buf_free(&cr.system);
    mock_buf_free(&cr.last_user);
    json_decref(doc);
}
