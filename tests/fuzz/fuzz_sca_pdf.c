/* libFuzzer target over sca-api's PDF text module: the input as a PDF (sca_pdf_extract, with a
 * 64 MiB memory limit), each page's text cut into chunks, and the input itself as text for
 * sca_chunk_text with a window and overlap taken from its first bytes. Checks what the module
 * promises: page numbers in order, page text and chunks valid UTF-8, chunks within the window.
 *
 * Without ENVTEST_FUZZ the same file builds the corpus replayer (SCA_PDF_FUZZ_REPLAY). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sca_pdf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

typedef struct window {
    size_t max;
    int last_page;
} window_t;

static int check_chunk(const char *chunk, size_t len, void *user)
{
    const window_t *w = user;
    long chars = utf8_chars(chunk, len);
    if (chars < 1 || (size_t)chars > w->max)
        abort();
    return 0;
}

static int check_page(int page, const char *utf8, size_t len, void *user)
{
    window_t *w = user;
    if (page != w->last_page + 1 || utf8[len] != 0 || utf8_chars(utf8, len) < 0)
        abort();
    w->last_page = page;
    if (sca_chunk_text(utf8, len, w->max, w->max / 5, check_chunk, w) != 0)
        abort();
    return 0;
}

static void ignore_message(const char *message, void *user)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    window_t w = {.max = 200, .last_page = 0};
    sca_pdf_options_t opts = {
        .memory_limit = (size_t)64 << 20, .max_pages = 50, .warning_cb = ignore_message};
    char err[256];
    int rc = sca_pdf_extract_opts(&opts, data, size, check_page, &w, err, sizeof(err));
    if (rc != 0 && (rc != -1 || err[0] == 0))
        abort();

    if (size >= 2) {
        window_t t = {.max = 1 + data[0] % 64};
        size_t overlap = data[1] % t.max;
        rc = sca_chunk_text((const char *)data + 2, size - 2, t.max, overlap, check_chunk, &t);
        /* -1 only for invalid UTF-8 */
        if (rc != 0 && (rc != -1 || utf8_chars((const char *)data + 2, size - 2) >= 0))
            abort();
    }
    return 0;
}

#ifdef SCA_PDF_FUZZ_REPLAY
/* Replays every file of the given corpus directories or files (a unit test in non-fuzz builds). */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 1 << 16, len = 0, n;
    uint8_t *buf = malloc(cap);
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *bigger = realloc(buf, cap *= 2);
            if (!bigger)
                free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    if (!buf)
        return -1;
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0) {
            fprintf(stderr, "%s: not found\n", argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (replay_file(argv[i]) < 0)
                return 1;
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d)
            return 1;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
            if (replay_file(path) < 0) {
                closedir(d);
                return 1;
            }
            files++;
        }
        closedir(d);
    }
    printf("replayed %d inputs\n", files);
    return files > 0 ? 0 : 1;
}
#endif
