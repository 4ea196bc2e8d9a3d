/* sca-api: POST /api/v1/documents: a PDF (raw bytes, ?source=NAME.pdf) -> page texts (MuPDF,
 * through the pdf/ module) -> chunks -> embeddings (LLM) -> points in the vector store. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sca.h"
#ifdef SCA_HAVE_PDF
#include "sca_pdf.h"
#endif

#define CHUNK_CHARS 400
#define CHUNK_OVERLAP 40
#define EMBED_BATCH 16

/* ?source=NAME (URL-decoded by libcurl): letters, digits, . _ - and non-ASCII only. */
static char *source_of(const char *query, sca_error_t *e)
{
    const char *p = strstr(query, "source=");
    if (!p || (p != query && p[-1] != '&')) {
        sca_fail(e, 400, "validation_error", "source: missing (?source=NAME.pdf)");
        return NULL;
    }
    p += 7;
    size_t n = strcspn(p, "&");
    int outlen = 0;
    char *dec = curl_easy_unescape(NULL, p, (int)n, &outlen);
    if (!dec || outlen == 0 || outlen > 200) {
        curl_free(dec);
        sca_fail(e, 400, "validation_error", "source: must be 1-200 characters");
        return NULL;
    }
    for (int i = 0; i < outlen; i++) {
        unsigned char c = (unsigned char)dec[i];
        if (c < 0x80 && !(c == '.' || c == '_' || c == '-' || (c >= '0' && c <= '9') ||
                          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
            curl_free(dec);
            sca_fail(e, 400, "validation_error",
                     "source: only letters, digits, '.', '_' and '-' are allowed");
            return NULL;
        }
    }
    char *s = mock_xstrndup(dec, (size_t)outlen);
    curl_free(dec);
    if (!mock_utf8_valid(s, strlen(s), NULL)) {
        free(s);
        sca_fail(e, 400, "validation_error", "source: not valid UTF-8");
        return NULL;
    }
    return s;
}

#ifdef SCA_HAVE_PDF
typedef struct chunks {
    json_t *texts; /* strings */
    json_t *pages; /* integers */
    int page;
    int npages;
} chunks_t;

static int chunk_cb(const char *chunk, size_t len, void *user)
{
    chunks_t *c = user;
    json_t *s = json_stringn(chunk, len);
    if (!s)
        return 0;
    json_array_append_new(c->texts, s);
    json_array_append_new(c->pages, json_integer(c->page));
    return 0;
}

static int page_cb(int page, const char *utf8, size_t len, void *user)
{
    chunks_t *c = user;
    c->page = page;
    if (page > c->npages)
        c->npages = page;
    return sca_chunk_text(utf8, len, CHUNK_CHARS, CHUNK_OVERLAP, chunk_cb, c);
}

static uint64_t point_id(const char *source, size_t index)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)source; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    h = (h ^ index) * 1099511628211ull;
    return (h >> 12) | (1ull << 40); /* above the fixture's small ids, below 2^53 */
}

void sca_route_documents_upload(sca_job_t *job)
{
    sca_error_t e = {0};
    char *source = source_of(job->query, &e);
    if (!source) {
        sca_job_error(job, &e);
        return;
    }
    chunks_t c = {.texts = json_array(), .pages = json_array()};
    char err[256] = "";
    if (sca_pdf_extract((const unsigned char *)job->body, job->body_len, page_cb, &c, err,
                        sizeof(err)) != 0) {
        sca_fail(&e, 400, "invalid_pdf", "%s: %s", source, err[0] ? err : "not a PDF");
        goto out;
    }
    size_t n = json_array_size(c.texts);
    for (size_t start = 0; start < n; start += EMBED_BATCH) {
        size_t m = n - start < EMBED_BATCH ? n - start : EMBED_BATCH;
        const char *texts[EMBED_BATCH];
        for (size_t i = 0; i < m; i++)
            texts[i] = json_string_value(json_array_get(c.texts, start + i));
        json_t *vecs = sca_llm_embed(job->app, texts, m, &e);
        if (!vecs)
            goto out;
        json_t *points = json_array();
        for (size_t i = 0; i < m; i++)
            json_array_append_new(points, json_pack("{s:I,s:O,s:{s:s,s:s,s:O,s:I}}", "id",
                                                    (json_int_t)point_id(source, start + i),
                                                    "vector", json_array_get(vecs, i), "payload",
                                                    "text", texts[i], "source", source, "page",
                                                    json_array_get(c.pages, start + i), "chunk",
                                                    (json_int_t)(start + i)));
        json_decref(vecs);
        int rc = sca_vector_upsert(job->app, points, &e);
        json_decref(points);
        if (rc < 0)
            goto out;
    }
    sca_cache_clear(job->app->cache); /* searches may find the new document */
    job->status = 201;
    job->reply =
        json_pack("{s:s,s:i,s:I}", "source", source, "pages", c.npages, "chunks", (json_int_t)n);
out:
    if (e.status)
        sca_job_error(job, &e);
    json_decref(c.texts);
    json_decref(c.pages);
    free(source);
}
#else
void sca_route_documents_upload(sca_job_t *job)
{
    sca_error_t e = {0};
    char *source = source_of(job->query, &e);
    if (source)
        sca_fail(&e, 501, "not_implemented",
                 "this build has no PDF module (compose/sca-api/pdf/ is missing)");
    free(source);
    sca_job_error(job, &e);
}
#endif
