/* sca-api: outgoing HTTP with libcurl: JSON requests with a timeout, retries with exponential
 * backoff on transport errors, 429 and 5xx. Easy handles are pooled (keep-alive to the LLM and
 * the vector store). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sca.h"

#define HANDLES_MAX 16

static pthread_mutex_t handles_lock = PTHREAD_MUTEX_INITIALIZER;
static CURL *handles[HANDLES_MAX];
static int n_handles;

static CURL *handle_get(void)
{
    pthread_mutex_lock(&handles_lock);
    CURL *h = n_handles > 0 ? handles[--n_handles] : NULL;
    pthread_mutex_unlock(&handles_lock);
    if (h)
        curl_easy_reset(h);
    else
        h = curl_easy_init();
    return h;
}

static void handle_put(CURL *h)
{
    pthread_mutex_lock(&handles_lock);
    if (n_handles < HANDLES_MAX) {
        handles[n_handles++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&handles_lock);
    if (h)
        curl_easy_cleanup(h);
}

void sca_http_global_cleanup(void)
{
    pthread_mutex_lock(&handles_lock);
    for (int i = 0; i < n_handles; i++)
        curl_easy_cleanup(handles[i]);
    n_handles = 0;
    pthread_mutex_unlock(&handles_lock);
}

static size_t write_cb(char *data, size_t size, size_t n, void *user)
{
    mock_buf_add(user, data, size * n);
    return size * n;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

void sca_http_result_free(sca_http_result_t *r)
{
    free(r->body);
    r->body = NULL;
}

int sca_http_json(const char *method, const char *url, const char *bearer, const char *body,
                  int timeout_ms, int retries, int backoff_ms, sca_http_result_t *r)
{
    memset(r, 0, sizeof(*r));
    long delay = backoff_ms;
    for (int attempt = 0; attempt <= retries; attempt++) {
        if (attempt > 0) {
            sleep_ms(delay); /* on a pool thread: the loop goes on serving */
            delay *= 2;
        }
        free(r->body);
        r->body = NULL;
        r->attempts = attempt + 1;
        CURL *h = handle_get();
        if (!h) {
            snprintf(r->error, sizeof(r->error), "curl_easy_init failed");
            return -1;
        }
        mock_buf_t out = MOCK_BUF_INIT;
        struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
        hdr = curl_slist_append(hdr, "Expect:");
        char auth[512];
        if (bearer) {
            snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
            hdr = curl_slist_append(hdr, auth);
        }
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        if (body) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        }
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                         (long)(timeout_ms < 2000 ? timeout_ms : 2000));
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        CURLcode rc = curl_easy_perform(h);
        long status = 0;
        curl_off_t retry_after = 0;
        if (rc == CURLE_OK) {
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
            curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &retry_after);
        } else {
            snprintf(r->error, sizeof(r->error), "%s %s: %s", method, url, curl_easy_strerror(rc));
        }
        curl_slist_free_all(hdr);
        handle_put(h);
        mock_buf_add(&out, "", 0);
        r->status = status;
        r->body = out.data ? out.data : mock_xstrdup("");
        if (rc == CURLE_OK && status != 429 && status < 500)
            return 0;
        if (rc == CURLE_OK)
            snprintf(r->error, sizeof(r->error), "%s %s: HTTP %ld", method, url, status);
        if (retry_after > 0 && retry_after * 1000 > delay && retry_after <= 5)
            delay = (long)retry_after * 1000;
    }
    return -1;
}
