/* envtest: the command table and global options. Each command is a thin shell over envmgr. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include <envmgr/images.h>
#include <envmgr/log.h>

/* The command table, sorted by name; `envtest --help` lists them in this order. Each entry carries
 * its flags, options and help (cmd/<name>.c). */
static const envtest_command_t *const commands[] = {
    &envtest_cmd_bundle, &envtest_cmd_config,  &envtest_cmd_down,   &envtest_cmd_env,
    &envtest_cmd_exec,   &envtest_cmd_fixture, &envtest_cmd_gc,     &envtest_cmd_keep,
    &envtest_cmd_logs,   &envtest_cmd_ls,      &envtest_cmd_report, &envtest_cmd_run,
    &envtest_cmd_status, &envtest_cmd_trends,  &envtest_cmd_up,     &envtest_cmd_version,
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_usage(FILE *out)
{
    fprintf(out,
            "Usage: envtest [-f FILE] [-p NAME] [-H HOST] [--real SERVICE=URL] [--profile NAME] "
            "[-v] COMMAND "
            "[ARGS...]\n\n"
            "A throw-away world for integration tests: MySQL, mock LLM and mock vector search\n"
            "from a Compose file, driven over the Docker Engine API.\n\nCommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-9s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(
        out,
        "\nGlobal options (also accepted after the command):\n"
        "  -f, --file FILE          Compose file (default compose/compose.yaml, else "
        "./compose.yaml)\n"
        "  -p, --project-name NAME  project name (default $ENVTEST_PROJECT, name:, directory)\n"
        "  -H, --host HOST          Docker engine (default $DOCKER_HOST, "
        "unix:///var/run/docker.sock)\n"
        "      --real SERVICE=URL   use a real service at URL instead of starting SERVICE\n"
        "                           (repeatable; also $ENVTEST_REAL_<SERVICE>, x-envtest.real)\n"
        "      --profile NAME       enable a Compose profile (repeatable; also $COMPOSE_PROFILES)\n"
        "  -v, --verbose            debug messages\n"
        "  -q, --quiet              only errors\n\n"
        "Exit codes: 0 ok, 1 tests failed, 2 usage or configuration error,\n"
        "            3 environment error, 130 interrupted.\n"
        "Run 'envtest COMMAND --help' for a command's options.\n");
}

/* Levenshtein distance of two short words (commands), for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 31 || lb > 31)
        return 99;
    size_t prev[32], cur[32];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof(prev[0]));
    }
    return prev[lb];
}

/* The command a mistyped or Compose-style name most likely meant, or NULL. */
static const char *suggest_command(const char *name)
{
    static const char *const compose_names[][2] = {
        {"ps", "status"},  {"start", "up"}, {"rm", "down"},
        {"top", "status"}, {"test", "run"}, {"list", "ls"},
    };
    for (size_t i = 0; i < sizeof(compose_names) / sizeof(compose_names[0]); i++)
        if (strcmp(name, compose_names[i][0]) == 0)
            return compose_names[i][1];
    const char *best = NULL;
    size_t best_distance = 3; /* at most two edits */
    for (size_t i = 0; i < N_COMMANDS; i++) {
        size_t d = edit_distance(name, commands[i]->name);
        if (d < best_distance && d < strlen(commands[i]->name)) {
            best = commands[i]->name;
            best_distance = d;
        }
    }
    return best;
}

static void log_to_stderr(void *userdata, enum envmgr_log_level level, const char *message)
{
    const envtest_globals_t *g = userdata;
    if (level == ENVMGR_LOG_DEBUG && !g->verbose)
        return;
    if (level == ENVMGR_LOG_INFO && g->quiet)
        return;
    const char *prefix = level == ENVMGR_LOG_WARN ? "envtest: warning: " : "envtest: ";
    fprintf(stderr, "%s%s\n", prefix, message);
}

/* The global options before the command. Returns -1 to go on, else the exit code. */
static int parse_globals(int argc, char **argv, envtest_globals_t *g)
{
    static const struct option longopts[] = {
        {"file", required_argument, NULL, 'f'},    {"project-name", required_argument, NULL, 'p'},
        {"host", required_argument, NULL, 'H'},    {"real", required_argument, NULL, 'R'},
        {"profile", required_argument, NULL, 'P'}, {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},         {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},       {NULL, 0, NULL, 0},
    };
    int opt;
    /* '+': stop at the first non-option, the command. */
    while ((opt = getopt_long(argc, argv, "+f:p:H:vqh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'f':
            envtest_set_global(g, "file", optarg);
            break;
        case 'p':
            envtest_set_global(g, "project-name", optarg);
            break;
        case 'H':
            envtest_set_global(g, "host", optarg);
            break;
        case 'R': /* long only */
            envtest_set_global(g, "real", optarg);
            break;
        case 'P': /* long only */
            envtest_set_global(g, "profile", optarg);
            break;
        case 'v':
            g->verbose = true;
            break;
        case 'q':
            g->quiet = true;
            break;
        case 'h':
            print_usage(stdout);
            return ENVTEST_EXIT_OK;
        case 'V':
            return envtest_command_main(&envtest_cmd_version, 1, (char *[]){"version", NULL}, g);
        default:
            fprintf(stderr, "Try 'envtest --help'.\n");
            return ENVTEST_EXIT_USAGE;
        }
    }
    return -1;
}

int main(int argc, char **argv)
{
    envtest_globals_t g = {0};
    g.stderr_is_tty = isatty(STDERR_FILENO);
    g.stdout_is_tty = isatty(STDOUT_FILENO);
    int code = parse_globals(argc, argv, &g);
    if (code >= 0)
        return code;
    if (optind >= argc) {
        print_usage(stderr);
        return ENVTEST_EXIT_USAGE;
    }
    const char *name = argv[optind];
    if (strcmp(name, "help") == 0) {
        print_usage(stdout);
        return ENVTEST_EXIT_OK;
    }
    envmgr_log_set_handler(log_to_stderr, &g);
    envtest_install_signal_handlers();
    /* ${ENVTEST_DATA_DIR} in a Compose file (the Seoul one's fixtures and suites), and in the
     * suites' environment: envtest's installed data, or the build tree's (envmgr/images.h). */
    if (!getenv("ENVTEST_DATA_DIR")) {
        char *data = envmgr_data_dir();
        if (data)
            setenv("ENVTEST_DATA_DIR", data, 0);
        free(data);
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0) {
            int status = envtest_command_main(commands[i], argc - optind, argv + optind, &g);
            envmgr_kvlist_free(&g.real);
            return status;
        }
    const char *suggestion = suggest_command(name);
    fprintf(stderr, "envtest: '%s' is not an envtest command. See 'envtest --help'.\n", name);
    if (suggestion)
        fprintf(stderr, "  hint: did you mean 'envtest %s'?\n", suggestion);
    return ENVTEST_EXIT_USAGE;
}
