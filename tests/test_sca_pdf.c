/* sca-api's PDF text module (compose/sca-api/pdf/): the fixture's generated PDFs give back, page by
 * page, the corpus passages pdfgen laid out on that page; broken inputs give a clean error; the
 * chunker never splits a character, bounds its chunks and repeats `overlap` characters. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "documents.h"
#include "llm.h"
#include "sca_pdf.h"

#define MAX_PAGES 8

/* ---- helpers --------------------------------------------------------------------------------- */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("%s: %s (build the fixtures: make seoul-documents)", path, strerror(errno));
    char *data = NULL;
    size_t n = 0, cap = 0, r;
    char chunk[65536];
    while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (n + r + 1 > cap) {
            cap = (n + r + 1) * 2;
            data = realloc(data, cap);
            assert_non_null(data);
        }
        memcpy(data + n, chunk, r);
        n += r;
    }
    fclose(f);
    if (data == NULL)
        data = calloc(1, 1);
    data[n] = 0;
    *len = n;
    return data;
}

static char *document_path(const char *file)
{
    const char *bin = getenv("ENVTEST_BINARY_DIR");
    char *path = NULL;
    assert_true(asprintf(&path, "%s/%s/%s", bin ? bin : ".", SEOUL_DOCUMENTS_BUILD_DIR, file) > 0);
    return path;
}

static char *read_document(const char *file, size_t *len)
{
    char *path = document_path(file);
    char *data = read_file(path, len);
    free(path);
    return data;
}

/* runs of whitespace as one space, trimmed */
static char *normalise(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    assert_non_null(out);
    size_t o = 0;
    bool space = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
            space = o > 0;
            continue;
        }
        if (space)
            out[o++] = ' ';
        space = false;
        out[o++] = s[i];
    }
    out[o] = 0;
    return out;
}

/* Characters of valid UTF-8 (no overlong forms, surrogates or values past U+10FFFF), or -1. */
static long utf8_chars(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    long chars = 0;
    for (size_t i = 0; i < n; chars++) {
        unsigned char c = s[i];
        size_t k = c < 0x80             ? 1
                   : (c & 0xe0) == 0xc0 ? 2
                   : (c & 0xf0) == 0xe0 ? 3
                   : (c & 0xf8) == 0xf0 ? 4
                                        : 0;
        if (k == 0 || i + k > n)
            return -1;
        unsigned long cp = k == 1 ? c : c & (0x7f >> k);
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return -1;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        static const unsigned long least[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return -1;
        i += k;
    }
    return chars;
}

/* ---- extraction of the generated documents --------------------------------------------------- */

typedef struct pages {
    char *text[MAX_PAGES + 1]; /* [1..n], normalised */
    int n;
    int stop_at; /* cb returns 7 at this page */
} pages_t;

static int collect_page(int page, const char *utf8, size_t len, void *user)
{
    pages_t *p = user;
    assert_int_equal(page, p->n + 1); /* in order, 1-based */
    assert_true(page <= MAX_PAGES);
    assert_int_equal(utf8[len], 0);
    assert_true(utf8_chars(utf8, len) >= 0);
    p->text[page] = normalise(utf8, len);
    p->n = page;
    return page == p->stop_at ? 7 : 0;
}

static void pages_free(pages_t *p)
{
    for (int i = 1; i <= p->n; i++)
        free(p->text[i]);
}

/* What page `page` of `doc` says, from the corpus: page 1 opens with the document's title, then
 * each passage of that page in id order, its title and its text. */
static char *expected_page(json_t *corpus, const seoul_document_t *doc, int page)
{
    size_t cap = 8192, n = 0;
    char *out = calloc(1, cap);
    assert_non_null(out);
    if (page == 1)
        n += (size_t)snprintf(out + n, cap - n, "%s ", doc->title);
    size_t i;
    json_t *p;
    json_array_foreach(corpus, i, p)
    {
        if (strcmp(json_string_value(json_object_get(p, "source")), doc->file) != 0 ||
            json_integer_value(json_object_get(p, "page")) != page)
            continue;
        n += (size_t)snprintf(out + n, cap - n, "%s %s ",
                              json_string_value(json_object_get(p, "title")),
                              json_string_value(json_object_get(p, "text")));
        assert_true(n < cap);
    }
    char *norm = normalise(out, n);
    free(out);
    return norm;
}

static json_t *load_corpus(void)
{
    const char *src = getenv("ENVTEST_SOURCE_DIR");
    char *path = NULL;
    assert_true(asprintf(&path, "%s/fixtures/corpus/documents.jsonl", src ? src : ".") > 0);
    size_t len;
    char *data = read_file(path, &len);
    json_t *all = json_array();
    for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        if (o == NULL)
            fail_msg("%s: %s", path, jerr.text);
        json_array_append_new(all, o);
    }
    free(data);
    free(path);
    return all; /* in file order, which is id order */
}

static void test_documents_pages_and_text(void **state)
{
    json_t *corpus = load_corpus();
    for (int d = 0; d < SEOUL_N_DOCUMENTS; d++) {
        const seoul_document_t *doc = &SEOUL_DOCUMENTS[d];
        size_t len;
        char *pdf = read_document(doc->file, &len);
        assert_true(len > 1000);
        pages_t pages = {0};
        char err[256];
        int rc = sca_pdf_extract((const unsigned char *)pdf, len, collect_page, &pages, err,
                                 sizeof(err));
        if (rc != 0)
            fail_msg("%s: %s", doc->file, err);
        if (pages.n != doc->pages)
            fail_msg("%s: %d pages, documents.h says %d", doc->file, pages.n, doc->pages);
        for (int pg = 1; pg <= pages.n; pg++) {
            char *want = expected_page(corpus, doc, pg);
            if (strcmp(pages.text[pg], want) != 0)
                fail_msg("%s page %d:\n got: %s\nwant: %s", doc->file, pg, pages.text[pg], want);
            free(want);
        }
        pages_free(&pages);
        free(pdf);
    }
    json_decref(corpus);
}

/* Each question's fact is on its page and on no other page of that document. */
static void test_questions_name_the_right_page(void **state)
{
    assert_string_equal(SEOUL_DOCUMENT_QUESTIONS[0].file, SEOUL_STARTUP_PDF);
    assert_int_equal(SEOUL_DOCUMENT_QUESTIONS[0].page, 2);
    for (int q = 0; q < SEOUL_N_DOCUMENT_QUESTIONS; q++) {
        const seoul_document_question_t *dq = &SEOUL_DOCUMENT_QUESTIONS[q];
        size_t len;
        char *pdf = read_document(dq->file, &len);
        pages_t pages = {0};
        char err[256];
        assert_int_equal(sca_pdf_extract((const unsigned char *)pdf, len, collect_page, &pages, err,
                                         sizeof(err)),
                         0);
        for (int pg = 1; pg <= pages.n; pg++) {
            bool has = strstr(pages.text[pg], dq->fact) != NULL;
            if (has != (pg == dq->page))
                fail_msg("%s: `%s` %s page %d", dq->file, dq->fact, has ? "on" : "not on", pg);
        }
        pages_free(&pages);
        free(pdf);
    }
}

/* With mock-llm's embeddings (what the environment's sca-api gets), each question's nearest page
 * among all pages of all documents is the page documents.h names. */
#define EMBED_DIMS 384
static void test_questions_nearest_page(void **state)
{
    static float vec[SEOUL_N_DOCUMENTS * MAX_PAGES][EMBED_DIMS];
    int doc_of[SEOUL_N_DOCUMENTS * MAX_PAGES], page_of[SEOUL_N_DOCUMENTS * MAX_PAGES], n = 0;
    for (int d = 0; d < SEOUL_N_DOCUMENTS; d++) {
        size_t len;
        char *pdf = read_document(SEOUL_DOCUMENTS[d].file, &len);
        pages_t pages = {0};
        assert_int_equal(
            sca_pdf_extract((const unsigned char *)pdf, len, collect_page, &pages, NULL, 0), 0);
        for (int pg = 1; pg <= pages.n; pg++) {
            llm_embed_text(pages.text[pg], strlen(pages.text[pg]), vec[n], EMBED_DIMS);
            doc_of[n] = d;
            page_of[n++] = pg;
        }
        pages_free(&pages);
        free(pdf);
    }
    for (int q = 0; q < SEOUL_N_DOCUMENT_QUESTIONS; q++) {
        const seoul_document_question_t *dq = &SEOUL_DOCUMENT_QUESTIONS[q];
        float qv[EMBED_DIMS];
        llm_embed_text(dq->question, strlen(dq->question), qv, EMBED_DIMS);
        int best = -1;
        double best_score = -2;
        for (int i = 0; i < n; i++) {
            double score = 0;
            for (int k = 0; k < EMBED_DIMS; k++)
                score += (double)qv[k] * vec[i][k];
            if (score > best_score)
                best = i, best_score = score;
        }
        if (strcmp(SEOUL_DOCUMENTS[doc_of[best]].file, dq->file) != 0 || page_of[best] != dq->page)
            fail_msg("`%s`: nearest is %s page %d (%.3f), documents.h says %s page %d",
                     dq->question, SEOUL_DOCUMENTS[doc_of[best]].file, page_of[best], best_score,
                     dq->file, dq->page);
    }
}

static void test_callback_stops(void **state)
{
    size_t len;
    char *pdf = read_document(SEOUL_STARTUP_PDF, &len);
    pages_t pages = {.stop_at = 2};
    assert_int_equal(
        sca_pdf_extract((const unsigned char *)pdf, len, collect_page, &pages, NULL, 0), 7);
    assert_int_equal(pages.n, 2);
    pages_free(&pages);
    free(pdf);
}

/* ---- broken input: a clean error, nothing printed, nothing leaked --------------------------- */

typedef struct messages {
    int n;
    char last[256];
} messages_t;

static void collect_message(const char *message, void *user)
{
    messages_t *m = user;
    m->n++;
    snprintf(m->last, sizeof(m->last), "%s", message);
}

static int fail_page(int page, const char *utf8, size_t len, void *user)
{
    (*(int *)user)++;
    return 0;
}

/* Runs the extraction with stdout and stderr sent to a file, and checks nothing was written
 * there; returns its result, the error in err and the pages passed to the callback in *pages. */
static int extract_quietly(const void *data, size_t len, const sca_pdf_options_t *opts, char *err,
                           size_t errlen, int *pages)
{
    fflush(stdout);
    fflush(stderr);
    char tmpl[] = "/tmp/test_sca_pdf.XXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    unlink(tmpl);
    int saved_out = dup(1), saved_err = dup(2);
    dup2(fd, 1);
    dup2(fd, 2);
    *pages = 0;
    int rc = sca_pdf_extract_opts(opts, data, len, fail_page, pages, err, errlen);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    off_t written = lseek(fd, 0, SEEK_END);
    close(fd);
    assert_int_equal(written, 0);
    return rc;
}

static void expect_error(const void *data, size_t len, const char *want)
{
    char err[256] = "";
    int pages;
    messages_t msgs = {0};
    sca_pdf_options_t opts = {.warning_cb = collect_message, .warning_user = &msgs};
    int rc = extract_quietly(data, len, &opts, err, sizeof(err), &pages);
    if (rc != -1)
        fail_msg("expected an error `%s`, got %d (%d pages)", want, rc, pages);
    if (strstr(err, want) == NULL)
        fail_msg("error `%s` does not say `%s`", err, want);
    assert_int_equal(pages, 0);
    /* without a warning callback too */
    assert_int_equal(extract_quietly(data, len, NULL, err, sizeof(err), &pages), -1);
}

static void test_empty_and_random_bytes(void **state)
{
    expect_error("", 0, "not a PDF: empty");
    expect_error(NULL, 0, "not a PDF: empty");
    unsigned char random[4096];
    uint64_t s = 0x5ca9df;
    for (size_t i = 0; i < sizeof(random); i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        random[i] = (unsigned char)(s >> 56);
    }
    expect_error(random, sizeof(random), "not a PDF: no %PDF- header");
    /* random bytes behind a PDF header: MuPDF's own verdict */
    memcpy(random, "%PDF-1.7\n", 9);
    expect_error(random, sizeof(random), "not a PDF: ");
}

static void test_truncated(void **state)
{
    size_t len;
    char *pdf = read_document(SEOUL_STARTUP_PDF, &len);
    /* the header and the first content stream: no catalog, no page tree */
    expect_error(pdf, 600, "not a PDF: ");
    expect_error(pdf, 16, "not a PDF: ");
    /* half of it: whatever MuPDF repairs, a clean answer (no crash, no leak, nothing printed) */
    char err[256];
    int pages;
    messages_t msgs = {0};
    sca_pdf_options_t opts = {.warning_cb = collect_message, .warning_user = &msgs};
    int rc = extract_quietly(pdf, len / 2, &opts, err, sizeof(err), &pages);
    assert_true(rc == -1 || (rc == 0 && pages <= SEOUL_STARTUP_PDF_PAGES));
    assert_true(msgs.n > 0); /* "trying to repair broken xref" and the like, to the callback */
    free(pdf);
}

static void test_zero_pages(void **state)
{
    static const char pdf[] = "%PDF-1.4\n"
                              "1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
                              "2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
                              "trailer << /Root 1 0 R >>\n"
                              "%%EOF\n";
    expect_error(pdf, sizeof(pdf) - 1, "PDF has no pages");
}

static void test_limits(void **state)
{
    size_t len;
    char *pdf = read_document(SEOUL_STARTUP_PDF, &len);
    sca_pdf_options_t pages_limit = {.max_pages = 2};
    char err[256];
    int pages;
    assert_int_equal(extract_quietly(pdf, len, &pages_limit, err, sizeof(err), &pages), -1);
    assert_string_equal(err, "PDF has 4 pages (limit 2)");
    /* memory limits: enough, and far below what the document's fonts and pages need */
    sca_pdf_options_t memory_limit = {.memory_limit = 1 << 20};
    assert_int_equal(extract_quietly(pdf, len, &memory_limit, err, sizeof(err), &pages), 0);
    assert_int_equal(pages, SEOUL_STARTUP_PDF_PAGES);
    memory_limit.memory_limit = 64 << 10;
    assert_int_equal(extract_quietly(pdf, len, &memory_limit, err, sizeof(err), &pages), -1);
    if (strstr(err, "needs more than 64 KiB of memory") == NULL)
        fail_msg("error `%s`", err);
    free(pdf);
}

/* ---- chunking -------------------------------------------------------------------------------- */

typedef struct chunks {
    char *text[512];
    size_t len[512];
    int n;
    int stop_at;
} chunks_t;

static int collect_chunk(const char *chunk, size_t len, void *user)
{
    chunks_t *c = user;
    assert_true(c->n < 512);
    c->text[c->n] = malloc(len + 1);
    memcpy(c->text[c->n], chunk, len);
    c->text[c->n][len] = 0;
    c->len[c->n] = len;
    c->n++;
    return c->n == c->stop_at ? 5 : 0;
}

static void chunks_free(chunks_t *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->text[i]);
    c->n = 0;
}

/* The chunks of text: valid UTF-8, 1..max characters, slices of the normalised text in order,
 * from its start to its end, each sharing overlap or overlap - 1 (a space skipped) characters with
 * the previous one (one fewer again when max - overlap is 1 and a cut's trailing space was
 * dropped), and moving forward by at least (max - overlap) / 2. */
static void check_chunks(const char *text, size_t len, size_t max, size_t overlap)
{
    chunks_t c = {0};
    assert_int_equal(sca_chunk_text(text, len, max, overlap, collect_chunk, &c), 0);
    char *norm = normalise(text, len);
    size_t nlen = strlen(norm);
    if (nlen == 0)
        assert_int_equal(c.n, 0);
    long least_shared = (long)overlap - (max - overlap == 1 ? 2 : 1);
    size_t prev_start = 0, prev_end = 0;
    for (int i = 0; i < c.n; i++) {
        long chars = utf8_chars(c.text[i], c.len[i]);
        if (chars < 1 || (size_t)chars > max)
            fail_msg("chunk %d: %ld characters (max %zu): `%s`", i, chars, max, c.text[i]);
        /* where it is: 0 for the first; for the others, a place after the previous one's start,
         * at most one space after its end, where the shared characters are as promised */
        size_t start = 0;
        bool placed = i == 0 && strncmp(norm, c.text[0], c.len[0]) == 0;
        for (size_t p = prev_start + 1; i > 0 && !placed && p <= prev_end + 1 && p < nlen; p++) {
            if (((unsigned char)norm[p] & 0xc0) == 0x80 || p + c.len[i] > nlen ||
                memcmp(norm + p, c.text[i], c.len[i]) != 0)
                continue;
            long shared = prev_end > p ? utf8_chars(norm + p, prev_end - p) : 0;
            if (shared <= (long)overlap && shared >= least_shared) {
                start = p;
                placed = true;
            }
        }
        if (!placed)
            fail_msg("chunk %d `%s` (max %zu, overlap %zu) is not where it should be in `%s`", i,
                     c.text[i], max, overlap, norm);
        if (i > 0) {
            long advance = utf8_chars(norm + prev_start, start - prev_start);
            if (advance < (long)((max - overlap) / 2))
                fail_msg("chunk %d moved %ld characters (max %zu, overlap %zu)", i, advance, max,
                         overlap);
        }
        prev_start = start;
        prev_end = start + c.len[i];
    }
    if (c.n > 0 && prev_end != nlen)
        fail_msg("the chunks end at byte %zu of %zu", prev_end, nlen);
    free(norm);
    chunks_free(&c);
}

static void test_chunk_edges(void **state)
{
    chunks_t c = {0};
    assert_int_equal(sca_chunk_text("", 0, 10, 2, collect_chunk, &c), 0);
    assert_int_equal(sca_chunk_text(NULL, 0, 10, 2, collect_chunk, &c), 0);
    assert_int_equal(sca_chunk_text(" \n\t  \n", 6, 10, 2, collect_chunk, &c), 0);
    assert_int_equal(c.n, 0);
    assert_int_equal(sca_chunk_text("abc", 3, 0, 0, collect_chunk, &c), -1);
    assert_int_equal(sca_chunk_text("abc", 3, 10, 10, collect_chunk, &c), -1);
    assert_int_equal(sca_chunk_text("ab\xff", 3, 10, 2, collect_chunk, &c), -1);
    assert_int_equal(sca_chunk_text("가\xea\xb0", 5, 10, 2, collect_chunk, &c), -1);   /* cut */
    assert_int_equal(sca_chunk_text("\xed\xa0\x80", 3, 10, 2, collect_chunk, &c), -1); /* D800 */
    assert_int_equal(sca_chunk_text("\xc0\xaf", 2, 10, 2, collect_chunk, &c), -1); /* overlong */
    assert_int_equal(c.n, 0);
    /* short text: one chunk, normalised */
    assert_int_equal(sca_chunk_text("  서울시\n 상권  분석 ", 27, 100, 10, collect_chunk, &c), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.text[0], "서울시 상권 분석");
    chunks_free(&c);
    /* the callback stops it */
    c.stop_at = 1;
    const char *long_text = "가나다라마바사 아자차카타파하 가나다라마바사 아자차카타파하";
    assert_int_equal(sca_chunk_text(long_text, strlen(long_text), 8, 2, collect_chunk, &c), 5);
    assert_int_equal(c.n, 1);
    chunks_free(&c);
}

static void test_chunk_sentences_and_overlap(void **state)
{
    const char *text =
        "스타트업 지원 대상은 서울에 본점을 둔 중소기업이다. 선정 기업은 최대 1억 원의 "
        "사업화 자금을 받는다. 기술 창업은 가점을 받는다.";
    chunks_t c = {0};
    assert_int_equal(sca_chunk_text(text, strlen(text), 40, 0, collect_chunk, &c), 0);
    assert_true(c.n >= 2);
    assert_string_equal(c.text[0], "스타트업 지원 대상은 서울에 본점을 둔 중소기업이다.");
    assert_string_equal(c.text[1], "선정 기업은 최대 1억 원의 사업화 자금을 받는다.");
    chunks_free(&c);
    /* overlap: the next chunk repeats the previous one's last characters */
    assert_int_equal(sca_chunk_text(text, strlen(text), 40, 6, collect_chunk, &c), 0);
    assert_string_equal(c.text[0], "스타트업 지원 대상은 서울에 본점을 둔 중소기업이다.");
    assert_string_equal(c.text[1], "소기업이다. 선정 기업은 최대 1억 원의 사업화 자금을 받는다.");
    chunks_free(&c);
    for (size_t max = 1; max <= 60; max++)
        for (size_t overlap = 0; overlap < max; overlap += 1 + overlap / 3)
            check_chunks(text, strlen(text), max, overlap);
}

/* A word longer than the window is cut, at a character. */
static void test_chunk_long_word(void **state)
{
    char text[3 * 300 + 1];
    for (int i = 0; i < 300; i++)
        memcpy(text + 3 * i, "한", 3);
    text[900] = 0;
    chunks_t c = {0};
    assert_int_equal(sca_chunk_text(text, 900, 50, 10, collect_chunk, &c), 0);
    assert_int_equal(c.n, 8); /* 0-50, 40-90, ..., 280-300 */
    for (int i = 0; i < c.n; i++)
        assert_int_equal(c.len[i] % 3, 0);
    chunks_free(&c);
    check_chunks(text, 900, 50, 10);
    check_chunks(text, 900, 7, 6);
}

/* Random text of ASCII, Hangul, 4-byte characters and whitespace, random windows. */
static void test_chunk_random(void **state)
{
    static const char *const pieces[] = {"a", "Z", "7",  ".",  "?",  "가",   "힣", "。",
                                         "😀", " ", "\n", "  ", "\t", "다. ", "! "};
    uint64_t s = 42;
    for (int round = 0; round < 400; round++) {
        char text[2048];
        size_t len = 0;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        int parts = (int)((s >> 33) % 300);
        for (int i = 0; i < parts; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            const char *p = pieces[(s >> 33) % (sizeof(pieces) / sizeof(pieces[0]))];
            memcpy(text + len, p, strlen(p));
            len += strlen(p);
        }
        text[len] = 0;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        size_t max = 1 + (s >> 33) % 64;
        size_t overlap = (s >> 45) % max;
        check_chunks(text, len, max, overlap);
    }
}

/* A generated page cut into the service's chunks: the startup question's fact is in one of them. */
static void test_extract_then_chunk(void **state)
{
    size_t len;
    char *pdf = read_document(SEOUL_STARTUP_PDF, &len);
    pages_t pages = {0};
    assert_int_equal(
        sca_pdf_extract((const unsigned char *)pdf, len, collect_page, &pages, NULL, 0), 0);
    const char *page2 = pages.text[Q_STARTUP_FUNDING_PAGE];
    check_chunks(page2, strlen(page2), 60, 10);
    chunks_t c = {0};
    assert_int_equal(sca_chunk_text(page2, strlen(page2), 60, 10, collect_chunk, &c), 0);
    bool found = false;
    for (int i = 0; i < c.n; i++)
        found = found || strstr(c.text[i], Q_STARTUP_FUNDING_FACT) != NULL;
    assert_true(found);
    chunks_free(&c);
    pages_free(&pages);
    free(pdf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documents_pages_and_text),
        cmocka_unit_test(test_questions_name_the_right_page),
        cmocka_unit_test(test_questions_nearest_page),
        cmocka_unit_test(test_callback_stops),
        cmocka_unit_test(test_empty_and_random_bytes),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_zero_pages),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_chunk_edges),
        cmocka_unit_test(test_chunk_sentences_and_overlap),
        cmocka_unit_test(test_chunk_long_word),
        cmocka_unit_test(test_chunk_random),
        cmocka_unit_test(test_extract_then_chunk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
