/* envtest fixture load|verify|pack|inspect: fixture archives by hand.
 *   load ARCHIVE      run its steps against the environment (or --mysql/--service targets)
 *   verify ARCHIVE    check the environment still matches (row counts, checksums, points)
 *   pack DIR -o FILE  build a deterministic tar.gz from a directory with a manifest
 *   inspect ARCHIVE   list steps, members and digests */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
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

/* From the running environment: DATABASE_URL and ENVTEST_<SERVICE>_HOST/PORT; container ids for
 * copy steps from the engine's status. */
static int targets_from_environment(envtest_globals_t *g, targets_store_t *s, envmgr_error_t *err)
{
    envmgr_project_t *project = NULL;
    if (envtest_load_project(g, &project, err) < 0)
        return -1;
    envmgr_kvlist_t vars = {0};
    envmgr_cleanup_json json_t *status = NULL;
    int r = envtest_open_engine(g, &s->engine, err);
    if (r == 0)
        r = envmgr_env_vars(s->engine, project, &vars, err);
    if (r == 0)
        r = envmgr_status(s->engine, project, &status, err);
    const envmgr_kv_t *db = envmgr_kvlist_find(&vars, "DATABASE_URL");
    if (r == 0 && db && db->value)
        r = parse_mysql_url(db->value, s, err);
    json_t *services = json_object_get(status, "services");
    size_t n = json_array_size(services);
    s->services = envmgr_xcalloc(n ? n : 1, sizeof(*s->services));
    for (size_t i = 0; r == 0 && i < n; i++) {
        json_t *svc = json_array_get(services, i);
        const char *name = json_string_value(json_object_get(svc, "service"));
        const char *id = json_string_value(json_object_get(svc, "id"));
        if (name == NULL)
            continue;
        envmgr_fixture_service_t *fs = &s->services[s->t.n_services++];
        fs->name = keep(s, envmgr_xstrdup(name));
        fs->container_id = id ? keep(s, envmgr_xstrdup(id)) : NULL;
        envmgr_cleanup_free char *stem = envmgr_project_env_stem(name);
        envmgr_cleanup_free char *hk = envmgr_xasprintf("ENVTEST_%s_HOST", stem);
        envmgr_cleanup_free char *pk = envmgr_xasprintf("ENVTEST_%s_PORT", stem);
        const envmgr_kv_t *h = envmgr_kvlist_find(&vars, hk), *p = envmgr_kvlist_find(&vars, pk);
        if (h && h->value && p && p->value)
            fs->base_url = keep(s, envmgr_xasprintf("http://%s:%s", h->value, p->value));
    }
    s->t.services = s->services;
    s->t.engine = s->engine;
    envmgr_kvlist_free(&vars);
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

static int usage(void)
{
    printf("Usage: envtest fixture load ARCHIVE [--mysql URL] [--service NAME=URL]...\n"
           "       envtest fixture verify ARCHIVE [--mysql URL] [--service NAME=URL]... [--json]\n"
           "       envtest fixture pack DIR -o ARCHIVE\n"
           "       envtest fixture inspect ARCHIVE [--json]\n\n"
           "Without --mysql/--service, load and verify use the running environment of the\n"
           "compose file (-f/-p): its MySQL (DATABASE_URL) and each service's published port.\n"
           "  --mysql URL          mysql://USER:PASSWORD@HOST:PORT/DB\n"
           "  --service NAME=URL   base URL of a service named by http/documents steps\n"
           "  -o, --output FILE    archive to write (pack)\n"
           "      --json           machine-readable output (inspect, verify)\n");
    return ENVTEST_EXIT_OK;
}

static int run(const char *verb, const char *arg, fixture_opts_t *o, envtest_globals_t *g)
{
    envmgr_error_t err = {0};
    if (strcmp(verb, "pack") == 0) {
        if (o->output == NULL)
            return envtest_usage_error("fixture", "pack needs -o ARCHIVE");
        if (envmgr_fixture_pack(arg, o->output, &err) < 0)
            return envtest_report_error(&err);
        if (!g->quiet)
            fprintf(stderr, "packed %s into %s\n", arg, o->output);
        return ENVTEST_EXIT_OK;
    }
    envmgr_fixture_t *f = NULL;
    /* load checks the archive while it streams it (one decompression); the others first */
    int opened = strcmp(verb, "load") == 0 ? envmgr_fixture_open_streamed(arg, NULL, &f, &err)
                                           : envmgr_fixture_open(arg, NULL, &f, &err);
    if (opened < 0)
        return envtest_report_error(&err);
    int code = ENVTEST_EXIT_OK;
    envmgr_cleanup_json json_t *j = NULL;
    if (strcmp(verb, "inspect") == 0) {
        if (envmgr_fixture_inspect(f, &j, &err) < 0)
            code = envtest_report_error(&err);
        else if (o->json) {
            json_dumpf(j, stdout, JSON_INDENT(2));
            putchar('\n');
        } else
            print_inspect(j);
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

int cmd_fixture(int argc, char **argv, envtest_globals_t *g)
{
    static const struct option longopts[] = {
        ENVTEST_COMMON_LONGOPTS,
        {"mysql", required_argument, NULL, 'm'},
        {"service", required_argument, NULL, 's'},
        {"output", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    fixture_opts_t o = {0};
    int opt, code;
    while ((opt = getopt_long(argc, argv, ENVTEST_COMMON_SHORTOPTS "o:h", longopts, NULL)) != -1) {
        if (envtest_common_option(g, opt, optarg))
            continue;
        switch (opt) {
        case 'm':
            o.mysql_url = optarg;
            break;
        case 's': {
            const char *eq = strchr(optarg, '=');
            if (eq == NULL || eq == optarg)
                return envtest_usage_error("fixture", "--service `%s`: expected NAME=URL", optarg);
            envmgr_cleanup_free char *name = envmgr_xstrndup(optarg, (size_t)(eq - optarg));
            envmgr_kvlist_set(&o.services, name, eq + 1);
            break;
        }
        case 'o':
            o.output = optarg;
            break;
        case 'j':
            o.json = true;
            break;
        case 'h':
            envmgr_kvlist_free(&o.services);
            return usage();
        default:
            envmgr_kvlist_free(&o.services);
            return envtest_usage_error("fixture", "invalid option");
        }
    }
    if (optind + 2 != argc) {
        code = envtest_usage_error("fixture", "expected a verb (load, verify, pack, inspect) and "
                                              "one ARCHIVE or DIR");
    } else if (strcmp(argv[optind], "load") && strcmp(argv[optind], "verify") &&
               strcmp(argv[optind], "pack") && strcmp(argv[optind], "inspect")) {
        code = envtest_usage_error("fixture", "unknown verb `%s` (load, verify, pack, inspect)",
                                   argv[optind]);
    } else {
        code = run(argv[optind], argv[optind + 1], &o, g);
    }
    envmgr_kvlist_free(&o.services);
    return code;
}
