/* Interpolation as the Compose specification defines it, dotenv files, and shell-style word
 * splitting for string commands. */
#include "compose_internal.h"
#include <envmgr/log.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define INTERPOLATE_MAX_DEPTH 32

typedef struct interp {
    envmgr_lookup_cb lookup;
    void *userdata;
    const char *where; /* prefix for warnings, or NULL */
    envmgr_error_t *err;
} interp_t;

static bool is_name_start(char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

static int interp_run(interp_t *st, const char *s, size_t len, envmgr_buf_t *out, int depth);

static void warn_unset(interp_t *st, const char *name)
{
    if (st->where)
        envmgr_warn("%s: variable %s is not set, defaulting to blank", st->where, name);
    else
        envmgr_warn("variable %s is not set, defaulting to blank", name);
}

/* Index of the '}' closing the "${" whose content starts at s[0], or -1. */
static long closing_brace(const char *s, size_t len)
{
    int depth = 1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '{')
            depth++;
        else if (s[i] == '}' && --depth == 0)
            return (long)i;
    }
    return -1;
}

static int invalid_format(interp_t *st, const char *s, size_t len)
{
    return envmgr_error_set(
        st->err, ENVMGR_E_CONFIG, 0,
        "invalid interpolation format '${%.*s}': expected ${NAME}, "
        "${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, "
        "${NAME:+alternative} or ${NAME+alternative} (write $$ for a literal $)",
        (int)(len > 200 ? 200 : len), s);
}

/* content: what is between "${" and its "}". */
static int interp_braced(interp_t *st, const char *content, size_t len, envmgr_buf_t *out,
                         int depth)
{
    size_t n = 0;
    if (len == 0 || !is_name_start(content[0]))
        return invalid_format(st, content, len);
    while (n < len && is_name_char(content[n]))
        n++;
    envmgr_cleanup_free char *name = envmgr_xstrndup(content, n);
    const char *value = st->lookup(st->userdata, name);
    const char *op = content + n, *arg;
    size_t op_len = 0;
    bool colon = false;
    if (n == len) {
        if (!value)
            warn_unset(st, name);
        envmgr_buf_adds(out, value ? value : "");
        return 0;
    }
    if (*op == ':')
        colon = true, op_len = 1;
    char kind = op[op_len];
    if (n + op_len >= len || (kind != '-' && kind != '?' && kind != '+'))
        return invalid_format(st, content, len);
    op_len++;
    arg = op + op_len;
    size_t arg_len = len - n - op_len;
    bool unset = !value || (colon && !*value); /* ":" also treats empty as unset */
    switch (kind) {
    case '-':
        if (unset)
            return interp_run(st, arg, arg_len, out, depth + 1);
        envmgr_buf_adds(out, value);
        return 0;
    case '+':
        if (!unset)
            return interp_run(st, arg, arg_len, out, depth + 1);
        return 0;
    default: { /* '?' */
        if (!unset) {
            envmgr_buf_adds(out, value);
            return 0;
        }
        envmgr_buf_t msg = ENVMGR_BUF_INIT;
        if (interp_run(st, arg, arg_len, &msg, depth + 1) < 0) {
            envmgr_buf_free(&msg);
            return -1;
        }
        if (msg.len)
            envmgr_error_set(st->err, ENVMGR_E_CONFIG, 0,
                             "required variable %s is missing a value: %s", name, msg.data);
        else
            envmgr_error_set(st->err, ENVMGR_E_CONFIG, 0, "required variable %s is missing a value",
                             name);
        envmgr_buf_free(&msg);
        return -1;
    }
    }
}

static int interp_run(interp_t *st, const char *s, size_t len, envmgr_buf_t *out, int depth)
{
    if (depth > INTERPOLATE_MAX_DEPTH)
        return envmgr_error_set(st->err, ENVMGR_E_CONFIG, 0,
                                "interpolation nested more than %d levels", INTERPOLATE_MAX_DEPTH);
    envmgr_buf_add(out, "", 0); /* "" rather than NULL when nothing is added */
    size_t i = 0;
    while (i < len) {
        const char *dollar = memchr(s + i, '$', len - i);
        if (!dollar) {
            envmgr_buf_add(out, s + i, len - i);
            break;
        }
        size_t d = (size_t)(dollar - s);
        envmgr_buf_add(out, s + i, d - i);
        if (d + 1 < len && s[d + 1] == '$') {
            envmgr_buf_add(out, "$", 1);
            i = d + 2;
        } else if (d + 1 < len && is_name_start(s[d + 1])) {
            size_t e = d + 1;
            while (e < len && is_name_char(s[e]))
                e++;
            envmgr_cleanup_free char *name = envmgr_xstrndup(s + d + 1, e - d - 1);
            const char *value = st->lookup(st->userdata, name);
            if (!value)
                warn_unset(st, name);
            envmgr_buf_adds(out, value ? value : "");
            i = e;
        } else if (d + 1 < len && s[d + 1] == '{') {
            long close = closing_brace(s + d + 2, len - d - 2);
            if (close < 0)
                return envmgr_error_set(st->err, ENVMGR_E_CONFIG, 0,
                                        "invalid interpolation format '%.*s': missing '}'",
                                        (int)(len - d > 200 ? 200 : len - d), s + d);
            if (interp_braced(st, s + d + 2, (size_t)close, out, depth) < 0)
                return -1;
            i = d + 2 + (size_t)close + 1;
        } else {
            envmgr_buf_add(out, "$", 1); /* a lone '$' stays */
            i = d + 1;
        }
    }
    return 0;
}

int compose_interpolate_at(const char *in, envmgr_lookup_cb lookup, void *userdata,
                           const char *where, char **out, envmgr_error_t *err)
{
    interp_t st = {lookup, userdata, where, err};
    envmgr_buf_t buf = ENVMGR_BUF_INIT;
    if (interp_run(&st, in, strlen(in), &buf, 0) < 0) {
        envmgr_buf_free(&buf);
        return -1;
    }
    *out = envmgr_buf_detach(&buf);
    return 0;
}

int envmgr_compose_interpolate(const char *in, envmgr_lookup_cb lookup, void *userdata, char **out,
                               envmgr_error_t *err)
{
    return compose_interpolate_at(in, lookup, userdata, NULL, out, err);
}

/* ---- dotenv ------------------------------------------------------------------------------------
 */

static const char *skip_blank(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Reads a double-quoted value starting after the quote; handles \n \t \\ \" \$ and newlines. */
static const char *dotenv_double(const char *p, envmgr_buf_t *v, int *line)
{
    envmgr_buf_add(v, "", 0);
    for (; *p && *p != '"'; p++) {
        if (*p == '\n')
            (*line)++;
        if (*p == '\\' && p[1]) {
            p++;
            char c = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p == 'r' ? '\r' : *p;
            if (c == *p && *p != '\\' && *p != '"' && *p != '$')
                envmgr_buf_add(v, "\\", 1); /* unknown escape: keep it */
            envmgr_buf_add(v, &c, 1);
            continue;
        }
        envmgr_buf_add(v, p, 1);
    }
    return *p == '"' ? p + 1 : NULL;
}

static const char *dotenv_single(const char *p, envmgr_buf_t *v, int *line)
{
    const char *end = strchr(p, '\'');
    if (!end)
        return NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '\n')
            (*line)++;
    envmgr_buf_add(v, p, (size_t)(end - p));
    return end + 1;
}

/* Unquoted: to the end of the line, minus an inline " #comment" and trailing blanks. */
static const char *dotenv_plain(const char *p, envmgr_buf_t *v)
{
    const char *end = p + strcspn(p, "\n");
    const char *stop = end;
    for (const char *q = p; q < end; q++)
        if (*q == '#' && (q == p || q[-1] == ' ' || q[-1] == '\t')) {
            stop = q;
            break;
        }
    while (stop > p && (stop[-1] == ' ' || stop[-1] == '\t' || stop[-1] == '\r'))
        stop--;
    envmgr_buf_add(v, p, (size_t)(stop - p));
    return end;
}

typedef struct dotenv_lookup {
    const envmgr_kvlist_t *parsed; /* earlier lines win over the outer lookup */
    envmgr_lookup_cb lookup;
    void *userdata;
} dotenv_lookup_t;

static const char *dotenv_lookup(void *userdata, const char *name)
{
    dotenv_lookup_t *l = userdata;
    const envmgr_kv_t *kv = envmgr_kvlist_find(l->parsed, name);
    if (kv && kv->value)
        return kv->value;
    return l->lookup ? l->lookup(l->userdata, name) : getenv(name);
}

/* Unquoted and double-quoted values are interpolated as Compose does; single-quoted ones not. */
static int dotenv_set(const char *file, int line, const char *key, const char *value, bool expand,
                      envmgr_lookup_cb lookup, void *userdata, envmgr_kvlist_t *out,
                      envmgr_error_t *err)
{
    dotenv_lookup_t l = {out, lookup, userdata};
    envmgr_cleanup_free char *where = NULL, *expanded = NULL;
    if (!expand || !strchr(value, '$')) {
        envmgr_kvlist_set(out, key, value);
        return 0;
    }
    where = envmgr_xasprintf("%s:%d", file, line);
    if (compose_interpolate_at(value, dotenv_lookup, &l, where, &expanded, err) < 0)
        return envmgr_error_wrap(err, "%s:%d: %s", file, line, key);
    envmgr_kvlist_set(out, key, expanded);
    return 0;
}

static int dotenv_line(const char **pp, int *line, const char *file, envmgr_lookup_cb lookup,
                       void *userdata, envmgr_kvlist_t *out, envmgr_error_t *err)
{
    const char *p = skip_blank(*pp);
    int start_line = *line;
    if (strncmp(p, "export ", 7) == 0)
        p = skip_blank(p + 7);
    size_t klen = strcspn(p, "=\n");
    envmgr_cleanup_free char *key = envmgr_xstrndup(p, klen);
    size_t kl = strlen(key);
    while (kl > 0 && isspace((unsigned char)key[kl - 1]))
        key[--kl] = '\0';
    for (size_t i = 0; i < kl; i++)
        if (isspace((unsigned char)key[i]) || key[i] == '\'' || key[i] == '"')
            return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                    "%s:%d: invalid variable name '%s': expected NAME=VALUE", file,
                                    start_line, key);
    if (kl == 0)
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                "%s:%d: missing variable name: expected NAME=VALUE", file,
                                start_line);
    p += klen;
    if (*p != '=') { /* a name alone: take it from the environment */
        const char *value = lookup ? lookup(userdata, key) : getenv(key);
        if (value)
            envmgr_kvlist_set(out, key, value);
        *pp = p;
        return 0;
    }
    p = skip_blank(p + 1);
    envmgr_buf_t v = ENVMGR_BUF_INIT;
    const char *end;
    if (*p == '"')
        end = dotenv_double(p + 1, &v, line);
    else if (*p == '\'')
        end = dotenv_single(p + 1, &v, line);
    else
        end = dotenv_plain(p, &v);
    if (!end) {
        envmgr_buf_free(&v);
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                "%s:%d: %s: unterminated quoted value (missing closing %c)", file,
                                start_line, key, *p);
    }
    end = skip_blank(end);
    if (*end && *end != '\n' && *end != '#' && *end != '\r') {
        envmgr_buf_free(&v);
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                "%s:%d: %s: unexpected text after the closing quote", file,
                                start_line, key);
    }
    int ret = dotenv_set(file, start_line, key, v.data ? v.data : "", *p != '\'', lookup, userdata,
                         out, err);
    envmgr_buf_free(&v);
    *pp = end;
    return ret;
}

int compose_dotenv_parse(const char *data, const char *file, envmgr_lookup_cb lookup,
                         void *userdata, envmgr_kvlist_t *out, envmgr_error_t *err)
{
    const char *p = data;
    int line = 1;
    while (*p) {
        const char *q = skip_blank(p);
        if (*q == '\n' || *q == '\r' || *q == '#' || !*q) {
            p = q + strcspn(q, "\n");
        } else {
            p = q;
            if (dotenv_line(&p, &line, file, lookup, userdata, out, err) < 0)
                return -1;
            p += strcspn(p, "\n"); /* rest of the line (a comment) */
        }
        if (*p == '\n') {
            p++;
            line++;
        }
    }
    return 0;
}

/* ---- shell words -------------------------------------------------------------------------------
 */

int compose_shell_split(const char *s, envmgr_strv_t *out, envmgr_error_t *err)
{
    envmgr_buf_t word = ENVMGR_BUF_INIT;
    bool in_word = false;
    for (const char *p = s;; p++) {
        if (!*p || *p == ' ' || *p == '\t' || *p == '\n') {
            if (in_word) {
                envmgr_strv_push(out, word.data ? word.data : "");
                envmgr_buf_reset(&word);
                in_word = false;
            }
            if (!*p)
                break;
            continue;
        }
        in_word = true;
        envmgr_buf_add(&word, "", 0);
        if (*p == '\'') {
            const char *end = strchr(p + 1, '\'');
            if (!end)
                goto unterminated;
            envmgr_buf_add(&word, p + 1, (size_t)(end - p - 1));
            p = end;
        } else if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '$' || p[1] == '`'))
                    p++;
                envmgr_buf_add(&word, p, 1);
            }
            if (!*p)
                goto unterminated;
        } else if (*p == '\\' && p[1]) {
            p++;
            envmgr_buf_add(&word, p, 1);
        } else {
            envmgr_buf_add(&word, p, 1);
        }
    }
    envmgr_buf_free(&word);
    return 0;
unterminated:
    envmgr_buf_free(&word);
    return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "unterminated quote in '%s'", s);
}
