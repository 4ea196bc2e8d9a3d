/* sca_pdf_extract: each page's text with MuPDF (fitz + its PDF reader).
 *
 * The document is opened with pdf_open_document_with_stream (MuPDF's PDF handler, what
 * fz_open_document_with_stream(ctx, "pdf", ...) picks) rather than through the handler registry:
 * registering every handler links MuPDF's HTML, EPUB and XPS readers too (gumbo, harfbuzz), which
 * the service neither wants for untrusted uploads nor can link statically. */
#include "sca_pdf.h"

#include <mupdf/fitz.h>
#include <mupdf/pdf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a bounded allocator: MuPDF's memory for one call ------------------------------------ */

typedef union alloc_header {
    size_t size;
    max_align_t align;
} alloc_header_t;

typedef struct bounded_alloc {
    size_t used;
    size_t limit;  /* on used */
    size_t budget; /* the caller's limit, for messages */
    bool exceeded;
} bounded_alloc_t;

static bool alloc_fits(bounded_alloc_t *a, size_t more)
{
    if (more > a->limit - a->used || more > SIZE_MAX - sizeof(alloc_header_t)) {
        a->exceeded = true;
        return false;
    }
    return true;
}

static void *bounded_malloc(void *user, size_t size)
{
    bounded_alloc_t *a = user;
    if (!alloc_fits(a, size))
        return NULL;
    alloc_header_t *h = malloc(sizeof(*h) + size);
    if (h == NULL)
        return NULL;
    h->size = size;
    a->used += size;
    return h + 1;
}

static void bounded_free(void *user, void *p)
{
    bounded_alloc_t *a = user;
    if (p == NULL)
        return;
    alloc_header_t *h = (alloc_header_t *)p - 1;
    a->used -= h->size;
    free(h);
}

static void *bounded_realloc(void *user, void *p, size_t size)
{
    bounded_alloc_t *a = user;
    if (p == NULL)
        return bounded_malloc(user, size);
    if (size == 0) {
        bounded_free(user, p);
        return NULL;
    }
    alloc_header_t *h = (alloc_header_t *)p - 1;
    size_t old = h->size;
    if (size > old && !alloc_fits(a, size - old))
        return NULL;
    alloc_header_t *n = realloc(h, sizeof(*n) + size);
    if (n == NULL)
        return NULL;
    n->size = size;
    a->used = a->used - old + size;
    return n + 1;
}

/* ---- messages -------------------------------------------------------------------------------- */

static void set_error(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_error(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (errbuf == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

typedef struct message_sink {
    sca_pdf_message_cb cb;
    void *user;
} message_sink_t;

static void forward_message(void *user, const char *message)
{
    const message_sink_t *sink = user;
    if (sink->cb != NULL)
        sink->cb(message, sink->user);
}

/* A PDF starts with "%PDF-" within its first 1024 bytes (ISO 32000-1, 7.5.2 and its note on
 * readers). MuPDF alone would "repair" any bytes into an empty document. */
static bool has_pdf_header(const unsigned char *data, size_t len)
{
    size_t n = len < 1024 ? len : 1024;
    for (size_t i = 0; i + 5 <= n; i++)
        if (memcmp(data + i, "%PDF-", 5) == 0)
            return true;
    return false;
}

/* ---- the text walk --------------------------------------------------------------------------- */

/* Appends the page's text to buf as UTF-8: characters MuPDF could not map (no ToUnicode: -1 or
 * U+FFFD), control characters and values outside Unicode are left out. */
static void append_page_text(fz_context *ctx, fz_stext_page *text, fz_buffer *buf)
{
    for (fz_stext_block *block = text->first_block; block; block = block->next) {
        if (block->type != FZ_STEXT_BLOCK_TEXT)
            continue;
        if (fz_buffer_storage(ctx, buf, NULL) > 0)
            fz_append_byte(ctx, buf, '\n');
        for (fz_stext_line *line = block->u.t.first_line; line; line = line->next) {
            for (fz_stext_char *ch = line->first_char; ch; ch = ch->next) {
                int c = ch->c;
                if (c == '\t')
                    c = ' ';
                if (c < 0x20 || (c >= 0x7f && c < 0xa0) || (c >= 0xd800 && c < 0xe000) ||
                    c > 0x10ffff || c == 0xfffd)
                    continue;
                fz_append_rune(ctx, buf, c);
            }
            fz_append_byte(ctx, buf, '\n');
        }
    }
    fz_terminate_buffer(ctx, buf);
}

/* ---- extraction ------------------------------------------------------------------------------ */

typedef struct extraction {
    fz_context *ctx;
    bounded_alloc_t *alloc;
    int max_pages;
    sca_pdf_page_cb cb;
    void *user;
    char *errbuf;
    size_t errlen;
} extraction_t;

static void set_mupdf_error(const extraction_t *x, const char *what)
{
    size_t limit = x->alloc->budget;
    if (x->alloc->exceeded)
        set_error(x->errbuf, x->errlen, "%sPDF needs more than %zu %s of memory", what,
                  limit >= (1 << 20) ? limit >> 20 : limit >> 10,
                  limit >= (1 << 20) ? "MiB" : "KiB");
    else
        set_error(x->errbuf, x->errlen, "%s%s", what, fz_caught_message(x->ctx));
}

/* Each fz_try is alone in a small function, so that no variable of a caller's loop lives across
 * MuPDF's setjmp; what a fz_try body assigns is marked with fz_var. */

static fz_buffer *new_text_buffer(const extraction_t *x)
{
    fz_context *ctx = x->ctx;
    fz_buffer *buf = NULL;
    fz_var(buf);
    fz_try(ctx)
    {
        buf = fz_new_buffer(ctx, 4096);
    }
    fz_catch(ctx)
    {
        set_mupdf_error(x, "");
        return NULL;
    }
    return buf;
}

/* Page `index` (0-based)'s text into buf (cleared first); its page objects are dropped before
 * this returns. */
static int read_page_text(const extraction_t *x, fz_document *doc, int index, fz_buffer *buf)
{
    fz_context *ctx = x->ctx;
    fz_page *page = NULL;
    fz_stext_page *text = NULL;
    fz_stext_options opts = {.flags = FZ_STEXT_MEDIABOX_CLIP};
    fz_var(page);
    fz_var(text);
    fz_clear_buffer(ctx, buf);
    fz_try(ctx)
    {
        page = fz_load_page(ctx, doc, index);
        text = fz_new_stext_page_from_page(ctx, page, &opts);
        append_page_text(ctx, text, buf);
    }
    fz_always(ctx)
    {
        fz_drop_stext_page(ctx, text);
        fz_drop_page(ctx, page);
    }
    fz_catch(ctx)
    {
        char what[32];
        snprintf(what, sizeof(what), "page %d: ", index + 1);
        set_mupdf_error(x, what);
        return -1;
    }
    return 0;
}

/* Pages 1..n of an open document, one at a time; cb runs outside any fz_try (nothing it does can
 * skip MuPDF's cleanup). */
static int extract_pages(const extraction_t *x, fz_document *doc, int n)
{
    fz_buffer *buf = new_text_buffer(x);
    if (buf == NULL)
        return -1;
    int rc = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        rc = read_page_text(x, doc, i, buf);
        if (rc == 0) {
            unsigned char *data = NULL;
            size_t len = fz_buffer_storage(x->ctx, buf, &data);
            rc = x->cb(i + 1, len ? (const char *)data : "", len, x->user);
        }
    }
    fz_drop_buffer(x->ctx, buf);
    return rc;
}

/* Opens the bytes as a PDF; on success *stream_out and *doc_out are the caller's to drop. */
static int open_pdf(const extraction_t *x, const unsigned char *data, size_t len,
                    fz_stream **stream_out, pdf_document **doc_out, int *pages_out)
{
    fz_context *ctx = x->ctx;
    fz_stream *stream = NULL;
    pdf_document *doc = NULL;
    int pages = 0;
    fz_var(stream);
    fz_var(doc);
    fz_var(pages);
    fz_try(ctx)
    {
        stream = fz_open_memory(ctx, data, len);
        doc = pdf_open_document_with_stream(ctx, stream);
        pages = pdf_count_pages(ctx, doc);
    }
    fz_catch(ctx)
    {
        pdf_drop_document(ctx, doc);
        fz_drop_stream(ctx, stream);
        set_mupdf_error(x, "not a PDF: ");
        return -1;
    }
    *stream_out = stream;
    *doc_out = doc;
    *pages_out = pages;
    return 0;
}

static int extract_document(const extraction_t *x, const unsigned char *data, size_t len)
{
    fz_stream *stream = NULL;
    pdf_document *doc = NULL;
    int pages = 0;
    if (open_pdf(x, data, len, &stream, &doc, &pages) < 0)
        return -1;
    int rc = 0;
    if (pages <= 0) {
        set_error(x->errbuf, x->errlen, "PDF has no pages");
        rc = -1;
    } else if (pages > x->max_pages) {
        set_error(x->errbuf, x->errlen, "PDF has %d pages (limit %d)", pages, x->max_pages);
        rc = -1;
    } else {
        rc = extract_pages(x, &doc->super, pages);
    }
    pdf_drop_document(x->ctx, doc);
    fz_drop_stream(x->ctx, stream);
    return rc;
}

int sca_pdf_extract_opts(const sca_pdf_options_t *opts, const unsigned char *data, size_t len,
                         sca_pdf_page_cb cb, void *user, char *errbuf, size_t errlen)
{
    sca_pdf_options_t o = opts ? *opts : (sca_pdf_options_t){0};
    if (o.memory_limit == 0)
        o.memory_limit = SCA_PDF_DEFAULT_MEMORY_LIMIT;
    if (o.max_pages <= 0)
        o.max_pages = SCA_PDF_DEFAULT_MAX_PAGES;
    if (errbuf && errlen)
        errbuf[0] = 0;
    if (cb == NULL) {
        set_error(errbuf, errlen, "no page callback");
        return -1;
    }
    if (data == NULL || len == 0) {
        set_error(errbuf, errlen, "not a PDF: empty");
        return -1;
    }
    if (!has_pdf_header(data, len)) {
        set_error(errbuf, errlen, "not a PDF: no %%PDF- header in its first 1024 bytes");
        return -1;
    }

    /* The context itself (about 300 KiB, the same for every input) is not counted: MuPDF prints
     * to stderr when it cannot make one, before a callback can be set. The limit starts after. */
    bounded_alloc_t alloc = {0, SIZE_MAX, o.memory_limit, false};
    fz_alloc_context alloc_ctx = {&alloc, bounded_malloc, bounded_realloc, bounded_free};
    /* MuPDF's cache of decoded objects: a quarter of the budget, evicted before a refusal */
    fz_context *ctx = fz_new_context(&alloc_ctx, NULL, o.memory_limit / 4);
    if (ctx == NULL) {
        set_error(errbuf, errlen, "cannot create a MuPDF context (out of memory)");
        return -1;
    }
    message_sink_t sink = {o.warning_cb, o.warning_user};
    fz_set_warning_callback(ctx, forward_message, &sink);
    fz_set_error_callback(ctx, forward_message, &sink);
    alloc.limit = o.memory_limit > SIZE_MAX - alloc.used ? SIZE_MAX : alloc.used + o.memory_limit;

    extraction_t x = {ctx, &alloc, o.max_pages, cb, user, errbuf, errlen};
    int rc = extract_document(&x, data, len);
    fz_drop_context(ctx); /* flushes pending warnings through forward_message */
    return rc;
}

int sca_pdf_extract(const unsigned char *data, size_t len, sca_pdf_page_cb cb, void *user,
                    char *errbuf, size_t errlen)
{
    return sca_pdf_extract_opts(NULL, data, len, cb, user, errbuf, errlen);
}
