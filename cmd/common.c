#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include <envmgr/lifecycle.h>
#include <envmgr/log.h>
#include <envmgr/util.h>

int envtest_report_error(const envmgr_error_t *err)
{
    fprintf(stderr, "envtest: error: %s\n", err->message);
    if (err->hint[0])
        fprintf(stderr, "  hint: %s\n", err->hint);
    return envmgr_error_exit_code(err);
}

int envtest_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "envtest %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'envtest %s --help'.\n", cmd);
    return ENVTEST_EXIT_USAGE;
}

int envtest_parse_count(const char *arg, int min, int *out)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (*arg == '\0' || *end || v < min || v > 100000)
        return -1;
    *out = (int)v;
    return 0;
}

int envtest_load_project(const envtest_globals_t *g, envmgr_project_t **out, envmgr_error_t *err)
{
    envmgr_compose_options_t opts = {
        .project_name = g->project_name, .real_services = &g->real, .profiles = g->profiles};
    return envmgr_compose_load(g->compose_file, &opts, out, err);
}

/* The cheap check for leftovers of envtests that are gone (one engine call): names them. */
static void gc_check(const envtest_globals_t *g, envmgr_engine_t *engine)
{
    envmgr_strv_t gone = {0};
    envmgr_error_t ignored = {0};
    if (!g->quiet && envmgr_gc_check(engine, &gone, &ignored) == 0 && gone.n > 0) {
        fprintf(stderr, "envtest: note: left by an envtest that is gone:");
        for (size_t i = 0; i < gone.n; i++)
            fprintf(stderr, " %s", gone.items[i]);
        fprintf(stderr, " ('envtest gc' removes %s)\n", gone.n == 1 ? "it" : "them");
    }
    envmgr_strv_free(&gone);
    int removed = 0;
    envmgr_gc_stale_marks(engine, &removed);
}

int envtest_open_engine(const envtest_globals_t *g, envmgr_engine_t **out, envmgr_error_t *err)
{
    if (envmgr_engine_open(g->host, out, err) < 0)
        return -1;
    /* envtest in a container: every command reaches the services over their network */
    if (envmgr_reach_prepare(*out, err) < 0) {
        envmgr_engine_close(*out);
        *out = NULL;
        return -1;
    }
    gc_check(g, *out);
    return 0;
}

int envtest_project_name(const envtest_globals_t *g, char **out, envmgr_error_t *err)
{
    /* Normalised as the loader does, so that `down -p MyProj` finds what `up -p MyProj` made. */
    const char *given = g->project_name ? g->project_name : getenv("ENVTEST_PROJECT");
    if (given && *given) {
        *out = envmgr_compose_normalize_project_name(given);
        if (!*out)
            return envmgr_error_set(err, ENVMGR_E_USAGE, 0,
                                    "project name '%s' has no letter or digit", given);
        return 0;
    }
    envmgr_project_t *project = NULL;
    if (envtest_load_project(g, &project, err) < 0)
        return -1;
    *out = envmgr_xstrdup(project->name);
    envmgr_project_free(project);
    return 0;
}

void envtest_print_shell_quoted(FILE *out, const char *s)
{
    fputc('\'', out);
    for (; *s; s++) {
        if (*s == '\'')
            fputs("'\\''", out);
        else
            fputc(*s, out);
    }
    fputc('\'', out);
}

void envtest_print_shell_word(FILE *out, const char *s)
{
    static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                               "-_./=:,@%+";
    if (*s && strspn(s, safe) == strlen(s))
        fputs(s, out);
    else
        envtest_print_shell_quoted(out, s);
}

static void on_signal(int sig)
{
    static volatile sig_atomic_t count;
    if (++count > 1) {
        /* A second Ctrl-C: the user wants out now. The suites run in their own sessions (the
         * terminal's Ctrl-C does not reach them): they go with it. The reaper container removes
         * an environment envtest owned. */
        const char msg[] = "\nenvtest: interrupted again, exiting without cleanup\n";
        envmgr_kill_children(SIGKILL);
        ssize_t r = write(STDERR_FILENO, msg, sizeof(msg) - 1);
        (void)r;
        _exit(ENVTEST_EXIT_INTERRUPTED);
    }
    (void)sig;
    envmgr_interrupt();
}

void envtest_install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

struct secrets_ctx {
    json_t *known; /* name -> value, from the live network, plus generated ones */
};

static char *secret_from_live(void *userdata, const char *name)
{
    struct secrets_ctx *ctx = userdata;
    const char *value = json_string_value(json_object_get(ctx->known, name));
    if (value)
        return envmgr_xstrdup(value);
    char token[25];
    envmgr_error_t err = {0};
    if (envmgr_random_token(token, 24, &err) < 0)
        return NULL; /* compose generates one itself */
    json_object_set_new(ctx->known, name, json_string(token));
    return envmgr_xstrdup(token);
}

void envtest_network_labels(const envmgr_project_t *project, const char *secrets,
                            envmgr_kvlist_t *labels)
{
    if (secrets)
        envmgr_kvlist_set(labels, ENVMGR_LABEL_SECRETS, secrets);
    if (project->real_services.n == 0)
        return;
    json_t *real = json_object();
    for (size_t i = 0; i < project->real_services.n; i++)
        json_object_set_new(real, project->real_services.items[i].key,
                            json_string(project->real_services.items[i].value));
    envmgr_cleanup_free char *text = json_dumps(real, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(real);
    envmgr_kvlist_set(labels, "io.envtest.real", text);
}

int envtest_load_live_project(const envtest_globals_t *g, envmgr_engine_t *engine,
                              envmgr_project_t **out, char **secrets_label, envmgr_error_t *err)
{
    envmgr_cleanup_free char *name = NULL;
    if (envtest_project_name(g, &name, err) < 0)
        return -1;
    envmgr_cleanup_free char *network = envmgr_xasprintf("%s_default", name);
    envmgr_cleanup_json json_t *inspect = NULL;
    envmgr_error_t lookup_err = {0};
    struct secrets_ctx ctx = {.known = NULL};
    /* the real services the environment was brought up with, then --real (which wins) */
    envmgr_kvlist_t real = {0};
    if (envmgr_engine_network_inspect(engine, network, &inspect, &lookup_err) == 0) {
        json_t *labels = json_object_get(inspect, "Labels");
        const char *label = json_string_value(json_object_get(labels, "io.envtest.secrets"));
        if (label)
            ctx.known = json_loads(label, 0, NULL);
        envmgr_cleanup_json json_t *live_real = json_loads(
            json_string_value(json_object_get(labels, "io.envtest.real")) ?: "{}", 0, NULL);
        const char *service;
        json_t *url;
        json_object_foreach(live_real, service, url)
        {
            if (json_is_string(url))
                envmgr_kvlist_set(&real, service, json_string_value(url));
        }
    } else if (lookup_err.kind != ENVMGR_E_NOT_FOUND) {
        *err = lookup_err;
        return -1;
    }
    if (!json_is_object(ctx.known)) {
        json_decref(ctx.known);
        ctx.known = json_object();
    }
    for (size_t i = 0; i < g->real.n; i++)
        envmgr_kvlist_set(&real, g->real.items[i].key, g->real.items[i].value);
    envmgr_compose_options_t opts = {
        .project_name = name,
        .real_services = &real,
        .secret_cb = secret_from_live,
        .secret_userdata = &ctx,
        .profiles = g->profiles,
    };
    int r = envmgr_compose_load(g->compose_file, &opts, out, err);
    if (r == 0)
        envtest_ci_mask_project(*out, NULL);
    if (r == 0 && secrets_label)
        *secrets_label = json_object_size(ctx.known) ? json_dumps(ctx.known, JSON_COMPACT) : NULL;
    json_decref(ctx.known);
    envmgr_kvlist_free(&real);
    return r;
}

static void lock_wait_cb(void *userdata, const char *project, const char *holder)
{
    const envtest_globals_t *g = userdata;
    if (!g->quiet)
        fprintf(stderr, "envtest: waiting for %s: its lock is held by %s\n", project, holder);
}

int envtest_lock_project(const envtest_globals_t *g, envmgr_engine_t *engine, const char *project,
                         const char *command, envmgr_lock_t **out, envmgr_error_t *err)
{
    envmgr_lock_options_t opts = {
        .command = command,
        .wait = lock_wait_cb,
        .userdata = (void *)g,
    };
    opts.timeout_ms = envtest_lock_timeout_ms();
    return envmgr_lock_acquire(engine, project, &opts, out, err);
}

int64_t envtest_lock_timeout_ms(void)
{
    const char *timeout = getenv("ENVTEST_LOCK_TIMEOUT");
    return timeout && *timeout ? (int64_t)(strtod(timeout, NULL) * 1000) : 0;
}
