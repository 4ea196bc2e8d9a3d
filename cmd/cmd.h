/* The CLI's shared pieces, git/curl-style: each command lives in cmd/<name>.c and describes itself
 * in an envtest_command_t (its flags, option table and help text), which main.c's table lists.
 * main.c parses the options from the table, does the set-up the flags ask for once (project,
 * engine, live project), and generates --help from the table. A command keeps only its own option
 * checks, its calls to envmgr and its drawing; only cmd/ prints.
 *
 * Adding a command: write cmd/<name>.c with its envtest_command_t, list it in main.c's table and in
 * cmd/CMakeLists.txt, document it and each option in README.md's command table (test_cli checks).
 */
#ifndef ENVTEST_CMD_H
#define ENVTEST_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include <envmgr/compose.h>
#include <envmgr/engine.h>
#include <envmgr/error.h>
#include <envmgr/lifecycle.h>
#include <envmgr/lock.h>
#include <envmgr/util.h>

typedef struct envtest_globals {
    const char *compose_file; /* -f / --file, or NULL */
    const char *project_name; /* -p / --project-name, or NULL */
    const char *host;         /* -H / --host, or NULL ($DOCKER_HOST) */
    envmgr_kvlist_t real;     /* --real SERVICE=URL (repeatable): real services, not mocks */
    bool verbose;             /* -v: debug messages */
    bool quiet;               /* -q */
    bool stderr_is_tty;
    bool stdout_is_tty;
    const char *profiles[17]; /* --profile NAME (repeatable), NULL-terminated */
    size_t n_profiles;
} envtest_globals_t;

/* One option of a command: --name, -s, with an argument (named arg in --help) or none. */
typedef struct envtest_option {
    const char *name;
    char short_name; /* 0: none */
    const char *arg; /* NULL: a flag; "[=ARG]": an optional argument (its value "" when absent) */
    const char *help;
} envtest_option_t;

/* What main.c does before a command runs. */
enum envtest_command_flags {
    ENVTEST_NEEDS_PROJECT = 1 << 0,      /* the Compose file, loaded: ctx->project */
    ENVTEST_NEEDS_ENGINE = 1 << 1,       /* the engine, opened: ctx->engine */
    ENVTEST_NEEDS_LIVE_PROJECT = 1 << 2, /* the engine, then the project with the live
                                            environment's generated secrets (ctx->secrets: the
                                            label `up` sets on a new network); with
                                            NEEDS_PROJECT the file is loaded (and checked) first */
    ENVTEST_NEEDS_PROJECT_NAME = 1 << 3, /* only the name (-p, $ENVTEST_PROJECT, or the file's) */
    ENVTEST_OPTIONS_FIRST = 1 << 4,      /* options end at the first argument (what follows is a
                                            command's: exec, run) */
    ENVTEST_NO_ARGUMENTS = 1 << 5,       /* takes no arguments besides options */
    ENVTEST_TAKES_LOCK = 1 << 6,         /* the engine, then the project's lock (<envmgr/lock.h>:
                                            ctx->lock, held until the command is over) before the
                                            live project is read: up, down */
};

typedef struct envtest_command envtest_command_t;

/* What a command gets: its arguments, the values of its options, what the set-up made. */
typedef struct envtest_ctx {
    envtest_globals_t *g;
    const envtest_command_t *command;
    int argc; /* the arguments after the options */
    char **argv;
    bool after_dashdash;   /* they followed "--" */
    envmgr_strv_t *values; /* per option of the command's table: each value given ("" for a flag) */
    envmgr_project_t *project;
    envmgr_engine_t *engine;
    char *project_name;
    char *secrets;
    envmgr_lock_t *lock; /* ENVTEST_TAKES_LOCK */
    bool no_setup;       /* set by parse: the command does its own set-up (up --from) */
} envtest_ctx_t;

struct envtest_command {
    const char *name;
    /* Checks the option values and arguments into opts (a zeroed block of opts_size bytes) before
     * any set-up: returns 0, or the exit code (usage errors: envtest_usage_error). May be NULL. */
    int (*parse)(envtest_ctx_t *ctx, void *opts);
    /* Runs the command after the set-up; returns the exit code. */
    int (*run)(envtest_ctx_t *ctx, void *opts);
    /* Frees what parse put into opts (may be NULL). */
    void (*free_opts)(void *opts);
    size_t opts_size;
    unsigned flags;
    const char *const *usage; /* what follows "envtest NAME", one form per line, NULL-ended */
    const char *summary;      /* one line, for `envtest --help` */
    const char *description;  /* --help's text */
    const envtest_option_t *options; /* ended by {NULL} */
    const char *exit_codes;
};

extern const envtest_command_t envtest_cmd_bundle, envtest_cmd_config, envtest_cmd_down,
    envtest_cmd_env, envtest_cmd_exec, envtest_cmd_fixture, envtest_cmd_gc, envtest_cmd_keep,
    envtest_cmd_logs, envtest_cmd_ls, envtest_cmd_report, envtest_cmd_run, envtest_cmd_snapshot,
    envtest_cmd_status, envtest_cmd_trends, envtest_cmd_up, envtest_cmd_version;

/* The option values of ctx: true when --name was given; its last value (NULL: not given); all of
 * them. name must be in the command's table. */
bool envtest_flag(const envtest_ctx_t *ctx, const char *name);
const char *envtest_value(const envtest_ctx_t *ctx, const char *name);
const envmgr_strv_t *envtest_values(const envtest_ctx_t *ctx, const char *name);

/* Parses argv (argv[0] the command's name) by cmd's table and runs it. */
int envtest_command_main(const envtest_command_t *cmd, int argc, char **argv, envtest_globals_t *g);
/* Sets a common option (file, project-name, host, real, profile) given before or after the
 * command. */
void envtest_set_global(envtest_globals_t *g, const char *name, const char *arg);
/* The set-up the command's flags ask for (main.c calls it unless parse set ctx->no_setup). */
int envtest_command_setup(envtest_ctx_t *ctx, envmgr_error_t *err);
/* Prints a command's --help, generated from its table. */
void envtest_command_help(const envtest_command_t *cmd, FILE *out);

/* Prints "envtest: <message>" and the hint on stderr; returns the error's exit code. */
int envtest_report_error(const envmgr_error_t *err);
/* Prints "envtest <cmd>: <message>\nTry 'envtest <cmd> --help'." and returns 2. */
int envtest_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A positive whole number (or >= min) from arg, or -1. */
int envtest_parse_count(const char *arg, int min, int *out);

/* Loads the compose file named by g (or the default). */
int envtest_load_project(const envtest_globals_t *g, envmgr_project_t **out, envmgr_error_t *err);
/* Opens the engine named by g (or $DOCKER_HOST, or the default socket). */
int envtest_open_engine(const envtest_globals_t *g, envmgr_engine_t **out, envmgr_error_t *err);
/* The project name without loading the compose file fully when -p/ENVTEST_PROJECT give it; else
 * from the compose file. Malloc'ed. */
int envtest_project_name(const envtest_globals_t *g, char **out, envmgr_error_t *err);

/* The labels of a new project network: io.envtest.secrets (the generated secrets) and
 * io.envtest.real (the real services, JSON service -> URL), which later commands read back. */
void envtest_network_labels(const envmgr_project_t *project, const char *secrets,
                            envmgr_kvlist_t *labels);
/* Loads the project for a command that talks to the engine: generated secrets (x-envtest.secrets)
 * are taken from the live environment's network label when it exists, so a re-up keeps them, and
 * so are the real services it was brought up with (--real wins).
 * *secrets_label (malloc'ed JSON, may be NULL) is what `up` stores on a new network. */
int envtest_load_live_project(const envtest_globals_t *g, envmgr_engine_t *engine,
                              envmgr_project_t **out, char **secrets_label, envmgr_error_t *err);

/* cmd/session_events.c: what run and up --session share. The session's events on stderr (what
 * names the holder in "brought up for this run"); the project read again under the lock with the
 * live environment's secrets, and the labels of a new network. */
struct envmgr_session_event;
void envtest_session_event_print(const envtest_globals_t *g, const struct envmgr_session_event *ev,
                                 const char *what);
int envtest_reload_live_project(const envtest_globals_t *g, envmgr_engine_t *engine,
                                envmgr_project_t **out, envmgr_kvlist_t *labels,
                                envmgr_error_t *err);
/* cmd/up_session.c: `envtest up --session`. */
int envtest_up_session(envtest_ctx_t *ctx, const envmgr_up_options_t *up);

/* Writes s as one word for sh: as it is when it has only safe characters (A-Za-z0-9 and
 * -_./=:,@%+), else in single quotes ('\'' for a quote). */
void envtest_print_shell_word(FILE *out, const char *s);
/* Writes s in single quotes, always. */
void envtest_print_shell_quoted(FILE *out, const char *s);

/* Takes the project's lock (<envmgr/lock.h>) for command ("up", "run", "down"), printing on stderr
 * who holds it while it waits (unless -q). ENVTEST_LOCK_TIMEOUT (seconds) bounds the wait; else it
 * waits until the holder is done or gone, or Ctrl-C. */
int envtest_lock_project(const envtest_globals_t *g, envmgr_engine_t *engine, const char *project,
                         const char *command, envmgr_lock_t **out, envmgr_error_t *err);
/* $ENVTEST_LOCK_TIMEOUT in milliseconds, 0 when unset (wait as long as it takes). */
int64_t envtest_lock_timeout_ms(void);
/* cmd/bundle.c: the --from side of up and run, and --bundle-on-failure. envtest_up_from brings
 * up the bundle's environment with its state (idempotent: done when it is up from the same
 * bundle) and returns the exit code; *compose_out and *project_out (malloc'ed) name the extracted
 * compose file and the project. envtest_run_from does it, points g at them, and with failed adds
 * the bundle's failed suites to suites (-1: none failed there). */
#include <envmgr/lifecycle.h>
int envtest_up_from(envtest_globals_t *g, const char *path, envmgr_up_options_t *opts,
                    char **compose_out, char **project_out);
int envtest_run_from(envtest_globals_t *g, const char *path, bool failed, envmgr_strv_t *suites,
                     char **compose_out, char **project_out);
/* down: the extracted bundle of an environment made by up --from (.envtest/from/<project>) goes
 * with it. */
void envtest_bundle_forget(const char *project);
int envtest_bundle_after_run(envtest_globals_t *g, envmgr_engine_t *engine,
                             const envmgr_project_t *project, const char *run_dir,
                             const char *output);

/* GitHub Actions log masking (cmd/ci_mask.c): with GITHUB_ACTIONS=true, prints
 * "::add-mask::VALUE" on stdout (flushed) for every secret of the project and of vars
 * (envmgr_project_secrets), or for one value, once per value per process, before anything else
 * can print it. Elsewhere they do nothing. */
bool envtest_ci_masking(void);
void envtest_ci_mask_project(const envmgr_project_t *project, const envmgr_kvlist_t *vars);
void envtest_ci_mask_value(const char *value);

/* Installs SIGINT/SIGTERM handlers that call envmgr_interrupt() (a second Ctrl-C exits at once). */
void envtest_install_signal_handlers(void);

#endif
