/* envtest trends: the history over a window (ADR-009's get_test_trends and success metrics). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include <envmgr/monitor.h>

static double num(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void print_text(const json_t *t)
{
    int days = (int)json_integer_value(json_object_get(t, "days"));
    printf("Trends over %s%.0d%s: %lld runs\n", days ? "the last " : "all of the history", days,
           days ? " days" : "", (long long)json_integer_value(json_object_get(t, "runs")));
    if (json_integer_value(json_object_get(t, "runs")) == 0)
        return;
    double pass = num(t, "pass_rate"), flaky = 100.0 * num(t, "flaky_rate");
    printf("  pass rate     %6.2f %%  (target > 95 %%%s)\n", pass, pass > 95 ? "" : ": MISSED");
    printf("  flaky rate    %6.2f %%  (target < 5 %%%s; %lld suite runs)\n", flaky,
           flaky < 5 ? "" : ": MISSED",
           (long long)json_integer_value(json_object_get(t, "suite_runs")));
    printf("  run time      %.2f s average, %.2f s p95 (target < 1800 s)\n", num(t, "avg_duration"),
           num(t, "p95_duration"));
    size_t i;
    json_t *r;
    const char *key;
    if (json_array_size(json_object_get(t, "flakiest_suites")))
        printf("Flakiest suites:\n");
    json_array_foreach(json_object_get(t, "flakiest_suites"), i, r)
        printf("  %-32s %5.1f %% flaky (%lld of %lld runs)\n", str(r, "suite"),
               100.0 * num(r, "rate"), (long long)json_integer_value(json_object_get(r, "flaky")),
               (long long)json_integer_value(json_object_get(r, "runs")));
    if (json_array_size(json_object_get(t, "flakiest_tests")))
        printf("Flakiest tests (passing in some runs, failing in others):\n");
    json_array_foreach(json_object_get(t, "flakiest_tests"), i, r)
        printf("  %s: %s: failed %lld of %lld runs\n", str(r, "suite"), str(r, "name"),
               (long long)json_integer_value(json_object_get(r, "failed")),
               (long long)json_integer_value(json_object_get(r, "runs")));
    if (json_array_size(json_object_get(t, "slowest_tests")))
        printf("Slowest tests (average):\n");
    json_array_foreach(json_object_get(t, "slowest_tests"), i, r)
        printf("  %8.3f s  %s: %s (max %.3f s, %lld runs)\n", num(r, "avg_duration"),
               str(r, "suite"), str(r, "name"), num(r, "max_duration"),
               (long long)json_integer_value(json_object_get(r, "runs")));
    if (json_array_size(json_object_get(t, "slower_suites")))
        printf("Suites getting slower (first half of the window -> second):\n");
    json_array_foreach(json_object_get(t, "slower_suites"), i, r)
        printf("  %-32s %.2f s -> %.2f s (%.2fx)\n", str(r, "suite"), num(r, "before"),
               num(r, "after"), num(r, "ratio"));
    if (json_object_size(json_object_get(t, "alerts")))
        printf("Alerts:\n");
    json_object_foreach(json_object_get(t, "alerts"), key, r)
        printf("  %-20s %lld\n", key, (long long)json_integer_value(r));
}

typedef struct trends_opts {
    int days;
} trends_opts_t;

static int trends_parse(envtest_ctx_t *ctx, void *opts)
{
    trends_opts_t *o = opts;
    const char *days = envtest_value(ctx, "days");
    o->days = 30;
    if (days) {
        char *end;
        long d = strtol(days, &end, 10);
        if (*days == '\0' || *end || d < 0 || d > 100000)
            return envtest_usage_error("trends", "--days: '%s' is not a number >= 0", days);
        o->days = (int)d;
    }
    return 0;
}

static int trends_run(envtest_ctx_t *ctx, void *opts)
{
    const trends_opts_t *o = opts;
    const char *path = envmgr_history_path(envtest_value(ctx, "history"));
    if (access(path, F_OK) != 0) {
        fprintf(stderr, "envtest: no history at %s yet (envtest run writes it)\n", path);
        return ENVTEST_EXIT_ENVIRONMENT;
    }
    envmgr_error_t err = {0};
    envmgr_history_t *h = NULL;
    json_t *t = NULL;
    if (envmgr_history_open(path, true, &h, &err) < 0 ||
        envmgr_history_trends(h, o->days, &t, &err) < 0) {
        envmgr_history_close(h);
        fprintf(stderr, "envtest: trends: %s\n", err.message);
        return ENVTEST_EXIT_ENVIRONMENT;
    }
    envmgr_history_close(h);
    if (envtest_flag(ctx, "json")) {
        char *text = json_dumps(t, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        puts(text);
        free(text);
    } else {
        print_text(t);
    }
    json_decref(t);
    return ENVTEST_EXIT_OK;
}

const envtest_command_t envtest_cmd_trends = {
    .name = "trends",
    .parse = trends_parse,
    .run = trends_run,
    .opts_size = sizeof(trends_opts_t),
    .flags = ENVTEST_NO_ARGUMENTS,
    .usage = (const char *const[]){"[--days N] [--json] [--history PATH]", NULL},
    .summary = "pass rate, durations, flaky and slow tests, alerts over the history",
    .description =
        "The run history over the last N days (default 30; 0: all): runs, pass rate (target\n"
        "> 95 %), average and p95 run time, flaky rate (target < 5 %), the flakiest and\n"
        "slowest tests, the suites getting slower, alert counts. The history is written by\n"
        "envtest run into $ENVTEST_HISTORY, else .envtest/history.sqlite.",
    .options =
        (const envtest_option_t[]){
            {"days", 0, "N", "the window, in days (default 30; 0: everything)"},
            {"json", 0, NULL, "JSON instead of text"},
            {"history", 0, "PATH", "the history database"},
            {NULL, 0, NULL, NULL},
        },
    .exit_codes = "0 printed, 2 usage error, 3 no usable history.",
};
