/* http and copy steps, and the small libcurl helper the documents step shares. */
#include <curl/curl.h>
#include <string.h>

#include "fixture_internal.h"

#define MAX_BODY (64u << 20)
#define MAX_REPLY (64u << 20)
#define MAX_COPY (256u << 20)

/* The engine module may not be linked (envmgr_fixture does not need it unless a copy step runs). */
extern int envmgr_engine_container_put_archive(envmgr_engine_t *engine, const char *id,
                                               const char *path, const void *tar_data,
                                               size_t tar_len, envmgr_error_t *err)
    __attribute__((weak));

static size_t collect(char *data, size_t size, size_t n, void *ud)
{
    envmgr_buf_t *b = ud;
    if (b->len + size * n > MAX_REPLY)
        return 0;
    envmgr_buf_add(b, data, size * n);
    return size * n;
}

int fx_http_request(const char *method, const char *url, const char *content_type, const char *body,
                    size_t body_len, long *status, char **reply, envmgr_error_t *err)
{
    CURL *h = curl_easy_init();
    if (h == NULL)
        return envmgr_error_set(err, ENVMGR_E_SYSTEM, 0, "curl_easy_init failed");
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    struct curl_slist *headers = NULL;
    char ct[256];
    snprintf(ct, sizeof(ct), "Content-Type: %s", content_type ? content_type : "application/json");
    headers = curl_slist_append(headers, ct);
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 300000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK) {
        envmgr_buf_free(&b);
        return envmgr_error_set(err, ENVMGR_E_ENV, (int)rc, "%s %s: %s", method, url,
                                curl_easy_strerror(rc));
    }
    if (reply)
        *reply = envmgr_buf_detach(&b);
    else
        envmgr_buf_free(&b);
    return 0;
}

int fx_http_step(fx_load_ctx_t *ctx, const fx_step_t *step, envmgr_error_t *err)
{
    const envmgr_fixture_service_t *svc = fx_find_service(ctx->targets, step->service);
    if (svc == NULL || svc->base_url == NULL)
        return envmgr_error_set(err, ENVMGR_E_ENV, 0, "service `%s` has no HTTP address",
                                step->service);
    cleanup_free char *body = NULL;
    size_t body_len = 0;
    if (step->body && fx_read_member(ctx->fixture, step->body, MAX_BODY, &body, &body_len, err) < 0)
        return -1;
    cleanup_free char *url = xasprintf("%s%s", svc->base_url, step->path);
    cleanup_free char *reply = NULL;
    long status = 0;
    int64_t start = envmgr_now_ms();
    if (fx_http_request(step->method, url, step->content_type, body, body_len, &status, &reply,
                        err) < 0)
        return -1;
    if (status != step->expect_status)
        return envmgr_error_set(err, ENVMGR_E_ENV, (int)status,
                                "%s %s: expected status %ld, got %ld: %.300s", step->method, url,
                                step->expect_status, status, reply ? reply : "");
    fx_report(ctx, "http", step->path, 0, body_len, start, true);
    return 0;
}

/* ---- copy --------------------------------------------------------------------------------------
 */
static la_ssize_t tar_write(struct archive *a, void *ud, const void *data, size_t len)
{
    envmgr_buf_add(ud, data, len);
    return (la_ssize_t)len;
}

static int make_tar(const char *name, const char *data, size_t len, envmgr_buf_t *out,
                    envmgr_error_t *err)
{
    if (envmgr_dl_archive(err) < 0)
        return -1;
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_in_last_block(a, 1);
    int r = archive_write_open(a, out, NULL, tar_write, NULL);
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)len);
    if (r == ARCHIVE_OK)
        r = archive_write_header(a, e);
    if (r == ARCHIVE_OK && archive_write_data(a, data, len) != (la_ssize_t)len)
        r = ARCHIVE_FATAL;
    if (r == ARCHIVE_OK)
        r = archive_write_close(a);
    if (r != ARCHIVE_OK)
        envmgr_error_set(err, ENVMGR_E_SYSTEM, 0, "tar for %s: %s", name,
                         archive_error_string(a) ? archive_error_string(a) : "failed");
    archive_entry_free(e);
    archive_write_free(a);
    return r == ARCHIVE_OK ? 0 : -1;
}

int fx_copy_step(fx_load_ctx_t *ctx, const fx_step_t *step, envmgr_error_t *err)
{
    const envmgr_fixture_service_t *svc = fx_find_service(ctx->targets, step->service);
    if (svc == NULL || svc->container_id == NULL)
        return envmgr_error_set(err, ENVMGR_E_ENV, 0, "service `%s` has no container to copy into",
                                step->service);
    if (ctx->targets->engine == NULL || envmgr_engine_container_put_archive == NULL)
        return envmgr_error_set(err, ENVMGR_E_ENV, 0,
                                "copy into `%s` needs the Docker engine, which was not given",
                                step->service);
    for (size_t i = 0; i < step->n_files; i++) {
        const fx_copy_file_t *f = &step->files[i];
        cleanup_free char *data = NULL;
        size_t len;
        int64_t start = envmgr_now_ms();
        if (fx_read_member(ctx->fixture, f->src, MAX_COPY, &data, &len, err) < 0)
            return -1;
        const char *base = strrchr(f->src, '/');
        envmgr_buf_t tar = ENVMGR_BUF_INIT;
        int r = make_tar(base ? base + 1 : f->src, data, len, &tar, err);
        if (r == 0)
            r = envmgr_engine_container_put_archive(ctx->targets->engine, svc->container_id,
                                                    f->dest, tar.data, tar.len, err);
        envmgr_buf_free(&tar);
        if (r < 0)
            return envmgr_error_wrap(err, "copy %s into %s:%s", f->src, step->service, f->dest);
        fx_report(ctx, "copy", f->dest, 0, len, start, true);
    }
    return 0;
}
