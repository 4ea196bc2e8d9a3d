/* envtest run: the suites of x-envtest (or --suite, or -- CMD) against the environment, with live
 * progress, reports in .envtest/runs/<run-id>/ and the keep policy for the environment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "monitor.h"
#include "progress.h"
#include <envmgr/report.h>
#include <envmgr/runner.h>
#include <envmgr/session.h>
#include <envmgr/util.h>

#define FAILED_OUTPUT_MAX (1024 * 1024)

typedef struct run_cli {
    envmgr_strv_t suites; /* --suite, and with --from --failed the bundle's failed suites */
    const envmgr_strv_t *tags;
    int jobs;
    int64_t timeout_ms;
    int retries;
    bool fail_fast;
    int shard_k, shard_n;
    bool keep_on_failure;
    bool no_snapshot;
    bool pod;
    bool no_env;
    const char *report_dir;
    const char *history; /* --history, or NULL */
    bool fail_on_alert;
    char **command;            /* after -- */
    const char *from;          /* --from BUNDLE */
    bool failed;               /* --failed */
    bool bundle_on_failure;    /* --bundle-on-failure[=FILE] */
    const char *bundle_output; /* its FILE, or NULL */
} run_cli_t;

typedef struct live {
    FILE *out;
    bool tty, quiet, drawn;
    const envmgr_suite_spec_t **running;
    int64_t *since;
    size_t n_running, cap;
    size_t passed, failed, flaky, skipped;
    const char *slowest;
    int64_t slowest_ms;
} live_t;

/* What the session's callbacks get as userdata. */
typedef struct run_ctx {
    live_t *live;
    envtest_globals_t *g;
    const run_cli_t *o;
    envmgr_engine_t *engine;
} run_ctx_t;

/* ---- options ------------------------------------------------------------------------------- */

static int parse_numbers(envtest_ctx_t *ctx, run_cli_t *o)
{
    const char *jobs = envtest_value(ctx, "jobs"), *timeout = envtest_value(ctx, "timeout");
    const char *retries = envtest_value(ctx, "retries"), *shard = envtest_value(ctx, "shard");
    if (jobs && envtest_parse_count(jobs, 1, &o->jobs) < 0)
        return envtest_usage_error("run", "--jobs: '%s' is not a positive number", jobs);
    if (timeout && (envmgr_parse_duration_ms(timeout, &o->timeout_ms) < 0 || o->timeout_ms <= 0))
        return envtest_usage_error("run", "--timeout: '%s' is not a duration (90, 90s, 5m)",
                                   timeout);
    if (retries && envtest_parse_count(retries, 0, &o->retries) < 0)
        return envtest_usage_error("run", "--retries: '%s' is not a number >= 0", retries);
    char extra;
    if (shard && (sscanf(shard, "%d/%d%c", &o->shard_k, &o->shard_n, &extra) != 2 ||
                  o->shard_n < 1 || o->shard_k < 1 || o->shard_k > o->shard_n))
        return envtest_usage_error("run", "--shard: '%s' is not K/N with 1 <= K <= N", shard);
    return 0;
}

static int run_parse(envtest_ctx_t *ctx, void *opts)
{
    run_cli_t *o = opts;
    int rc = parse_numbers(ctx, o);
    if (rc != 0)
        return rc;
    if (ctx->argc > 0 && !ctx->after_dashdash)
        return envtest_usage_error("run", "unexpected argument '%s' (a command goes after --)",
                                   ctx->argv[0]);
    if (ctx->argc > 0)
        o->command = ctx->argv;
    const envmgr_strv_t *suites = envtest_values(ctx, "suite");
    for (size_t i = 0; i < suites->n; i++)
        envmgr_strv_push(&o->suites, suites->items[i]);
    o->tags = envtest_values(ctx, "tag");
    if (o->command && o->suites.n)
        return envtest_usage_error("run", "--suite and a command after -- cannot be combined");
    o->history = envtest_value(ctx, "history");
    o->fail_on_alert = envtest_flag(ctx, "fail-on-alert");
    o->fail_fast = envtest_flag(ctx, "fail-fast");
    o->from = envtest_value(ctx, "from");
    o->failed = envtest_flag(ctx, "failed");
    if (o->failed && !o->from)
        return envtest_usage_error("run", "--failed needs --from BUNDLE");
    o->bundle_on_failure = envtest_flag(ctx, "bundle-on-failure");
    o->bundle_output = envtest_value(ctx, "bundle-on-failure");
    if (o->bundle_output && !*o->bundle_output)
        o->bundle_output = NULL;
    const char *keep = getenv("ENVTEST_KEEP");
    o->no_snapshot = envtest_flag(ctx, "no-snapshot");
    o->pod = envtest_flag(ctx, "pod");
    o->keep_on_failure =
        envtest_flag(ctx, "keep-on-failure") || (keep && strcmp(keep, "on-failure") == 0);
    o->report_dir = envtest_value(ctx, "report-dir");
    o->no_env = envtest_flag(ctx, "no-env");
    return 0;
}

/* ---- live progress ------------------------------------------------------------------------- */

static void live_clear(live_t *l)
{
    if (l->drawn) {
        fputs("\r\033[K", stderr);
        l->drawn = false;
    }
}

static void live_draw(live_t *l, const envmgr_run_event_t *ev)
{
    if (!l->tty || l->quiet)
        return;
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    envmgr_buf_addf(&b, "%zu/%zu done, %zu running", ev->finished, ev->total, l->n_running);
    int64_t now = envmgr_now_ms();
    for (size_t i = 0; i < l->n_running && i < 3; i++)
        envmgr_buf_addf(&b, "%s%s %llds", i ? ", " : ": ", l->running[i]->name,
                        (long long)((now - l->since[i]) / 1000));
    if (l->n_running > 3)
        envmgr_buf_adds(&b, ", ...");
    envmgr_buf_addf(&b, " | %zu passed, %zu failed | %.1fs", l->passed + l->flaky, l->failed,
                    ev->elapsed_ms / 1000.0);
    if (l->slowest)
        envmgr_buf_addf(&b, " | slowest %s %.1fs", l->slowest, l->slowest_ms / 1000.0);
    fprintf(stderr, "\r\033[K%.*s", 150, b.data);
    fflush(stderr);
    l->drawn = true;
    envmgr_buf_free(&b);
}

static void live_remove(live_t *l, const envmgr_suite_spec_t *s)
{
    for (size_t i = 0; i < l->n_running; i++) {
        if (l->running[i] == s) {
            memmove(&l->running[i], &l->running[i + 1],
                    (l->n_running - i - 1) * sizeof(*l->running));
            memmove(&l->since[i], &l->since[i + 1], (l->n_running - i - 1) * sizeof(*l->since));
            l->n_running--;
            return;
        }
    }
}

static const char *status_label(enum envmgr_suite_status st)
{
    switch (st) {
    case ENVMGR_SUITE_PASSED:
        return "PASS";
    case ENVMGR_SUITE_SKIPPED:
        return "SKIP";
    case ENVMGR_SUITE_FLAKY:
        return "FLAKY";
    case ENVMGR_SUITE_TIMEOUT:
        return "TIMEOUT";
    case ENVMGR_SUITE_ERROR:
        return "ERROR";
    case ENVMGR_SUITE_INTERRUPTED:
        return "INTR";
    case ENVMGR_SUITE_NOT_RUN:
        return "NOTRUN";
    default:
        return "FAIL";
    }
}

static void live_finished(live_t *l, const envmgr_suite_result_t *r)
{
    const envmgr_suite_attempt_t *a = envmgr_suite_result_last(r);
    int64_t ms = a ? a->duration_ms : 0;
    switch (r->status) {
    case ENVMGR_SUITE_PASSED:
        l->passed++;
        break;
    case ENVMGR_SUITE_FLAKY:
        l->flaky++;
        break;
    case ENVMGR_SUITE_SKIPPED:
        l->skipped++;
        break;
    default:
        l->failed++;
    }
    if (ms > l->slowest_ms) {
        l->slowest_ms = ms;
        l->slowest = r->spec->name;
    }
    if (l->quiet && envmgr_suite_status_ok(r->status))
        return;
    live_clear(l);
    fprintf(l->out, "%-7s %s (%.2fs", status_label(r->status), r->spec->name, ms / 1000.0);
    if (a && a->tap && a->tap->ran)
        fprintf(l->out, ", %d test%s", a->tap->ran, a->tap->ran == 1 ? "" : "s");
    if (r->n_attempts > 1)
        fprintf(l->out, ", %zu attempts", r->n_attempts);
    fprintf(l->out, ")");
    if (r->status == ENVMGR_SUITE_SKIPPED && a && a->tap && a->tap->skip_all_reason)
        fprintf(l->out, ": %s", a->tap->skip_all_reason);
    else if (r->status == ENVMGR_SUITE_FLAKY)
        fprintf(l->out, ": failed first (%s)",
                r->attempts[0].message ? r->attempts[0].message : "?");
    else if (a && a->message && !envmgr_suite_status_ok(r->status))
        fprintf(l->out, ": %s", a->message);
    fputc('\n', l->out);
    fflush(l->out);
}

static void progress_cb(void *userdata, const envmgr_run_event_t *ev)
{
    live_t *l = ((run_ctx_t *)userdata)->live;
    switch (ev->kind) {
    case ENVMGR_RUN_SUITE_STARTED:
        l->running = envmgr_xgrow(l->running, l->n_running, &l->cap, sizeof(*l->running));
        l->since = envmgr_xrealloc(l->since, l->cap * sizeof(*l->since));
        l->running[l->n_running] = ev->suite;
        l->since[l->n_running++] = envmgr_now_ms();
        if (!l->tty && !l->quiet) { /* a CI log: a line when each suite starts, as when it ends */
            fprintf(l->out, "START   %s\n", ev->suite->name);
            fflush(l->out);
        }
        break;
    case ENVMGR_RUN_SUITE_RETRYING:
        live_remove(l, ev->suite);
        if (!l->quiet) {
            live_clear(l);
            fprintf(l->out, "RETRY   %s (attempt %d failed)\n", ev->suite->name, ev->attempt);
        }
        break;
    case ENVMGR_RUN_SUITE_FINISHED:
        live_remove(l, ev->suite);
        live_finished(l, ev->result);
        break;
    case ENVMGR_RUN_INTERRUPTING:
        live_clear(l);
        fprintf(stderr, "envtest: interrupted: stopping %zu running suite%s\n", l->n_running,
                l->n_running == 1 ? "" : "s");
        break;
    case ENVMGR_RUN_TICK:
        break;
    }
    if (ev->kind != ENVMGR_RUN_INTERRUPTING)
        live_draw(l, ev);
}

/* ---- the session's events ------------------------------------------------------------------ */

static void session_event(void *userdata, const envmgr_session_event_t *ev)
{
    envtest_session_event_print(((run_ctx_t *)userdata)->g, ev, "run");
}

/* ---- after the run ------------------------------------------------------------------------- */

static void print_output(FILE *out, const char *name, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    struct stat st;
    fstat(fileno(f), &st);
    fprintf(out, "\n---- output of %s (%s) ----\n", name, path);
    if (st.st_size > FAILED_OUTPUT_MAX) {
        fprintf(out, "[... first %lld bytes not shown ...]\n",
                (long long)(st.st_size - FAILED_OUTPUT_MAX));
        fseeko(f, st.st_size - FAILED_OUTPUT_MAX, SEEK_SET);
    }
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        fwrite(buf, 1, n, out);
    fclose(f);
    fprintf(out, "---- end of %s ----\n", name);
}

static void print_failures(FILE *out, const envmgr_run_result_t *run)
{
    for (size_t i = 0; i < run->n_suites; i++) {
        const envmgr_suite_result_t *s = &run->suites[i];
        const envmgr_suite_attempt_t *a = envmgr_suite_result_last(s);
        if (a && !envmgr_suite_status_ok(s->status) && a->output_bytes > 0)
            print_output(out, s->spec->name, a->output_path);
    }
}

static void github_outputs(const json_t *report, const char *run_dir)
{
    const char *gha = getenv("GITHUB_ACTIONS");
    if (gha == NULL || strcmp(gha, "true") != 0)
        return;
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    envmgr_report_github_annotations(report, &b);
    fwrite(b.data ? b.data : "", 1, b.len, stdout);
    envmgr_buf_reset(&b);
    const char *summary = getenv("GITHUB_STEP_SUMMARY");
    if (summary && *summary) {
        envmgr_report_markdown(report, &b);
        FILE *f = fopen(summary, "a");
        if (f) {
            fwrite(b.data, 1, b.len, f);
            fclose(f);
        } else {
            fprintf(stderr, "envtest: warning: cannot append to $GITHUB_STEP_SUMMARY (%s)\n",
                    summary);
        }
    }
    envmgr_buf_free(&b);
}

static void print_summary(FILE *out, const envmgr_run_result_t *run, const json_t *report)
{
    const json_t *s = json_object_get(report, "summary");
#define N(k) (long long)json_integer_value(json_object_get(s, k))
    fprintf(out, "\n%s: %lld suite%s: %lld passed, %lld failed, %lld flaky, %lld skipped",
            run->interrupted ? "INTERRUPTED"
            : N("failed")    ? "FAILED"
                             : "PASSED",
            N("total"), N("total") == 1 ? "" : "s", N("passed"), N("failed"), N("flaky"),
            N("skipped"));
    if (N("not_run"))
        fprintf(out, ", %lld not run%s", N("not_run"), run->failed_fast ? " (--fail-fast)" : "");
    fprintf(out, " in %.2fs\nreport: %s/report.json (report.html, junit.xml, summary.md)\n",
            json_number_value(json_object_get(s, "total_execution_time")), run->run_dir);
    if (N("flaky")) {
        fprintf(out, "warning: flaky suites (failed, then passed on retry):");
        for (size_t i = 0; i < run->n_suites; i++)
            if (run->suites[i].status == ENVMGR_SUITE_FLAKY)
                fprintf(out, " %s", run->suites[i].spec->name);
        fputc('\n', out);
    }
#undef N
}

static int load_project_cb(void *userdata, envmgr_project_t **out, envmgr_error_t *err)
{
    return envtest_load_project(((run_ctx_t *)userdata)->g, out, err);
}

/* Under the project's lock: the project again with the live environment's secrets. */
static int reload_project_cb(void *userdata, envmgr_project_t **out, envmgr_kvlist_t *labels,
                             envmgr_error_t *err)
{
    run_ctx_t *ctx = userdata;
    return envtest_reload_live_project(ctx->g, ctx->engine, out, labels, err);
}

/* A suite failed: with --bundle-on-failure, a repro bundle while the environment is still up. */
static void after_run_cb(void *userdata, const envmgr_session_result_t *result,
                         const envmgr_project_t *project)
{
    run_ctx_t *ctx = userdata;
    if (ctx->o->bundle_on_failure && result->status == ENVMGR_SESSION_FAILED)
        envtest_bundle_after_run(ctx->g, ctx->engine, project, result->run->run_dir,
                                 ctx->o->bundle_output);
}

static int exit_code(enum envmgr_session_status status)
{
    return status == ENVMGR_SESSION_INTERRUPTED ? ENVTEST_EXIT_INTERRUPTED
           : status == ENVMGR_SESSION_FAILED    ? ENVTEST_EXIT_TESTS_FAILED
                                                : ENVTEST_EXIT_OK;
}

/* Services that died while the suites ran: an environment error (exit 3) whatever the suites
 * said, since they ran against a broken environment. Returns how many. */
static size_t print_service_failures(const json_t *failures)
{
    size_t i;
    json_t *f;
    json_array_foreach(failures, i, f)
    {
        const char *hint = json_string_value(json_object_get(f, "hint"));
        fprintf(stderr, "envtest: error: service %s died while the suites ran: %s\n",
                json_string_value(json_object_get(f, "service")),
                json_string_value(json_object_get(f, "message")));
        if (hint && *hint)
            fprintf(stderr, "  hint: %s\n", hint);
    }
    return json_array_size(failures);
}

/* After the run: the failing suites' output, the summary, the alerts, GitHub's annotations. */
static void print_results(const envtest_globals_t *g, const run_cli_t *o,
                          const envmgr_session_result_t *result)
{
    print_failures(stdout, result->run);
    if (!g->quiet ||
        json_integer_value(json_object_get(json_object_get(result->report, "summary"), "failed")))
        print_summary(stdout, result->run, result->report);
    envtest_print_alerts(stdout, result->report, o->fail_on_alert);
    github_outputs(result->report, result->run->run_dir);
}

static int run_session(envtest_globals_t *g, const run_cli_t *o, envmgr_session_options_t *so)
{
    live_t live = {.out = stdout, .tty = g->stderr_is_tty, .quiet = g->quiet};
    run_ctx_t ctx = {.live = &live, .g = g, .o = o, .engine = so->engine};
    /* an up for this run shows the same per-service progress as `envtest up` */
    envtest_progress_t up_progress;
    envtest_progress_init(&up_progress, stderr, g->stderr_is_tty, g->quiet);
    so->up_progress = envtest_progress_cb;
    so->up_userdata = &up_progress;
    so->suites = o->suites.n ? (const char *const *)o->suites.items : NULL;
    so->tags = o->tags->n ? (const char *const *)o->tags->items : NULL;
    so->command = (const char *const *)o->command;
    so->shard_index = o->shard_k;
    so->shard_count = o->shard_n;
    so->jobs = o->jobs;
    so->timeout_ms = o->timeout_ms;
    so->retries = o->retries;
    so->fail_fast = o->fail_fast;
    so->keep_on_failure = o->keep_on_failure;
    so->no_snapshot = o->no_snapshot;
    so->pod = o->pod;
    so->report_dir = o->report_dir;
    so->history_path = o->history;
    so->lock_timeout_ms = envtest_lock_timeout_ms();
    so->load_project = load_project_cb;
    so->reload_project = so->engine ? reload_project_cb : NULL;
    so->after_run = after_run_cb;
    so->run_progress = progress_cb;
    so->event = session_event;
    so->userdata = &ctx;
    envmgr_session_result_t result;
    envmgr_error_t err = {0};
    int rc = envmgr_session_run(so, &result, &err);
    envtest_progress_finish(&up_progress);
    live_clear(&live);
    free(live.running);
    free(live.since);
    if (rc < 0)
        return err.kind == ENVMGR_E_USAGE ? envtest_usage_error("run", "%s", err.message)
                                          : envtest_report_error(&err);
    print_results(g, o, &result);
    int code = exit_code(result.status);
    if (code == ENVTEST_EXIT_OK && o->fail_on_alert && result.n_alerts > 0)
        code = ENVTEST_EXIT_TESTS_FAILED;
    if (print_service_failures(result.service_failures) && code != ENVTEST_EXIT_INTERRUPTED)
        code = ENVTEST_EXIT_ENVIRONMENT;
    envmgr_session_result_free(&result);
    return code;
}

static int run_run(envtest_ctx_t *ctx, void *opts)
{
    run_cli_t *o = opts;
    envtest_globals_t *g = ctx->g;
    envmgr_cleanup_free char *from_compose = NULL, *from_project = NULL;
    int rc;
    if (o->from && (rc = envtest_run_from(g, o->from, o->failed, &o->suites, &from_compose,
                                          &from_project)) != 0)
        return rc < 0 ? ENVTEST_EXIT_OK : rc; /* -1: nothing failed there, nothing to run */
    envmgr_engine_t *engine = NULL;
    envmgr_project_t *project = NULL;
    envmgr_cleanup_free char *secrets = NULL;
    envmgr_error_t err = {0};
    int code = 0;
    if (!o->no_env && (envtest_open_engine(g, &engine, &err) < 0 ||
                       envtest_load_live_project(g, engine, &project, &secrets, &err) < 0))
        code = envtest_report_error(&err);
    envmgr_kvlist_t labels = {0};
    if (code == 0) {
        if (project)
            envtest_network_labels(project, secrets, &labels);
        envmgr_session_options_t so = {
            .engine = engine, .project = project, .network_labels = &labels};
        code = run_session(g, o, &so);
    }
    envmgr_kvlist_free(&labels);
    envmgr_project_free(project);
    envmgr_engine_close(engine);
    g->compose_file = NULL; /* pointed at from_compose by --from */
    g->project_name = NULL;
    return code;
}

static void run_free(void *opts)
{
    envmgr_strv_free(&((run_cli_t *)opts)->suites);
}

/* The set-up is the run's own: without --no-env it needs the engine and the live project, with it
 * neither (the Compose file only when a suite name needs it). */
const envtest_command_t envtest_cmd_run = {
    .name = "run",
    .parse = run_parse,
    .run = run_run,
    .free_opts = run_free,
    .opts_size = sizeof(run_cli_t),
    .flags = ENVTEST_OPTIONS_FIRST,
    .usage = (const char *const[]){"[OPTIONS] [-- CMD ARGS...]", NULL},
    .summary = "run the integration suites against the environment",
    .description =
        "Runs the integration suites (x-envtest.suites of the compose file, or --suite, or\n"
        "one command after --) against the environment, in parallel, and writes reports to\n"
        ".envtest/runs/<run-id>/ (report.json, report.html, junit.xml, summary.md, each\n"
        "suite's output), and records the run in the history (alerts: x-envtest.monitor).\n"
        "A suite prints TAP; a command after -- is judged by its exit code. If no environment\n"
        "is up, it is brought up first and removed afterwards (see --keep-on-failure).\n"
        "Runs of one project share its environment; the last one to leave removes it.\n"
        "A selection that matches no suite is a usage error; an empty shard passes.",
    .options =
        (const envtest_option_t[]){
            {"suite", 's', "NAME|PATH",
             "this suite (repeatable): an x-envtest.suites name or a TAP executable"},
            {"jobs", 'j', "N", "suites at a time (default: number of CPUs)"},
            {"timeout", 0, "S", "per-suite timeout, e.g. 90, 90s, 5m (default 300 s)"},
            {"retries", 0, "N", "re-run a failing suite up to N times (passes later: flaky)"},
            {"fail-fast", 0, NULL,
             "after the first suite that fails, start no other (the running ones finish)"},
            {"shard", 0, "K/N", "run only shard K of N (deterministic by suite name)"},
            {"tag", 't', "T", "only suites with tag T (repeatable)"},
            {"keep-on-failure", 0, NULL,
             "keep the environment when anything failed (or ENVTEST_KEEP=on-failure)"},
            {"report-dir", 0, "D", "also write report.json, junit.xml, summary.md into D"},
            {"history", 0, "PATH",
             "the run history (SQLite; default $ENVTEST_HISTORY, else .envtest/history.sqlite)"},
            {"fail-on-alert", 0, NULL,
             "exit 1 when an alert was raised (x-envtest.monitor.alerts)"},
            {"bundle-on-failure", 0, "[=FILE]",
             "when a suite failed, save a repro bundle of the environment (default "
             ".envtest/bundles/<project>-<time>.tar.zst)"},
            {"from", 0, "BUNDLE", "run against the environment of a bundle (`up --from`)"},
            {"failed", 0, NULL, "with --from: the suites that failed where it was made"},
            {"no-env", 0, NULL, "run without any environment (no engine needed)"},
            {"no-snapshot", 0, NULL,
             "when run brings the environment up: load the fixtures, not a state snapshot"},
            {"pod", 0, NULL,
             "when run brings the environment up: pod mode, as `up --pod` (one network "
             "namespace)"},
            {NULL, 0, NULL, NULL},
        },
    .exit_codes =
        "0 all passed (flaky counts as passed, with a warning), 1 a suite failed,\n"
        "2 usage or configuration error, 3 environment error (also: a service died while\n"
        "the suites ran, e.g. OOM-killed), 130 interrupted.",
};
