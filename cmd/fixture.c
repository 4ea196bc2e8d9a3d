/* envtest fixture load|verify|pack|inspect: fixture archives by hand.
 *   load ARCHIVE      run its steps against the environment (or --mysql/--service targets)
 *   verify ARCHIVE    check the environment still matches (row counts, checksums, points)
 *   pack DIR -o FILE  build a deterministic tar.gz from a directory with a manifest
 *   inspect ARCHIVE   list steps, members and digests */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include <envmgr/env.h>
#include <envmgr/fixture.h>
#include <envmgr/lifecycle.h>
#include <envmgr/util.h>

typedef struct fixture_opts {
    const char *mysql_url;
    envmgr_kvlist_t services; /* name -> base URL */
    const char *output;
    bool json;
} fixture_opts_t;

/* Owns what envmgr_fixture_targets_t borrows. */
typedef struct targets_store {
    envmgr_fixture_targets_t t;
    char *host, *user, *password, *database;
    envmgr_fixture_service_t *services;
    envmgr_strv_t strings;
    envmgr_engine_t *engine;
} targets_store_t;

static void targets_store_free(targets_store_t *s)
{
    free(s->host);
    free(s->user);
    free(s->password);
    free(s->database);
    free(s->services);
    envmgr_strv_free(&s->strings);
    if (s->engine)
        envmgr_engine_close(s->engine);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'                 ? c - '0'
           : (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10
                                                : -1;
}

static char *url_decode(const char *s, size_t n)
{
    char *out = envmgr_xmalloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            *o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

/* mysql://user:password@host:port/database */
static int parse_mysql_url(const char *url, targets_store_t *s, envmgr_error_t *err)
{
    const char *p = strncmp(url, "mysql://", 8) == 0 ? url + 8 : NULL;
    const char *at = p ? strrchr(p, '@') : NULL;
    if (p == NULL || at == NULL)
        return envmgr_error_set(err, ENVMGR_E_USAGE, 0,
                                "--mysql `%s`: expected mysql://USER:PASSWORD@HOST:PORT/DB", url);
    const char *colon = memchr(p, ':', (size_t)(at - p));
    s->user = url_decode(p, (size_t)((colon ? colon : at) - p));
    s->password = colon ? url_decode(colon + 1, (size_t)(at - colon - 1)) : envmgr_xstrdup("");
    const char *host = at + 1, *slash = strchr(host, '/');
    const char *hp_end = slash ? slash : host + strlen(host);
    const char *pc = memchr(host, ':', (size_t)(hp_end - host));
    s->host = envmgr_xstrndup(host, (size_t)((pc ? pc : hp_end) - host));
    s->t.mysql.port = pc ? (unsigned)strtoul(pc + 1, NULL, 10) : 3306;
    s->database = slash ? url_decode(slash + 1, strlen(slash + 1)) : envmgr_xstrdup("");
    s->t.mysql.host = s->host;
    s->t.mysql.user = s->user;
    s->t.mysql.password = s->password;
    s->t.mysql.database = s->database;
    return 0;
}

static const char *keep(targets_store_t *s, char *owned)
{
    envmgr_strv_push(&s->strings, owned);
    free(owned);
    return s->strings.items[s->strings.n - 1];
}

/* From the running environment's typed state: the database service as its application user
 * (DATABASE_URL's), every service's first published port, container ids for copy steps. */
static int targets_from_environment(envtest_globals_t *g, targets_store_t *s, envmgr_error_t *err)
{
    envmgr_project_t *project = NULL;
    if (envtest_load_project(g, &project, err) < 0)
        return -1;
    envmgr_env_state_t state = {0};
    int r = envtest_open_engine(g, &s->engine, err);
    if (r == 0)
        r = envmgr_env_inspect(s->engine, project, &state, err);
    if (r == 0 && !envmgr_env_state_up(&state)) {
        envmgr_error_set(err, ENVMGR_E_ENV, 0, "project %s is not up", project->name);
        r = envmgr_error_hint(err, "run `envtest up` first");
    }
    if (r == 0 && state.mysql) {
        const envmgr_db_credentials_t *db = state.mysql->db;
        s->host = envmgr_xstrdup(db->host);
        s->user = envmgr_xstrdup(db->user);
        s->password = envmgr_xstrdup(db->password);
        s->database = envmgr_xstrdup(db->database);
        s->t.mysql.host = s->host;
        s->t.mysql.port = (unsigned)db->port;
        s->t.mysql.user = s->user;
        s->t.mysql.password = s->password;
        s->t.mysql.database = s->database;
    }
    s->services = envmgr_xcalloc(state.n_services + 1, sizeof(*s->services));
    for (size_t i = 0; r == 0 && i < state.n_services; i++) {
        const envmgr_service_state_t *svc = &state.services[i];
        envmgr_fixture_service_t *fs = &s->services[s->t.n_services++];
        fs->name = keep(s, envmgr_xstrdup(svc->service));
        fs->container_id = svc->id ? keep(s, envmgr_xstrdup(svc->id)) : NULL;
        for (size_t p = 0; p < svc->n_ports && !fs->base_url; p++)
            if (svc->ports[p].host_port)
                fs->base_url = keep(s, envmgr_xasprintf("http://%s:%d", svc->ports[p].reach_host,
                                                        svc->ports[p].reach_port));
    }
    s->t.services = s->services;
    s->t.engine = s->engine;
    envmgr_env_state_free(&state);
    envmgr_project_free(project);
    return r;
}

static int build_targets(envtest_globals_t *g, fixture_opts_t *o, targets_store_t *s,
                         envmgr_error_t *err)
{
    if (o->mysql_url == NULL && o->services.n == 0)
        return targets_from_environment(g, s, err);
    if (o->mysql_url && parse_mysql_url(o->mysql_url, s, err) < 0)
        return -1;
    s->services = envmgr_xcalloc(o->services.n ? o->services.n : 1, sizeof(*s->services));
    for (size_t i = 0; i < o->services.n; i++) {
        s->services[i].name = o->services.items[i].key;
        s->services[i].base_url = o->services.items[i].value;
    }
    s->t.services = s->services;
    s->t.n_services = o->services.n;
    return 0;
}

static void progress_cb(void *userdata, const envmgr_fixture_progress_t *p)
{
    envtest_globals_t *g = userdata;
    if (g->quiet)
        return;
    char what[160];
    envmgr_fixture_progress_format(p, what, sizeof(what));
    if (p->done)
        fprintf(stderr, "%s[%zu/%zu] %s\n", g->stderr_is_tty ? "\r\033[K" : "", p->step + 1,
                p->n_steps, what);
    else if (g->stderr_is_tty)
        fprintf(stderr, "\r\033[K[%zu/%zu] %s", p->step + 1, p->n_steps, what);
}

static void print_inspect(json_t *j)
{
    printf("archive  %s\nfixture  %s %s\ndigest   sha256:%s\nsteps:\n",
           json_string_value(json_object_get(j, "archive")),
           json_string_value(json_object_get(j, "name")),
           json_string_value(json_object_get(j, "version")),
           json_string_value(json_object_get(j, "digest")));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(j, "steps"), i, v)
    {
        printf("  %zu. %-9s %s\n", i + 1, json_string_value(json_object_get(v, "type")),
               json_string_value(json_object_get(v, "summary")));
    }
    printf("members:\n");
    json_array_foreach(json_object_get(j, "members"), i, v)
    {
        printf("  %.12s  %12lld  %s\n", json_string_value(json_object_get(v, "sha256")),
               (long long)json_integer_value(json_object_get(v, "size")),
               json_string_value(json_object_get(v, "path")));
    }
}

static void print_verify(json_t *j)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(j, "checks"), i, v)
    {
        bool ok = json_is_true(json_object_get(v, "ok"));
        printf("%s  %-40s expected %-20s actual %s\n", ok ? "ok  " : "FAIL",
               json_string_value(json_object_get(v, "target")),
               json_string_value(json_object_get(v, "expected")),
               json_string_value(json_object_get(v, "actual")));
    }
}

static int fixture_pack(const char *arg, const fixture_opts_t *o, const envtest_globals_t *g)
{
    envmgr_error_t err = {0};
    if (o->output == NULL)
        return envtest_usage_error("fixture", "pack needs -o ARCHIVE");
    if (envmgr_fixture_pack(arg, o->output, &err) < 0)
        return envtest_report_error(&err);
    if (!g->quiet)
        fprintf(stderr, "packed %s into %s\n", arg, o->output);
    return ENVTEST_EXIT_OK;
}

static int fixture_inspect(envmgr_fixture_t *f, const fixture_opts_t *o)
{
    envmgr_error_t err = {0};
    envmgr_cleanup_json json_t *j = NULL;
    if (envmgr_fixture_inspect(f, &j, &err) < 0)
        return envtest_report_error(&err);
    if (o->json) {
        json_dumpf(j, stdout, JSON_INDENT(2));
        putchar('\n');
    } else {
        print_inspect(j);
    }
    return ENVTEST_EXIT_OK;
}

static int run(const char *verb, const char *arg, fixture_opts_t *o, envtest_globals_t *g)
{
    envmgr_error_t err = {0};
    if (strcmp(verb, "pack") == 0)
        return fixture_pack(arg, o, g);
    envmgr_fixture_t *f = NULL;
    /* load checks the archive while it streams it (one decompression); the others first */
    int opened = strcmp(verb, "load") == 0 ? envmgr_fixture_open_streamed(arg, NULL, &f, &err)
                                           : envmgr_fixture_open(arg, NULL, &f, &err);
    if (opened < 0)
        return envtest_report_error(&err);
    int code = ENVTEST_EXIT_OK;
    envmgr_cleanup_json json_t *j = NULL;
    if (strcmp(verb, "inspect") == 0) {
        code = fixture_inspect(f, o);
        envmgr_fixture_free(f);
        return code;
    }
    targets_store_t s = {0};
    if (build_targets(g, o, &s, &err) < 0) {
        code = envtest_report_error(&err);
    } else if (strcmp(verb, "load") == 0) {
        if (envmgr_fixture_load(f, &s.t, progress_cb, g, &err) < 0)
            code = envtest_report_error(&err);
        else if (!g->quiet)
            fprintf(stderr, "loaded %s %s (sha256:%.12s)\n", envmgr_fixture_name(f),
                    envmgr_fixture_version(f), envmgr_fixture_digest(f));
    } else {
        int r = envmgr_fixture_verify(f, &s.t, &j, &err);
        if (j && o->json) {
            json_dumpf(j, stdout, JSON_INDENT(2));
            putchar('\n');
        } else if (j)
            print_verify(j);
        if (r < 0)
            code = envtest_report_error(&err);
    }
    targets_store_free(&s);
    envmgr_fixture_free(f);
    return code;
}

static int fixture_parse(envtest_ctx_t *ctx, void *opts)
{
    fixture_opts_t *o = opts;
    o->mysql_url = envtest_value(ctx, "mysql");
    o->output = envtest_value(ctx, "output");
    o->json = envtest_flag(ctx, "json");
    const envmgr_strv_t *services = envtest_values(ctx, "service");
    for (size_t i = 0; i < services->n; i++) {
        const char *arg = services->items[i], *eq = strchr(arg, '=');
        if (eq == NULL || eq == arg)
            return envtest_usage_error("fixture", "--service `%s`: expected NAME=URL", arg);
        envmgr_cleanup_free char *name = envmgr_xstrndup(arg, (size_t)(eq - arg));
        envmgr_kvlist_set(&o->services, name, eq + 1);
    }
    if (ctx->argc != 2)
        return envtest_usage_error("fixture", "expected a verb (load, verify, pack, inspect) and "
                                              "one ARCHIVE or DIR");
    const char *verb = ctx->argv[0];
    if (strcmp(verb, "load") && strcmp(verb, "verify") && strcmp(verb, "pack") &&
        strcmp(verb, "inspect"))
        return envtest_usage_error("fixture", "unknown verb `%s` (load, verify, pack, inspect)",
                                   verb);
    return 0;
}

static int fixture_run(envtest_ctx_t *ctx, void *opts)
{
    return run(ctx->argv[0], ctx->argv[1], opts, ctx->g);
}

static void fixture_free(void *opts)
{
    envmgr_kvlist_free(&((fixture_opts_t *)opts)->services);
}

const envtest_command_t envtest_cmd_fixture = {
    .name = "fixture",
    .parse = fixture_parse,
    .run = fixture_run,
    .free_opts = fixture_free,
    .opts_size = sizeof(fixture_opts_t),
    .usage =
        (const char *const[]){
            "load ARCHIVE [--mysql URL] [--service NAME=URL]...",
            "verify ARCHIVE [--mysql URL] [--service NAME=URL]... [--json]",
            "pack DIR -o ARCHIVE",
            "inspect ARCHIVE [--json]",
            NULL,
        },
    .summary = "load, verify, pack or inspect fixture archives",
    .description = "Without --mysql/--service, load and verify use the running environment of the\n"
                   "compose file (-f/-p): its MySQL and each service's published port.",
    .options =
        (const envtest_option_t[]){
            {"mysql", 0, "URL", "mysql://USER:PASSWORD@HOST:PORT/DB"},
            {"service", 0, "NAME=URL", "base URL of a service named by http/documents steps"},
            {"output", 'o', "FILE", "archive to write (pack)"},
            {"json", 0, NULL, "machine-readable output (inspect, verify)"},
            {NULL, 0, NULL, NULL},
        },
    .exit_codes = "0 done, 2 usage or an invalid archive, 3 environment error (MySQL or a\n"
                  "service unreachable, verify's checks failed).",
};
