/* envtest snapshot ls|rm KEY|prune: the state snapshots `up` saves and restores
 * (<envmgr/snapshot.h>). Needs neither a Compose file nor the engine: they are files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include <envmgr/snapshot.h>
#include <envmgr/util.h>

typedef struct snapshot_opts {
    bool json, all;
    int64_t older_than_ms;
} snapshot_opts_t;

#define DEFAULT_OLDER_THAN "168h"

static int snapshot_parse(envtest_ctx_t *ctx, void *opts)
{
    snapshot_opts_t *o = opts;
    o->json = envtest_flag(ctx, "json");
    o->all = envtest_flag(ctx, "all");
    const char *older = envtest_value(ctx, "older-than");
    if (envmgr_parse_duration_ms(older ? older : DEFAULT_OLDER_THAN, &o->older_than_ms) < 0)
        return envtest_usage_error("snapshot",
                                   "--older-than: '%s' is not a duration (168h, 12h, 30m)", older);
    if (ctx->argc < 1)
        return envtest_usage_error("snapshot", "expected a verb (ls, rm KEY, prune)");
    const char *verb = ctx->argv[0];
    int want = strcmp(verb, "rm") == 0 ? 2 : 1;
    if (strcmp(verb, "ls") && strcmp(verb, "rm") && strcmp(verb, "prune"))
        return envtest_usage_error("snapshot", "unknown verb `%s` (ls, rm KEY, prune)", verb);
    if (ctx->argc != want)
        return envtest_usage_error("snapshot", "%s takes %s", verb,
                                   want == 2 ? "one KEY (see `envtest snapshot ls`)"
                                             : "no argument");
    if ((o->all || older) && strcmp(verb, "prune") != 0)
        return envtest_usage_error("snapshot", "--all and --older-than are prune's");
    if (o->json && strcmp(verb, "ls") != 0)
        return envtest_usage_error("snapshot", "--json is ls's");
    return 0;
}

static void format_time(int64_t ms, char *buf, size_t size)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (ms <= 0 || !localtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M", &tm))
        snprintf(buf, size, "-");
}

static json_t *list_json(const envmgr_snapshot_info_t *list, size_t n)
{
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            out, json_pack("{s:s,s:b,s:s?,s:s?,s:s?,s:s?,s:I,s:I,s:I}", "key", list[i].key,
                           "complete", list[i].complete, "service", list[i].service, "image",
                           list[i].image, "project", list[i].project, "fixtures", list[i].fixtures,
                           "size", (json_int_t)list[i].size, "created_ms",
                           (json_int_t)list[i].created_ms, "used_ms", (json_int_t)list[i].used_ms));
    return out;
}

static int snapshot_ls(const snapshot_opts_t *o)
{
    envmgr_error_t err = {0};
    envmgr_snapshot_info_t *list = NULL;
    size_t n = 0;
    if (envmgr_snapshot_list(&list, &n, &err) < 0)
        return envtest_report_error(&err);
    if (o->json) {
        json_t *doc = list_json(list, n);
        char *text = json_dumps(doc, JSON_INDENT(2));
        printf("%s\n", text ? text : "[]");
        free(text);
        json_decref(doc);
    } else if (n == 0) {
        envmgr_cleanup_free char *dir = envmgr_snapshot_dir();
        printf("no snapshot in %s\n", dir);
    } else {
        printf("%-12s  %-8s %9s  %-16s  %-16s  %-28s %s\n", "KEY", "SERVICE", "SIZE", "CREATED",
               "USED", "IMAGE", "FIXTURES");
        for (size_t i = 0; i < n; i++) {
            char created[32], used[32];
            format_time(list[i].created_ms, created, sizeof(created));
            format_time(list[i].used_ms, used, sizeof(used));
            printf("%-12.12s  %-8s %7.1fMB  %-16s  %-16s  %-28s %s\n", list[i].key,
                   list[i].complete ? list[i].service : "(saving)", (double)list[i].size / 1e6,
                   created, used, list[i].image ? list[i].image : "-",
                   list[i].fixtures ? list[i].fixtures : "-");
        }
    }
    envmgr_snapshot_list_free(list, n);
    return ENVTEST_EXIT_OK;
}

static int snapshot_run(envtest_ctx_t *ctx, void *opts)
{
    const snapshot_opts_t *o = opts;
    const char *verb = ctx->argv[0];
    envmgr_error_t err = {0};
    if (strcmp(verb, "ls") == 0)
        return snapshot_ls(o);
    if (strcmp(verb, "rm") == 0) {
        char key[65];
        if (envmgr_snapshot_remove(ctx->argv[1], key, &err) < 0)
            return envtest_report_error(&err);
        if (!ctx->g->quiet)
            fprintf(stderr, "envtest: snapshot %.12s removed\n", key);
        return ENVTEST_EXIT_OK;
    }
    size_t removed = 0;
    uint64_t freed = 0;
    if (envmgr_snapshot_prune(o->all ? -1 : o->older_than_ms, &removed, &freed, &err) < 0)
        return envtest_report_error(&err);
    if (!ctx->g->quiet)
        fprintf(stderr, "envtest: snapshot prune: %zu removed, %.1f MB freed\n", removed,
                (double)freed / 1e6);
    return ENVTEST_EXIT_OK;
}

const envtest_command_t envtest_cmd_snapshot = {
    .name = "snapshot",
    .parse = snapshot_parse,
    .run = snapshot_run,
    .opts_size = sizeof(snapshot_opts_t),
    .usage =
        (const char *const[]){
            "ls [--json]",
            "rm KEY",
            "prune [--older-than DURATION | --all]",
            NULL,
        },
    .summary = "list or remove the state snapshots up saves (MySQL loaded with the fixtures)",
    .description =
        "After up loaded fixtures that all go into MySQL, the server's data is saved as a\n"
        "snapshot keyed by the image, the service's configuration (generated secrets aside),\n"
        "its bind-mounted files and the fixture digests; a later up with the same key puts it\n"
        "back instead of loading. They live in $ENVTEST_SNAPSHOT_DIR, else\n"
        "$XDG_CACHE_HOME/envtest/snapshots, else ~/.cache/envtest/snapshots.\n"
        "ls lists them (most recently used first), rm KEY removes one (a unique prefix of at\n"
        "least 4 digits will do), prune removes those unused for --older-than (default 168h) and\n"
        "unfinished saves; --all removes every one. up --no-snapshot loads the fixtures anyway.",
    .options =
        (const envtest_option_t[]){
            {"json", 0, NULL, "ls: one JSON array"},
            {"older-than", 0, "DURATION",
             "prune: those not used for this long (default " DEFAULT_OLDER_THAN ")"},
            {"all", 0, NULL, "prune: every snapshot"},
            {NULL, 0, NULL, NULL},
        },
    .exit_codes = "0 done, 2 usage or a KEY naming several snapshots, 3 no such snapshot or a\n"
                  "file error.",
};
