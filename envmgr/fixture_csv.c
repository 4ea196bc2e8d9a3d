/* Streaming CSV/TSV reader: validates each row (column count, UTF-8, declared types) and re-encodes
 * it for LOAD DATA (TAB-separated, backslash-escaped, NULL as \N). One field is held at a time. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_internal.h"

enum { S_FIELD_START, S_UNQUOTED, S_QUOTED, S_QUOTE_SEEN, S_AFTER_CR };

bool fx_utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        while (i + 8 <= len) { /* ASCII, eight bytes at a time */
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & UINT64_C(0x8080808080808080))
                break;
            i += 8;
        }
        if (i == len)
            break;
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + n >= len)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

static size_t utf8_chars(const unsigned char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += (s[i] & 0xC0) != 0x80;
    return n;
}

void fx_csv_init(fx_csv_t *c, const fx_table_t *table, const char *where)
{
    memset(c, 0, sizeof(*c));
    c->table = table;
    c->where = where;
    c->line = 1;
    c->row_line = 1;
    c->state = S_FIELD_START;
    c->header_done = !table->header;
    c->null_len = strlen(table->null_token);
}

void fx_csv_free(fx_csv_t *c)
{
    envmgr_buf_free(&c->field);
    envmgr_strv_free(&c->header_names);
    free(c->col_map);
    c->col_map = NULL;
}

static int csv_fail(fx_csv_t *c, envmgr_error_t *err, const char *fmt, ...) ENVMGR_PRINTF(3, 4);
static int csv_fail(fx_csv_t *c, envmgr_error_t *err, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->failed = true;
    return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s:%" PRIu64 ": %s", c->where, c->row_line,
                            msg);
}

/* A short, printable excerpt of a value for messages. */
static void excerpt(const char *v, size_t len, char out[64])
{
    size_t n = len < 40 ? len : 40;
    while (n > 0 && n < len && (v[n] & 0xC0) == 0x80)
        n--; /* do not cut a UTF-8 sequence */
    snprintf(out, 64, "%.*s%s", (int)n, v, n < len ? "..." : "");
}

static bool parse_int(const char *s, int64_t *out)
{
    char *end;
    if (*s == '\0' || isspace((unsigned char)*s))
        return false;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = v;
    return true;
}

static bool decimal_fits(const char *s, int precision, int scale)
{
    int before = 0, after = 0, digits = 0;
    if (*s == '-' || *s == '+')
        s++;
    for (; isdigit((unsigned char)*s); s++, digits++)
        before += (before > 0 || *s != '0'); /* significant digits before the point */
    if (*s == '.') {
        for (s++; isdigit((unsigned char)*s); s++, digits++)
            after++;
    }
    return *s == '\0' && digits > 0 && after <= scale && before <= precision - scale;
}

static bool date_valid(const char *s)
{
    int y, m, d;
    char tail;
    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
        return false;
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return y >= 1000 && m >= 1 && m <= 12 && d >= 1 && d <= days[m - 1];
}

/* The checks of integers, decimals and dates read a NUL-terminated copy of the value. */
static int check_value_str(fx_csv_t *c, const fx_column_t *col, const char *v, size_t len,
                           envmgr_error_t *err);

static int check_value(fx_csv_t *c, const fx_column_t *col, const char *v, size_t len,
                       envmgr_error_t *err)
{
    if (col->type == FX_COL_ANY || col->type == FX_COL_VARCHAR || col->type == FX_COL_TEXT)
        return check_value_str(c, col, v, len, err);
    char small[64];
    char *copy = len < sizeof(small) ? small : xmalloc(len + 1);
    memcpy(copy, v, len);
    copy[len] = '\0';
    int r = check_value_str(c, col, copy, len, err);
    if (copy != small)
        free(copy);
    return r;
}

static int check_value_str(fx_csv_t *c, const fx_column_t *col, const char *v, size_t len,
                           envmgr_error_t *err)
{
    char ex[64];
    int64_t x;
    switch (col->type) {
    case FX_COL_ANY:
        return 0;
    case FX_COL_INT:
        if (!parse_int(v, &x) || x < col->min || x > col->max) {
            excerpt(v, len, ex);
            return csv_fail(c, err,
                            "column `%s`: value `%s` does not fit its type (an integer in %" PRId64
                            "..%" PRId64 ")",
                            col->name, ex, col->min, col->max);
        }
        return 0;
    case FX_COL_DECIMAL:
        if (!decimal_fits(v, col->precision, col->scale)) {
            excerpt(v, len, ex);
            return csv_fail(c, err, "column `%s`: value `%s` does not fit decimal(%d,%d)",
                            col->name, ex, col->precision, col->scale);
        }
        return 0;
    case FX_COL_VARCHAR:
        if ((int64_t)utf8_chars((const unsigned char *)v, len) > col->length) {
            excerpt(v, len, ex);
            return csv_fail(c, err,
                            "column `%s`: value `%s` is longer than the %" PRId64
                            " characters the column allows",
                            col->name, ex, col->length);
        }
        return 0;
    case FX_COL_TEXT:
        if ((int64_t)len > col->length) {
            excerpt(v, len, ex);
            return csv_fail(c, err, "column `%s`: value `%s` is longer than the column allows",
                            col->name, ex);
        }
        return 0;
    case FX_COL_DATE:
        if (!date_valid(v)) {
            excerpt(v, len, ex);
            return csv_fail(c, err, "column `%s`: value `%s` is not a date (YYYY-MM-DD)", col->name,
                            ex);
        }
        return 0;
    }
    return 0;
}

static const fx_column_t *column_for(const fx_csv_t *c, size_t index)
{
    if (c->table->n_columns == 0)
        return NULL;
    if (c->table->header)
        return c->col_map && c->col_map[index] != SIZE_MAX ? &c->table->columns[c->col_map[index]]
                                                           : NULL;
    return index < c->table->n_columns ? &c->table->columns[index] : NULL;
}

static int header_field(fx_csv_t *c, envmgr_error_t *err)
{
    const char *name = c->field.data ? c->field.data : "";
    if (c->field_index == 0 && c->field.len >= 3 && memcmp(name, "\xEF\xBB\xBF", 3) == 0)
        name += 3; /* UTF-8 byte order mark */
    if (*name == '\0' || strchr(name, '`') || strlen(name) > 64)
        return csv_fail(c, err, "header column `%s` must be a non-empty name without backquotes",
                        name);
    for (size_t i = 0; i < c->header_names.n; i++)
        if (strcmp(c->header_names.items[i], name) == 0)
            return csv_fail(c, err, "header names column `%s` twice", name);
    envmgr_strv_push(&c->header_names, name);
    return 0;
}

static int end_field(fx_csv_t *c, envmgr_buf_t *out, envmgr_error_t *err)
{
    const char *v = c->field.data ? c->field.data : "";
    size_t len = c->field.len;
    if (!fx_utf8_valid((const unsigned char *)v, len)) {
        return csv_fail(c, err, "column %zu: invalid UTF-8", c->field_index + 1);
    }
    if (c->n_fields_expected && c->field_index >= c->n_fields_expected) {
        return csv_fail(c, err, "row has more than %zu columns, expected %zu", c->n_fields_expected,
                        c->n_fields_expected);
    }
    if (!c->header_done) {
        int r = header_field(c, err);
        c->field_index++;
        envmgr_buf_reset(&c->field);
        return r;
    }
    bool is_null = !c->quoted && (strcmp(v, c->table->null_token) == 0 ||
                                  (len == 0 && c->table->empty == FX_EMPTY_NULL));
    const fx_column_t *col = column_for(c, c->field_index);
    if (col && is_null && col->not_null)
        return csv_fail(c, err, "column `%s` is declared not null but the value is NULL",
                        col->name);
    if (col && !is_null && check_value(c, col, v, len, err) < 0)
        return -1;
    if (c->field_index > 0)
        envmgr_buf_add(out, "\t", 1);
    if (is_null) {
        envmgr_buf_add(out, "\\N", 2);
    } else {
        size_t start = 0;
        for (size_t i = 0; i < len; i++) {
            const char *esc = NULL;
            switch (v[i]) {
            case '\t':
                esc = "\\t";
                break;
            case '\n':
                esc = "\\n";
                break;
            case '\r':
                esc = "\\r";
                break;
            case '\\':
                esc = "\\\\";
                break;
            case '\0':
                esc = "\\0";
                break;
            default:
                continue;
            }
            envmgr_buf_add(out, v + start, i - start);
            envmgr_buf_add(out, esc, 2);
            start = i + 1;
        }
        envmgr_buf_add(out, v + start, len - start);
    }
    c->field_index++;
    envmgr_buf_reset(&c->field);
    return 0;
}

static int map_header(fx_csv_t *c, envmgr_error_t *err)
{
    c->col_map = xcalloc(c->header_names.n, sizeof(*c->col_map));
    for (size_t i = 0; i < c->header_names.n; i++)
        c->col_map[i] = SIZE_MAX;
    for (size_t k = 0; k < c->table->n_columns; k++) {
        bool found = false;
        for (size_t i = 0; i < c->header_names.n && !found; i++) {
            if (strcmp(c->header_names.items[i], c->table->columns[k].name) == 0) {
                c->col_map[i] = k;
                found = true;
            }
        }
        if (!found)
            return csv_fail(c, err, "the manifest declares column `%s` but the header lacks it",
                            c->table->columns[k].name);
    }
    return 0;
}

static int end_row(fx_csv_t *c, envmgr_buf_t *out, envmgr_error_t *err)
{
    if (c->field_index == 0 && c->field.len == 0 && !c->quoted) {
        c->row_line = c->line; /* blank line: skipped */
        return 0;
    }
    size_t out_mark = out->len;
    if (end_field(c, out, err) < 0)
        return -1;
    if (!c->header_done) {
        c->header_done = true;
        c->n_fields_expected = c->header_names.n;
        if (map_header(c, err) < 0)
            return -1;
    } else {
        if (c->n_fields_expected == 0)
            c->n_fields_expected = c->field_index;
        if (c->field_index != c->n_fields_expected) {
            out->len = out_mark;
            return csv_fail(c, err, "row has %zu columns, expected %zu", c->field_index,
                            c->n_fields_expected);
        }
        envmgr_buf_add(out, "\n", 1);
        c->rows++;
    }
    c->field_index = 0;
    c->quoted = false;
    c->row_line = c->line;
    return 0;
}

static int add_field_bytes(fx_csv_t *c, const char *p, size_t n, envmgr_error_t *err)
{
    if (c->field.len + n > FX_CSV_MAX_FIELD) {
        return csv_fail(c, err, "a field is over %u MiB (unterminated quote?)",
                        FX_CSV_MAX_FIELD >> 20);
    }
    envmgr_buf_add(&c->field, p, n);
    return 0;
}

/* Length of the run of ordinary bytes (no delimiter, quote, CR, LF) at p. */
static size_t plain_run(const char *p, size_t n, char delim, bool stop_at_quote)
{
    size_t i = 0;
    while (i < n) {
        char ch = p[i];
        if (ch == delim || ch == '\n' || ch == '\r' || (stop_at_quote && ch == '"'))
            break;
        i++;
    }
    return i;
}

/* A data row that is one line in the common shape: fields plain or in quotes without a quote
 * inside, and nothing to escape (no backslash, CR or NUL, no TAB in a CSV). It is checked (UTF-8,
 * column count, declared types) and re-encoded in one pass. Returns 1 when the row was taken, 0
 * when the general path must read it (which then reports any error with its column), -1 on a value
 * that does not fit its column. */
static int plain_line(fx_csv_t *c, const char *p, size_t n, envmgr_buf_t *out, envmgr_error_t *err)
{
    const char delim = c->table->delimiter;
    const bool csv = delim == ',';
    if (n == 0 || memchr(p, '\\', n) || memchr(p, '\r', n) || memchr(p, '\0', n) ||
        (csv && memchr(p, '\t', n)) || !fx_utf8_valid((const unsigned char *)p, n))
        return 0;
    /* each byte gives at most itself; each field at most 2 more (an empty one read as \N) */
    char *const o_start = envmgr_buf_reserve(out, 3 * n + 3);
    char *o = o_start;
    const char *f = p, *end = p + n;
    size_t fields = 0;
    for (;;) {
        const char *v = f, *next;
        size_t vlen;
        bool quoted = false;
        if (csv && f < end && *f == '"') {
            const char *q = memchr(f + 1, '"', (size_t)(end - f - 1));
            if (q == NULL || (q + 1 < end && q[1] != delim))
                return 0; /* "" inside, or text after the closing quote */
            v = f + 1;
            vlen = (size_t)(q - v);
            next = q + 1;
            quoted = true;
        } else {
            const char *d = memchr(f, delim, (size_t)(end - f));
            next = d ? d : end;
            vlen = (size_t)(next - f);
        }
        if (fields >= c->n_fields_expected)
            return 0;
        bool is_null =
            !quoted && ((vlen == c->null_len && memcmp(v, c->table->null_token, vlen) == 0) ||
                        (vlen == 0 && c->table->empty == FX_EMPTY_NULL));
        const fx_column_t *col = c->table->n_columns ? column_for(c, fields) : NULL;
        if (col && is_null && col->not_null)
            return 0;
        if (col && !is_null && check_value(c, col, v, vlen, err) < 0)
            return -1;
        if (fields++ > 0)
            *o++ = '\t';
        if (is_null) {
            v = "\\N";
            vlen = 2;
        }
        memcpy(o, v, vlen);
        o += vlen;
        if (next == end)
            break;
        f = next + 1;
    }
    if (fields != c->n_fields_expected)
        return 0;
    *o++ = '\n';
    out->len += (size_t)(o - o_start);
    out->data[out->len] = '\0';
    c->rows++;
    c->line++;
    c->row_line = c->line;
    return 1;
}

int fx_csv_feed(fx_csv_t *c, const char *data, size_t len, envmgr_buf_t *out, envmgr_error_t *err)
{
    const char delim = c->table->delimiter;
    const bool csv = delim == ',';
    if (c->failed)
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s: reader already failed", c->where);
    size_t i = 0;
    while (i < len) {
        if (c->state == S_FIELD_START && c->field_index == 0 && c->header_done &&
            c->n_fields_expected) {
            const char *nl = memchr(data + i, '\n', len - i);
            if (nl) {
                int taken = plain_line(c, data + i, (size_t)(nl - (data + i)), out, err);
                if (taken < 0)
                    return -1;
                if (taken) {
                    i = (size_t)(nl - data) + 1;
                    continue;
                }
            }
        }
        char ch = data[i];
        switch (c->state) {
        case S_AFTER_CR:
            c->state = S_FIELD_START;
            if (ch == '\n') {
                i++;
                continue;
            }
            continue;
        case S_FIELD_START:
            if (csv && ch == '"') {
                c->quoted = true;
                c->state = S_QUOTED;
                i++;
                continue;
            }
            c->state = S_UNQUOTED;
            continue;
        case S_UNQUOTED: {
            size_t run = plain_run(data + i, len - i, delim, false);
            if (run && add_field_bytes(c, data + i, run, err) < 0)
                return -1;
            i += run;
            if (i == len)
                break;
            ch = data[i++];
            if (ch == delim) {
                if (end_field(c, out, err) < 0)
                    return -1;
                c->quoted = false;
                c->state = S_FIELD_START;
            } else {
                c->line++; /* CR or LF; the LF of a CRLF is skipped in S_AFTER_CR */
                if (end_row(c, out, err) < 0)
                    return -1;
                c->state = ch == '\r' ? S_AFTER_CR : S_FIELD_START;
            }
            continue;
        }
        case S_QUOTED: {
            const char *q = memchr(data + i, '"', len - i);
            size_t run = q ? (size_t)(q - (data + i)) : len - i;
            for (size_t k = 0; k < run; k++)
                c->line += data[i + k] == '\n';
            if (run && add_field_bytes(c, data + i, run, err) < 0)
                return -1;
            i += run;
            if (q) {
                c->state = S_QUOTE_SEEN;
                i++;
            }
            continue;
        }
        case S_QUOTE_SEEN:
            if (ch == '"') {
                if (add_field_bytes(c, "\"", 1, err) < 0)
                    return -1;
                c->state = S_QUOTED;
                i++;
            } else if (ch == delim || ch == '\n' || ch == '\r') {
                c->state = S_UNQUOTED; /* the UNQUOTED case ends the field or row */
            } else {
                char bad[8];
                snprintf(bad, sizeof(bad), "%c", isprint((unsigned char)ch) ? ch : '?');
                return csv_fail(c, err, "unexpected `%s` after a closing quote", bad);
            }
            continue;
        }
    }
    return 0;
}

int fx_csv_finish(fx_csv_t *c, envmgr_buf_t *out, envmgr_error_t *err)
{
    if (c->failed)
        return -1;
    if (c->state == S_QUOTED)
        return csv_fail(c, err, "the file ends inside a quoted field");
    if (c->state == S_AFTER_CR || (c->state == S_FIELD_START && c->field_index == 0))
        return c->header_done ? 0 : csv_fail(c, err, "the file has no header row");
    if (end_row(c, out, err) < 0)
        return -1;
    if (!c->header_done)
        return csv_fail(c, err, "the file has no header row");
    return 0;
}

char *fx_csv_column_list(const fx_csv_t *c)
{
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    if (c->header_names.n == 0)
        return envmgr_buf_detach(&b);
    envmgr_buf_add(&b, "(", 1);
    for (size_t i = 0; i < c->header_names.n; i++)
        envmgr_buf_addf(&b, "%s`%s`", i ? "," : "", c->header_names.items[i]);
    envmgr_buf_add(&b, ")", 1);
    return envmgr_buf_detach(&b);
}
