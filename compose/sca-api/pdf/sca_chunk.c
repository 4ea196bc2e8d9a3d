/* sca_chunk_text: a page's text in chunks of at most max_chars characters for the embeddings
 * (see sca_pdf.h for the rules). Works on the whitespace-normalised text and on character
 * indexes (an array of each character's byte offset), so no cut can fall inside a character. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sca_pdf.h"

/* Length of the valid UTF-8 sequence at s (of n bytes), or 0 when it is not one (overlong
 * forms, surrogates and values past U+10FFFF are not valid). */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t min, cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, min = 0x80, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, min = 0x800, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* The normalised text: whitespace runs as one space, trimmed; and where each character starts. */
typedef struct normalised {
    char *text;
    size_t *offset; /* offset[i]: byte offset of character i; offset[n] = bytes */
    size_t n;       /* characters */
} normalised_t;

static void normalised_free(normalised_t *t)
{
    free(t->text);
    free(t->offset);
}

static int normalise(const char *utf8, size_t len, normalised_t *t)
{
    const unsigned char *s = (const unsigned char *)utf8;
    *t = (normalised_t){0};
    t->text = malloc(len + 1);
    t->offset = malloc((len + 1) * sizeof(size_t));
    if (t->text == NULL || t->offset == NULL)
        return -1;
    size_t bytes = 0;
    bool pending_space = false;
    for (size_t i = 0; i < len;) {
        if (is_space(s[i])) {
            pending_space = t->n > 0;
            i++;
            continue;
        }
        size_t k = utf8_sequence(s + i, len - i);
        if (k == 0)
            return -1;
        if (pending_space) {
            t->offset[t->n++] = bytes;
            t->text[bytes++] = ' ';
            pending_space = false;
        }
        t->offset[t->n++] = bytes;
        memcpy(t->text + bytes, s + i, k);
        bytes += k;
        i += k;
    }
    t->offset[t->n] = bytes;
    t->text[bytes] = 0;
    return 0;
}

static bool char_is(const normalised_t *t, size_t i, const char *c)
{
    size_t n = t->offset[i + 1] - t->offset[i];
    return n == strlen(c) && memcmp(t->text + t->offset[i], c, n) == 0;
}

static bool is_sentence_end(const normalised_t *t, size_t i)
{
    return char_is(t, i, ".") || char_is(t, i, "!") || char_is(t, i, "?") ||
           char_is(t, i, "\xe3\x80\x82") /* 。 */ || char_is(t, i, "\xef\xbc\x81") /* ！ */ ||
           char_is(t, i, "\xef\xbc\x9f") /* ？ */;
}

/* Where the chunk starting at character `start` ends (exclusive), for a text longer than
 * start + max: the latest sentence end in [lo, start + max], else the latest space there (the
 * chunk ends before it), else start + max. */
static size_t chunk_end(const normalised_t *t, size_t start, size_t max, size_t lo)
{
    size_t hi = start + max;
    for (size_t b = hi; b >= lo && b > start; b--)
        if (is_sentence_end(t, b - 1) && (b == t->n || char_is(t, b, " ")))
            return b;
    for (size_t b = hi; b >= lo && b > start; b--)
        if (char_is(t, b, " "))
            return b;
    return hi;
}

int sca_chunk_text(const char *utf8, size_t len, size_t max_chars, size_t overlap, sca_chunk_cb cb,
                   void *user)
{
    if (max_chars == 0 || overlap >= max_chars || cb == NULL || (utf8 == NULL && len > 0))
        return -1;
    normalised_t t;
    if (normalise(utf8 ? utf8 : "", len, &t) < 0) {
        normalised_free(&t);
        return -1;
    }
    /* a break no earlier than this after the start moves the next chunk forward by at least
     * half of (max_chars - overlap) */
    size_t min_advance = overlap + (max_chars - overlap + 1) / 2;
    int rc = 0;
    size_t start = 0;
    while (rc == 0 && start < t.n) {
        size_t end = t.n;
        if (t.n - start > max_chars)
            end = chunk_end(&t, start, max_chars, start + min_advance);
        size_t last = end; /* drop a trailing space of a cut inside the window */
        while (last > start && char_is(&t, last - 1, " "))
            last--;
        rc = cb(t.text + t.offset[start], t.offset[last] - t.offset[start], user);
        if (end == t.n)
            break;
        start = end - overlap;
        if (char_is(&t, start, " "))
            start++;
    }
    normalised_free(&t);
    return rc;
}
