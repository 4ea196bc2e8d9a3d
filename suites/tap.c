/* TAP 13 emitter: see tap.h. */
#include "tap.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TAP_VALUE_MAX 4000 /* bytes of a got/expected value shown in a diagnostic */

typedef struct tap_data_item {
    char *key;
    char *value;
} tap_data_item_t;

static struct {
    FILE *out;
    int number;
    int failed;
    /* current test */
    bool in_test;
    bool failing;
    char *skip_reason;
    char *message;
    char *file;
    int line;
    char *got;
    char *expected;
    tap_data_item_t *data;
    size_t n_data;
} tap = {0};

static FILE *tap_out(void)
{
    return tap.out ? tap.out : stdout;
}

__attribute__((format(printf, 1, 0))) static char *tap_vfmt(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) {
        fputs("Bail out! out of memory\n", tap_out());
        exit(2);
    }
    return s;
}

char *tap_fmt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = tap_vfmt(fmt, ap);
    va_end(ap);
    return s;
}

static char *tap_strdup(const char *s)
{
    return s ? tap_fmt("%s", s) : NULL;
}

static void tap_reset_current(void)
{
    free(tap.skip_reason);
    free(tap.message);
    free(tap.file);
    free(tap.got);
    free(tap.expected);
    for (size_t i = 0; i < tap.n_data; i++) {
        free(tap.data[i].key);
        free(tap.data[i].value);
    }
    free(tap.data);
    FILE *out = tap.out;
    int number = tap.number, failed = tap.failed;
    memset(&tap, 0, sizeof(tap));
    tap.out = out;
    tap.number = number;
    tap.failed = failed;
}

void tap_set_output(FILE *out)
{
    tap_reset_current();
    tap.out = out;
    tap.number = 0;
    tap.failed = 0;
}

void tap_plan(int n)
{
    fprintf(tap_out(), "TAP version 13\n1..%d\n", n);
    fflush(tap_out());
}

void tap_yaml_quote(FILE *out, const char *s, size_t max)
{
    fputc('"', out);
    size_t i = 0;
    for (; s[i] && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c == '\r')
            fputs("\\r", out);
        else if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
    if (s[i]) {
        /* finish the UTF-8 sequence we are in, then mark the cut */
        while (s[i] && ((unsigned char)s[i] & 0xC0) == 0x80)
            fputc(s[i++], out);
        if (s[i])
            fprintf(out, "... (%zu more bytes)", strlen(s + i));
    }
    fputc('"', out);
}

static void tap_yaml_field(FILE *out, const char *indent, const char *key, const char *value)
{
    fprintf(out, "%s%s: ", indent, key);
    tap_yaml_quote(out, value, TAP_VALUE_MAX);
    fputc('\n', out);
}

void tap_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = tap_vfmt(fmt, ap);
    va_end(ap);
    /* one comment line per line of text */
    char *save = NULL;
    for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        fprintf(tap_out(), "# %s\n", line);
    free(s);
    fflush(tap_out());
}

void tap_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    free(tap.skip_reason);
    tap.skip_reason = tap_vfmt(fmt, ap);
    va_end(ap);
}

static void tap_fail_record(const char *file, int line, char *got, char *expected, char *message)
{
    if (tap.failing) { /* keep the first failure: it is the cause */
        free(got);
        free(expected);
        free(message);
        return;
    }
    tap.failing = true;
    tap.file = tap_strdup(file);
    tap.line = line;
    tap.got = got;
    tap.expected = expected;
    tap.message = message;
}

void tap_fail(const char *file, int line, const char *got, const char *expected, const char *fmt,
              ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *message = tap_vfmt(fmt, ap);
    va_end(ap);
    tap_fail_record(file, line, tap_strdup(got), tap_strdup(expected), message);
}

void tap_fail_owned(const char *file, int line, char *got, char *expected, const char *message)
{
    tap_fail_record(file, line, got, expected, tap_strdup(message));
}

void tap_fail_data(const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *value = tap_vfmt(fmt, ap);
    va_end(ap);
    tap_data_item_t *grown = realloc(tap.data, (tap.n_data + 1) * sizeof(*tap.data));
    if (!grown) {
        free(value);
        return;
    }
    tap.data = grown;
    tap.data[tap.n_data].key = tap_strdup(key);
    tap.data[tap.n_data].value = value;
    tap.n_data++;
}

bool tap_failed(void)
{
    return tap.failing;
}

int tap_count_run(void)
{
    return tap.number;
}

int tap_count_failed(void)
{
    return tap.failed;
}

static void tap_print_diagnostic(FILE *out, double duration_ms)
{
    fputs("  ---\n", out);
    tap_yaml_field(out, "  ", "message", tap.message ? tap.message : "failed");
    fputs("  severity: fail\n", out);
    if (tap.file) {
        tap_yaml_field(out, "  ", "file", tap.file);
        fprintf(out, "  line: %d\n", tap.line);
    }
    if (tap.got)
        tap_yaml_field(out, "  ", "got", tap.got);
    if (tap.expected)
        tap_yaml_field(out, "  ", "expected", tap.expected);
    if (tap.n_data) {
        fputs("  data:\n", out);
        for (size_t i = 0; i < tap.n_data; i++)
            tap_yaml_field(out, "    ", tap.data[i].key, tap.data[i].value);
    }
    fprintf(out, "  duration_ms: %.1f\n", duration_ms);
    fputs("  ...\n", out);
}

static void tap_result(const char *name, double duration_ms)
{
    FILE *out = tap_out();
    tap.number++;
    if (tap.failing) {
        tap.failed++;
        fprintf(out, "not ok %d - %s\n", tap.number, name);
        tap_print_diagnostic(out, duration_ms);
    } else if (tap.skip_reason) {
        fprintf(out, "ok %d - %s # SKIP %s\n", tap.number, name, tap.skip_reason);
    } else {
        fprintf(out, "ok %d - %s\n", tap.number, name);
    }
    fflush(out);
    tap_reset_current();
}

static double tap_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int tap_run(const tap_test_t *tests, size_t n, void *ctx)
{
    tap_plan((int)n);
    for (size_t i = 0; i < n; i++) {
        tap_reset_current();
        double start = tap_now_ms();
        tests[i].fn(ctx);
        tap_result(tests[i].name, tap_now_ms() - start);
    }
    if (tap.failed)
        fprintf(tap_out(), "# failed %d of %d tests\n", tap.failed, tap.number);
    fflush(tap_out());
    return tap.failed ? 1 : 0;
}

int tap_environment_failure(const char *what, const char *detail)
{
    tap_plan(1);
    tap_reset_current();
    tap_fail(NULL, 0, NULL, NULL, "%s", detail);
    char *name = tap_fmt("environment: %s", what);
    tap_result(name, 0);
    free(name);
    return 1;
}
