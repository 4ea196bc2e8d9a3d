/* The command machinery: options parsed from each command's table, the shared set-up its flags
 * ask for, and --help generated from the table. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

/* The options every command accepts after its name (a command's own short option wins: `logs -f`
 * is --follow, so there the file is --file only). */
static const envtest_option_t common_options[] = {
    {"file", 'f', "FILE", "Compose file (default compose/compose.yaml, else ./compose.yaml)"},
    {"project-name", 'p', "NAME", "project name (default $ENVTEST_PROJECT, name:, the folder)"},
    {"host", 'H', "HOST", "Docker engine (default $DOCKER_HOST, unix:///var/run/docker.sock)"},
    {"real", 0, "SERVICE=URL",
     "use a real service at URL instead of starting SERVICE (repeatable; also "
     "$ENVTEST_REAL_<SERVICE>, x-envtest.real)"},
    {"profile", 0, "NAME", "enable a Compose profile (repeatable; also $COMPOSE_PROFILES)"},
    {"help", 'h', NULL, "this help"},
    {NULL, 0, NULL, NULL},
};
enum {
    COMMON_FILE,
    COMMON_PROJECT,
    COMMON_HOST,
    COMMON_REAL,
    COMMON_PROFILE,
    COMMON_HELP,
    N_COMMON
};
#define COMMON_BASE 1000 /* getopt value of common option i: COMMON_BASE + i */
#define OWN_BASE 256     /* of the command's option i: OWN_BASE + i */

static size_t count_options(const envtest_option_t *options)
{
    size_t n = 0;
    while (options && options[n].name)
        n++;
    return n;
}

static bool own_short(const envtest_command_t *cmd, char c)
{
    for (size_t i = 0; i < count_options(cmd->options); i++)
        if (cmd->options[i].short_name == c)
            return true;
    return false;
}

static int option_index(const envtest_ctx_t *ctx, const char *name)
{
    const envtest_option_t *options = ctx->command->options;
    for (size_t i = 0; i < count_options(options); i++)
        if (strcmp(options[i].name, name) == 0)
            return (int)i;
    fprintf(stderr, "envtest: internal error: %s has no option --%s\n", ctx->command->name, name);
    abort();
}

const envmgr_strv_t *envtest_values(const envtest_ctx_t *ctx, const char *name)
{
    return &ctx->values[option_index(ctx, name)];
}

bool envtest_flag(const envtest_ctx_t *ctx, const char *name)
{
    return envtest_values(ctx, name)->n > 0;
}

const char *envtest_value(const envtest_ctx_t *ctx, const char *name)
{
    const envmgr_strv_t *v = envtest_values(ctx, name);
    return v->n ? v->items[v->n - 1] : NULL;
}

static void add_getopt(struct option *longopts, size_t *n, envmgr_buf_t *shorts,
                       const envtest_option_t *o, int val, bool with_short)
{
    bool optional = o->arg && o->arg[0] == '['; /* "[=FILE]": --name or --name=FILE */
    longopts[(*n)++] = (struct option){o->name,
                                       optional ? optional_argument
                                       : o->arg ? required_argument
                                                : no_argument,
                                       NULL, with_short && o->short_name ? o->short_name : val};
    if (with_short && o->short_name)
        envmgr_buf_addf(shorts, "%c%s", o->short_name, optional ? "::" : o->arg ? ":" : "");
}

/* The getopt_long tables of cmd: its own options, then the common ones. */
static struct option *build_getopt(const envtest_command_t *cmd, envmgr_buf_t *shorts)
{
    size_t n_own = count_options(cmd->options), n = 0;
    struct option *longopts = envmgr_xcalloc(n_own + N_COMMON + 1, sizeof(*longopts));
    envmgr_buf_adds(shorts, (cmd->flags & ENVTEST_OPTIONS_FIRST) ? "+" : "");
    for (size_t i = 0; i < n_own; i++)
        add_getopt(longopts, &n, shorts, &cmd->options[i], OWN_BASE + (int)i, true);
    for (int i = 0; i < N_COMMON; i++)
        add_getopt(longopts, &n, shorts, &common_options[i], COMMON_BASE + i,
                   !own_short(cmd, common_options[i].short_name));
    return longopts;
}

/* The option a getopt value stands for: own index >= 0, or -1 - common index, or -1 - N_COMMON
 * when unknown. */
static int resolve(const envtest_command_t *cmd, int val)
{
    if (val >= COMMON_BASE)
        return -1 - (val - COMMON_BASE);
    if (val >= OWN_BASE)
        return val - OWN_BASE;
    for (size_t i = 0; i < count_options(cmd->options); i++)
        if (cmd->options[i].short_name == val)
            return (int)i;
    for (int i = 0; i < N_COMMON; i++)
        if (common_options[i].short_name == val)
            return -1 - i;
    return -1 - N_COMMON;
}

void envtest_set_global(envtest_globals_t *g, const char *name, const char *arg)
{
    if (strcmp(name, "file") == 0) {
        g->compose_file = arg;
    } else if (strcmp(name, "project-name") == 0) {
        g->project_name = arg;
    } else if (strcmp(name, "host") == 0) {
        g->host = arg;
    } else if (strcmp(name, "real") == 0) { /* SERVICE=URL; without '=' the loader says what is
                                                 expected */
        const char *eq = strchr(arg, '=');
        envmgr_cleanup_free char *service =
            eq ? envmgr_xstrndup(arg, (size_t)(eq - arg)) : envmgr_xstrdup(arg);
        envmgr_kvlist_set(&g->real, service, eq ? eq + 1 : NULL);
    } else if (strcmp(name, "profile") == 0) {
        if (g->n_profiles + 1 < sizeof(g->profiles) / sizeof(g->profiles[0]))
            g->profiles[g->n_profiles++] = arg;
    }
}

/* Returns 0, -2 after --help, or a usage error's exit code. */
static int parse_argv(envtest_ctx_t *ctx, int argc, char **argv)
{
    const envtest_command_t *cmd = ctx->command;
    envmgr_buf_t shorts = ENVMGR_BUF_INIT;
    struct option *longopts = build_getopt(cmd, &shorts);
    int opt, rc = 0;
    optind = 0; /* GNU: 0 re-initialises */
    while (rc == 0 && (opt = getopt_long(argc, argv, shorts.data, longopts, NULL)) != -1) {
        int which = opt == '?' || opt == ':' ? -1 - N_COMMON : resolve(cmd, opt);
        if (which >= 0)
            envmgr_strv_push(&ctx->values[which], optarg ? optarg : "");
        else if (-1 - which == COMMON_HELP)
            rc = -2;
        else if (-1 - which < N_COMMON)
            envtest_set_global(ctx->g, common_options[-1 - which].name, optarg);
        else
            rc = envtest_usage_error(cmd->name, "invalid option");
    }
    free(longopts);
    envmgr_buf_free(&shorts);
    ctx->argc = argc - optind;
    ctx->argv = argv + optind;
    ctx->after_dashdash = optind > 1 && strcmp(argv[optind - 1], "--") == 0;
    if (rc == 0 && ctx->argc > 0 && (cmd->flags & ENVTEST_NO_ARGUMENTS))
        rc = envtest_usage_error(cmd->name, "unexpected argument '%s'", ctx->argv[0]);
    return rc;
}

/* The set-up the command's flags ask for, in one place. */
int envtest_command_setup(envtest_ctx_t *ctx, envmgr_error_t *err)
{
    unsigned flags = ctx->command->flags;
    const envtest_globals_t *g = ctx->g;
    if ((flags & (ENVTEST_NEEDS_PROJECT_NAME | ENVTEST_TAKES_LOCK)) &&
        envtest_project_name(g, &ctx->project_name, err) < 0)
        return -1;
    if ((flags & ENVTEST_NEEDS_PROJECT) && envtest_load_project(g, &ctx->project, err) < 0)
        return -1;
    if ((flags & (ENVTEST_NEEDS_ENGINE | ENVTEST_NEEDS_LIVE_PROJECT | ENVTEST_TAKES_LOCK)) &&
        envtest_open_engine(g, &ctx->engine, err) < 0)
        return -1;
    /* under the lock from before the live project is read: its secrets are the network's, which
     * a concurrent up may be creating */
    if ((flags & ENVTEST_TAKES_LOCK) &&
        envtest_lock_project(g, ctx->engine, ctx->project_name, ctx->command->name, &ctx->lock,
                             err) < 0)
        return -1;
    envmgr_project_t *live = NULL;
    if ((flags & ENVTEST_NEEDS_LIVE_PROJECT) &&
        envtest_load_live_project(g, ctx->engine, &live, &ctx->secrets, err) < 0)
        return -1;
    if (live) { /* again with the live environment's secrets (a file error came first) */
        envmgr_project_free(ctx->project);
        ctx->project = live;
    }
    return 0;
}

static void ctx_free(envtest_ctx_t *ctx)
{
    for (size_t i = 0; i < count_options(ctx->command->options); i++)
        envmgr_strv_free(&ctx->values[i]);
    free(ctx->values);
    envmgr_lock_release(ctx->lock);
    envmgr_engine_close(ctx->engine);
    envmgr_project_free(ctx->project);
    free(ctx->project_name);
    free(ctx->secrets);
}

int envtest_command_main(const envtest_command_t *cmd, int argc, char **argv, envtest_globals_t *g)
{
    envtest_ctx_t ctx = {.g = g, .command = cmd};
    ctx.values = envmgr_xcalloc(count_options(cmd->options) + 1, sizeof(*ctx.values));
    void *opts = envmgr_xcalloc(1, cmd->opts_size ? cmd->opts_size : 1);
    int code = parse_argv(&ctx, argc, argv);
    if (code == 0 && cmd->parse)
        code = cmd->parse(&ctx, opts);
    if (code == -2) {
        envtest_command_help(cmd, stdout);
        code = ENVTEST_EXIT_OK;
    } else if (code == 0) {
        envmgr_error_t err = {0};
        code = !ctx.no_setup && envtest_command_setup(&ctx, &err) < 0 ? envtest_report_error(&err)
                                                                      : cmd->run(&ctx, opts);
    }
    if (cmd->free_opts)
        cmd->free_opts(opts);
    free(opts);
    ctx_free(&ctx);
    return code;
}

/* ---- --help -------------------------------------------------------------------------------- */

static void print_option(FILE *out, const envtest_option_t *o, bool with_short)
{
    char left[64];
    snprintf(left, sizeof(left), "%c%c%c --%s%s%s", with_short && o->short_name ? '-' : ' ',
             with_short && o->short_name ? o->short_name : ' ',
             with_short && o->short_name ? ',' : ' ', o->name,
             o->arg && o->arg[0] != '[' ? " " : "", o->arg ? o->arg : "");
    fprintf(out, "  %-26s %s\n", left, o->help);
}

void envtest_command_help(const envtest_command_t *cmd, FILE *out)
{
    for (size_t i = 0; cmd->usage && cmd->usage[i]; i++)
        fprintf(out, "%s envtest %s %s\n", i ? "      " : "Usage:", cmd->name, cmd->usage[i]);
    fprintf(out, "\n%s\n\nOptions:\n", cmd->description);
    for (size_t i = 0; i < count_options(cmd->options); i++)
        print_option(out, &cmd->options[i], true);
    for (int i = 0; i < N_COMMON; i++)
        print_option(out, &common_options[i], !own_short(cmd, common_options[i].short_name));
    if (cmd->exit_codes)
        fprintf(out, "\nExit codes: %s\n", cmd->exit_codes);
}
