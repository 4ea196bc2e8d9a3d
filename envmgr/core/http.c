/* Plain HTTP to a service's published port (see <envmgr/http.h>). */
#include <envmgr/http.h>

#include <curl/curl.h>

static size_t write_cb(char *data, size_t size, size_t n, void *userdata)
{
    envmgr_buf_add(userdata, data, size * n);
    return size * n;
}

int envmgr_http_request(const char *method, const char *url, const char *body, size_t body_len,
                        long timeout_ms, envmgr_buf_t *reply, long *status, envmgr_error_t *err)
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
