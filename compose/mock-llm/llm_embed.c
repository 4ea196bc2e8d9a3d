/* mock-llm: POST /v1/embeddings. Deterministic embeddings by feature hashing of code point
 * uni-, bi- and trigrams (Hangul syllables are code points, so Korean works as well as English),
 * L2-normalised: texts sharing character n-grams have a higher cosine similarity. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"

#define BAD(param, ...)                                                                            \
    (llm_respond_error(req, 400, "invalid_request_error", param, NULL, __VA_ARGS__), -1)
#define MAX_INPUTS 2048

/* Decodes valid UTF-8 (the JSON parser checked it) into code points, ASCII lowercased and
 * whitespace runs folded into one space. Returns the count. */
static size_t to_codepoints(const char *str, size_t len, uint32_t *out)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp = s[i];
        size_t k = cp < 0x80 ? 1 : cp >= 0xf0 ? 4 : cp >= 0xe0 ? 3 : cp >= 0xc0 ? 2 : 1;
        if (k > 1 && i + k <= len) {
            cp &= 0xff >> (k + 1);
            for (size_t j = 1; j < k; j++)
                cp = (cp << 6) | (s[i + j] & 0x3f);
        } else {
            k = 1;
        }
        i += k;
        if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') {
            if (n > 0 && out[n - 1] != ' ')
                out[n++] = ' ';
            continue;
        }
        if (cp >= 'A' && cp <= 'Z')
            cp += 'a' - 'A';
        out[n++] = cp;
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    return n;
}

static uint64_t hash_gram(const uint32_t *cp, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull ^ n;
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 4; b++)
            h = (h ^ ((cp[i] >> (8 * b)) & 0xff)) * 0x100000001b3ull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 32);
}

void llm_embed_text(const char *text, size_t len, float *out, int dims)
{
    static const float weight[4] = {0, 0.5f, 1.0f, 1.0f};
    memset(out, 0, (size_t)dims * sizeof(float));
    uint32_t *cp = mock_xmalloc((len + 1) * sizeof(uint32_t));
    size_t n = to_codepoints(text, len, cp);
    for (size_t g = 1; g <= 3; g++) {
        for (size_t i = 0; i + g <= n; i++) {
            if (g == 1 && cp[i] == ' ')
                continue;
            uint64_t h = hash_gram(cp + i, g);
            out[h % (uint64_t)dims] += (h >> 63) ? -weight[g] : weight[g];
        }
    }
    free(cp);
    double norm = 0;
    for (int i = 0; i < dims; i++)
        norm += (double)out[i] * out[i];
    if (norm > 0) {
        float inv = (float)(1.0 / sqrt(norm));
        for (int i = 0; i < dims; i++)
            out[i] *= inv;
    }
}

static void base64(const unsigned char *in, size_t n, mock_buf_t *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        char q[4] = {tbl[(v >> 18) & 63], tbl[(v >> 12) & 63], i + 1 < n ? tbl[(v >> 6) & 63] : '=',
                     i + 2 < n ? tbl[v & 63] : '='};
        mock_buf_add(out, q, 4);
    }
}

typedef struct embed_request {
    const char *model;
    int dims;
    bool dims_given; /* "dimensions" in the request: a recorded vector must have that length */
    bool b64;
    json_t *inputs; /* array of strings or of token arrays (borrowed or owned, see owned) */
    bool owned;
} embed_request_t;

static int check_token_array(mock_request_t *req, json_t *a, const char *param)
{
    if (json_array_size(a) == 0)
        return BAD(param, "Invalid '%s': token arrays must not be empty.", param);
    for (size_t k = 0; k < json_array_size(a); k++)
        if (!json_is_integer(json_array_get(a, k)))
            return BAD(param, "Invalid type for '%s': expected integers (token ids).", param);
    return 0;
}

static int parse_input(mock_request_t *req, json_t *input, embed_request_t *er)
{
    if (!input)
        return BAD("input", "Missing required parameter: 'input'.");
    if (json_is_string(input)) {
        if (json_string_length(input) == 0)
            return BAD("input", "'$.input' is invalid: empty strings are not allowed.");
        er->inputs = json_pack("[O]", input);
        er->owned = true;
        return 0;
    }
    if (!json_is_array(input))
        return BAD("input", "Invalid type for 'input': expected a string or an array.");
    size_t n = json_array_size(input);
    if (n == 0 || n > MAX_INPUTS)
        return BAD("input", "Invalid 'input': expected an array of 1 to %d items.", MAX_INPUTS);
    if (json_is_integer(json_array_get(input, 0))) { /* one token array */
        if (check_token_array(req, input, "input") < 0)
            return -1;
        er->inputs = json_pack("[O]", input);
        er->owned = true;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(input, i);
        char param[32];
        snprintf(param, sizeof(param), "input[%zu]", i);
        if (json_is_array(v)) {
            if (check_token_array(req, v, param) < 0)
                return -1;
        } else if (!json_is_string(v)) {
            return BAD(param, "Invalid type for '%s': expected a string.", param);
        } else if (json_string_length(v) == 0) {
            return BAD(param, "'$.%s' is invalid: empty strings are not allowed.", param);
        }
    }
    er->inputs = input;
    return 0;
}

/* doc: an object with a string "model" (llm_request_parse). */
static int parse_embed(mock_request_t *req, json_t *doc, embed_request_t *er)
{
    json_t *v;
    er->dims = LLM_DEFAULT_DIMENSIONS;
    if ((v = json_object_get(doc, "dimensions")) && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > LLM_MAX_DIMENSIONS)
            return BAD("dimensions", "Invalid 'dimensions': expected an integer from 1 to %d.",
                       LLM_MAX_DIMENSIONS);
        er->dims = (int)json_integer_value(v);
        er->dims_given = true;
    }
    if ((v = json_object_get(doc, "encoding_format")) && !json_is_null(v)) {
        const char *f = json_is_string(v) ? json_string_value(v) : "";
        if (strcmp(f, "float") != 0 && strcmp(f, "base64") != 0)
            return BAD("encoding_format",
                       "Invalid value for 'encoding_format': expected 'float' or 'base64'.");
        er->b64 = strcmp(f, "base64") == 0;
    }
    return parse_input(req, json_object_get(doc, "input"), er);
}

/* The text whose n-grams are hashed: the string, or token ids written out. */
static void input_text(json_t *v, mock_buf_t *out, int *tokens)
{
    mock_buf_reset(out);
    if (json_is_string(v)) {
        mock_buf_add(out, json_string_value(v), json_string_length(v));
        *tokens += llm_count_tokens(json_string_value(v));
        return;
    }
    for (size_t k = 0; k < json_array_size(v); k++)
        mock_buf_addf(out, "%lld ", (long long)json_integer_value(json_array_get(v, k)));
    *tokens += (int)json_array_size(v);
}

static void respond(const llm_cassette_t *cassette, mock_request_t *req, const embed_request_t *er)
{
    json_t *data = json_array();
    float *hashed = mock_xmalloc((size_t)er->dims * sizeof(float));
    mock_buf_t text = MOCK_BUF_INIT;
    int tokens = 0;
    size_t recorded = 0;
    for (size_t i = 0; i < json_array_size(er->inputs); i++) {
        json_t *input = json_array_get(er->inputs, i);
        input_text(input, &text, &tokens);
        /* a vector recorded from the real model for this text (record mode), else the hash */
        const llm_embedding_t *rec =
            json_is_string(input) ? llm_cassette_embedding(cassette, json_string_value(input),
                                                           er->dims_given ? er->dims : 0)
                                  : NULL;
        const float *vec = hashed;
        int dims = er->dims;
        if (rec) {
            vec = rec->vector, dims = rec->dims;
            recorded++;
        } else {
            llm_embed_text(text.data ? text.data : "", text.len, hashed, er->dims);
        }
        json_t *emb;
        if (er->b64) { /* little-endian float32, as the OpenAI API sends it */
            mock_buf_t b = MOCK_BUF_INIT;
            base64((const unsigned char *)vec, (size_t)dims * sizeof(float), &b);
            emb = json_stringn(b.data, b.len);
            mock_buf_free(&b);
        } else {
            emb = json_array();
            for (int d = 0; d < dims; d++)
                json_array_append_new(emb, json_real(vec[d]));
        }
        json_array_append_new(data, json_pack("{s:s,s:I,s:o}", "object", "embedding", "index",
                                              (json_int_t)i, "embedding", emb));
    }
    free(hashed);
    mock_buf_free(&text);
    char matched[64];
    snprintf(matched, sizeof(matched), "embeddings (%zu of %zu recorded)", recorded,
             json_array_size(er->inputs));
    mock_request_set_matched(req, recorded ? matched : "embeddings");
    json_t *resp = json_pack("{s:s,s:o,s:s,s:{s:i,s:i}}", "object", "list", "data", data, "model",
                             er->model, "usage", "prompt_tokens", tokens, "total_tokens", tokens);
    /* 9 significant digits round-trip a float32 and keep the document small */
    char *doc = json_dumps(resp, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(resp);
    if (!doc) {
        llm_respond_error(req, 500, "server_error", NULL, NULL, "could not serialise embeddings");
        return;
    }
    mock_respond(req, 200, "application/json", doc, strlen(doc));
    free(doc);
}

void llm_embeddings(llm_state_t *st, mock_request_t *req)
{
    embed_request_t er = {0};
    json_t *doc = llm_request_parse(req, &er.model);
    if (!doc)
        return;
    if (parse_embed(req, doc, &er) == 0)
        respond(st->cassette, req, &er);
    if (er.owned)
        json_decref(er.inputs);
    json_decref(doc);
}
