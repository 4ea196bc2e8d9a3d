/* envtest report: prints a past run's report, or merges shard reports. */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include <envmgr/monitor.h>
#include <envmgr/report.h>
#include <envmgr/util.h>

#define RUNS_DIR ".envtest/runs"
#define HISTORY envmgr_history_path(NULL)

static void report_usage(FILE *out)
{
    fprintf(
        out,
        "Usage: envtest report [RUN] [--format md|json|junit|html] [-o FILE]\n"
        "       envtest report merge REPORT.json... [-o OUT] [--format md|json|junit]\n"
        "       envtest report history [-n RUNS] [--format md|json]\n\n"
        "Prints the report of a past run: RUN is a run id (or a unique prefix), a run folder\n"
        "or a report.json; default the latest run in .envtest/runs. html: the page envtest run\n"
        "writes as report.html (charts over the history in $ENVTEST_HISTORY, else\n"
        ".envtest/history.sqlite), to FILE with -o.\n"
        "`merge` combines the reports of the shards of one run (envtest run --shard K/N) into\n"
        "one: OUT ending in .json gets report.json, any other OUT is a folder that gets\n"
        "report.json, junit.xml and summary.md; without -o the merged report is printed.\n"
        "`history` shows each suite over the last RUNS runs (default 20) from\n"
        ".envtest/history.sqlite: runs, passed, flaky, failed, average and max time.\n\n"
        "Options:\n"
        "      --format F   md (default), json, junit or html\n"
        "  -o, --output OUT (merge) where to write the merged report; (html) the file\n"
        "  -n, --runs N     (history) how many recent runs (default 20)\n"
        "  -h, --help       this help\n\n"
        "Exit codes: 0 printed or merged, 2 usage or unreadable report, 3 run not found.\n");
}

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

int cmd_report(int argc, char **argv, envtest_globals_t *g)
{
    enum { OPT_FORMAT = 256 };
    static const struct option longopts[] = {
        ENVTEST_COMMON_LONGOPTS,
        {"format", required_argument, NULL, OPT_FORMAT},
        {"output", required_argument, NULL, 'o'},
        {"runs", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    enum format format = FORMAT_MD;
    const char *output = NULL;
    int runs = 20;
    int opt;
    while ((opt = getopt_long(argc, argv, ENVTEST_COMMON_SHORTOPTS "o:n:h", longopts, NULL)) !=
           -1) {
        if (envtest_common_option(g, opt, optarg))
            continue;
        switch (opt) {
        case OPT_FORMAT:
            if (strcmp(optarg, "md") == 0 || strcmp(optarg, "markdown") == 0)
                format = FORMAT_MD;
            else if (strcmp(optarg, "json") == 0)
                format = FORMAT_JSON;
            else if (strcmp(optarg, "junit") == 0 || strcmp(optarg, "xml") == 0)
                format = FORMAT_JUNIT;
            else if (strcmp(optarg, "html") == 0)
                format = FORMAT_HTML;
            else
                return envtest_usage_error("report",
                                           "--format: '%s' is not md, json, junit or html", optarg);
            break;
        case 'o':
            output = optarg;
            break;
        case 'n':
            runs = atoi(optarg);
            if (runs < 1)
                return envtest_usage_error("report", "--runs: '%s' is not a positive number",
                                           optarg);
            break;
        case 'h':
            report_usage(stdout);
            return ENVTEST_EXIT_OK;
        default:
            return envtest_usage_error("report", "invalid option");
        }
    }
    if (optind < argc && strcmp(argv[optind], "merge") == 0) {
        if (argc - optind - 1 < 1)
            return envtest_usage_error("report", "merge: name the shard reports to merge");
        return merge(argv + optind + 1, argc - optind - 1, output, format);
    }
    if (optind < argc && strcmp(argv[optind], "history") == 0)
        return history(runs, format);
    if (argc - optind > 1)
        return envtest_usage_error("report", "one run at a time ('%s' is extra)", argv[optind + 1]);
    if (format == FORMAT_HTML)
        return html(optind < argc ? argv[optind] : NULL, output);
    if (output != NULL)
        return envtest_usage_error("report", "-o is for `envtest report merge` and --format html");
    envmgr_error_t err = {0};
    json_t *report = NULL;
    if (load_run(optind < argc ? argv[optind] : NULL, &report, &err) < 0)
        return envtest_report_error(&err);
    print_report(report, format);
    json_decref(report);
    return ENVTEST_EXIT_OK;
}
