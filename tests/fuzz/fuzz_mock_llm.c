/* libFuzzer target for mock-llm's request handling: raw bytes go through the shared HTTP layer
 * (http_parser glue, admin API, faults) and mock-llm's handlers in memory (mock_server_feed).
 *
 * Input: first byte 'R': the rest is raw HTTP from one client. Otherwise the first byte picks an
 * endpoint and the rest is its JSON body, wrapped in a well-formed request, so that the JSON
 * handlers get most of the effort. State is reset after every input.
 *
 * Build: cmake -DENVTEST_FUZZ=ON -DCMAKE_C_COMPILER=clang ...; make fuzz_mock_llm
 * Run:   ./tests/fuzz_mock_llm -max_total_time=60 ../tests/fuzz/corpus/mock_llm
 * Without ENVTEST_FUZZ the same file builds the corpus replayer (MOCK_FUZZ_REPLAY). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uv_loop_t loop;
static mock_server_t *srv;
static llm_state_t st;

static void init(void)
{
    if (srv)
        return;
    uv_loop_init(&loop);
    char msg[128];
    llm_state_load(&st, msg, sizeof(msg));
    mock_server_config_t cfg = {.name = "mock-llm",
                                .quiet = true,
                                .health_path = "/health",
                                .body_limit = 1 << 20,
                                .journal_max = 64,
                                .handler = llm_handle,
                                .reset = llm_reset,
                                .error = llm_error,
                                .user = &st};
    srv = mock_server_new(&loop, &cfg);
}

static const char *const endpoints[] = {
    "POST /v1/chat/completions", "POST /v1/embeddings", "PUT /__admin/cassette",
    "PUT /__admin/faults",       "GET /v1/models",      "GET /__admin/requests",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    mock_buf_t in = MOCK_BUF_INIT, out = MOCK_BUF_INIT;
    if (size > 0 && data[0] == 'R') {
        mock_buf_add(&in, data + 1, size - 1);
    } else if (size > 0) {
        const char *ep = endpoints[data[0] % (sizeof(endpoints) / sizeof(*endpoints))];
        mock_buf_addf(&in, "%s HTTP/1.1\r\nHost: fuzz\r\nContent-Length: %zu\r\n\r\n", ep,
                      size - 1);
        mock_buf_add(&in, data + 1, size - 1);
        /* a chat request after any admin change, so cassettes and faults are exercised */
        const char chat[] = "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\","
                            "\"content\":\"hello\"}]}";
        mock_buf_addf(&in, "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: %zu\r\n\r\n%s",
                      sizeof(chat) - 1, chat);
    }
    mock_server_feed(srv, in.data ? in.data : "", in.len, &out);
    if (out.len > 0 && strncmp(out.data, "HTTP/1.", 7) != 0)
        abort(); /* whatever is answered starts with a status line */
    static const char reset[] = "POST /__admin/reset HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
    mock_buf_reset(&out);
    mock_server_feed(srv, reset, sizeof(reset) - 1, &out);
    if (!strstr(out.data ? out.data : "", "200 OK"))
        abort();
    mock_buf_free(&in);
    mock_buf_free(&out);
    return 0;
}

#ifdef MOCK_FUZZ_REPLAY
/* Replays every file of the given corpus directories (a unit test in non-fuzz builds). */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    mock_buf_t b = MOCK_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        mock_buf_add(&b, chunk, n);
    fclose(f);
    LLVMFuzzerTestOneInput((const uint8_t *)(b.data ? b.data : ""), b.len);
    mock_buf_free(&b);
    return 0;
}

int main(int argc, char **argv)
{
    int count = 0;
    for (int i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (!d) {
            fprintf(stderr, "cannot open corpus directory %s\n", argv[i]);
            return 1;
        }
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
            if (replay_file(path) == 0)
                count++;
        }
        closedir(d);
    }
    printf("replayed %d inputs\n", count);
    if (srv) {
        mock_server_free(srv);
        uv_loop_close(&loop);
        llm_cassette_free(st.cassette);
    }
    return count > 0 ? 0 : 1;
}
#endif
