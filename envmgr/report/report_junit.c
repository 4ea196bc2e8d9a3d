/* junit.xml as GitHub Actions test reporters read it (testsuites/testsuite/testcase with failure,
 * error and skipped elements, time attributes, file and line from TAP YAML diagnostics). Written by
 * hand with one escaping function: the format is small and fixed. */
#include <string.h>

#include "report_json.h"
#include <envmgr/report.h>

static size_t utf8_char(const unsigned char *s, unsigned *cp)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2, min = 0x80, *cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, min = 0x800, *cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, min = 0x10000, *cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0; /* also stops at the NUL terminator */
        *cp = (*cp << 6) | (s[i] & 0x3F);
    }
    if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF))
        return 0;
    return n;
}

static bool xml_char_allowed(unsigned cp)
{
    return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
           (cp >= 0xE000 && cp <= 0xFFFD) || cp >= 0x10000;
}

void envmgr_xml_escape(envmgr_buf_t *out, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    while (*s) {
        unsigned cp;
        size_t n = utf8_char(s, &cp);
        if (n == 0 || !xml_char_allowed(cp)) {
            envmgr_buf_adds(out, "\xEF\xBF\xBD");
            s += n ? n : 1;
            continue;
        }
        switch (cp) {
        case '&':
            envmgr_buf_adds(out, "&amp;");
            break;
        case '<':
            envmgr_buf_adds(out, "&lt;");
            break;
        case '>':
            envmgr_buf_adds(out, "&gt;");
            break;
        case '"':
            envmgr_buf_adds(out, "&quot;");
            break;
        case '\'':
            envmgr_buf_adds(out, "&apos;");
            break;
        case '\n':
            envmgr_buf_adds(out, "&#10;");
            break;
        case '\r':
            envmgr_buf_adds(out, "&#13;");
            break;
        case '\t':
            envmgr_buf_adds(out, "&#9;");
            break;
        default:
            envmgr_buf_add(out, s, n);
        }
        s += n;
    }
}

char *envmgr_utf8_valid_dup(const char *str)
{
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    while (*s) {
        unsigned cp;
        size_t n = utf8_char(s, &cp);
        if (n == 0)
            envmgr_buf_adds(&b, "\xEF\xBF\xBD");
        else
            envmgr_buf_add(&b, s, n);
        s += n ? n : 1;
    }
    return envmgr_buf_detach(&b);
}

static void attr(envmgr_buf_t *b, const char *name, const char *value)
{
    envmgr_buf_addf(b, " %s=\"", name);
    envmgr_xml_escape(b, value);
    envmgr_buf_adds(b, "\"");
}

typedef struct tally {
    int tests, failures, errors, skipped;
} tally_t;

static void testcase_open(envmgr_buf_t *b, const char *suite, const char *name, double time,
                          const json_t *t)
{
    envmgr_buf_adds(b, "    <testcase");
    attr(b, "classname", suite);
    attr(b, "name", name);
    envmgr_buf_addf(b, " time=\"%.3f\"", time);
    if (t && str_at(t, "file")) {
        attr(b, "file", str_at(t, "file"));
        if (json_integer_value(json_object_get(t, "line")) > 0)
            envmgr_buf_addf(b, " line=\"%lld\"",
                            (long long)json_integer_value(json_object_get(t, "line")));
    }
}

static void problem(envmgr_buf_t *b, const char *element, const char *type, const char *message)
{
    envmgr_buf_addf(b, "      <%s", element);
    attr(b, "message", message);
    attr(b, "type", type);
    envmgr_buf_adds(b, ">");
    envmgr_xml_escape(b, message);
    envmgr_buf_addf(b, "</%s>\n", element);
}

static void tap_testcase(envmgr_buf_t *b, const char *suite, const json_t *t, tally_t *n)
{
    const char *status = str_at(t, "status");
    envmgr_cleanup_free char *name =
        envmgr_xasprintf("%lld - %s", (long long)json_integer_value(json_object_get(t, "number")),
                         str_at(t, "name") ? str_at(t, "name") : "");
    testcase_open(b, suite, name, json_number_value(json_object_get(t, "duration")), t);
    n->tests++;
    if (strcmp(status, "failed") == 0) {
        n->failures++;
        envmgr_buf_adds(b, ">\n");
        const char *msg = str_at(t, "message");
        envmgr_cleanup_free char *fallback = msg ? NULL : envmgr_xasprintf("not ok %s", name);
        problem(b, "failure", "failed", msg ? msg : fallback);
        envmgr_buf_adds(b, "    </testcase>\n");
    } else if (strcmp(status, "skipped") == 0) {
        n->skipped++;
        envmgr_buf_adds(b, ">\n      <skipped");
        if (str_at(t, "reason"))
            attr(b, "message", str_at(t, "reason"));
        envmgr_buf_adds(b, "/>\n    </testcase>\n");
    } else {
        envmgr_buf_adds(b, "/>\n");
    }
}

/* A testcase for what no test line explains: a crash, a timeout, a plan mismatch, a bad exit. */
static void suite_testcase(envmgr_buf_t *b, const json_t *suite, bool has_failed_test, tally_t *n)
{
    const char *name = str_at(suite, "name");
    const char *status = str_at(suite, "status");
    const char *msg = str_at(suite, "message");
    bool is_tap = json_is_true(json_object_get(suite, "tap"));
    int st = envmgr_suite_status_from_name(status);
    bool ok = st >= 0 && envmgr_suite_status_ok(st);
    if (is_tap && st != ENVMGR_SUITE_SKIPPED &&
        (ok || st == ENVMGR_SUITE_NOT_RUN ||
         (has_failed_test && msg && strstr(msg, " tests failed") && !strchr(msg, ';'))))
        return;
    if (st == ENVMGR_SUITE_SKIPPED) {
        const json_t *tap = json_object_get(suite, "tap_summary");
        testcase_open(b, name, "(suite)", json_number_value(json_object_get(suite, "duration")),
                      NULL);
        n->tests++;
        n->skipped++;
        envmgr_buf_adds(b, ">\n      <skipped");
        attr(b, "message", str_at(tap, "skip_reason") ? str_at(tap, "skip_reason") : "skipped");
        envmgr_buf_adds(b, "/>\n    </testcase>\n");
        return;
    }
    if (st == ENVMGR_SUITE_NOT_RUN && !is_tap)
        return;
    testcase_open(b, name, is_tap ? "(suite)" : name,
                  json_number_value(json_object_get(suite, "duration")), NULL);
    n->tests++;
    if (ok) {
        envmgr_buf_adds(b, "/>\n");
        return;
    }
    envmgr_buf_adds(b, ">\n");
    bool error =
        st == ENVMGR_SUITE_ERROR || st == ENVMGR_SUITE_TIMEOUT || st == ENVMGR_SUITE_INTERRUPTED;
    if (error)
        n->errors++;
    else
        n->failures++;
    problem(b, error ? "error" : "failure", status, msg ? msg : status);
    if (str_at(suite, "output")) {
        envmgr_buf_adds(b, "      <system-out>output: ");
        envmgr_xml_escape(b, str_at(suite, "output"));
        envmgr_buf_adds(b, "</system-out>\n");
    }
    envmgr_buf_adds(b, "    </testcase>\n");
}

static void junit_suite(envmgr_buf_t *out, const json_t *suite, tally_t *total)
{
    envmgr_buf_t cases = ENVMGR_BUF_INIT;
    tally_t n = {0};
    const char *name = str_at(suite, "name");
    bool has_failed_test = false;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(suite, "tests"), i, t)
    {
        has_failed_test = has_failed_test || strcmp(str_at(t, "status"), "failed") == 0;
        tap_testcase(&cases, name, t, &n);
    }
    suite_testcase(&cases, suite, has_failed_test, &n);
    envmgr_buf_adds(out, "  <testsuite");
    attr(out, "name", name);
    envmgr_buf_addf(out, " tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\" time=\"%.3f\"",
                    n.tests, n.failures, n.errors, n.skipped,
                    json_number_value(json_object_get(suite, "duration")));
    if (str_at(suite, "start"))
        attr(out, "timestamp", str_at(suite, "start"));
    envmgr_buf_adds(out, ">\n    <properties>\n      <property name=\"status\"");
    attr(out, "value", str_at(suite, "status"));
    envmgr_buf_adds(out, "/>\n    </properties>\n");
    envmgr_buf_add(out, cases.data ? cases.data : "", cases.len);
    envmgr_buf_adds(out, "  </testsuite>\n");
    envmgr_buf_free(&cases);
    total->tests += n.tests;
    total->failures += n.failures;
    total->errors += n.errors;
    total->skipped += n.skipped;
}

static void junit_header(envmgr_buf_t *out, const json_t *report, const tally_t *total)
{
    const json_t *summary = json_object_get(report, "summary");
    envmgr_buf_adds(out,
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"envtest\"");
    envmgr_buf_addf(out, " tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\" time=\"%.3f\"",
                    total->tests, total->failures, total->errors, total->skipped,
                    json_number_value(json_object_get(summary, "total_execution_time")));
    if (str_at(summary, "start"))
        attr(out, "timestamp", str_at(summary, "start"));
    envmgr_buf_adds(out, ">\n");
}

void envmgr_report_junit(const json_t *report, envmgr_buf_t *out)
{
    envmgr_buf_t body = ENVMGR_BUF_INIT;
    tally_t total = {0};
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(report, "suites"), i, s) junit_suite(&body, s, &total);
    junit_header(out, report, &total);
    envmgr_buf_add(out, body.data ? body.data : "", body.len);
    envmgr_buf_adds(out, "</testsuites>\n");
    envmgr_buf_free(&body);
}

int envmgr_report_junit_file(const json_t *report, envmgr_report_suite_loader load, void *userdata,
                             FILE *out)
{
    FILE *body = tmpfile(); /* the totals in the header are known only at the end */
    if (body == NULL)
        return -1;
    tally_t total = {0};
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(report, "suites"), i, s)
    {
        json_t *full = load ? load(userdata, s) : json_incref(s);
        envmgr_buf_t b = ENVMGR_BUF_INIT;
        junit_suite(&b, full, &total);
        fwrite(b.data ? b.data : "", 1, b.len, body);
        envmgr_buf_free(&b);
        json_decref(full);
    }
    envmgr_buf_t head = ENVMGR_BUF_INIT;
    junit_header(&head, report, &total);
    fwrite(head.data, 1, head.len, out);
    envmgr_buf_free(&head);
    rewind(body);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), body)) > 0)
        fwrite(buf, 1, n, out);
    fputs("</testsuites>\n", out);
    bool failed = ferror(body) || ferror(out);
    fclose(body);
    return failed ? -1 : 0;
}
