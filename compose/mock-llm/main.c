/* mock-llm: an OpenAI-compatible mock service (see README.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"
#ifdef LLM_WITH_RECORD
#include <unistd.h>

#include "llm_record.h"
#endif

static const char usage[] =
    "  --cassette PATH      the rules that give the answers (JSON, see README.md)\n"
    "  --default-reply TEXT the answer when no rule matches\n"
    "  --record URL         record mode: proxy chat completions and embeddings to this\n"
    "                       OpenAI-compatible base URL and write each exchange into the\n"
    "                       --cassette file ($MOCK_LLM_RECORD; needs the record build)\n"
    "  --upstream-key-env NAME  the variable holding the upstream's API key (default\n"
    "                       OPENAI_API_KEY; never logged nor recorded)\n";

typedef struct llm_options {
    llm_state_t st;
    char *record;  /* --record URL */
    char *key_env; /* --upstream-key-env NAME */
} llm_options_t;

static int llm_option(void *user, int argc, char **argv, int *i)
{
    llm_options_t *o = user;
    const char *a = argv[*i];
    static const char *const names[] = {"--cassette", "--default-reply", "--record",
                                        "--upstream-key-env"};
    char **slots[] = {&o->st.cassette_path, &o->st.default_reply, &o->record, &o->key_env};
    for (size_t k = 0; k < sizeof(names) / sizeof(*names); k++) {
        if (strcmp(a, names[k]) == 0 && *i + 1 < argc) {
            free(*slots[k]);
            *slots[k] = mock_xstrdup(argv[++*i]);
            return 1;
        }
    }
    return 0;
}

static int llm_start(void *user)
{
    llm_options_t *o = user;
    char msg[512];
#ifdef LLM_WITH_RECORD
    if (o->record && o->st.cassette_path && access(o->st.cassette_path, F_OK) != 0) {
        /* a new cassette: serve the built-in one meanwhile, write the file on the first answer */
        char *path = o->st.cassette_path;
        o->st.cassette_path = NULL;
        int rc = llm_state_load(&o->st, msg, sizeof(msg));
        o->st.cassette_path = path;
        if (rc < 0)
            goto fail;
    } else if (llm_state_load(&o->st, msg, sizeof(msg)) < 0) {
        goto fail;
    }
    if (o->record && llm_record_start(&o->st, o->record, o->key_env, msg, sizeof(msg)) < 0)
        goto fail;
    return 0;
#else
    if (o->record) {
        snprintf(msg, sizeof(msg),
                 "--record: this mock-llm has no record mode (it is linked statically, without "
                 "libcurl, for its FROM scratch image); use the record build: "
                 "compose/mock-llm/record/mock-llm in the build directory");
        goto fail;
    }
    if (llm_state_load(&o->st, msg, sizeof(msg)) < 0)
        goto fail;
    return 0;
#endif
fail:
    fprintf(stderr, "mock-llm: %s\n", msg);
    return 1;
}

int main(int argc, char **argv)
{
    llm_options_t o = {0};
    const char *env = getenv("MOCK_LLM_CASSETTE");
    if (env && *env)
        o.st.cassette_path = mock_xstrdup(env);
    env = getenv("MOCK_LLM_RECORD"); /* empty: not recording (Compose interpolation) */
    if (env && *env)
        o.record = mock_xstrdup(env);
    mock_app_t app = {
        .name = "mock-llm",
        .default_port = 8080,
        .health_path = "/health",
        .usage = usage,
        .option_cb = llm_option,
        .start_cb = llm_start,
        .handler = llm_handle,
        .reset = llm_reset,
        .error = llm_error,
        .user = &o, /* o.st is its first member: the handlers get the state */
    };
    int status = mock_main(&app, argc, argv);
#ifdef LLM_WITH_RECORD
    llm_record_free(&o.st);
#endif
    llm_cassette_free(o.st.cassette);
    json_decref(o.st.admin_doc);
    free(o.st.cassette_path);
    free(o.st.default_reply);
    free(o.record);
    free(o.key_env);
    return status;
}
