/* envtest report: prints a past run's report, or merges shard reports. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include <envmgr/defaults.h>
#include <envmgr/monitor.h>
#include <envmgr/report.h>
#include <envmgr/util.h>

#define RUNS_DIR ENVMGR_DEFAULT_RUNS_DIR
#define HISTORY envmgr_history_path(NULL)

enum format { FORMAT_MD, FORMAT_JSON, FORMAT_JUNIT, FORMAT_HTML };

static void print_report(const json_t *report, enum format format)
{
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    if (format == FORMAT_JSON) {
        char *text = json_dumps(report, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        envmgr_buf_adds(&b, text);
        envmgr_buf_adds(&b, "\n");
        free(text);
    } else if (format == FORMAT_JUNIT) {
        envmgr_report_junit(report, &b);
    } else {
        envmgr_report_markdown(report, &b);
    }
    fwrite(b.data ? b.data : "", 1, b.len, stdout);
    envmgr_buf_free(&b);
}

static int load_run(const char *run, json_t **out, envmgr_error_t *err)
{
    struct stat st;
    if (run != NULL && stat(run, &st) == 0)
        return envmgr_report_load(run, out, err);
    envmgr_cleanup_free char *dir = NULL;
    if (envmgr_report_find_run(RUNS_DIR, run, &dir, err) < 0)
        return -1;
    return envmgr_report_load(dir, out, err);
}

/* The HTML page of a run, with the history's runs for its charts when there is a history. */
static int html(const char *run, const char *output)
{
    envmgr_error_t err = {0};
    envmgr_cleanup_free char *dir = NULL;
    struct stat st;
    if (run != NULL && stat(run, &st) == 0) {
        envmgr_cleanup_free char *copy = envmgr_xstrdup(run);
        dir = envmgr_xstrdup(S_ISDIR(st.st_mode) ? run : dirname(copy));
    }
    if (dir == NULL && envmgr_report_find_run(RUNS_DIR, run, &dir, &err) < 0)
        return envtest_report_error(&err);
    json_t *report = NULL, *runs = NULL;
    if (envmgr_report_load(dir, &report, &err) < 0)
        return envtest_report_error(&err);
    envmgr_history_t *h = NULL;
    if (access(HISTORY, F_OK) == 0 && envmgr_history_open(HISTORY, true, &h, &err) == 0 &&
        envmgr_history_runs(h, 50, &runs, &err) < 0)
        fprintf(stderr, "envtest: warning: %s (charts show this run only)\n", err.message);
    envmgr_history_close(h);
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    envmgr_report_html(report, runs, dir, &b);
    int code = ENVTEST_EXIT_OK;
    if (output == NULL)
        fwrite(b.data, 1, b.len, stdout);
    else if (envmgr_write_file(output, b.data, b.len, &err) < 0)
        code = envtest_report_error(&err);
    envmgr_buf_free(&b);
    json_decref(runs);
    json_decref(report);
    return code;
}

static int history(int runs, enum format format)
{
    envmgr_error_t err = {0};
    json_t *rows = NULL;
    if (access(HISTORY, F_OK) != 0) {
        fprintf(stderr, "envtest: no history yet (%s is written by envtest run)\n", HISTORY);
        return ENVTEST_EXIT_ENVIRONMENT;
    }
    if (envmgr_report_history_stats(HISTORY, runs, &rows, &err) < 0)
        return envtest_report_error(&err);
    if (format == FORMAT_JSON) {
        char *text = json_dumps(rows, JSON_INDENT(2));
        puts(text);
        free(text);
    } else {
        printf("| Suite | Runs | Passed | Flaky | Failed | Avg (s) | Max (s) | Last run |\n"
               "|---|---:|---:|---:|---:|---:|---:|---|\n");
        size_t i;
        json_t *r;
        json_array_foreach(rows, i, r)
        {
#define I(k) (long long)json_integer_value(json_object_get(r, k))
#define F(k) json_number_value(json_object_get(r, k))
            const char *last = json_string_value(json_object_get(r, "last_run"));
            printf("| %s | %lld | %lld | %lld | %lld | %.3f | %.3f | %s |\n",
                   json_string_value(json_object_get(r, "suite")), I("runs"), I("passed"),
                   I("flaky"), I("failed"), F("avg_duration"), F("max_duration"), last ? last : "");
#undef I
#undef F
        }
    }
    json_decref(rows);
    return ENVTEST_EXIT_OK;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int merge(char **files, int n, const char *output, enum format format)
{
    envmgr_error_t err = {0};
    json_t **reports = envmgr_xcalloc((size_t)n, sizeof(*reports));
    json_t *merged = NULL;
    int code = ENVTEST_EXIT_OK;
    for (int i = 0; i < n && code == 0; i++)
        if (envmgr_report_load(files[i], &reports[i], &err) < 0)
            code = envtest_report_error(&err);
    if (code == 0 && envmgr_report_merge(reports, (size_t)n, &merged, &err) < 0)
        code = envtest_report_error(&err);
    if (code == 0 && output == NULL) {
        print_report(merged, format);
    } else if (code == 0 && ends_with(output, ".json")) {
        char *text = json_dumps(merged, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (envmgr_write_file(output, text, strlen(text), &err) < 0)
            code = envtest_report_error(&err);
        free(text);
    } else if (code == 0 && envmgr_report_write(merged, output, &err) < 0) {
        code = envtest_report_error(&err);
    }
    if (code == 0 && output != NULL)
        fprintf(stderr, "envtest: merged %d reports (%lld suites) into %s\n", n,
                (long long)json_array_size(json_object_get(merged, "suites")), output);
    for (int i = 0; i < n; i++)
        json_decref(reports[i]);
    free(reports);
    json_decref(merged);
    return code;
}

typedef struct report_opts {
    enum format format;
    int runs;
} report_opts_t;

static int report_parse(envtest_ctx_t *ctx, void *opts)
{
    report_opts_t *o = opts;
    const char *format = envtest_value(ctx, "format");
    const char *runs = envtest_value(ctx, "runs");
    o->format = FORMAT_MD;
    o->runs = 20;
    if (!format || strcmp(format, "md") == 0 || strcmp(format, "markdown") == 0)
        o->format = FORMAT_MD;
    else if (strcmp(format, "json") == 0)
        o->format = FORMAT_JSON;
    else if (strcmp(format, "junit") == 0 || strcmp(format, "xml") == 0)
        o->format = FORMAT_JUNIT;
    else if (strcmp(format, "html") == 0)
        o->format = FORMAT_HTML;
    else
        return envtest_usage_error("report", "--format: '%s' is not md, json, junit or html",
                                   format);
    if (runs && (o->runs = atoi(runs)) < 1)
        return envtest_usage_error("report", "--runs: '%s' is not a positive number", runs);
    return 0;
}

static int report_run(envtest_ctx_t *ctx, void *opts)
{
    report_opts_t *o = opts;
    const char *output = envtest_value(ctx, "output");
    if (ctx->argc > 0 && strcmp(ctx->argv[0], "merge") == 0) {
        if (ctx->argc < 2)
            return envtest_usage_error("report", "merge: name the shard reports to merge");
        return merge(ctx->argv + 1, ctx->argc - 1, output, o->format);
    }
    if (ctx->argc > 0 && strcmp(ctx->argv[0], "history") == 0)
        return history(o->runs, o->format);
    if (ctx->argc > 1)
        return envtest_usage_error("report", "one run at a time ('%s' is extra)", ctx->argv[1]);
    if (o->format == FORMAT_HTML)
        return html(ctx->argc > 0 ? ctx->argv[0] : NULL, output);
    if (output != NULL)
        return envtest_usage_error("report", "-o is for `envtest report merge` and --format html");
    envmgr_error_t err = {0};
    json_t *report = NULL;
    if (load_run(ctx->argc > 0 ? ctx->argv[0] : NULL, &report, &err) < 0)
        return envtest_report_error(&err);
    print_report(report, o->format);
    json_decref(report);
    return ENVTEST_EXIT_OK;
}

const envtest_command_t envtest_cmd_report = {
    .name = "report",
    .parse = report_parse,
    .run = report_run,
    .opts_size = sizeof(report_opts_t),
    .usage =
        (const char *const[]){
            "[RUN] [--format md|json|junit|html] [-o FILE]",
            "merge REPORT.json... [-o OUT] [--format md|json|junit]",
            "history [-n RUNS] [--format md|json]",
            NULL,
        },
    .summary = "print or merge run reports",
    .description =
        "Prints the report of a past run: RUN is a run id (or a unique prefix), a run folder\n"
        "or a report.json; default the latest run in .envtest/runs. html: the page envtest run\n"
        "writes as report.html (charts over the history in $ENVTEST_HISTORY, else\n"
        ".envtest/history.sqlite), to FILE with -o.\n"
        "`merge` combines the reports of the shards of one run (envtest run --shard K/N) into\n"
        "one: OUT ending in .json gets report.json, any other OUT is a folder that gets\n"
        "report.json, junit.xml and summary.md; without -o the merged report is printed.\n"
        "`history` shows each suite over the last RUNS runs (default 20) from\n"
        ".envtest/history.sqlite: runs, passed, flaky, failed, average and max time.",
    .options =
        (const envtest_option_t[]){
            {"format", 0, "F", "md (default), json, junit or html"},
            {"output", 'o', "OUT", "(merge) where to write the merged report; (html) the file"},
            {"runs", 'n', "N", "(history) how many recent runs (default 20)"},
            {NULL, 0, NULL, NULL},
        },
    .exit_codes = "0 printed or merged, 2 usage or unreadable report, 3 run not found.",
};
