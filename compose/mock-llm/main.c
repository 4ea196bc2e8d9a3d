/* mock-llm: an OpenAI-compatible mock service (see README.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"

static const char usage[] =
    "  --cassette PATH      the rules that give the answers (JSON, see README.md)\n"
    "  --default-reply TEXT the answer when no rule matches\n";

static int llm_option(void *user, int argc, char **argv, int *i)
{
    llm_state_t *st = user;
    const char *a = argv[*i];
    if ((strcmp(a, "--cassette") == 0 || strcmp(a, "--default-reply") == 0) && *i + 1 < argc) {
        char **slot = a[2] == 'c' ? &st->cassette_path : &st->default_reply;
        free(*slot);
        *slot = mock_xstrdup(argv[++*i]);
        return 1;
    }
    return 0;
}

static int llm_start(void *user)
{
    char msg[512];
    if (llm_state_load(user, msg, sizeof(msg)) < 0) {
        fprintf(stderr, "mock-llm: %s\n", msg);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    llm_state_t st = {0};
    const char *env = getenv("MOCK_LLM_CASSETTE");
    if (env && *env)
        st.cassette_path = mock_xstrdup(env);
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
        .user = &st,
    };
    int status = mock_main(&app, argc, argv);
    llm_cassette_free(st.cassette);
    json_decref(st.admin_doc);
    free(st.cassette_path);
    free(st.default_reply);
    return status;
}
