/* sca-api's PDF text module: the text of each page of an uploaded PDF (MuPDF), and the text cut
 * into chunks for the embeddings. Library code: it never prints (MuPDF's warnings go to a callback
 * the caller sets, or nowhere) and never exits; errors come back as -1 with a message.
 *
 * Each call makes its own MuPDF context with its own allocator, so calls may run at the same time
 * on different threads (e.g. libuv's thread pool). */
#ifndef SCA_PDF_H
#define SCA_PDF_H

#include <stddef.h>

/* Called once per page, in order, with the page's text as UTF-8 (valid, NUL-terminated at len;
 * lines end with '\n', blocks are separated by an empty line; len 0 for a page without text).
 * The text is only valid during the call. Returning non-zero stops the extraction. */
typedef int (*sca_pdf_page_cb)(int page /* 1-based */, const char *utf8, size_t len, void *user);

/* Extracts each page's text (UTF-8) with MuPDF; returns 0, or -1 with a message in errbuf
 * ("not a PDF: ...", "PDF has no pages", "page 3: ...", "PDF needs more than 256 MiB of memory")
 * when the bytes cannot be read. cb returning non-zero stops (returns that). Pages before a page
 * that fails have been passed to cb. Uses the default options below. */
int sca_pdf_extract(const unsigned char *data, size_t len, sca_pdf_page_cb cb, void *user,
                    char *errbuf, size_t errlen);

/* MuPDF's warnings ("repairing PDF document", "unknown font ...") and the errors it reports as it
 * throws them: one message per call, without a trailing newline. */
typedef void (*sca_pdf_message_cb)(const char *message, void *user);

#define SCA_PDF_DEFAULT_MEMORY_LIMIT ((size_t)256 << 20)
#define SCA_PDF_DEFAULT_MAX_PAGES 2000

typedef struct sca_pdf_options {
    /* bytes MuPDF may hold at once for this call (the document, its caches, the page being read),
     * beyond its context's own (about 300 KiB, the same for every input); past it the call fails
     * with "PDF needs more than N MiB of memory". 0: the default. */
    size_t memory_limit;
    /* documents with more pages are refused before any page is read. 0: the default. */
    int max_pages;
    /* where MuPDF's warnings go; NULL: dropped (never stdout or stderr) */
    sca_pdf_message_cb warning_cb;
    void *warning_user;
} sca_pdf_options_t;

/* sca_pdf_extract with options (opts NULL: the defaults). */
int sca_pdf_extract_opts(const sca_pdf_options_t *opts, const unsigned char *data, size_t len,
                         sca_pdf_page_cb cb, void *user, char *errbuf, size_t errlen);

/* Called once per chunk, in order; the chunk is only valid during the call (not NUL-terminated).
 * Returning non-zero stops the chunking. */
typedef int (*sca_chunk_cb)(const char *chunk, size_t len, void *user);

/* Splits a page's text into chunks of at most max_chars characters (UTF-8 safe, on sentence or
 * whitespace boundaries, overlap characters repeated), calling cb for each.
 *
 * The text is first whitespace-normalised (runs of spaces, tabs and newlines become one space;
 * leading and trailing whitespace dropped), and chunks are slices of that text. A chunk ends
 * after a sentence end ('.', '!', '?', '。' followed by a space or the end) when there is one in
 * its second half, else before a space, else (one word longer than the window) inside the word
 * but never inside a character. The next chunk starts `overlap` characters before the previous
 * one's end (one character later when that is a space), so consecutive chunks share at most
 * `overlap` characters, and every chunk moves forward by at least (max_chars - overlap) / 2.
 * Empty or all-whitespace text gives no chunk and returns 0.
 *
 * Returns 0, cb's non-zero value when it stops, or -1 when max_chars is 0, overlap >= max_chars,
 * the text is not valid UTF-8, or memory runs out. */
int sca_chunk_text(const char *utf8, size_t len, size_t max_chars, size_t overlap, sca_chunk_cb cb,
                   void *user);

#endif
