/* report.json: built from a run, analysed (ADR-009 fields), merged, written and found again. */
#include <envmgr/report.h>

#include "report_json.h"
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SLOWEST 5
#define COMMON_ERRORS 10

static double seconds(int64_t ms)
{
    return (double)ms / 1000.0;
}

static json_t *iso_time(int64_t wall_ms)
{
    if (wall_ms <= 0)
        return json_null();
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char buf[64];
    size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof(buf) - n, ".%03dZ", (int)(wall_ms % 1000));
    return json_string(buf);
}

static int64_t parse_iso_ms(const json_t *v)
{
    const char *s = json_string_value(v);
    struct tm tm = {0};
    int ms = 0;
    if (s == NULL || sscanf(s, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                            &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) < 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* rate (0..100) rounded to two decimals, without libm (see dlib.h on what loading it costs). */
static double round2(double rate)
{
    return (double)(int64_t)(rate * 100.0 + 0.5) / 100.0;
}

/* A JSON string for text that came from a suite (any bytes): invalid UTF-8 becomes U+FFFD. */
static json_t *string_or_null(const char *s)
{
    if (s == NULL)
        return json_null();
    json_t *j = json_string(s);
    if (j == NULL) {
        envmgr_cleanup_free char *valid = envmgr_utf8_valid_dup(s);
        j = json_string(valid);
    }
    return j;
}

/* ---- from a run ---------------------------------------------------------------------------- */

void envmgr_report_add_usage(json_t *entry, const envmgr_suite_attempt_t *a)
{
    if (a == NULL || !a->measured)
        return;
    json_object_set_new(entry, "cpu_time", json_real(seconds(a->cpu_user_ms + a->cpu_system_ms)));
    json_object_set_new(entry, "cpu_user", json_real(seconds(a->cpu_user_ms)));
    json_object_set_new(entry, "cpu_system", json_real(seconds(a->cpu_system_ms)));
    json_object_set_new(entry, "peak_rss", json_integer((json_int_t)a->peak_rss_kb * 1024));
}

static json_t *test_json(const envmgr_tap_test_t *t)
{
    json_t *j = json_pack("{s:i, s:o, s:s, s:f}", "number", t->number, "name",
                          string_or_null(t->description ? t->description : ""), "status",
                          envmgr_tap_status_name(t->status), "duration", seconds(t->duration_ms));
    if (t->message)
        json_object_set_new(j, "message", string_or_null(t->message));
    if (t->file)
        json_object_set_new(j, "file", string_or_null(t->file));
    if (t->line > 0)
        json_object_set_new(j, "line", json_integer(t->line));
    if (t->severity)
        json_object_set_new(j, "severity", string_or_null(t->severity));
    if (t->reason)
        json_object_set_new(j, "reason", string_or_null(t->reason));
    if (t->measured) {
        json_object_set_new(j, "cpu_time", json_real(seconds(t->cpu_ms)));
        json_object_set_new(j, "peak_rss", json_integer((json_int_t)t->peak_rss_kb * 1024));
    }
    return j;
}

static json_t *tap_json(const envmgr_tap_result_t *r)
{
    json_t *j = json_pack("{s:i, s:b, s:i, s:i, s:i, s:i, s:i, s:i, s:b, s:i, s:i, s:i, s:i}",
                          "version", r->version, "has_plan", r->has_plan, "planned", r->planned,
                          "ran", r->ran, "passed", r->passed, "failed", r->failed, "skipped",
                          r->skipped, "todo", r->todo, "bailed_out", r->bailed_out, "garbage_lines",
                          r->garbage_lines, "truncated_lines", r->truncated_lines, "out_of_order",
                          r->out_of_order, "tests_not_recorded", r->tests_not_recorded);
    if (r->first_garbage)
        json_object_set_new(j, "first_garbage", string_or_null(r->first_garbage));
    if (r->skip_all_reason)
        json_object_set_new(j, "skip_reason", string_or_null(r->skip_all_reason));
    return j;
}

static const char *relative_output(const char *path)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    return slash ? slash + 1 : path;
}

static json_t *attempt_json(const envmgr_suite_attempt_t *a)
{
    json_t *j =
        json_pack("{s:i, s:s, s:f, s:o, s:I, s:i, s:o, s:o, s:I}", "attempt", a->attempt, "status",
                  envmgr_suite_status_name(a->status), "duration", seconds(a->duration_ms), "start",
                  iso_time(a->start_wall_ms), "exit_code", (json_int_t)a->exit_status, "signal",
                  a->term_signal, "message", string_or_null(a->message), "output",
                  string_or_null(relative_output(a->output_path)), "output_bytes",
                  (json_int_t)a->output_bytes);
    envmgr_report_add_usage(j, a);
    return j;
}

json_t *envmgr_report_suite_json(const envmgr_suite_result_t *s)
{
    const envmgr_suite_attempt_t *last = envmgr_suite_result_last(s);
    json_t *tags = json_array();
    for (size_t i = 0; i < s->spec->tags.n; i++)
        json_array_append_new(tags, string_or_null(s->spec->tags.items[i]));
    json_t *attempts = json_array();
    for (size_t i = 0; i < s->n_attempts; i++)
        json_array_append_new(attempts, attempt_json(&s->attempts[i]));
    json_t *j = json_pack(
        "{s:o, s:s, s:o, s:f, s:o, s:o, s:o, s:b, s:o}", "name", string_or_null(s->spec->name),
        "status", envmgr_suite_status_name(s->status), "message",
        string_or_null(last ? last->message : NULL), "duration",
        last ? seconds(last->duration_ms) : 0.0, "start", iso_time(last ? last->start_wall_ms : 0),
        "tags", tags, "output", string_or_null(last ? relative_output(last->output_path) : NULL),
        "tap", s->spec->is_tap, "attempts", attempts);
    if (s->status == ENVMGR_SUITE_FLAKY) {
        envmgr_cleanup_free char *msg =
            envmgr_xasprintf("flaky: passed on attempt %zu (%s before)", s->n_attempts,
                             s->attempts[0].message ? s->attempts[0].message : "failed");
        json_object_set_new(j, "message", string_or_null(msg));
    }
    envmgr_report_add_usage(j, last);
    json_t *tests = json_array();
    if (last && last->tap) {
        json_object_set_new(j, "tap_summary", tap_json(last->tap));
        for (size_t i = 0; i < last->tap->n_tests; i++)
            json_array_append_new(tests, test_json(&last->tap->tests[i]));
    }
    json_object_set_new(j, "tests", tests);
    if (s->spec->rerun.n) {
        json_t *rerun = json_array();
        for (size_t i = 0; i < s->spec->rerun.n; i++)
            json_array_append_new(rerun, string_or_null(s->spec->rerun.items[i]));
        json_object_set_new(j, "rerun", rerun);
    }
    return j;
}

json_t *envmgr_report_from_run(const envmgr_run_result_t *run)
{
    json_t *suites = json_array();
    for (size_t i = 0; i < run->n_suites; i++)
        json_array_append_new(suites, envmgr_report_suite_json(&run->suites[i]));
    envmgr_json_array_sort(suites, envmgr_json_compare_by_name);
    json_t *report =
        json_pack("{s:i, s:s, s:b, s:o, s:{s:o, s:o}, s:o}", "schema_version", 1, "run_id",
                  run->run_id, "interrupted", run->interrupted, "shard",
                  run->shard_count > 0 ? json_pack("{s:i, s:i}", "index", run->shard_index, "count",
                                                   run->shard_count)
                                       : json_null(),
                  "summary", "start", iso_time(run->start_wall_ms), "end",
                  iso_time(run->end_wall_ms), "suites", suites);
    envmgr_error_t err = {0};
    envmgr_report_analyze(report, &err); /* cannot fail on a report we built */
    return report;
}

/* ---- analysis ------------------------------------------------------------------------------ */

typedef struct counts {
    int total, passed, failed, skipped, flaky, timed_out, errors, interrupted, not_run;
    json_int_t tests, tests_passed, tests_failed, tests_skipped, tests_todo;
} counts_t;

static void count_suite(counts_t *c, int status)
{
    c->total++;
    switch (status) {
    case ENVMGR_SUITE_PASSED:
        c->passed++;
        break;
    case ENVMGR_SUITE_SKIPPED:
        c->skipped++;
        break;
    case ENVMGR_SUITE_FLAKY:
        c->flaky++;
        break;
    case ENVMGR_SUITE_NOT_RUN:
        c->not_run++;
        break;
    case ENVMGR_SUITE_TIMEOUT:
        c->timed_out++;
        c->failed++;
        break;
    case ENVMGR_SUITE_ERROR:
        c->errors++;
        c->failed++;
        break;
    case ENVMGR_SUITE_INTERRUPTED:
        c->interrupted++;
        c->failed++;
        break;
    default:
        c->failed++;
        break;
    }
}

/* {total_tests, ...} of one suite; non-TAP suites count as one test. */
static json_t *breakdown_of(const json_t *suite, int status, counts_t *c)
{
    const json_t *tap = json_object_get(suite, "tap_summary");
    json_int_t total, passed, failed, skipped, todo;
    if (tap != NULL) {
        total = int_at(tap, "ran");
        passed = int_at(tap, "passed");
        failed = int_at(tap, "failed");
        skipped = int_at(tap, "skipped");
        todo = int_at(tap, "todo");
    } else {
        bool ran = json_array_size(json_object_get(suite, "attempts")) > 0;
        total = ran ? 1 : 0;
        passed = ran && envmgr_suite_status_ok(status) ? 1 : 0;
        failed = total - passed;
        skipped = todo = 0;
    }
    /* the time per test of the suite's final attempt (the whole suite's when it has none) */
    double avg = real_at(suite, "duration") / (double)(total > 0 ? total : 1);
    c->tests += total;
    c->tests_passed += passed;
    c->tests_failed += failed;
    c->tests_skipped += skipped;
    c->tests_todo += todo;
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:f, s:i}", "total_tests", total, "passed_tests",
                     passed, "failed_tests", failed, "skipped_tests", skipped, "todo_tests", todo,
                     "avg_execution_time", avg, "attempts",
                     (int)json_array_size(json_object_get(suite, "attempts")));
}

/* Keeps the `limit` entries with the largest execution_time in *top (a sorted JSON array). */
static void top_insert(json_t *top, json_t *entry, size_t limit)
{
    double t = real_at(entry, "execution_time");
    size_t pos = json_array_size(top);
    while (pos > 0 && real_at(json_array_get(top, pos - 1), "execution_time") < t)
        pos--;
    if (pos >= limit) {
        json_decref(entry);
        return;
    }
    json_array_insert_new(top, pos, entry);
    if (json_array_size(top) > limit)
        json_array_remove(top, limit);
}

static void add_error(json_t *errors, const char *message, const char *suite)
{
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "message")), message) == 0) {
            json_object_set_new(e, "count", json_integer(int_at(e, "count") + 1));
            json_t *suites = json_object_get(e, "suites");
            const char *lastname =
                json_string_value(json_array_get(suites, json_array_size(suites) - 1));
            if (lastname == NULL || strcmp(lastname, suite) != 0)
                json_array_append_new(suites, json_string(suite));
            return;
        }
    }
    json_array_append_new(
        errors, json_pack("{s:s, s:i, s:[s]}", "message", message, "count", 1, "suites", suite));
}

static void collect_errors(json_t *errors, const json_t *suite, int *total)
{
    const char *name = json_string_value(json_object_get(suite, "name"));
    bool test_failed = false;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(suite, "tests"), i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "status")), "failed") != 0)
            continue;
        const char *msg = json_string_value(json_object_get(t, "message"));
        envmgr_cleanup_free char *fallback =
            msg ? NULL
                : envmgr_xasprintf("not ok: %s", json_string_value(json_object_get(t, "name")));
        add_error(errors, msg ? msg : fallback, name);
        test_failed = true;
        (*total)++;
    }
    const char *msg = json_string_value(json_object_get(suite, "message"));
    if (msg != NULL && !(test_failed && strstr(msg, " tests failed") && !strchr(msg, ';'))) {
        add_error(errors, msg, name);
        (*total)++;
    }
}

static int by_count(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t cx = int_at(x, "count"), cy = int_at(y, "count");
    if (cx != cy)
        return cx > cy ? -1 : 1;
    return strcmp(json_string_value(json_object_get(x, "message")),
                  json_string_value(json_object_get(y, "message")));
}

static json_t *sorted_errors(json_t *errors)
{
    envmgr_json_array_sort(errors, by_count);
    while (json_array_size(errors) > COMMON_ERRORS)
        json_array_remove(errors, json_array_size(errors) - 1);
    return errors;
}

static json_t *summary_of(const counts_t *c, json_t *old)
{
    int ran = c->total - c->skipped - c->not_run;
    double rate = ran > 0 ? 100.0 * (double)(c->passed + c->flaky) / (double)ran : 0.0;
    int64_t start = parse_iso_ms(json_object_get(old, "start"));
    int64_t end = parse_iso_ms(json_object_get(old, "end"));
    json_t *s =
        json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:f, s:f, s:O, s:O, "
                  "s:{s:I, s:I, s:I, s:I, s:I}}",
                  "total", c->total, "passed", c->passed, "failed", c->failed, "skipped",
                  c->skipped, "flaky", c->flaky, "timed_out", c->timed_out, "errors", c->errors,
                  "interrupted", c->interrupted, "not_run", c->not_run, "pass_rate", round2(rate),
                  "total_execution_time", end > start ? seconds(end - start) : 0.0, "start",
                  json_object_get(old, "start") ? json_object_get(old, "start") : json_null(),
                  "end", json_object_get(old, "end") ? json_object_get(old, "end") : json_null(),
                  "tests", "total", c->tests, "passed", c->tests_passed, "failed", c->tests_failed,
                  "skipped", c->tests_skipped, "todo", c->tests_todo);
    return s;
}

int envmgr_report_analyze(json_t *report, envmgr_error_t *err)
{
    json_t *suites = json_object_get(report, "suites");
    if (!json_is_array(suites))
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                "report: `suites` is missing or not a list");
    counts_t c = {0};
    json_t *breakdown = json_object(), *slow_suites = json_array(), *slow_tests = json_array();
    json_t *errors = json_array();
    double min = 0, max = 0, sum = 0;
    int timed = 0, total_errors = 0;
    size_t i;
    json_t *s;
    json_array_foreach(suites, i, s)
    {
        const char *name = json_string_value(json_object_get(s, "name"));
        int status = envmgr_suite_status_from_name(json_string_value(json_object_get(s, "status")));
        if (name == NULL || status < 0) {
            json_decref(breakdown), json_decref(slow_suites), json_decref(slow_tests);
            json_decref(errors);
            return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                    "report: suites[%zu] has no name or an unknown status", i);
        }
        count_suite(&c, status);
        json_object_set_new(breakdown, name, breakdown_of(s, status, &c));
        if (!envmgr_suite_status_ok(status) && status != ENVMGR_SUITE_NOT_RUN)
            collect_errors(errors, s, &total_errors);
        if (json_array_size(json_object_get(s, "attempts")) == 0)
            continue;
        double d = real_at(s, "duration");
        min = timed == 0 || d < min ? d : min;
        max = d > max ? d : max;
        sum += d;
        timed++;
        top_insert(slow_suites, json_pack("{s:s, s:f}", "name", name, "execution_time", d),
                   SLOWEST);
        size_t k;
        json_t *t;
        json_array_foreach(json_object_get(s, "tests"), k, t) top_insert(
            slow_tests,
            json_pack("{s:s, s:O, s:f}", "suite", name, "name", json_object_get(t, "name"),
                      "execution_time", real_at(t, "duration")),
            SLOWEST);
    }
    json_t *old = json_object_get(report, "summary");
    json_t *empty = json_object();
    json_object_set_new(report, "summary", summary_of(&c, old ? old : empty));
    json_decref(empty);
    json_object_set_new(report, "status",
                        json_string(json_is_true(json_object_get(report, "interrupted"))
                                        ? "interrupted"
                                    : c.failed > 0 ? "failed"
                                                   : "passed"));
    json_object_set_new(report, "test_breakdown", breakdown);
    json_object_set_new(report, "performance_analysis",
                        json_pack("{s:f, s:f, s:f, s:o, s:o}", "min_execution_time", min,
                                  "max_execution_time", max, "avg_execution_time",
                                  timed ? sum / timed : 0.0, "slowest_suites", slow_suites,
                                  "slowest_tests", slow_tests));
    json_object_set_new(report, "error_analysis",
                        json_pack("{s:i, s:o}", "total_errors", total_errors, "common_errors",
                                  sorted_errors(errors)));
    return 0;
}

/* ---- merge --------------------------------------------------------------------------------- */

int envmgr_report_merge(json_t *const *reports, size_t n, json_t **out, envmgr_error_t *err)
{
    json_t *suites = json_array(), *from = json_array();
    json_t *names = json_object();
    int64_t start = 0, end = 0;
    bool interrupted = false;
    for (size_t r = 0; r < n; r++) {
        const json_t *rs = json_object_get(reports[r], "suites");
        const char *id = json_string_value(json_object_get(reports[r], "run_id"));
        if (!json_is_array(rs)) {
            json_decref(suites), json_decref(from), json_decref(names);
            return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                    "merge: report %zu has no `suites` list", r + 1);
        }
        size_t i;
        json_t *s;
        json_array_foreach(rs, i, s)
        {
            const char *name = json_string_value(json_object_get(s, "name"));
            if (name == NULL || json_object_get(names, name) != NULL) {
                const char *other = json_string_value(json_object_get(names, name ? name : ""));
                envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                 "merge: suite '%s' appears in two reports (run %s and run %s)",
                                 name ? name : "?", other ? other : "?", id ? id : "?");
                json_decref(suites), json_decref(from), json_decref(names);
                return envmgr_error_hint(err, "merge the reports of different shards of one run");
            }
            json_object_set_new(names, name, json_string(id ? id : "?"));
            json_array_append(suites, s);
        }
        const json_t *summary = json_object_get(reports[r], "summary");
        int64_t s0 = parse_iso_ms(json_object_get(summary, "start"));
        int64_t e0 = parse_iso_ms(json_object_get(summary, "end"));
        start = start == 0 || (s0 && s0 < start) ? s0 : start;
        end = e0 > end ? e0 : end;
        interrupted = interrupted || json_is_true(json_object_get(reports[r], "interrupted"));
        json_array_append_new(from, string_or_null(id));
    }
    json_decref(names);
    envmgr_json_array_sort(suites, envmgr_json_compare_by_name);
    json_t *report =
        json_pack("{s:i, s:s, s:b, s:n, s:o, s:{s:o, s:o}, s:o}", "schema_version", 1, "run_id",
                  "merged", "interrupted", interrupted, "shard", "merged_from", from, "summary",
                  "start", iso_time(start), "end", iso_time(end), "suites", suites);
    if (envmgr_report_analyze(report, err) < 0) {
        json_decref(report);
        return -1;
    }
    *out = report;
    return 0;
}

/* ---- files --------------------------------------------------------------------------------- */

static int write_buf(const char *dir, const char *name, envmgr_buf_t *b, envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/%s", dir, name);
    int rc = envmgr_write_file(path, b->data ? b->data : "", b->len, err);
    envmgr_buf_free(b);
    return rc;
}

int envmgr_report_write(const json_t *report, const char *dir, envmgr_error_t *err)
{
    if (envmgr_mkdir_p(dir, 0755, err) < 0)
        return -1;
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    envmgr_cleanup_free char *json = json_dumps(report, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    envmgr_buf_adds(&b, json);
    envmgr_buf_adds(&b, "\n");
    if (write_buf(dir, "report.json", &b, err) < 0)
        return -1;
    envmgr_report_junit(report, &b);
    if (write_buf(dir, "junit.xml", &b, err) < 0)
        return -1;
    envmgr_report_markdown(report, &b);
    return write_buf(dir, "summary.md", &b, err);
}

int envmgr_report_load(const char *path, json_t **out, envmgr_error_t *err)
{
    struct stat st;
    envmgr_cleanup_free char *file = NULL;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        file = envmgr_xasprintf("%s/report.json", path);
    else
        file = envmgr_xstrdup(path);
    json_error_t jerr;
    json_t *report = json_load_file(file, 0, &jerr);
    if (report == NULL)
        return envmgr_error_set(err, ENVMGR_E_NOT_FOUND, 0, "%s:%d: %s", file, jerr.line,
                                jerr.text);
    if (!json_is_object(report) || !json_is_array(json_object_get(report, "suites"))) {
        json_decref(report);
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                "%s: not an envtest report (no `suites` list)", file);
    }
    *out = report;
    return 0;
}

int envmgr_report_find_run(const char *runs_dir, const char *run, char **out, envmgr_error_t *err)
{
    if (run == NULL) { /* `latest` (written by envtest run) orders runs started in one second */
        envmgr_cleanup_free char *latest = envmgr_xasprintf("%s/latest", runs_dir);
        struct stat st;
        if (stat(latest, &st) == 0 && S_ISDIR(st.st_mode)) {
            *out = envmgr_steal_pointer(&latest);
            return 0;
        }
    }
    DIR *d = opendir(runs_dir);
    if (d == NULL) {
        envmgr_error_errno(err, errno, "runs folder %s", runs_dir);
        err->kind = ENVMGR_E_NOT_FOUND;
        return envmgr_error_hint(err, "run `envtest run` first, or name a run folder");
    }
    envmgr_cleanup_free char *best = NULL;
    int matches = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue; /* run ids start with the date; skips ".", "latest" and stray files */
        if (run != NULL) {
            if (strncmp(e->d_name, run, strlen(run)) != 0)
                continue;
            matches++;
        }
        if (best == NULL || strcmp(e->d_name, best) > 0) {
            free(best);
            best = envmgr_xstrdup(e->d_name);
        }
    }
    closedir(d);
    if (run != NULL && matches > 1)
        return envmgr_error_set(err, ENVMGR_E_USAGE, 0,
                                "run '%s' is ambiguous in %s (%d runs match)", run, runs_dir,
                                matches);
    if (best == NULL)
        return envmgr_error_set(err, ENVMGR_E_NOT_FOUND, 0, "%s%s%s: no run found in %s",
                                run ? "run '" : "", run ? run : "latest run", run ? "'" : "",
                                runs_dir);
    *out = envmgr_xasprintf("%s/%s", runs_dir, best);
    return 0;
}

/* ---- streamed writing (memory independent of the number of suites) ------------------------ */

int envmgr_report_save_suite(const envmgr_suite_result_t *suite, const char *run_dir,
                             envmgr_error_t *err)
{
    envmgr_cleanup_free char *path =
        envmgr_suite_file_name(run_dir, suite->spec->name, ".suite.json");
    json_t *j = envmgr_report_suite_json(suite);
    int rc = json_dump_file(j, path, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (rc < 0)
        return envmgr_error_errno(err, errno, "report: writing %s", path);
    return 0;
}

json_t *envmgr_report_saved_suite(void *userdata, const json_t *light)
{
    const char *run_dir = userdata;
    envmgr_cleanup_free char *path = envmgr_suite_file_name(
        run_dir, json_string_value(json_object_get(light, "name")), ".suite.json");
    json_t *full = json_load_file(path, 0, NULL);
    return full ? full : json_incref((json_t *)light);
}

static int dump_json_streamed(const json_t *light, const char *run_dir, FILE *f)
{
    fputs("{\n", f);
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)light, key, value)
    {
        if (strcmp(key, "suites") == 0)
            continue;
        fprintf(f, "  \"%s\": ", key);
        if (json_dumpf(value, f, JSON_ENCODE_ANY | JSON_COMPACT | JSON_PRESERVE_ORDER) < 0)
            return -1;
        fputs(",\n", f);
    }
    fputs("  \"suites\": [", f);
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(light, "suites"), i, s)
    {
        json_t *full = envmgr_report_saved_suite((void *)run_dir, s);
        fputs(i ? ",\n    " : "\n    ", f);
        int rc = json_dumpf(full, f, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(full);
        if (rc < 0)
            return -1;
    }
    fputs("\n  ]\n}\n", f);
    return ferror(f) ? -1 : 0;
}

static int write_streamed(const char *dir, const char *name, const json_t *light,
                          const char *run_dir, bool junit, envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/%s", dir, name);
    envmgr_cleanup_free char *tmp = envmgr_xasprintf("%s/.%s.tmp", dir, name);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return envmgr_error_errno(err, errno, "report: writing %s", tmp);
    int rc = junit ? envmgr_report_junit_file(light, envmgr_report_saved_suite, (void *)run_dir, f)
                   : dump_json_streamed(light, run_dir, f);
    if (fclose(f) != 0 || rc < 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return envmgr_error_errno(err, e, "report: writing %s", path);
    }
    return 0;
}

int envmgr_report_write_run(const envmgr_run_result_t *run, const json_t *light, const char *dir,
                            envmgr_error_t *err)
{
    if (envmgr_mkdir_p(dir, 0755, err) < 0)
        return -1;
    if (write_streamed(dir, "report.json", light, run->run_dir, false, err) < 0 ||
        write_streamed(dir, "junit.xml", light, run->run_dir, true, err) < 0)
        return -1;
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    envmgr_report_markdown(light, &b);
    return write_buf(dir, "summary.md", &b, err);
}
