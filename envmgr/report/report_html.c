/* report.html: one self-contained page (inline CSS, inline SVG charts drawn here, no script, no
 * external resource), readable offline, as a CI artifact and with JavaScript off. */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report_json.h"
#include <envmgr/monitor.h>
#include <envmgr/report.h>

#define OUTPUT_TAIL (8 * 1024)
#define SLOWEST 10
#define CHART_W 640
#define CHART_H 220
#define PAD_L 56
#define PAD_R 16
#define PAD_T 16
#define PAD_B 36

static const char style[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;"
    "max-width:1100px;padding:16px 24px;color:#1f2328;background:#fff}"
    "h1{font-size:22px;margin:8px 0}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid "
    "#d0d7de;padding-bottom:4px}code,pre{font:12px/1.4 ui-monospace,monospace}"
    "pre{background:#f6f8fa;border:1px solid #d0d7de;padding:8px;overflow:auto;max-height:360px}"
    ".badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:13px}"
    ".passed,.skipped{background:#1a7f37}.flaky{background:#9a6700}.failed,.timeout,.error,"
    ".interrupted{background:#cf222e}.not_run{background:#6e7781}"
    ".cards{display:flex;flex-wrap:wrap;gap:8px}.card{border:1px solid #d0d7de;border-radius:6px;"
    "padding:6px 12px;min-width:90px}.card b{display:block;font-size:20px}"
    "table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #d0d7de;padding:4px "
    "8px;text-align:left;vertical-align:top}td.n,th.n{text-align:right}"
    ".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px}"
    "figure{margin:0;border:1px solid #d0d7de;border-radius:6px;padding:8px}"
    "figcaption{font-weight:600;margin-bottom:4px}svg{width:100%;height:auto}"
    "svg text{font:11px system-ui,sans-serif;fill:#57606a}.alert{color:#9a6700}"
    "details{margin:8px 0}summary{cursor:pointer;font-weight:600}.muted{color:#57606a}";

static void text(envmgr_buf_t *b, const char *s)
{
    envmgr_xml_escape(b, s ? s : "");
}

/* before, s escaped, after. */
static void text_in(envmgr_buf_t *b, const char *before, const char *s, const char *after)
{
    envmgr_buf_adds(b, before);
    text(b, s);
    envmgr_buf_adds(b, after);
}

static void status_badge(envmgr_buf_t *b, const char *status)
{
    envmgr_buf_adds(b, "<span class=\"badge ");
    text(b, status ? status : "unknown");
    envmgr_buf_adds(b, "\">");
    text(b, status ? status : "unknown");
    envmgr_buf_adds(b, "</span>");
}

static void human_bytes(envmgr_buf_t *b, double bytes)
{
    if (bytes <= 0)
        envmgr_buf_adds(b, "&#8211;");
    else if (bytes >= 1024.0 * 1024 * 1024)
        envmgr_buf_addf(b, "%.2f GiB", bytes / (1024.0 * 1024 * 1024));
    else
        envmgr_buf_addf(b, "%.1f MiB", bytes / (1024.0 * 1024));
}

/* ---- charts -------------------------------------------------------------------------------- */

static double nice_max(double v)
{
    if (v <= 0)
        return 1;
    double p = pow(10, floor(log10(v)));
    double steps[] = {1, 2, 2.5, 5, 10};
    for (size_t i = 0; i < 5; i++)
        if (steps[i] * p >= v)
            return steps[i] * p;
    return 10 * p;
}

static void chart_open(envmgr_buf_t *b, const char *id, const char *caption, int height)
{
    envmgr_buf_addf(b,
                    "<figure id=\"%s\"><figcaption>%s</figcaption><svg class=\"chart\" "
                    "xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" role=\"img\" "
                    "aria-label=\"%s\">",
                    id, caption, CHART_W, height, caption);
}

/* A line chart of values over runs (oldest first): y from 0 to ymax, grid lines and labels. */
static void line_chart(envmgr_buf_t *b, const char *id, const char *caption, const double *values,
                       const char *const *labels, size_t n, double ymax, const char *unit)
{
    chart_open(b, id, caption, CHART_H);
    double w = CHART_W - PAD_L - PAD_R, h = CHART_H - PAD_T - PAD_B;
    for (int g = 0; g <= 4; g++) {
        double y = PAD_T + h - h * g / 4.0;
        envmgr_buf_addf(b,
                        "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#d0d7de\"/>"
                        "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g%s</text>",
                        PAD_L, y, CHART_W - PAD_R, y, PAD_L - 6, y + 4, ymax * g / 4.0, unit);
    }
    envmgr_buf_addf(b,
                    "<text x=\"%d\" y=\"%d\">%zu run%s, oldest on the left</text>"
                    "<polyline fill=\"none\" stroke=\"#0969da\" stroke-width=\"2\" points=\"",
                    PAD_L, CHART_H - 8, n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        double x = PAD_L + (n > 1 ? w * (double)i / (double)(n - 1) : w / 2);
        double y = PAD_T + h - h * (values[i] > ymax ? 1.0 : values[i] / ymax);
        envmgr_buf_addf(b, "%s%.1f,%.1f", i ? " " : "", x, y);
    }
    envmgr_buf_adds(b, "\"/>");
    for (size_t i = 0; i < n; i++) {
        double x = PAD_L + (n > 1 ? w * (double)i / (double)(n - 1) : w / 2);
        double y = PAD_T + h - h * (values[i] > ymax ? 1.0 : values[i] / ymax);
        envmgr_buf_addf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#0969da\"><title>", x,
                        y);
        text(b, labels[i]);
        envmgr_buf_addf(b, ": %.2f%s</title></circle>", values[i], unit);
    }
    envmgr_buf_adds(b, "</svg></figure>\n");
}

/* The first max characters of s (UTF-8: a sequence is never cut), "..." when longer. */
static char *label_fit(const char *s, size_t max)
{
    size_t bytes = 0, chars = 0;
    while (s[bytes] && chars < max) {
        bytes++;
        while (((unsigned char)s[bytes] & 0xC0) == 0x80)
            bytes++;
        chars++;
    }
    return envmgr_xasprintf("%.*s%s", (int)bytes, s, s[bytes] ? "..." : "");
}

/* Horizontal bars, one per label, scaled to the greatest value. */
static void bar_chart(envmgr_buf_t *b, const char *id, const char *caption,
                      const char *const *labels, const double *values, size_t n, const char *unit)
{
    int row = 22, height = PAD_T + (int)(n ? n : 1) * row + 8;
    chart_open(b, id, caption, height);
    double max = 0;
    for (size_t i = 0; i < n; i++)
        max = values[i] > max ? values[i] : max;
    max = nice_max(max);
    int label_w = 220;
    double w = CHART_W - label_w - PAD_R - 70;
    if (n == 0)
        envmgr_buf_addf(b, "<text x=\"%d\" y=\"%d\">nothing measured</text>", PAD_L, PAD_T + 12);
    for (size_t i = 0; i < n; i++) {
        int y = PAD_T + (int)i * row;
        double len = w * values[i] / max;
        envmgr_buf_addf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", label_w - 6, y + 14);
        envmgr_cleanup_free char *label = label_fit(labels[i], 30);
        text(b, label);
        envmgr_buf_addf(b,
                        "</text><rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"16\" "
                        "fill=\"#54aeff\"><title>",
                        label_w, y + 2, len < 1 ? 1 : len);
        text(b, labels[i]);
        envmgr_buf_addf(b, ": %.2f %s</title></rect><text x=\"%.1f\" y=\"%d\">%.2f %s</text>",
                        values[i], unit, label_w + (len < 1 ? 1 : len) + 4, y + 14, values[i],
                        unit);
    }
    envmgr_buf_adds(b, "</svg></figure>\n");
}

static void history_charts(envmgr_buf_t *b, const json_t *report, const json_t *runs)
{
    size_t n = json_array_size(runs);
    json_t *single = NULL;
    if (n == 0) { /* no history: this run alone */
        const json_t *sum = json_object_get(report, "summary");
        single =
            json_pack("[{s:s?, s:f, s:f}]", "run_id", str_at(report, "run_id"), "pass_rate",
                      real_at(sum, "pass_rate"), "duration", real_at(sum, "total_execution_time"));
        runs = single;
        n = 1;
    }
    double *rate = envmgr_xcalloc(n, sizeof(double)), *dur = envmgr_xcalloc(n, sizeof(double));
    const char **labels = envmgr_xcalloc(n, sizeof(char *));
    double max_dur = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(runs, i);
        rate[i] = real_at(r, "pass_rate");
        dur[i] = real_at(r, "duration");
        labels[i] = str_at(r, "run_id") ? str_at(r, "run_id") : "?";
        max_dur = dur[i] > max_dur ? dur[i] : max_dur;
    }
    line_chart(b, "chart-pass-rate", "Pass rate over the history (%)", rate, labels, n, 100, "%");
    line_chart(b, "chart-duration", "Run duration over the history (s)", dur, labels, n,
               nice_max(max_dur), "s");
    free(rate);
    free(dur);
    free(labels);
    json_decref(single);
}

/* The SLOWEST slowest tests of the run, slowest first (one pass, no copy of the report). */
static void run_charts(envmgr_buf_t *b, const json_t *report)
{
    const json_t *top_suite[SLOWEST], *top_test[SLOWEST];
    double values[SLOWEST] = {0};
    size_t top = 0, i, k;
    json_t *s, *t;
    json_array_foreach(json_object_get(report, "suites"), i, s)
        json_array_foreach(json_object_get(s, "tests"), k, t)
    {
        double d = real_at(t, "duration");
        if (top == SLOWEST && d <= values[top - 1])
            continue;
        size_t pos = top < SLOWEST ? top++ : top - 1;
        for (; pos > 0 && values[pos - 1] < d; pos--) {
            values[pos] = values[pos - 1];
            top_suite[pos] = top_suite[pos - 1];
            top_test[pos] = top_test[pos - 1];
        }
        values[pos] = d;
        top_suite[pos] = s;
        top_test[pos] = t;
    }
    char *names[SLOWEST] = {0};
    const char *labels[SLOWEST] = {0};
    for (size_t j = 0; j < top; j++)
        labels[j] = names[j] =
            envmgr_xasprintf("%s: %s", str_at(top_suite[j], "name"), str_at(top_test[j], "name"));
    bar_chart(b, "chart-slowest-tests", "Slowest tests (s)", labels, values, top, "s");
    for (size_t j = 0; j < top; j++)
        free(names[j]);

    size_t n_suites = json_array_size(json_object_get(report, "suites"));
    const char **snames = envmgr_xcalloc(n_suites + 1, sizeof(char *));
    double *mem = envmgr_xcalloc(n_suites + 1, sizeof(double));
    size_t m = 0;
    json_array_foreach(json_object_get(report, "suites"), i, s)
    {
        if (!json_is_number(json_object_get(s, "peak_rss")))
            continue;
        snames[m] = str_at(s, "name");
        mem[m++] = real_at(s, "peak_rss") / (1024.0 * 1024.0);
    }
    bar_chart(b, "chart-memory", "Peak memory (RSS) per suite (MiB)", snames, mem, m, "MiB");
    free(snames);
    free(mem);
}

/* ---- sections ------------------------------------------------------------------------------ */

static void header(envmgr_buf_t *b, const json_t *report)
{
    const json_t *sum = json_object_get(report, "summary");
    const json_t *env = json_object_get(report, "environment");
    text_in(b, "<h1>envtest run <code>", str_at(report, "run_id"), "</code> ");
    status_badge(b, str_at(report, "status"));
    text_in(b, "</h1><p class=\"muted\">", str_at(sum, "start"), " &#8594; ");
    text(b, str_at(sum, "end"));
    if (str_at(env, "git_commit")) {
        envmgr_buf_adds(b, " &#183; commit <code>");
        envmgr_buf_addf(b, "%.12s", str_at(env, "git_commit"));
        envmgr_buf_adds(b, "</code>");
    }
    if (str_at(env, "compose_hash"))
        envmgr_buf_addf(b, " &#183; compose <code>%.12s</code>", str_at(env, "compose_hash"));
    envmgr_buf_adds(b, "</p>\n<section id=\"summary\"><div class=\"cards\">");
    const json_t *tests = json_object_get(sum, "tests");
#define CARD(label, fmt, value)                                                                    \
    envmgr_buf_addf(b, "<div class=\"card\"><b>" fmt "</b>%s</div>", value, label)
    CARD("suites", "%lld", (long long)int_at(sum, "total"));
    CARD("passed", "%lld", (long long)int_at(sum, "passed"));
    CARD("failed", "%lld", (long long)int_at(sum, "failed"));
    CARD("flaky", "%lld", (long long)int_at(sum, "flaky"));
    CARD("skipped", "%lld", (long long)int_at(sum, "skipped"));
    CARD("tests", "%lld", (long long)int_at(tests, "total"));
    CARD("pass rate", "%.2f %%", real_at(sum, "pass_rate"));
    CARD("time", "%.2f s", real_at(sum, "total_execution_time"));
    CARD("alerts", "%zu", json_array_size(json_object_get(report, "alerts")));
#undef CARD
    envmgr_buf_adds(b, "</div></section>\n");
}

static void alerts_section(envmgr_buf_t *b, const json_t *report)
{
    const json_t *alerts = json_object_get(report, "alerts");
    envmgr_buf_addf(b, "<section id=\"alerts\"><h2>Alerts (%zu)</h2>", json_array_size(alerts));
    if (json_array_size(alerts) == 0) {
        envmgr_buf_adds(b, "<p class=\"muted\">No alert.</p></section>\n");
        return;
    }
    envmgr_buf_adds(b, "<table><tr><th>Type</th><th>Suite</th><th>Test</th><th>Message</th></tr>");
    static const char *const columns[] = {"type", "suite", "test", "message"};
    size_t i;
    json_t *a;
    json_array_foreach(alerts, i, a)
    {
        envmgr_buf_adds(b, "<tr class=\"alert\">");
        for (size_t c = 0; c < ENVMGR_ARRAY_SIZE(columns); c++)
            text_in(b, "<td>", str_at(a, columns[c]), "</td>");
        envmgr_buf_adds(b, "</tr>");
    }
    envmgr_buf_adds(b, "</table></section>\n");
}

static void suites_section(envmgr_buf_t *b, const json_t *report)
{
    const json_t *breakdown = json_object_get(report, "test_breakdown");
    envmgr_buf_adds(b, "<section id=\"suites\"><h2>Suites</h2><table><tr><th>Suite</th><th>"
                       "Status</th><th class=\"n\">Tests</th><th class=\"n\">Failed</th><th "
                       "class=\"n\">Time (s)</th><th class=\"n\">CPU (s)</th><th class=\"n\">Peak "
                       "RSS</th><th class=\"n\">Attempts</th></tr>");
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(report, "suites"), i, s)
    {
        const json_t *bd = json_object_get(breakdown, str_at(s, "name"));
        text_in(b, "<tr><td>", str_at(s, "name"), "</td><td>");
        status_badge(b, str_at(s, "status"));
        envmgr_buf_addf(b,
                        "</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td><td "
                        "class=\"n\">%.3f</td><td class=\"n\">",
                        (long long)int_at(bd, "total_tests"), (long long)int_at(bd, "failed_tests"),
                        real_at(s, "duration"));
        if (json_is_number(json_object_get(s, "cpu_time")))
            envmgr_buf_addf(b, "%.3f", real_at(s, "cpu_time"));
        envmgr_buf_adds(b, "</td><td class=\"n\">");
        human_bytes(b, real_at(s, "peak_rss"));
        envmgr_buf_addf(b, "</td><td class=\"n\">%zu</td></tr>",
                        json_array_size(json_object_get(s, "attempts")));
    }
    envmgr_buf_adds(b, "</table></section>\n");
}

static void output_tail(envmgr_buf_t *b, const char *run_dir, const char *output)
{
    if (run_dir == NULL || output == NULL || strchr(output, '/'))
        return;
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/%s", run_dir, output);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    char *buf = envmgr_xmalloc(OUTPUT_TAIL + 1);
    off_t from = fstat(fd, &st) == 0 && st.st_size > OUTPUT_TAIL ? st.st_size - OUTPUT_TAIL : 0;
    ssize_t n = pread(fd, buf, OUTPUT_TAIL, from);
    close(fd);
    if (n > 0) {
        buf[n] = '\0';
        envmgr_buf_addf(b, "<p class=\"muted\">Output (%s", from ? "last 8 KiB of " : "");
        text_in(b, "", output, ")</p><pre>");
        text_in(b, "", buf, "</pre>");
    }
    free(buf);
}

static void failures_section(envmgr_buf_t *b, const json_t *report, const char *run_dir)
{
    envmgr_buf_adds(b, "<section id=\"failures\"><h2>Failures</h2>");
    size_t i, count = 0;
    json_t *s;
    json_array_foreach(json_object_get(report, "suites"), i, s)
    {
        int st = envmgr_suite_status_from_name(str_at(s, "status"));
        if (st < 0 || envmgr_suite_status_ok(st) || st == ENVMGR_SUITE_NOT_RUN)
            continue;
        count++;
        text_in(b, "<details open><summary>", str_at(s, "name"), ": ");
        text(b, str_at(s, "message") ? str_at(s, "message") : str_at(s, "status"));
        envmgr_buf_adds(b, "</summary><ul>");
        size_t k;
        json_t *t;
        json_array_foreach(json_object_get(s, "tests"), k, t)
        {
            if (strcmp(str_at(t, "status") ? str_at(t, "status") : "", "failed") != 0)
                continue;
            envmgr_buf_addf(b, "<li><b>not ok %lld - ", (long long)int_at(t, "number"));
            text_in(b, "", str_at(t, "name"), "</b>");
            if (str_at(t, "message"))
                text_in(b, "<br>", str_at(t, "message"), "");
            if (str_at(t, "file")) {
                text_in(b, "<br><code>", str_at(t, "file"), "");
                if (int_at(t, "line") > 0)
                    envmgr_buf_addf(b, ":%lld", (long long)int_at(t, "line"));
                envmgr_buf_adds(b, "</code>");
            }
            if (str_at(t, "severity"))
                text_in(b, " <span class=\"muted\">severity ", str_at(t, "severity"), "</span>");
            envmgr_buf_adds(b, "</li>");
        }
        envmgr_buf_adds(b, "</ul>");
        output_tail(b, run_dir, str_at(s, "output"));
        envmgr_buf_adds(b, "</details>");
    }
    if (count == 0)
        envmgr_buf_adds(b, "<p class=\"muted\">No failure.</p>");
    envmgr_buf_adds(b, "</section>\n");
}

void envmgr_report_html(const json_t *report, const json_t *history_runs, const char *run_dir,
                        envmgr_buf_t *b)
{
    envmgr_buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                       "<title>envtest run ");
    text(b, str_at(report, "run_id"));
    envmgr_buf_adds(b, ": ");
    text(b, str_at(report, "status"));
    envmgr_buf_addf(b, "</title><style>%s</style></head><body>\n", style);
    header(b, report);
    alerts_section(b, report);
    envmgr_buf_adds(b, "<section id=\"charts\"><h2>Charts</h2><div class=\"charts\">\n");
    history_charts(b, report, history_runs);
    run_charts(b, report);
    envmgr_buf_adds(b, "</div></section>\n");
    suites_section(b, report);
    failures_section(b, report, run_dir);
    envmgr_buf_adds(b, "<footer class=\"muted\"><p>Written by envtest; report.json, junit.xml "
                       "and summary.md are beside this file.</p></footer></body></html>\n");
}
