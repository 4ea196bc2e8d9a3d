/* envtest bundle create: a repro bundle of the live environment; and the --from side of up and
 * run (envtest_up_from, envtest_run_from), which up.c and run.c call. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "progress.h"
#include <envmgr/bundle.h>
#include <envmgr/defaults.h>
#include <envmgr/lifecycle.h>
#include <envmgr/util.h>

#define BUNDLES_DIR ".envtest/bundles"
#define FROM_DIR ".envtest/from"
#define PASSPHRASE_ENV "ENVTEST_BUNDLE_PASSPHRASE"

static char *default_output(const char *project)
{
    char stamp[32];
    time_t now = time(NULL);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime(&now));
    return envmgr_xasprintf("%s/%s-%s.tar.zst", BUNDLES_DIR, project, stamp);
}

/* Creates the bundle of the session's environment; prints where it is. */
static int bundle_write(envtest_globals_t *g, envmgr_engine_t *engine,
                        const envmgr_project_t *project, const char *output, const char *run_dir,
                        bool without_base, envmgr_error_t *err)
{
    envmgr_cleanup_free char *out = output ? envmgr_xstrdup(output) : default_output(project->name);
    envmgr_cleanup_free char *parent = envmgr_xstrdup(out);
    char *slash = strrchr(parent, '/');
    if (slash) {
        *slash = '\0';
        if (envmgr_mkdir_p(parent, 0755, err) < 0)
            return -1;
    }
    const char *pass = getenv(PASSPHRASE_ENV);
    envtest_progress_t progress;
    envtest_progress_init(&progress, stderr, g->stderr_is_tty, g->quiet);
    envmgr_bundle_create_options_t opts = {
        .output = out,
        .run_dir = run_dir,
        .passphrase = pass && *pass ? pass : NULL,
        .without_base_images = without_base,
        .progress = envtest_progress_cb,
        .userdata = &progress,
    };
    int64_t t0 = envmgr_now_ms();
    int r = envmgr_bundle_create(engine, project, &opts, err);
    envtest_progress_finish(&progress);
    if (r < 0)
        return -1;
    struct stat st;
    stat(out, &st);
    fprintf(stderr, "envtest: bundle of %s: %s (%.1f MB, %.1fs)%s\n", project->name, out,
            st.st_size / 1e6, (envmgr_now_ms() - t0) / 1000.0,
            opts.passphrase ? "; secrets encrypted with $" PASSPHRASE_ENV : "");
    fprintf(stderr, "  reproduce: envtest -p %s-repro up --from %s\n", project->name, out);
    return 0;
}

int envtest_bundle_after_run(envtest_globals_t *g, envmgr_engine_t *engine,
                             const envmgr_project_t *project, const char *run_dir,
                             const char *output)
{
    envmgr_error_t err = {0};
    envmgr_interrupt_reset();
    if (bundle_write(g, engine, project, output, run_dir, false, &err) < 0)
        return envtest_report_error(&err);
    return 0;
}

static int bundle_parse(envtest_ctx_t *ctx, void *opts)
{
    (void)opts;
    if (ctx->argc < 1)
        return envtest_usage_error("bundle", "say what to do: create");
    if (strcmp(ctx->argv[0], "create") != 0)
        return envtest_usage_error("bundle", "unknown subcommand '%s' (create)", ctx->argv[0]);
    if (ctx->argc > 1)
        return envtest_usage_error("bundle create", "unexpected argument '%s'", ctx->argv[1]);
    return 0;
}

static int bundle_run(envtest_ctx_t *ctx, void *opts)
{
    (void)opts;
    const char *run_dir = envtest_value(ctx, "run");
    if (!run_dir)
        run_dir = ENVMGR_DEFAULT_RUNS_DIR "/latest";
    if (envtest_flag(ctx, "no-run") || access(run_dir, F_OK) < 0)
        run_dir = NULL;
    envmgr_error_t err = {0};
    if (bundle_write(ctx->g, ctx->engine, ctx->project, envtest_value(ctx, "output"), run_dir,
                     envtest_flag(ctx, "without-base-images"), &err) < 0)
        return envtest_report_error(&err);
    return ENVTEST_EXIT_OK;
}

const envtest_command_t envtest_cmd_bundle = {
    .name = "bundle",
    .parse = bundle_parse,
    .run = bundle_run,
    .flags = ENVTEST_NEEDS_LIVE_PROJECT,
    .usage = (const char *const[]){"create [-o FILE] [--run DIR|--no-run] [--without-base-images]",
                                   NULL},
    .summary = "save the live environment into a repro bundle (up --from restores it)",
    .description =
        "Saves the live environment into one archive (tar + zstd) that `envtest up --from FILE`\n"
        "recreates under another project, on any machine with a Docker engine: the resolved\n"
        "Compose model, the images envtest built (and those no registry has), fixture digests,\n"
        "each stateful service's state (MySQL dump, mock journals, cassette and faults, vector\n"
        "collections), container logs, and the run's reports with the failed suites' output.\n"
        "Secrets are not written in clear: the bundle lists their names; with $" PASSPHRASE_ENV
        "\nset, their values are stored encrypted (AES-256-GCM, PBKDF2-SHA256 key).\n"
        "Then, anywhere:  envtest -p NAME up --from FILE;  envtest -p NAME run --from FILE "
        "--failed",
    .options =
        (const envtest_option_t[]){
            {"output", 'o', "FILE",
             "the archive (default " BUNDLES_DIR "/<project>-<time>.tar.zst)"},
            {"run", 0, "DIR", "the run whose reports go in (default .envtest/runs/latest)"},
            {"no-run", 0, NULL, "no reports"},
            {"without-base-images", 0, NULL,
             "only the images envtest built (the others must exist where it is restored)"},
            {NULL, 0, NULL, NULL},
        },
    .exit_codes = "0 written, 2 usage, 3 environment error.",
};

/* ---- up --from, run --from ------------------------------------------------------------------ */

void envtest_bundle_forget(const char *project)
{
    envmgr_cleanup_free char *dir = envmgr_xasprintf("%s/%s", FROM_DIR, project);
    envmgr_error_t ignored = {0};
    if (access(dir, F_OK) == 0)
        envmgr_bundle_remove_tree(dir, &ignored);
}

/* The label the network of an environment restored from a bundle carries, or NULL. */
static char *live_bundle_id(envmgr_engine_t *engine, const char *project, bool *exists)
{
    envmgr_cleanup_free char *net = envmgr_xasprintf("%s_default", project);
    envmgr_cleanup_json json_t *info = NULL;
    envmgr_error_t ignored = {0};
    *exists = envmgr_engine_network_inspect(engine, net, &info, &ignored) == 0;
    const char *id =
        json_string_value(json_object_get(json_object_get(info, "Labels"), ENVMGR_LABEL_BUNDLE));
    return id ? envmgr_xstrdup(id) : NULL;
}

/* Extracts path into .envtest/from/<project>/ (kept while the environment lives: its bind mounts
 * are there); the project is -p / $ENVTEST_PROJECT, else <bundle's project>-repro. */
static int from_extract(envtest_globals_t *g, envmgr_engine_t *engine, const char *path,
                        envmgr_bundle_t **out, char **project_out, envmgr_error_t *err)
{
    if (envmgr_mkdir_p(FROM_DIR, 0755, err) < 0)
        return -1;
    char tmpl[] = FROM_DIR "/.extract-XXXXXX";
    if (!mkdtemp(tmpl))
        return envmgr_error_errno(err, errno, "create %s", tmpl);
    rmdir(tmpl); /* envmgr_bundle_extract makes it, and removes it on failure */
    envmgr_bundle_t *b = NULL;
    if (envmgr_bundle_extract(path, tmpl, engine, &b, err) < 0)
        return -1;
    const char *given = g->project_name ? g->project_name : getenv("ENVTEST_PROJECT");
    const char *orig = json_string_value(json_object_get(envmgr_bundle_manifest(b), "project"));
    envmgr_cleanup_free char *want =
        given && *given ? envmgr_xstrdup(given) : envmgr_xasprintf("%s-repro", orig ? orig : "env");
    char *name = envmgr_compose_normalize_project_name(want);
    envmgr_cleanup_free char *dir = envmgr_xasprintf("%s/%s", FROM_DIR, name ? name : "repro");
    envmgr_error_t ignored = {0};
    envmgr_bundle_remove_tree(dir, &ignored);
    envmgr_bundle_free(b);
    if (!name || rename(tmpl, dir) < 0) {
        envmgr_bundle_remove_tree(tmpl, &ignored);
        free(name);
        return envmgr_error_errno(err, errno, "rename %s to %s", tmpl, dir);
    }
    *project_out = name;
    return envmgr_bundle_open_dir(dir, out, err);
}

static void from_local_suites(const envtest_globals_t *g, envmgr_bundle_t *b)
{
    envmgr_compose_options_t opts = {0};
    envmgr_project_t *local = NULL;
    envmgr_error_t ignored = {0};
    const char *file = g->compose_file;
    if (file && strcmp(file, envmgr_bundle_compose_file(b)) == 0)
        return;
    if (envmgr_compose_load(file, &opts, &local, &ignored) == 0)
        envmgr_bundle_localize_suites(b, local, &ignored);
    envmgr_project_free(local);
}

static int from_secrets(envtest_globals_t *g, const envmgr_bundle_t *b, envmgr_error_t *err)
{
    const json_t *sec = json_object_get(envmgr_bundle_manifest(b), "secrets");
    if (!json_is_true(json_object_get(sec, "encrypted")))
        return 0;
    const char *pass = getenv(PASSPHRASE_ENV);
    if (!pass || !*pass) {
        if (!g->quiet)
            fprintf(stderr, "envtest: the bundle's secrets are encrypted; new ones are generated "
                            "(set $" PASSPHRASE_ENV " to restore them)\n");
        return 0;
    }
    envmgr_kvlist_t values = {0};
    if (envmgr_bundle_secrets(b, pass, &values, err) < 0)
        return -1;
    for (size_t i = 0; i < values.n; i++)
        if (!getenv(values.items[i].key)) /* the caller's own value wins */
            setenv(values.items[i].key, values.items[i].value, 1);
    envmgr_kvlist_free(&values);
    return 0;
}

/* Brings the bundle's stateful services up first and restores their state before the others
 * start: the system under test then starts against the state as it was saved (and writes nothing
 * to it before). */
static int from_up_with_state(envmgr_engine_t *engine, envmgr_bundle_t *b,
                              const envmgr_project_t *project, envmgr_up_options_t *opts,
                              envtest_progress_t *progress, envmgr_error_t *err)
{
    const char *const *asked = opts->services;
    envmgr_strv_t stateful = {0};
    const char *svc_name;
    json_t *svc;
    json_object_foreach(json_object_get(envmgr_bundle_manifest(b), "services"), svc_name, svc)
    {
        bool wanted = !asked;
        for (size_t i = 0; asked && asked[i]; i++)
            wanted = wanted || strcmp(asked[i], svc_name) == 0;
        if (wanted && json_array_size(json_object_get(svc, "state")))
            envmgr_strv_push(&stateful, svc_name);
    }
    opts->services = (const char *const *)stateful.items;
    int r = stateful.n ? envmgr_up(engine, project, opts, err) : 0;
    if (r == 0)
        r = envmgr_bundle_restore_state(engine, b, project, envtest_progress_cb, progress, err);
    opts->services = asked;
    if (r == 0)
        r = envmgr_up(engine, project, opts, err);
    envmgr_strv_free(&stateful);
    return r;
}

/* What up --from says when it is done. */
static void from_done(const envtest_globals_t *g, const envmgr_bundle_t *b, const char *name,
                      const char *path, int64_t t0)
{
    if (g->quiet)
        return;
    const json_t *failed = json_object_get(envmgr_bundle_manifest(b), "failed_suites");
    fprintf(stderr,
            "envtest: %s is up from %s with its state (%.1fs). Connect: envtest -p %s env\n", name,
            path, (envmgr_now_ms() - t0) / 1000.0, name);
    if (json_array_size(failed))
        fprintf(stderr, "  re-run what failed there: envtest -p %s run --from %s --failed\n", name,
                path);
}

/* A failed up --from: what it created goes (unless --keep), and the extracted bundle. */
static void from_failed(envmgr_engine_t *engine, envmgr_bundle_t *b, const char *name, bool created,
                        bool keep)
{
    envmgr_error_t ignored = {0};
    if (created && !keep) {
        envmgr_interrupt_reset();
        int removed = 0;
        envmgr_down(engine, name, true, NULL, NULL, &removed, &ignored);
        fprintf(stderr, "envtest: removed what this 'up --from' created (use --keep to keep it)\n");
    }
    if (b && !(created && keep))
        envmgr_bundle_remove_tree(envmgr_bundle_dir(b), &ignored);
}

int envtest_up_from(envtest_globals_t *g, const char *path, envmgr_up_options_t *opts,
                    char **compose_out, char **project_out)
{
    envmgr_error_t err = {0};
    envmgr_engine_t *engine = NULL;
    if (envtest_open_engine(g, &engine, &err) < 0)
        return envtest_report_error(&err);
    envmgr_bundle_t *b = NULL;
    char *name = NULL;
    envmgr_project_t *project = NULL;
    envmgr_cleanup_free char *secrets = NULL, *live = NULL;
    envmgr_kvlist_t labels = {0};
    envtest_progress_t progress;
    envtest_progress_init(&progress, stderr, g->stderr_is_tty, g->quiet);
    int code = ENVTEST_EXIT_OK;
    int64_t t0 = envmgr_now_ms();
    bool created = false, exists = false;
    if (from_extract(g, engine, path, &b, &name, &err) < 0)
        goto fail;
    live = live_bundle_id(engine, name, &exists);
    if (exists && (!live || strcmp(live, envmgr_bundle_id(b)) != 0)) {
        envmgr_error_set(&err, ENVMGR_E_ENV, 0,
                         "project %s exists and was not made from this bundle", name);
        envmgr_error_hint(&err, "choose another with -p NAME, or remove it: envtest -p %s down -v",
                          name);
        goto fail;
    }
    from_local_suites(g, b);
    envtest_globals_t g2 = *g;
    g2.compose_file = envmgr_bundle_compose_file(b);
    g2.project_name = name;
    if (from_secrets(g, b, &err) < 0 ||
        envmgr_bundle_load_images(engine, b, envtest_progress_cb, &progress, &err) < 0 ||
        envtest_load_live_project(&g2, engine, &project, &secrets, &err) < 0)
        goto fail;
    if (exists) { /* up from this bundle already: up is idempotent, the state is there */
        if (!g->quiet)
            fprintf(stderr, "envtest: %s is already up from this bundle\n", name);
    } else {
        if (secrets)
            envmgr_kvlist_set(&labels, "io.envtest.secrets", secrets);
        envmgr_kvlist_set(&labels, ENVMGR_LABEL_BUNDLE, envmgr_bundle_id(b));
        opts->network_labels = &labels;
        opts->no_fixtures = true;
        opts->progress = envtest_progress_cb;
        opts->userdata = &progress;
        created = true;
        /* the user's, as after `envtest up`: no run and no reaper removes it */
        if (from_up_with_state(engine, b, project, opts, &progress, &err) < 0 ||
            envmgr_env_ephemeral_set(engine, name, false, &err) < 0)
            goto fail;
    }
    envtest_progress_finish(&progress);
    if (!exists)
        from_done(g, b, name, path, t0);
    if (compose_out)
        *compose_out = envmgr_xstrdup(envmgr_bundle_compose_file(b));
    goto out;
fail:
    envtest_progress_finish(&progress);
    code = envtest_report_error(&err);
    from_failed(engine, b, name, created, opts->keep_on_failure);
out:
    if (project_out && code == ENVTEST_EXIT_OK)
        *project_out = name;
    else
        free(name);
    envmgr_kvlist_free(&labels);
    envmgr_project_free(project);
    envmgr_bundle_free(b);
    envmgr_engine_close(engine);
    return code;
}

int envtest_run_from(envtest_globals_t *g, const char *path, bool failed, envmgr_strv_t *suites,
                     char **compose_out, char **project_out)
{
    envmgr_up_options_t opts = {.wait_timeout_ms = 120000};
    int code = envtest_up_from(g, path, &opts, compose_out, project_out);
    if (code != ENVTEST_EXIT_OK)
        return code;
    g->compose_file = *compose_out;
    g->project_name = *project_out;
    if (!failed)
        return ENVTEST_EXIT_OK;
    envmgr_cleanup_free char *dir = envmgr_xasprintf("%s/%s", FROM_DIR, *project_out);
    envmgr_bundle_t *b = NULL;
    envmgr_error_t err = {0};
    if (envmgr_bundle_open_dir(dir, &b, &err) < 0)
        return envtest_report_error(&err);
    const json_t *list = json_object_get(envmgr_bundle_manifest(b), "failed_suites");
    for (size_t i = 0; i < json_array_size(list); i++)
        envmgr_strv_push(suites, json_string_value(json_array_get(list, i)));
    envmgr_bundle_free(b);
    if (suites->n == 0) {
        fprintf(stderr, "envtest: no suite failed in the run the bundle was made from\n");
        return -1;
    }
    return ENVTEST_EXIT_OK;
}
