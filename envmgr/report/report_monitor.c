/* The monitor of a run: alerts, the environment's identity, and the flow the run uses (open the
 * history, analyze, record, write report.html). See monitor.h. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report_history.h"
#include "report_json.h"
#include <envmgr/monitor.h>
#include <envmgr/report.h>

#define HISTORY_WINDOW 20
#define CHART_RUNS 50

extern char **environ;

static double mib(double bytes)
{
    return bytes / (1024.0 * 1024.0);
}

/* ---- alerts -------------------------------------------------------------------------------- */

static void add_alert(json_t *alerts, const char *suite, const char *test, const char *type,
                      double value, double limit, char *message)
{
    json_array_append_new(alerts, json_pack("{s:s?, s:s?, s:s, s:f, s:f, s:s}", "suite", suite,
                                            "test", test, "type", type, "value", value, "limit",
                                            limit, "message", message));
    free(message);
}

static void error_rate_alert(json_t *alerts, const char *suite, double failed, double total,
                             double limit)
{
    if (limit <= 0 || total <= 0 || failed / total <= limit)
        return;
    add_alert(alerts, suite, NULL, "error_rate", failed / total, limit,
              envmgr_xasprintf("%s%s: %.0f of %.0f tests failed (%.1f %%), over the limit of "
                               "%.1f %%",
                               suite ? "suite " : "the run", suite ? suite : "", failed, total,
                               100.0 * failed / total, 100.0 * limit));
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void history_alerts(json_t *alerts, const json_t *suite, const char *run_id,
                           const envmgr_alert_limits_t *limits, envmgr_history_t *history)
{
    const char *name = str_at(suite, "name");
    const char *status = str_at(suite, "status");
    json_t *rows = NULL;
    envmgr_error_t err = {0};
    if (history == NULL || (limits->flaky_rate <= 0 && limits->slower_than_median <= 0) ||
        envmgr_history_suite_runs(history, name, run_id, HISTORY_WINDOW - 1, &rows, &err) < 0)
        return;
    size_t n = json_array_size(rows), flaky = status && !strcmp(status, "flaky"), n_ok = 0;
    double *ok = envmgr_xcalloc(n + 1, sizeof(*ok));
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        const char *st = str_at(r, "status");
        flaky += st && !strcmp(st, "flaky");
        if (st && (!strcmp(st, "passed") || !strcmp(st, "flaky")))
            ok[n_ok++] = real_at(r, "duration");
    }
    double rate = (double)flaky / (double)(n + 1);
    if (limits->flaky_rate > 0 && n + 1 >= 5 && rate > limits->flaky_rate)
        add_alert(alerts, name, NULL, "flaky_rate", rate, limits->flaky_rate,
                  envmgr_xasprintf("suite %s was flaky in %zu of its last %zu runs (%.1f %%), over "
                                   "the limit of %.1f %%",
                                   name, flaky, n + 1, 100.0 * rate, 100.0 * limits->flaky_rate));
    double duration = real_at(suite, "duration");
    if (limits->slower_than_median > 0 && n_ok >= 3) {
        qsort(ok, n_ok, sizeof(*ok), compare_double);
        double median = n_ok % 2 ? ok[n_ok / 2] : (ok[n_ok / 2 - 1] + ok[n_ok / 2]) / 2;
        if (median > 0 && duration / median > limits->slower_than_median)
            add_alert(alerts, name, NULL, "slower_than_median", duration / median,
                      limits->slower_than_median,
                      envmgr_xasprintf("suite %s took %.2f s, %.2fx the median of its last %zu "
                                       "runs (%.2f s), over the limit of %.2fx",
                                       name, duration, duration / median, n_ok, median,
                                       limits->slower_than_median));
    }
    free(ok);
    json_decref(rows);
}

json_t *envmgr_monitor_alerts(const json_t *report, const envmgr_alert_limits_t *limits,
                              envmgr_history_t *history)
{
    json_t *alerts = json_array();
    const json_t *breakdown = json_object_get(report, "test_breakdown");
    double limit_s = (double)limits->duration_ms / 1000.0;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(report, "suites"), i, s)
    {
        const char *name = str_at(s, "name");
        double duration = real_at(s, "duration");
        if (limits->duration_ms > 0 && duration > limit_s)
            add_alert(alerts, name, NULL, "duration", duration, limit_s,
                      envmgr_xasprintf("suite %s took %.2f s, over the limit of %.0f s", name,
                                       duration, limit_s));
        size_t k;
        json_t *t;
        json_array_foreach(json_object_get(s, "tests"), k, t)
        {
            double d = real_at(t, "duration");
            if (limits->duration_ms > 0 && d > limit_s)
                add_alert(alerts, name, str_at(t, "name"), "duration", d, limit_s,
                          envmgr_xasprintf("test %s of suite %s took %.2f s, over the limit of "
                                           "%.0f s",
                                           str_at(t, "name"), name, d, limit_s));
        }
        double rss = real_at(s, "peak_rss");
        if (limits->memory_bytes > 0 && rss > (double)limits->memory_bytes)
            add_alert(alerts, name, NULL, "memory", rss, (double)limits->memory_bytes,
                      envmgr_xasprintf("suite %s peaked at %.1f MiB of memory (RSS), over the "
                                       "limit of %.1f MiB",
                                       name, mib(rss), mib((double)limits->memory_bytes)));
        const json_t *b = json_object_get(breakdown, name);
        error_rate_alert(
            alerts, name, (double)json_integer_value(json_object_get(b, "failed_tests")),
            (double)json_integer_value(json_object_get(b, "total_tests")), limits->error_rate);
        history_alerts(alerts, s, str_at(report, "run_id"), limits, history);
    }
    const json_t *tests = json_object_get(json_object_get(report, "summary"), "tests");
    error_rate_alert(alerts, NULL, (double)json_integer_value(json_object_get(tests, "failed")),
                     (double)json_integer_value(json_object_get(tests, "total")),
                     limits->error_rate);
    return alerts;
}

void envmgr_monitor_alerts_text(const json_t *report, envmgr_buf_t *out)
{
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(report, "alerts"), i, a)
        envmgr_buf_addf(out, "alert: %s: %s\n", str_at(a, "type"), str_at(a, "message"));
}

/* ---- the environment's identity ------------------------------------------------------------ */

static char *file_sha256(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    envmgr_sha256_t md, *ctx = &md;
    envmgr_sha256_init(ctx);
    char buf[65536], hex[65];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        envmgr_sha256_update(ctx, buf, (size_t)n);
    close(fd);
    envmgr_sha256_final_hex(ctx, hex);
    return n < 0 ? NULL : envmgr_xstrdup(hex);
}

/* `git rev-parse HEAD` in dir, or NULL. */
static char *git_commit(const char *dir)
{
    const char *sha = getenv("GITHUB_SHA");
    if (sha && *sha)
        return envmgr_xstrdup(sha);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    char *argv[] = {"git", "-C", (char *)(dir ? dir : "."), "rev-parse", "HEAD", NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "git", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    char out[128] = {0};
    size_t len = 0;
    ssize_t n;
    while (rc == 0 && len < sizeof(out) - 1 &&
           (n = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
        len += (size_t)n;
    close(fds[0]);
    int status = 1;
    if (rc == 0)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    out[strcspn(out, "\r\n")] = '\0';
    return rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && len >= 40
               ? envmgr_xstrdup(out)
               : NULL;
}

json_t *envmgr_monitor_identity(const envmgr_project_t *project)
{
    json_t *id = json_object();
    if (project != NULL) {
        json_t *model = envmgr_project_to_json(project, true);
        envmgr_cleanup_free char *text = json_dumps(model, JSON_SORT_KEYS | JSON_COMPACT);
        json_decref(model);
        char hex[65];
        envmgr_sha256_hex(text, strlen(text), hex);
        json_object_set_new(id, "compose_hash", json_string(hex));
        json_t *fixtures = json_array();
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(project->x_envtest, "fixtures"), i, f)
        {
            const char *path = json_is_string(f) ? json_string_value(f) : str_at(f, "path");
            if (path == NULL)
                continue;
            envmgr_cleanup_free char *full = path[0] == '/'
                                                 ? envmgr_xstrdup(path)
                                                 : envmgr_xasprintf("%s/%s", project->dir, path);
            char *digest = file_sha256(full);
            json_array_append_new(fixtures,
                                  json_pack("{s:s, s:s?}", "path", path, "digest", digest));
            free(digest);
        }
        json_object_set_new(id, "fixtures", fixtures);
    }
    char *commit = git_commit(project ? project->dir : NULL);
    json_object_set_new(id, "git_commit", commit ? json_string(commit) : json_null());
    free(commit);
    return id;
}

/* ---- the run's monitor --------------------------------------------------------------------- */

struct envmgr_monitor {
    envmgr_history_t *history;
    char *path;
    char *warning;
    envmgr_alert_limits_t limits;
    json_t *identity;
};

static void monitor_warn(envmgr_monitor_t *m, const envmgr_error_t *err)
{
    if (m->warning != NULL)
        return;
    m->warning = envmgr_xasprintf("%s; this run is not recorded in the history (the run and its "
                                  "reports are not affected; move the file away or use --history "
                                  "PATH)",
                                  err->message);
    envmgr_history_close(m->history);
    m->history = NULL;
}

envmgr_monitor_t *envmgr_monitor_open(const envmgr_monitor_options_t *opts)
{
    envmgr_monitor_t *m = envmgr_xcalloc(1, sizeof(*m));
    envmgr_alert_limits_t defaults = ENVMGR_ALERT_LIMITS_DEFAULT;
    m->limits = opts->project ? opts->project->alerts : defaults;
    m->identity = envmgr_monitor_identity(opts->project);
    m->path = envmgr_xstrdup(envmgr_history_path(opts->history_path));
    envmgr_error_t err = {0};
    envmgr_cleanup_free char *copy = envmgr_xstrdup(m->path);
    envmgr_error_t ignored = {0};
    envmgr_mkdir_p(dirname(copy), 0755, &ignored); /* a failure shows when it is opened */
    if (envmgr_history_open(m->path, false, &m->history, &err) < 0)
        monitor_warn(m, &err);
    return m;
}

size_t envmgr_monitor_analyze(envmgr_monitor_t *m, json_t *report)
{
    json_object_set(report, "environment", m->identity);
    json_t *alerts = envmgr_monitor_alerts(report, &m->limits, m->history);
    size_t n = json_array_size(alerts);
    json_object_set_new(report, "alerts", alerts);
    return n;
}

static int write_html(const char *dir, const envmgr_buf_t *html, envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/report.html", dir);
    if (envmgr_write_file(path, html->data, html->len, err) < 0)
        return envmgr_error_wrap(err, "report.html");
    return 0;
}

int envmgr_monitor_record_run(envmgr_monitor_t *m, const json_t *report, const char *run_dir,
                              const char *extra_dir, envmgr_error_t *err)
{
    json_t *runs = NULL;
    envmgr_error_t herr = {0};
    if (m->history && (envmgr_history_record_suites(m->history, report, envmgr_report_saved_suite,
                                                    (void *)run_dir, &herr) < 0 ||
                       envmgr_history_runs(m->history, CHART_RUNS, &runs, &herr) < 0))
        monitor_warn(m, &herr);
    envmgr_buf_t html = ENVMGR_BUF_INIT;
    envmgr_report_html(report, runs, run_dir, &html);
    int rc = write_html(run_dir, &html, err);
    if (rc == 0 && extra_dir != NULL)
        rc = write_html(extra_dir, &html, err);
    envmgr_buf_free(&html);
    json_decref(runs);
    return rc;
}

int envmgr_monitor_record(envmgr_monitor_t *m, const char *run_dir, const char *extra_dir,
                          envmgr_error_t *err)
{
    json_t *report = NULL;
    if (envmgr_report_load(run_dir, &report, err) < 0)
        return -1;
    int rc = envmgr_monitor_record_run(m, report, run_dir, extra_dir, err);
    json_decref(report);
    return rc;
}

const char *envmgr_monitor_warning(const envmgr_monitor_t *m)
{
    return m ? m->warning : NULL;
}

void envmgr_monitor_close(envmgr_monitor_t *m)
{
    if (m == NULL)
        return;
    envmgr_history_close(m->history);
    json_decref(m->identity);
    free(m->path);
    free(m->warning);
    free(m);
}
