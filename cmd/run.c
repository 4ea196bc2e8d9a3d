/* envtest run: the suites of x-envtest (or --suite, or -- CMD) against the environment, with live
 * progress, reports in .envtest/runs/<run-id>/ and the keep policy for the environment. */
#include <getopt.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "monitor.h"
#include "progress.h"
#include <envmgr/isolation.h>
#include <envmgr/lifecycle.h>
#include <envmgr/monitor.h>
#include <envmgr/report.h>
#include <envmgr/runner.h>
#include <envmgr/util.h>

#define RUNS_DIR ".envtest/runs"
#define FAILED_OUTPUT_MAX (1024 * 1024)

typedef struct run_cli {
    envmgr_strv_t suites; /* --suite */
    envmgr_strv_t tags;
    int jobs;
    int64_t timeout_ms;
    int retries;
    int shard_k, shard_n;
    bool keep_on_failure;
    bool no_env;
    const char *report_dir;
    const char *history; /* --history, or NULL */
    bool fail_on_alert;
    char **command; /* after -- */
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

typedef struct env_ctx env_ctx_t;
/* What the runner's callbacks get as userdata. */
typedef struct run_ctx {
    live_t *live;
    env_ctx_t *env;
} run_ctx_t;

struct env_ctx {
    envmgr_engine_t *engine;
    envmgr_project_t *project;
    envmgr_kvlist_t vars;
    char *secrets; /* the live environment's generated secrets label, or NULL */
    bool brought_up;
    bool keep_on_failure;
    pthread_mutex_t lock;      /* serialises isolation calls */
    envmgr_kvlist_t databases; /* "suite\x1fattempt" -> cloned database */
};

static void run_usage(FILE *out)
{
    fprintf(out,
            "Usage: envtest run [OPTIONS] [-- CMD ARGS...]\n\n"
            "Runs the integration suites (x-envtest.suites of the compose file, or --suite, or\n"
            "one command after --) against the environment, in parallel, and writes reports to\n"
            ".envtest/runs/<run-id>/ (report.json, junit.xml, summary.md, each suite's output).\n"
            "A suite prints TAP; a command after -- is judged by its exit code. If no environment\n"
            "is up, it is brought up first and removed afterwards (see --keep-on-failure).\n\n"
            "Options:\n"
            "  -f, --file FILE         Compose file\n"
            "  -p, --project-name N    project name\n"
            "  -s, --suite NAME|PATH   run this suite (repeatable): a name from x-envtest.suites\n"
            "                          or the path of an executable printing TAP\n"
            "  -j, --jobs N            suites at a time (default: number of CPUs)\n"
            "      --timeout S         per-suite timeout, e.g. 90, 90s, 5m (default 300 s)\n"
            "      --retries N         re-run a failing suite up to N times (passes later: flaky)\n"
            "      --shard K/N         run only shard K of N (deterministic by suite name)\n"
            "  -t, --tag T             only suites with tag T (repeatable)\n"
            "      --keep-on-failure   leave the environment up when anything failed\n"
            "                          (also ENVTEST_KEEP=on-failure)\n"
            "      --report-dir D      also write report.json, junit.xml, summary.md into D\n"
            "      --history PATH      the run history (SQLite; default $ENVTEST_HISTORY, else\n"
            "                          .envtest/history.sqlite)\n"
            "      --fail-on-alert     exit 1 when an alert was raised (x-envtest.monitor.alerts)\n"
            "      --no-env            run without any environment (no engine needed)\n"
            "  -h, --help              this help\n\n"
            "Exit codes: 0 all passed (flaky counts as passed, with a warning), 1 a suite failed,\n"
            "2 usage or configuration error, 3 environment error, 130 interrupted.\n");
}

/* ---- options ------------------------------------------------------------------------------- */

static int parse_count(const char *arg, int min, int *out)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (*arg == '\0' || *end || v < min || v > 100000)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_options(int argc, char **argv, envtest_globals_t *g, run_cli_t *o)
{
    enum {
        OPT_TIMEOUT = 256,
        OPT_RETRIES,
        OPT_SHARD,
        OPT_KEEP,
        OPT_REPORT_DIR,
        OPT_NO_ENV,
        OPT_HISTORY,
        OPT_FAIL_ON_ALERT
    };
    static const struct option longopts[] = {
        ENVTEST_COMMON_LONGOPTS,
        {"suite", required_argument, NULL, 's'},
        {"jobs", required_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"retries", required_argument, NULL, OPT_RETRIES},
        {"shard", required_argument, NULL, OPT_SHARD},
        {"tag", required_argument, NULL, 't'},
        {"keep-on-failure", no_argument, NULL, OPT_KEEP},
        {"report-dir", required_argument, NULL, OPT_REPORT_DIR},
        {"no-env", no_argument, NULL, OPT_NO_ENV},
        {"history", required_argument, NULL, OPT_HISTORY},
        {"fail-on-alert", no_argument, NULL, OPT_FAIL_ON_ALERT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "+" ENVTEST_COMMON_SHORTOPTS "s:j:t:h", longopts,
                              NULL)) != -1) {
        if (envtest_common_option(g, opt, optarg))
            continue;
        switch (opt) {
        case 's':
            envmgr_strv_push(&o->suites, optarg);
            break;
        case 't':
            envmgr_strv_push(&o->tags, optarg);
            break;
        case 'j':
            if (parse_count(optarg, 1, &o->jobs) < 0)
                return envtest_usage_error("run", "--jobs: '%s' is not a positive number", optarg);
            break;
        case OPT_TIMEOUT:
            if (envmgr_parse_duration_ms(optarg, &o->timeout_ms) < 0 || o->timeout_ms <= 0)
                return envtest_usage_error("run", "--timeout: '%s' is not a duration (90, 90s, 5m)",
                                           optarg);
            break;
        case OPT_RETRIES:
            if (parse_count(optarg, 0, &o->retries) < 0)
                return envtest_usage_error("run", "--retries: '%s' is not a number >= 0", optarg);
            break;
        case OPT_SHARD: {
            char extra;
            if (sscanf(optarg, "%d/%d%c", &o->shard_k, &o->shard_n, &extra) != 2 ||
                o->shard_n < 1 || o->shard_k < 1 || o->shard_k > o->shard_n)
                return envtest_usage_error("run", "--shard: '%s' is not K/N with 1 <= K <= N",
                                           optarg);
            break;
        }
        case OPT_KEEP:
            o->keep_on_failure = true;
            break;
        case OPT_REPORT_DIR:
            o->report_dir = optarg;
            break;
        case OPT_NO_ENV:
            o->no_env = true;
            break;
        case OPT_HISTORY:
            o->history = optarg;
            break;
        case OPT_FAIL_ON_ALERT:
            o->fail_on_alert = true;
            break;
        case 'h':
            run_usage(stdout);
            return -2;
        default:
            return envtest_usage_error("run", "invalid option");
        }
    }
    if (optind < argc && strcmp(argv[optind - 1], "--") != 0)
        return envtest_usage_error("run", "unexpected argument '%s' (a command goes after --)",
                                   argv[optind]);
    if (optind < argc)
        o->command = argv + optind;
    if (o->command && o->suites.n)
        return envtest_usage_error("run", "--suite and a command after -- cannot be combined");
    const char *keep = getenv("ENVTEST_KEEP");
    if (keep && strcmp(keep, "on-failure") == 0)
        o->keep_on_failure = true;
    return 0;
}

/* ---- suites -------------------------------------------------------------------------------- */

static void copy_spec(envmgr_suite_list_t *list, const envmgr_suite_spec_t *s)
{
    envmgr_suite_spec_t *c =
        envmgr_suite_list_add(list, s->name, (const char *const *)s->argv.items, s->is_tap);
    for (size_t i = 0; i < s->tags.n; i++)
        envmgr_strv_push(&c->tags, s->tags.items[i]);
    for (size_t i = 0; i < s->env.n; i++)
        envmgr_kvlist_set(&c->env, s->env.items[i].key, s->env.items[i].value);
    c->timeout_ms = s->timeout_ms;
    c->retries = s->retries;
    c->cwd = s->cwd ? envmgr_xstrdup(s->cwd) : NULL;
}

static bool looks_like_path(const char *arg)
{
    return strchr(arg, '/') != NULL || access(arg, F_OK) == 0;
}

/* The suites named by --suite: paths, or names (or "name/" glob groups) from x-envtest. */
static int select_suites(const run_cli_t *o, const envmgr_suite_list_t *config,
                         envmgr_suite_list_t *out)
{
    for (size_t i = 0; i < o->suites.n; i++) {
        const char *arg = o->suites.items[i];
        if (looks_like_path(arg)) {
            envmgr_cleanup_free char *real = realpath(arg, NULL);
            envmgr_cleanup_free char *copy = envmgr_xstrdup(arg);
            const char *argv[] = {real ? real : arg, NULL};
            envmgr_suite_list_add(out, basename(copy), argv, true);
            continue;
        }
        size_t before = out->n, len = strlen(arg);
        for (size_t k = 0; config && k < config->n; k++) {
            const char *name = config->items[k].name;
            if (strcmp(name, arg) == 0 || (strncmp(name, arg, len) == 0 && name[len] == '/'))
                copy_spec(out, &config->items[k]);
        }
        if (out->n == before) {
            envmgr_buf_t names = ENVMGR_BUF_INIT;
            for (size_t k = 0; config && k < config->n; k++)
                envmgr_buf_addf(&names, "%s%s", k ? ", " : "", config->items[k].name);
            int rc = envtest_usage_error("run",
                                         "--suite %s: no such file and no suite of that "
                                         "name in x-envtest.suites (known: %s)",
                                         arg, names.len ? names.data : "none");
            envmgr_buf_free(&names);
            return rc;
        }
    }
    return 0;
}

static int build_suites(const run_cli_t *o, envtest_globals_t *g, envmgr_project_t *project,
                        envmgr_suite_list_t *out)
{
    envmgr_error_t err = {0};
    if (o->command) {
        envmgr_cleanup_free char *copy = envmgr_xstrdup(o->command[0]);
        envmgr_suite_list_add(out, basename(copy), (const char *const *)o->command, false);
        return 0;
    }
    bool need_config = o->suites.n == 0;
    for (size_t i = 0; i < o->suites.n; i++)
        need_config = need_config || !looks_like_path(o->suites.items[i]);
    envmgr_suite_list_t config = {0};
    envmgr_project_t *loaded = NULL;
    if (need_config && project == NULL) {
        if (envtest_load_project(g, &loaded, &err) < 0)
            return envtest_report_error(&err);
        project = loaded;
    }
    int rc = 0;
    if (need_config &&
        envmgr_suite_list_from_config(project->x_envtest, project->dir, &config, &err) < 0) {
        envmgr_error_wrap(&err, "%s", project->file);
        rc = envtest_report_error(&err);
    } else if (o->suites.n) {
        rc = select_suites(o, &config, out);
    } else {
        for (size_t i = 0; i < config.n; i++)
            copy_spec(out, &config.items[i]);
        if (out->n == 0)
            rc = envtest_usage_error("run",
                                     "no suites: add x-envtest.suites to %s, or use --suite "
                                     "PATH, or -- CMD",
                                     project->file);
    }
    envmgr_suite_list_free(&config);
    envmgr_project_free(loaded);
    if (rc != 0)
        return rc;
    envmgr_suite_list_filter_tags(out, (const char *const *)o->tags.items);
    if (o->shard_n > 0 && envmgr_suite_list_shard(out, o->shard_k, o->shard_n, &err) < 0)
        return envtest_report_error(&err);
    if (out->n == 0)
        fprintf(stderr, "envtest: no suite selected (tags or shard leave none)\n");
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
    case ENVMGR_RUN_SUITE_FINISHED: {
        envmgr_error_t err = {0}; /* the full entry, before the runner compacts it */
        if (envmgr_report_save_suite(ev->result, ev->run_dir, &err) < 0)
            fprintf(stderr, "envtest: warning: %s\n", err.message);
        live_remove(l, ev->suite);
        live_finished(l, ev->result);
        break;
    }
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

/* ---- environment --------------------------------------------------------------------------- */

static int before_suite(void *userdata, const envmgr_suite_spec_t *suite, int attempt,
                        envmgr_kvlist_t *env_to_add, envmgr_error_t *err)
{
    env_ctx_t *ctx = ((run_ctx_t *)userdata)->env;
    char *db = NULL;
    pthread_mutex_lock(&ctx->lock);
    int rc = envmgr_isolation_clone_db(ctx->engine, ctx->project, suite->name, attempt, env_to_add,
                                       &db, err);
    if (rc == 0 && db != NULL) {
        envmgr_cleanup_free char *key = envmgr_xasprintf("%s\x1f%d", suite->name, attempt);
        envmgr_kvlist_set(&ctx->databases, key, db);
    }
    pthread_mutex_unlock(&ctx->lock);
    free(db);
    return rc;
}

static int after_suite(void *userdata, const envmgr_suite_spec_t *suite, int attempt,
                       const envmgr_suite_attempt_t *outcome, envmgr_error_t *err)
{
    env_ctx_t *ctx = ((run_ctx_t *)userdata)->env;
    envmgr_cleanup_free char *key = envmgr_xasprintf("%s\x1f%d", suite->name, attempt);
    pthread_mutex_lock(&ctx->lock);
    const envmgr_kv_t *kv = envmgr_kvlist_find(&ctx->databases, key);
    envmgr_cleanup_free char *db = kv && kv->value ? envmgr_xstrdup(kv->value) : NULL;
    bool keep = ctx->keep_on_failure && !envmgr_suite_status_ok(outcome->status);
    int rc = 0;
    if (db != NULL && !keep)
        rc = envmgr_isolation_drop_db(ctx->engine, ctx->project, db, err);
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

static int env_open(env_ctx_t *ctx, envtest_globals_t *g, envmgr_error_t *err)
{
    if (envtest_open_engine(g, &ctx->engine, err) < 0)
        return -1;
    return envtest_load_live_project(g, ctx->engine, &ctx->project, &ctx->secrets, err);
}

/* Brings the environment up when it is not (and remembers it, for the keep policy), then reads
 * the variables every suite gets. */
static int env_prepare(env_ctx_t *ctx, envtest_globals_t *g, envmgr_error_t *err)
{
    json_t *status = NULL;
    if (envmgr_status(ctx->engine, ctx->project, &status, err) < 0)
        return envmgr_error_wrap(err, "run: environment status");
    bool healthy = envmgr_status_all_healthy(status);
    json_decref(status);
    if (!healthy) {
        if (!g->quiet)
            fprintf(stderr, "envtest: %s is not up: bringing it up for this run\n",
                    ctx->project->name);
        envmgr_kvlist_t labels = {0};
        envtest_network_labels(ctx->project, ctx->secrets, &labels);
        /* the same per-service progress as `envtest up` */
        envtest_progress_t progress;
        envtest_progress_init(&progress, stderr, g->stderr_is_tty, g->quiet);
        envmgr_up_options_t up = {.wait_timeout_ms = 120000,
                                  .network_labels = &labels,
                                  .progress = envtest_progress_cb,
                                  .userdata = &progress};
        ctx->brought_up = true;
        int rc = envmgr_up(ctx->engine, ctx->project, &up, err);
        envtest_progress_finish(&progress);
        envmgr_kvlist_free(&labels);
        if (rc < 0)
            return envmgr_error_wrap(err, "run: up");
    }
    if (envmgr_env_vars(ctx->engine, ctx->project, &ctx->vars, err) < 0)
        return envmgr_error_wrap(err, "run: environment variables");
    envtest_ci_mask_project(ctx->project, &ctx->vars); /* before any suite can print one */
    return 0;
}

/* The keep policy: an environment this run brought up is removed, unless something failed and
 * --keep-on-failure (or ENVTEST_KEEP=on-failure) asks to keep it. */
static void env_finish(env_ctx_t *ctx, envtest_globals_t *g, bool failed)
{
    if (ctx->engine == NULL || ctx->project == NULL)
        return;
    envmgr_error_t err = {0};
    const char *name = ctx->project->name;
    if (failed && ctx->keep_on_failure) {
        if (envmgr_keep_set(ctx->engine, name, true, &err) < 0)
            envtest_report_error(&err);
        fprintf(stderr,
                "envtest: kept environment %s for inspection (suites failed).\n"
                "  connect: eval \"$(envtest -p %s env)\"   logs: envtest -p %s logs SERVICE\n"
                "  a command in a service: envtest -p %s exec SERVICE COMMAND\n"
                "  re-run one suite: envtest -p %s run --suite NAME   remove: envtest -p %s down\n",
                name, name, name, name, name, name);
        return;
    }
    if (!ctx->brought_up)
        return;
    envmgr_interrupt_reset(); /* clean up even after Ctrl-C */
    int removed = 0;
    if (envmgr_down(ctx->engine, name, true, NULL, NULL, &removed, &err) < 0)
        envtest_report_error(&err);
    else if (!g->quiet)
        fprintf(stderr, "envtest: removed environment %s (brought up for this run)\n", name);
}

static void env_free(env_ctx_t *ctx)
{
    envmgr_kvlist_free(&ctx->vars);
    envmgr_kvlist_free(&ctx->databases);
    free(ctx->secrets);
    envmgr_project_free(ctx->project);
    if (ctx->engine)
        envmgr_engine_close(ctx->engine);
    pthread_mutex_destroy(&ctx->lock);
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

static int write_reports(const envmgr_run_result_t *run, const json_t *report, const run_cli_t *o,
                         envmgr_monitor_t *monitor)
{
    envmgr_error_t err = {0};
    if (envmgr_report_write_run(run, report, run->run_dir, &err) < 0 ||
        (o->report_dir && envmgr_report_write_run(run, report, o->report_dir, &err) < 0) ||
        envmgr_monitor_record(monitor, run->run_dir, o->report_dir, &err) < 0)
        return envtest_report_error(&err);
    if (envmgr_monitor_warning(monitor))
        fprintf(stderr, "envtest: warning: %s\n", envmgr_monitor_warning(monitor));
    envmgr_cleanup_free char *tmp = envmgr_xasprintf("%s/.latest.tmp", RUNS_DIR);
    envmgr_cleanup_free char *latest = envmgr_xasprintf("%s/latest", RUNS_DIR);
    unlink(tmp);
    if (symlink(run->run_id, tmp) == 0 && rename(tmp, latest) < 0)
        unlink(tmp);
    return 0;
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
        fprintf(out, ", %lld not run", N("not_run"));
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

int cmd_run(int argc, char **argv, envtest_globals_t *g)
{
    run_cli_t o = {.retries = 0};
    int rc = parse_options(argc, argv, g, &o);
    if (rc != 0) {
        envmgr_strv_free(&o.suites);
        envmgr_strv_free(&o.tags);
        return rc == -2 ? ENVTEST_EXIT_OK : rc;
    }
    env_ctx_t env = {.keep_on_failure = o.keep_on_failure};
    pthread_mutex_init(&env.lock, NULL);
    envmgr_suite_list_t suites = {0};
    envmgr_run_result_t *run = NULL;
    json_t *report = NULL;
    envmgr_error_t err = {0};
    int code = ENVTEST_EXIT_OK;

    if (!o.no_env && env_open(&env, g, &err) < 0) {
        code = envtest_report_error(&err);
        goto out;
    }
    code = build_suites(&o, g, env.project, &suites);
    if (code != 0)
        goto out;
    if (!o.no_env && suites.n > 0 && env_prepare(&env, g, &err) < 0) {
        code = envtest_report_error(&err);
        env_finish(&env, g, false);
        goto out;
    }

    live_t live = {.out = stdout, .tty = g->stderr_is_tty, .quiet = g->quiet};
    run_ctx_t ctx = {.live = &live, .env = &env};
    envmgr_run_options_t ropts = {
        .jobs = o.jobs,
        .timeout_ms = o.timeout_ms,
        .retries = o.retries,
        .runs_dir = RUNS_DIR,
        .env = o.no_env ? NULL : &env.vars,
        .shard_index = o.shard_k,
        .shard_count = o.shard_n,
        .progress = progress_cb,
        .compact_finished = true,
        .userdata = &ctx,
    };
    if (!o.no_env) {
        ropts.before_suite = before_suite;
        ropts.after_suite = after_suite;
    }
    if (envmgr_runner_run(&suites, &ropts, &run, &err) < 0) {
        live_clear(&live);
        code = envtest_report_error(&err);
        goto finish_env;
    }
    live_clear(&live);
    report = envmgr_report_from_run(run);
    envmgr_monitor_t *monitor = envtest_run_monitor(g, env.project, o.history, o.command != NULL);
    size_t n_alerts = envmgr_monitor_analyze(monitor, report);
    code = write_reports(run, report, &o, monitor);
    envmgr_monitor_close(monitor);
    print_failures(stdout, run);
    if (!g->quiet ||
        json_integer_value(json_object_get(json_object_get(report, "summary"), "failed")))
        print_summary(stdout, run, report);
    envtest_print_alerts(stdout, report, o.fail_on_alert);
    github_outputs(report, run->run_dir);
    if (code == 0) {
        const char *status = json_string_value(json_object_get(report, "status"));
        code = run->interrupted                ? ENVTEST_EXIT_INTERRUPTED
               : strcmp(status, "passed") != 0 ? ENVTEST_EXIT_TESTS_FAILED
                                               : ENVTEST_EXIT_OK;
        if (code == ENVTEST_EXIT_OK && o.fail_on_alert && n_alerts > 0)
            code = ENVTEST_EXIT_TESTS_FAILED;
    }
    free(live.running);
    free(live.since);
finish_env:
    env_finish(&env, g, code != ENVTEST_EXIT_OK);
out:
    json_decref(report);
    envmgr_run_result_free(run);
    envmgr_suite_list_free(&suites);
    env_free(&env);
    envmgr_strv_free(&o.suites);
    envmgr_strv_free(&o.tags);
    return code;
}
