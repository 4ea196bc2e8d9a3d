/* summary.md (GitHub job summary) and GitHub Actions annotations. */
#include <stdlib.h>
#include <string.h>

#include "report_json.h"
#include <envmgr/report.h>

/* Text for a table cell or a list item: one line, pipes escaped. */
static void md_text(envmgr_buf_t *b, const char *s, size_t max)
{
    size_t n = 0;
    for (; s && *s && n < max; s++, n++) {
        if (*s == '|')
            envmgr_buf_adds(b, "\\|");
        else if (*s == '\n' || *s == '\r')
            envmgr_buf_adds(b, " ");
        else if (*s == '<')
            envmgr_buf_adds(b, "&lt;");
        else
            envmgr_buf_add(b, s, 1);
    }
    if (s && *s)
        envmgr_buf_adds(b, "…");
}

static const char *status_icon(const char *status)
{
    if (strcmp(status, "passed") == 0)
        return "✅";
    if (strcmp(status, "flaky") == 0)
        return "⚠️";
    if (strcmp(status, "skipped") == 0 || strcmp(status, "not_run") == 0)
        return "⏭️";
    return "❌";
}

static void md_failures(envmgr_buf_t *b, const json_t *suites)
{
    bool header = false;
    size_t i;
    json_t *s;
    json_array_foreach(suites, i, s)
    {
        int st = envmgr_suite_status_from_name(str_at(s, "status"));
        if (st < 0 || envmgr_suite_status_ok(st) || st == ENVMGR_SUITE_NOT_RUN)
            continue;
        if (!header)
            envmgr_buf_adds(b, "\n### Failures\n\n");
        header = true;
        envmgr_buf_adds(b, "- **");
        md_text(b, str_at(s, "name"), 200);
        envmgr_buf_addf(b, "** (%s): ", str_at(s, "status"));
        md_text(b, str_at(s, "message") ? str_at(s, "message") : "failed", 500);
        if (str_at(s, "output")) {
            envmgr_buf_adds(b, " — output: `");
            md_text(b, str_at(s, "output"), 200);
            envmgr_buf_adds(b, "`");
        }
        envmgr_buf_adds(b, "\n");
        size_t k;
        json_t *t;
        json_array_foreach(json_object_get(s, "tests"), k, t)
        {
            if (strcmp(str_at(t, "status"), "failed") != 0)
                continue;
            envmgr_buf_addf(b, "  - not ok %lld - ", (long long)int_at(t, "number"));
            md_text(b, str_at(t, "name"), 200);
            if (str_at(t, "message")) {
                envmgr_buf_adds(b, ": ");
                md_text(b, str_at(t, "message"), 500);
            }
            if (str_at(t, "file"))
                envmgr_buf_addf(b, " (`%s:%lld`)", str_at(t, "file"), (long long)int_at(t, "line"));
            envmgr_buf_adds(b, "\n");
        }
    }
}

static void md_alerts(envmgr_buf_t *b, const json_t *alerts)
{
    if (json_array_size(alerts) == 0)
        return;
    envmgr_buf_addf(b, "\n### Alerts (%zu)\n\n", json_array_size(alerts));
    size_t i;
    json_t *a;
    json_array_foreach(alerts, i, a)
    {
        envmgr_buf_addf(b, "- :warning: **%s**: ", str_at(a, "type") ? str_at(a, "type") : "?");
        md_text(b, str_at(a, "message"), 500);
        envmgr_buf_adds(b, "\n");
    }
}

static void md_suites(envmgr_buf_t *b, const json_t *report)
{
    envmgr_buf_adds(b, "\n### Suites\n\n| Suite | Status | Tests | Passed | Failed | Skipped | "
                       "Attempts | Time (s) |\n|---|---|---:|---:|---:|---:|---:|---:|\n");
    const json_t *breakdown = json_object_get(report, "test_breakdown");
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(report, "suites"), i, s)
    {
        const json_t *bd = json_object_get(breakdown, str_at(s, "name"));
        envmgr_buf_adds(b, "| ");
        md_text(b, str_at(s, "name"), 200);
        envmgr_buf_addf(b, " | %s %s | %lld | %lld | %lld | %lld | %lld | %.3f |\n",
                        status_icon(str_at(s, "status")), str_at(s, "status"),
                        (long long)int_at(bd, "total_tests"), (long long)int_at(bd, "passed_tests"),
                        (long long)int_at(bd, "failed_tests"),
                        (long long)int_at(bd, "skipped_tests"), (long long)int_at(bd, "attempts"),
                        json_number_value(json_object_get(s, "duration")));
    }
}

static void md_analysis(envmgr_buf_t *b, const json_t *report)
{
    const json_t *perf = json_object_get(report, "performance_analysis");
    const json_t *slow = json_object_get(perf, "slowest_tests");
    if (json_array_size(slow) > 0) {
        envmgr_buf_adds(b, "\n### Slowest tests\n\n| Suite | Test | Time (s) |\n|---|---|---:|\n");
        size_t i;
        json_t *t;
        json_array_foreach(slow, i, t)
        {
            envmgr_buf_adds(b, "| ");
            md_text(b, str_at(t, "suite"), 200);
            envmgr_buf_adds(b, " | ");
            md_text(b, str_at(t, "name"), 200);
            envmgr_buf_addf(b, " | %.3f |\n",
                            json_number_value(json_object_get(t, "execution_time")));
        }
    }
    const json_t *errors =
        json_object_get(json_object_get(report, "error_analysis"), "common_errors");
    if (json_array_size(errors) > 0) {
        envmgr_buf_adds(
            b, "\n### Most common failures\n\n| Count | Message | Suites |\n|---:|---|---|\n");
        size_t i;
        json_t *e;
        json_array_foreach(errors, i, e)
        {
            envmgr_buf_addf(b, "| %lld | ", (long long)int_at(e, "count"));
            md_text(b, str_at(e, "message"), 300);
            envmgr_buf_adds(b, " | ");
            size_t k;
            json_t *n;
            json_array_foreach(json_object_get(e, "suites"), k, n)
            {
                envmgr_buf_adds(b, k ? ", " : "");
                md_text(b, json_string_value(n), 100);
            }
            envmgr_buf_adds(b, " |\n");
        }
    }
}

void envmgr_report_markdown(const json_t *report, envmgr_buf_t *b)
{
    const json_t *sum = json_object_get(report, "summary");
    const json_t *tests = json_object_get(sum, "tests");
    const char *status = str_at(report, "status") ? str_at(report, "status") : "unknown";
    envmgr_buf_addf(b, "## %s envtest run `%s`: %s\n\n", status_icon(status),
                    str_at(report, "run_id") ? str_at(report, "run_id") : "?", status);
    envmgr_buf_addf(
        b,
        "| Suites | Passed | Failed | Flaky | Skipped | Not run | Pass rate | Time (s) |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        "| %lld | %lld | %lld | %lld | %lld | %lld | %.2f%% | %.3f |\n\n",
        (long long)int_at(sum, "total"), (long long)int_at(sum, "passed"),
        (long long)int_at(sum, "failed"), (long long)int_at(sum, "flaky"),
        (long long)int_at(sum, "skipped"), (long long)int_at(sum, "not_run"),
        json_number_value(json_object_get(sum, "pass_rate")),
        json_number_value(json_object_get(sum, "total_execution_time")));
    envmgr_buf_addf(b, "Tests: %lld (%lld passed, %lld failed, %lld skipped, %lld todo)\n",
                    (long long)int_at(tests, "total"), (long long)int_at(tests, "passed"),
                    (long long)int_at(tests, "failed"), (long long)int_at(tests, "skipped"),
                    (long long)int_at(tests, "todo"));
    md_failures(b, json_object_get(report, "suites"));
    md_alerts(b, json_object_get(report, "alerts"));
    md_suites(b, report);
    md_analysis(b, report);
}

/* ---- GitHub Actions annotations ------------------------------------------------------------ */

static void gh_escape(envmgr_buf_t *b, const char *s, bool property)
{
    for (; s && *s; s++) {
        if (*s == '%')
            envmgr_buf_adds(b, "%25");
        else if (*s == '\r')
            envmgr_buf_adds(b, "%0D");
        else if (*s == '\n')
            envmgr_buf_adds(b, "%0A");
        else if (property && *s == ':')
            envmgr_buf_adds(b, "%3A");
        else if (property && *s == ',')
            envmgr_buf_adds(b, "%2C");
        else
            envmgr_buf_add(b, s, 1);
    }
}

static void annotation(envmgr_buf_t *b, const char *level, const char *file, json_int_t line,
                       const char *title, const char *message)
{
    envmgr_buf_addf(b, "::%s ", level);
    /* GitHub wants the path from the repository's root: __FILE__ is often absolute */
    const char *root = getenv("GITHUB_WORKSPACE");
    size_t root_len = root ? strlen(root) : 0;
    if (file && root_len && strncmp(file, root, root_len) == 0 && file[root_len] == '/')
        file += root_len + 1;
    if (file) {
        envmgr_buf_adds(b, "file=");
        gh_escape(b, file, true);
        if (line > 0)
            envmgr_buf_addf(b, ",line=%lld", (long long)line);
        envmgr_buf_adds(b, ",");
    }
    envmgr_buf_adds(b, "title=");
    gh_escape(b, title, true);
    envmgr_buf_adds(b, "::");
    gh_escape(b, message, false);
    envmgr_buf_adds(b, "\n");
}

/* The test an alert names, for its file and line. */
static const json_t *alert_test(const json_t *report, const json_t *alert)
{
    const char *suite = str_at(alert, "suite"), *test = str_at(alert, "test");
    size_t i, k;
    json_t *s, *t;
    json_array_foreach(json_object_get(report, "suites"), i, s)
    {
        if (suite == NULL || test == NULL || strcmp(str_at(s, "name"), suite) != 0)
            continue;
        json_array_foreach(json_object_get(s, "tests"), k,
                           t) if (str_at(t, "name") && !strcmp(str_at(t, "name"), test)) return t;
    }
    return NULL;
}

void envmgr_report_github_annotations(const json_t *report, envmgr_buf_t *b)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(report, "alerts"), i, s)
    {
        const json_t *t = alert_test(report, s);
        envmgr_cleanup_free char *title =
            envmgr_xasprintf("envtest alert: %s", str_at(s, "type") ? str_at(s, "type") : "?");
        annotation(b, "warning", str_at(t, "file"), int_at(t, "line"), title, str_at(s, "message"));
    }
    json_array_foreach(json_object_get(report, "suites"), i, s)
    {
        const char *name = str_at(s, "name");
        int st = envmgr_suite_status_from_name(str_at(s, "status"));
        const char *msg = str_at(s, "message") ? str_at(s, "message") : str_at(s, "status");
        if (st == ENVMGR_SUITE_FLAKY) {
            annotation(b, "warning", NULL, 0, name, msg);
            continue;
        }
        if (st < 0 || envmgr_suite_status_ok(st) || st == ENVMGR_SUITE_NOT_RUN)
            continue;
        size_t k;
        json_t *t;
        json_array_foreach(json_object_get(s, "tests"), k, t)
        {
            if (strcmp(str_at(t, "status"), "failed") != 0)
                continue;
            envmgr_cleanup_free char *title = envmgr_xasprintf(
                "%s: not ok %lld - %s", name, (long long)int_at(t, "number"), str_at(t, "name"));
            annotation(b, "error", str_at(t, "file"), int_at(t, "line"), title,
                       str_at(t, "message") ? str_at(t, "message") : "failed");
        }
        annotation(b, "error", NULL, 0, name, msg);
    }
}
