/* mock-llm's record mode: chat completions and embeddings proxied to a real OpenAI-compatible
 * endpoint with libcurl (on libuv's thread pool, through mock-common's deferred answers), each
 * successful exchange written into the cassette file. Only in the record build (dynamic, with
 * libcurl): the static mock-llm of the default image has no libcurl. */
#ifndef MOCK_LLM_RECORD_H
#define MOCK_LLM_RECORD_H

#include <stddef.h>

#include "llm.h"

/* Starts record mode on st: upstream is the base URL as OPENAI_BASE_URL gives it
 * ("https://api.openai.com/v1"; /chat/completions and /embeddings are appended), the API key is
 * read from the environment variable key_env (absent: no Authorization header), the cassette is
 * st->cassette_path (read when it exists, written after each exchange). Sets st->proxy. Returns 0,
 * or -1 with a message (never containing the key). */
int llm_record_start(llm_state_t *st, const char *upstream, const char *key_env, char *msg,
                     size_t msgsize);
void llm_record_free(llm_state_t *st);

/* Merges one exchange into a cassette document (exposed for tests): the chat question (the last
 * user message's text) and its answer as a rule {"name","match":{"user"},"reply"} (a rule with
 * the same exact question gets the new reply), or one embedding per input text (the same text
 * and length replaced). request/response are the JSON bodies; stream_text is the assembled
 * answer of a streamed completion (NULL otherwise). Returns the number of entries written, 0
 * when there was nothing to record, with *why saying so. */
int llm_record_merge(json_t *cassette, const char *route, json_t *request, json_t *response,
                     const char *stream_text, const char **why);

#endif
