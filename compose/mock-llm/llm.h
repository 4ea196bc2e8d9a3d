/* mock-llm: an OpenAI-compatible mock. Answers come from a cassette (ordered rules). */
#ifndef MOCK_LLM_H
#define MOCK_LLM_H

#include <regex.h>
#include <stdbool.h>

#include "mock_http.h"

#define LLM_DEFAULT_DIMENSIONS 384
#define LLM_MAX_DIMENSIONS 8192

typedef enum llm_match_kind {
    LLM_MATCH_ANY = 0,
    LLM_MATCH_EXACT,
    LLM_MATCH_CONTAINS,
    LLM_MATCH_REGEX,
} llm_match_kind_t;

typedef struct llm_matcher {
    llm_match_kind_t kind;
    char *pattern;
    regex_t re; /* compiled when kind is LLM_MATCH_REGEX */
} llm_matcher_t;

/* One rule: every matcher given must match; then the reply (or the error) is the answer. */
typedef struct llm_rule {
    char *name;
    llm_matcher_t user, system, model;
    char *reply;      /* NULL when the rule gives an error */
    int error_status; /* 0 when the rule gives a reply */
    char *error_message, *error_type, *error_code;
} llm_rule_t;

/* A recorded embedding ("embeddings" in the cassette, written by record mode): the vector the
 * real model gave for this input text, answered instead of the feature-hashed one. */
typedef struct llm_embedding {
    char *input;
    float *vector;
    int dims;
} llm_embedding_t;

typedef struct llm_cassette {
    llm_rule_t *rules;
    size_t nrules;
    llm_embedding_t *embeddings;
    size_t nembeddings;
    llm_rule_t fallback; /* the answer when nothing matches ("default") */
    char **models;       /* GET /v1/models */
    size_t nmodels;
    long long created; /* the "created" timestamp of every answer */
} llm_cassette_t;

/* Parses a cassette document; on failure returns NULL and a message naming the field
 * ("rules[2].match.user.regex: ...") in msg. */
llm_cassette_t *llm_cassette_from_json(json_t *doc, char *msg, size_t msgsize);
/* Loads a cassette file; message names the file. */
llm_cassette_t *llm_cassette_load(const char *path, char *msg, size_t msgsize);
/* The built-in cassette when none is given: no rules, a fixed default reply. */
llm_cassette_t *llm_cassette_builtin(void);
void llm_cassette_free(llm_cassette_t *c);
/* The first rule matching; never NULL (the fallback). */
const llm_rule_t *llm_cassette_match(const llm_cassette_t *c, const char *model, const char *system,
                                     const char *user);

/* The recorded vector for this input text: of exactly dims values when dims > 0, else the first
 * recorded one. NULL when there is none. */
const llm_embedding_t *llm_cassette_embedding(const llm_cassette_t *c, const char *input, int dims);

typedef struct llm_state llm_state_t;
/* Record mode (mock-llm built with libcurl, record/llm_record.c): answers a chat completion or
 * embeddings request by proxying it; "route" is "/chat/completions" or "/embeddings". */
typedef void (*llm_proxy_cb)(llm_state_t *st, mock_request_t *req, const char *route);

/* The service state. */
struct llm_state {
    llm_cassette_t *cassette;
    char *cassette_path; /* --cassette, reloaded by POST /__admin/reset */
    char *default_reply; /* --default-reply overrides the cassette's default */
    /* The cassette in force came from PUT /__admin/cassette: POST /__admin/reset keeps it (the
     * environment was set up with it); DELETE /__admin/cassette returns to the start-up one. */
    bool from_admin;
    json_t *admin_doc;  /* the document given by PUT /__admin/cassette, for GET (or NULL) */
    llm_proxy_cb proxy; /* record mode: chat completions and embeddings go upstream */
    void *recorder;     /* the proxy's state */
};

/* (Re)loads st->cassette from st->cassette_path (or the built-in one) and applies
 * st->default_reply; on failure keeps the current one and returns -1 with a message. */
int llm_state_load(llm_state_t *st, char *msg, size_t msgsize);

/* Approximate token count (deterministic): ASCII words in pieces of 4 characters, each other
 * code point and each punctuation mark one token. */
int llm_count_tokens(const char *s);

/* Handlers (llm_chat.c, llm_embed.c, llm_main.c); all answer the request. */
void llm_handle(mock_request_t *req, void *user);
void llm_error(mock_request_t *req, int status, const char *message, void *user);
void llm_reset(void *user);
void llm_chat_completions(llm_state_t *st, mock_request_t *req);
void llm_embeddings(llm_state_t *st, mock_request_t *req);

/* OpenAI-shaped error: {"error":{"message","type","param","code"}}. param/code may be NULL. */
void llm_respond_error(mock_request_t *req, int status, const char *type, const char *param,
                       const char *code, const char *fmt, ...) MOCK_PRINTF(6, 7);

/* The request's JSON body, checked to be an object with a string "model" (set in *model, borrowed
 * from the document), as chat completions and embeddings both want it; otherwise answers 400 as
 * OpenAI does and returns NULL. */
json_t *llm_request_parse(mock_request_t *req, const char **model);

/* Embedding of one text: feature hashing of code point 1-, 2- and 3-grams, L2-normalised. */
void llm_embed_text(const char *text, size_t len, float *out, int dims);

#endif
