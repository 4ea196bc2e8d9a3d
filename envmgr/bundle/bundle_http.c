/* Plain HTTP to a service's published port (libcurl), for the mocks' admin APIs. */
#include <curl/curl.h>
#include <string.h>

#include "bundle_internal.h"

struct upload {
    const char *data;
    size_t len, off;
};

static size_t write_cb(char *data, size_t size, size_t n, void *userdata)
{
    envmgr_buf_add(userdata, data, size * n);
    return size * n;
}

int bun_http(const char *method, const char *url, const char *body, size_t body_len,
             envmgr_buf_t *reply, long *status, long timeout_ms, envmgr_error_t *err)
{
    *status = 0;
    CURL *c = curl_easy_init();
    if (!c)
        return envmgr_error_set(err, ENVMGR_E_SYSTEM, 0, "curl_easy_init failed");
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, reply);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK)
        return envmgr_error_set(err, ENVMGR_E_ENV, 0, "%s %s: %s", method, url,
                                curl_easy_strerror(rc));
    return 0;
}

int bun_http_json(const char *method, const char *url, const json_t *body, json_t **out,
                  envmgr_error_t *err)
{
    envmgr_cleanup_free char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    envmgr_buf_t reply = ENVMGR_BUF_INIT;
    long status;
    int r = bun_http(method, url, text, text ? strlen(text) : 0, &reply, &status, 600000, err);
    if (r == 0 && (status < 200 || status > 299))
        r = envmgr_error_set(err, ENVMGR_E_ENV, (int)status, "%s %s: HTTP %ld: %.300s", method, url,
                             status, reply.data ? reply.data : "");
    if (r == 0 && out) {
        json_error_t je;
        *out = json_loadb(reply.data ? reply.data : "", reply.len, 0, &je);
        if (!*out)
            r = envmgr_error_set(err, ENVMGR_E_ENV, 0, "%s %s: not JSON: %s", method, url, je.text);
    }
    envmgr_buf_free(&reply);
    return r;
}
