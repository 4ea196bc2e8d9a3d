/* Streaming TAP parser: see tap.h for the contract (bounded memory, subtests, verdict). */
#include <envmgr/tap.h>

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include <envmgr/util.h>

struct envmgr_tap_parser {
    int64_t (*clock_ms)(void);
    int depth;
    char *line; /* ENVMGR_TAP_MAX_LINE + 1 bytes, allocated on first use */
    size_t line_len;
    bool line_truncated;
    bool seen_line;     /* a line was processed (for "TAP version" position) */
    bool last_was_test; /* the previous significant line was a test point (YAML may follow) */
    bool in_yaml;
    envmgr_buf_t yaml;
    bool yaml_truncated;
    long yaml_target; /* index in result->tests the YAML block belongs to, or -1 */
    int last_number;
    int64_t last_test_ms;
    envmgr_tap_parser_t *child; /* indented subtest lines */
    bool finished;
    envmgr_tap_result_t *result;
};

const char *envmgr_tap_status_name(enum envmgr_tap_status status)
{
    switch (status) {
    case ENVMGR_TAP_PASSED:
        return "passed";
    case ENVMGR_TAP_FAILED:
        return "failed";
    case ENVMGR_TAP_SKIPPED:
        return "skipped";
    case ENVMGR_TAP_TODO:
        return "todo";
    }
    return "unknown";
}

static envmgr_tap_result_t *result_new(void)
{
    envmgr_tap_result_t *r = envmgr_xcalloc(1, sizeof(*r));
    r->version = 12;
    r->ok = true;
    return r;
}

void envmgr_tap_test_clear(envmgr_tap_test_t *t)
{
    free(t->description);
    free(t->reason);
    free(t->message);
    free(t->severity);
    free(t->file);
    memset(t, 0, sizeof(*t));
}

void envmgr_tap_result_free(envmgr_tap_result_t *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_tests; i++)
        envmgr_tap_test_clear(&r->tests[i]);
    free(r->tests);
    free(r->skip_all_reason);
    free(r->bail_reason);
    free(r->first_garbage);
    free(r->verdict);
    free(r);
}

static int64_t default_clock(void)
{
    return envmgr_now_ms();
}

static envmgr_tap_parser_t *parser_new_at(int64_t (*clock_ms)(void), int depth)
{
    envmgr_tap_parser_t *p = envmgr_xcalloc(1, sizeof(*p));
    p->clock_ms = clock_ms ? clock_ms : default_clock;
    p->depth = depth;
    p->yaml_target = -1;
    p->last_test_ms = p->clock_ms();
    p->result = result_new();
    return p;
}

envmgr_tap_parser_t *envmgr_tap_parser_new(int64_t (*clock_ms)(void))
{
    return parser_new_at(clock_ms, 0);
}

void envmgr_tap_parser_free(envmgr_tap_parser_t *p)
{
    if (p == NULL)
        return;
    envmgr_tap_parser_free(p->child);
    free(p->line);
    envmgr_buf_free(&p->yaml);
    envmgr_tap_result_free(p->result);
    free(p);
}

const envmgr_tap_result_t *envmgr_tap_parser_result(const envmgr_tap_parser_t *p)
{
    return p->result;
}

envmgr_tap_test_t *envmgr_tap_parser_tests(envmgr_tap_parser_t *p, size_t *n)
{
    *n = p->result->n_tests;
    return p->result->tests;
}

envmgr_tap_result_t *envmgr_tap_parser_take_result(envmgr_tap_parser_t *p)
{
    envmgr_tap_result_t *r = p->result;
    p->result = result_new();
    return r;
}

/* ---- small string helpers ------------------------------------------------------------------ */

static bool starts_with(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(s, prefix, n) == 0;
}

static bool starts_with_ci(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && strncasecmp(s, prefix, n) == 0;
}

static char *trimmed_dup(const char *s, size_t len)
{
    while (len > 0 && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    return envmgr_xstrndup(s, len);
}

static size_t leading_spaces(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && s[i] == ' ')
        i++;
    return i;
}

/* ---- YAML diagnostics ---------------------------------------------------------------------- */

static const char *scalar_of(yaml_document_t *doc, int index)
{
    yaml_node_t *node = yaml_document_get_node(doc, index);
    if (node == NULL || node->type != YAML_SCALAR_NODE)
        return NULL;
    return (const char *)node->data.scalar.value;
}

static void set_string(char **field, const char *value)
{
    if (value == NULL)
        return;
    free(*field);
    *field = envmgr_xstrdup(value);
}

static int parse_int(const char *s)
{
    if (s == NULL)
        return 0;
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (end == s || v < 0 || v > INT_MAX)
        return 0;
    return (int)v;
}

static void apply_yaml_pair(yaml_document_t *doc, yaml_node_pair_t *pair, envmgr_tap_test_t *t,
                            bool nested)
{
    const char *key = scalar_of(doc, pair->key);
    if (key == NULL)
        return;
    const char *value = scalar_of(doc, pair->value);
    if (strcmp(key, "file") == 0) {
        set_string(&t->file, value);
    } else if (strcmp(key, "line") == 0) {
        t->line = parse_int(value);
    } else if (nested) {
        return;
    } else if (strcmp(key, "message") == 0) {
        set_string(&t->message, value);
    } else if (strcmp(key, "severity") == 0) {
        set_string(&t->severity, value);
    } else if (strcmp(key, "duration_ms") == 0 && value != NULL) {
        t->duration_ms = (int64_t)strtod(value, NULL);
    } else if (strcmp(key, "at") == 0) {
        yaml_node_t *at = yaml_document_get_node(doc, pair->value);
        if (at == NULL || at->type != YAML_MAPPING_NODE)
            return;
        for (yaml_node_pair_t *p = at->data.mapping.pairs.start; p < at->data.mapping.pairs.top;
             p++)
            apply_yaml_pair(doc, p, t, true);
    }
}

static void parse_yaml_block(envmgr_tap_parser_t *p)
{
    p->in_yaml = false;
    if (p->yaml_target < 0 || p->yaml.len == 0) {
        envmgr_buf_reset(&p->yaml);
        return;
    }
    envmgr_tap_test_t *t = &p->result->tests[p->yaml_target];
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        goto out;
    yaml_parser_set_input_string(&parser, (const unsigned char *)p->yaml.data, p->yaml.len);
    if (yaml_parser_load(&parser, &doc)) {
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (root != NULL && root->type == YAML_MAPPING_NODE) {
            for (yaml_node_pair_t *pair = root->data.mapping.pairs.start;
                 pair < root->data.mapping.pairs.top; pair++)
                apply_yaml_pair(&doc, pair, t, false);
        }
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
out:
    envmgr_buf_reset(&p->yaml);
}

static void yaml_add_line(envmgr_tap_parser_t *p, const char *s, size_t len)
{
    if (p->yaml_target < 0 || p->yaml_truncated)
        return;
    if (p->yaml.len + len + 1 > ENVMGR_TAP_MAX_YAML) {
        p->yaml_truncated = true;
        return;
    }
    envmgr_buf_add(&p->yaml, s, len);
    envmgr_buf_add(&p->yaml, "\n", 1);
}

/* ---- test points --------------------------------------------------------------------------- */

static char *unescape_description(const char *s, size_t len)
{
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len && (s[i + 1] == '#' || s[i + 1] == '\\'))
            i++;
        envmgr_buf_add(&b, &s[i], 1);
    }
    char *raw = envmgr_buf_detach(&b);
    char *out = trimmed_dup(raw, strlen(raw));
    free(raw);
    return out;
}

/* Splits "desc # SKIP reason" into description, directive status and reason. */
static void parse_description(const char *s, size_t len, envmgr_tap_test_t *t)
{
    size_t hash = len;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len) {
            i++;
        } else if (s[i] == '#') {
            hash = i;
            break;
        }
    }
    if (hash > 0 && hash < len && s[hash - 1] != ' ' && s[hash - 1] != '\t')
        hash = len; /* TAP 14: the directive's '#' is preceded by whitespace */
    t->description = unescape_description(s, hash);
    if (hash == len)
        return;
    const char *d = s + hash + 1;
    size_t dlen = len - hash - 1;
    size_t sp = 0;
    while (sp < dlen && isspace((unsigned char)d[sp]))
        sp++;
    d += sp;
    dlen -= sp;
    if (starts_with_ci(d, dlen, "skip")) {
        t->status = ENVMGR_TAP_SKIPPED;
    } else if (starts_with_ci(d, dlen, "todo")) {
        t->status = ENVMGR_TAP_TODO;
    } else {
        return;
    }
    size_t word = 4;
    while (word < dlen && !isspace((unsigned char)d[word]))
        word++; /* "SKIPPED:" and the like */
    char *reason = trimmed_dup(d + word, dlen - word);
    if (reason[0] == '\0')
        free(reason);
    else
        t->reason = reason;
}

static void adopt_subtest_failure(envmgr_tap_parser_t *p, envmgr_tap_test_t *t)
{
    envmgr_tap_parser_t *child = envmgr_steal_pointer(&p->child);
    envmgr_tap_parser_finish(child);
    const envmgr_tap_result_t *cr = child->result;
    if (t->status == ENVMGR_TAP_FAILED) {
        const envmgr_tap_test_t *first = NULL;
        for (size_t i = 0; i < cr->n_tests && first == NULL; i++)
            if (cr->tests[i].status == ENVMGR_TAP_FAILED)
                first = &cr->tests[i];
        if (first != NULL) {
            t->message =
                envmgr_xasprintf("subtest '%s': %s%s%s", first->description,
                                 first->message ? first->message : "failed",
                                 first->file ? " at " : "", first->file ? first->file : "");
            if (first->file && !t->file) {
                t->file = envmgr_xstrdup(first->file);
                t->line = first->line;
            }
        } else if (cr->verdict != NULL) {
            t->message = envmgr_xasprintf("subtests: %s", cr->verdict);
        }
    }
    envmgr_tap_parser_free(child);
}

static void record_test(envmgr_tap_parser_t *p, envmgr_tap_test_t *t)
{
    envmgr_tap_result_t *r = p->result;
    bool keep = r->n_tests < ENVMGR_TAP_MAX_RECORDED ||
                (t->status != ENVMGR_TAP_PASSED && r->n_tests < 2 * ENVMGR_TAP_MAX_RECORDED);
    if (!keep) {
        r->tests_not_recorded++;
        p->yaml_target = -1;
        envmgr_tap_test_clear(t);
        return;
    }
    r->tests = envmgr_xgrow(r->tests, r->n_tests, &r->cap_tests, sizeof(*r->tests));
    r->tests[r->n_tests] = *t;
    p->yaml_target = (long)r->n_tests;
    r->n_tests++;
}

static void process_test_line(envmgr_tap_parser_t *p, const char *s, size_t len, bool ok)
{
    envmgr_tap_result_t *r = p->result;
    envmgr_tap_test_t t = {0};
    size_t i = ok ? 2 : 6;
    while (i < len && isspace((unsigned char)s[i]))
        i++;
    int number = 0;
    bool has_number = false;
    while (i < len && isdigit((unsigned char)s[i])) {
        has_number = true;
        number = number > (INT_MAX - 9) / 10 ? INT_MAX : number * 10 + (s[i] - '0');
        i++;
    }
    while (i < len && isspace((unsigned char)s[i]))
        i++;
    if (i < len && s[i] == '-' && (i + 1 == len || isspace((unsigned char)s[i + 1])))
        i++;
    t.status = ok ? ENVMGR_TAP_PASSED : ENVMGR_TAP_FAILED;
    parse_description(s + i, len - i, &t);

    r->ran++;
    /* the implied number saturates: "ok 2147483647" then "ok" (found by fuzz_tap) */
    int next = p->last_number < INT_MAX ? p->last_number + 1 : INT_MAX;
    t.number = has_number ? number : next;
    if (t.number != next || (r->has_plan && r->plan_at_end))
        r->out_of_order++;
    p->last_number = t.number;
    switch (t.status) {
    case ENVMGR_TAP_PASSED:
        r->passed++;
        break;
    case ENVMGR_TAP_FAILED:
        r->failed++;
        break;
    case ENVMGR_TAP_SKIPPED:
        r->skipped++;
        break;
    case ENVMGR_TAP_TODO:
        r->todo++;
        break;
    }
    int64_t now = p->clock_ms();
    t.duration_ms = now - p->last_test_ms;
    p->last_test_ms = now;
    if (p->child != NULL)
        adopt_subtest_failure(p, &t);
    record_test(p, &t);
    p->last_was_test = true;
}

static void process_plan(envmgr_tap_parser_t *p, const char *s, size_t len)
{
    envmgr_tap_result_t *r = p->result;
    if (r->has_plan) {
        r->garbage_lines++; /* a second plan */
        return;
    }
    long planned = strtol(s + 3, NULL, 10);
    r->has_plan = true;
    r->planned = planned > INT_MAX ? INT_MAX : (int)planned;
    r->plan_at_end = r->ran > 0;
    const char *hash = memchr(s, '#', len);
    if (r->planned == 0) {
        r->skip_all = true;
        if (hash != NULL) {
            size_t rest = len - (size_t)(hash - s) - 1;
            char *directive = trimmed_dup(hash + 1, rest);
            size_t skip = starts_with_ci(directive, strlen(directive), "skip") ? 4 : 0;
            r->skip_all_reason = trimmed_dup(directive + skip, strlen(directive) - skip);
            free(directive);
        }
    }
}

static bool is_plan(const char *s, size_t len)
{
    if (!starts_with(s, len, "1..") || len < 4 || !isdigit((unsigned char)s[3]))
        return false;
    size_t i = 3;
    while (i < len && isdigit((unsigned char)s[i]))
        i++;
    while (i < len && isspace((unsigned char)s[i]))
        i++;
    return i == len || s[i] == '#';
}

static bool is_word(const char *s, size_t len, const char *word)
{
    size_t n = strlen(word);
    return starts_with(s, len, word) && (len == n || isspace((unsigned char)s[n]));
}

static void note_garbage(envmgr_tap_result_t *r, const char *s, size_t len)
{
    r->garbage_lines++;
    if (r->first_garbage == NULL)
        r->first_garbage = envmgr_xstrndup(s, len > 200 ? 200 : len);
}

static void process_line(envmgr_tap_parser_t *p, const char *s, size_t len)
{
    envmgr_tap_result_t *r = p->result;
    if (len > 0 && s[len - 1] == '\r')
        len--;
    bool first = !p->seen_line;
    p->seen_line = true;
    size_t indent = leading_spaces(s, len);

    if (p->in_yaml) {
        if (indent >= 2 && len - indent == 3 && memcmp(s + indent, "...", 3) == 0) {
            parse_yaml_block(p);
            p->last_was_test = false;
            return;
        }
        if (indent >= 2 || indent == len) {
            yaml_add_line(p, s + (indent >= 2 ? 2 : indent), len - (indent >= 2 ? 2 : indent));
            return;
        }
        parse_yaml_block(p); /* unterminated block: keep what we have, read the line normally */
    }
    if (p->last_was_test && indent == 2 && len >= 5 && memcmp(s + 2, "---", 3) == 0) {
        p->in_yaml = true;
        p->yaml_truncated = false;
        envmgr_buf_reset(&p->yaml);
        return;
    }
    if (indent >= 4 && indent < len) {
        if (p->depth + 1 >= ENVMGR_TAP_MAX_DEPTH)
            return;
        if (p->child == NULL)
            p->child = parser_new_at(p->clock_ms, p->depth + 1);
        process_line(p->child, s + 4, len - 4);
        return;
    }
    p->last_was_test = false;
    s += indent;
    len -= indent;
    if (len == 0)
        return;
    if (starts_with(s, len, "TAP version ")) {
        int version = parse_int(s + 12);
        if (first && (version == 13 || version == 14))
            r->version = version;
        else
            note_garbage(r, s, len);
    } else if (is_plan(s, len)) {
        process_plan(p, s, len);
    } else if (is_word(s, len, "ok")) {
        process_test_line(p, s, len, true);
    } else if (len >= 6 && is_word(s, len, "not") && is_word(s + 4, len - 4, "ok")) {
        process_test_line(p, s, len, false);
    } else if (starts_with_ci(s, len, "bail out!")) {
        if (!r->bailed_out) {
            r->bailed_out = true;
            r->bail_reason = trimmed_dup(s + 9, len - 9);
        }
    } else if (s[0] == '#' || starts_with(s, len, "pragma ")) {
        /* comments (including "# Subtest: name") and pragmas carry no result */
    } else {
        note_garbage(r, s, len);
    }
}

void envmgr_tap_parser_feed(envmgr_tap_parser_t *p, const void *data, size_t len)
{
    const char *s = data;
    p->result->bytes += (int64_t)len;
    while (len > 0) {
        const char *nl = memchr(s, '\n', len);
        size_t chunk = nl ? (size_t)(nl - s) : len;
        if (!p->line_truncated) {
            size_t room = ENVMGR_TAP_MAX_LINE - p->line_len;
            size_t take = chunk < room ? chunk : room;
            if (p->line == NULL)
                p->line = envmgr_xmalloc(ENVMGR_TAP_MAX_LINE + 1);
            memcpy(p->line + p->line_len, s, take);
            p->line_len += take;
            if (take < chunk) {
                p->line_truncated = true;
                p->result->truncated_lines++;
            }
        }
        if (nl == NULL)
            return;
        if (p->line != NULL)
            p->line[p->line_len] = '\0'; /* strtol and friends stop at the line's end */
        process_line(p, p->line ? p->line : "", p->line_len);
        p->line_len = 0;
        p->line_truncated = false;
        s = nl + 1;
        len -= chunk + 1;
    }
}

static void compute_verdict(envmgr_tap_result_t *r)
{
    envmgr_buf_t why = ENVMGR_BUF_INIT;
    if (r->bailed_out) {
        envmgr_buf_addf(&why, "bailed out%s%s", r->bail_reason && *r->bail_reason ? ": " : "",
                        r->bail_reason ? r->bail_reason : "");
    } else if (!r->has_plan) {
        if (r->bytes == 0)
            envmgr_buf_adds(&why, "no plan (no output)");
        else
            envmgr_buf_addf(&why, "no plan (ran %d test%s)", r->ran, r->ran == 1 ? "" : "s");
    } else if (r->planned != r->ran) {
        envmgr_buf_addf(&why, "planned %d, ran %d", r->planned, r->ran);
    }
    if (r->failed > 0)
        envmgr_buf_addf(&why, "%s%d of %d tests failed", why.len ? "; " : "", r->failed, r->ran);
    r->ok = why.len == 0;
    free(r->verdict);
    r->verdict = why.len ? envmgr_buf_detach(&why) : NULL;
    envmgr_buf_free(&why);
}

void envmgr_tap_parser_finish(envmgr_tap_parser_t *p)
{
    if (p->finished)
        return;
    p->finished = true;
    if (p->line_len > 0 || p->line_truncated) {
        p->line[p->line_len] = '\0';
        process_line(p, p->line, p->line_len);
        p->line_len = 0;
    }
    if (p->in_yaml)
        parse_yaml_block(p);
    if (p->child != NULL) {
        envmgr_tap_parser_free(p->child); /* subtest lines with no parent test line */
        p->child = NULL;
    }
    compute_verdict(p->result);
}
