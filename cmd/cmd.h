/* The CLI's shared pieces. Each command lives in cmd/<name>.c as
 *   int cmd_<name>(int argc, char **argv, envtest_globals_t *g);
 * returning the exit code, and is listed in main.c's table. Commands parse their own options with
 * getopt_long (argv[0] is the command name) and call envmgr; only cmd/ prints. */
#ifndef ENVTEST_CMD_H
#define ENVTEST_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include <envmgr/compose.h>
#include <envmgr/engine.h>
#include <envmgr/error.h>

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

typedef int (*envtest_command_fn)(int argc, char **argv, envtest_globals_t *g);

int cmd_config(int argc, char **argv, envtest_globals_t *g);
int cmd_down(int argc, char **argv, envtest_globals_t *g);
int cmd_env(int argc, char **argv, envtest_globals_t *g);
int cmd_exec(int argc, char **argv, envtest_globals_t *g);
int cmd_fixture(int argc, char **argv, envtest_globals_t *g);
int cmd_gc(int argc, char **argv, envtest_globals_t *g);
int cmd_keep(int argc, char **argv, envtest_globals_t *g);
int cmd_logs(int argc, char **argv, envtest_globals_t *g);
int cmd_ls(int argc, char **argv, envtest_globals_t *g);
int cmd_report(int argc, char **argv, envtest_globals_t *g);
int cmd_run(int argc, char **argv, envtest_globals_t *g);
int cmd_status(int argc, char **argv, envtest_globals_t *g);
int cmd_trends(int argc, char **argv, envtest_globals_t *g);
int cmd_up(int argc, char **argv, envtest_globals_t *g);
int cmd_version(int argc, char **argv, envtest_globals_t *g);

/* Prints "envtest: <message>" and the hint on stderr; returns the error's exit code. */
int envtest_report_error(const envmgr_error_t *err);
/* Prints "envtest <cmd>: <message>\nTry 'envtest <cmd> --help'." and returns 2. */
int envtest_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Loads the compose file named by g (or the default). */
int envtest_load_project(const envtest_globals_t *g, envmgr_project_t **out, envmgr_error_t *err);
/* Opens the engine named by g (or $DOCKER_HOST, or the default socket). */
int envtest_open_engine(const envtest_globals_t *g, envmgr_engine_t **out, envmgr_error_t *err);
/* What most commands start with: the project of -f/-p and an Engine handle. On failure nothing is
 * left open; envtest_session_close (or cleanup_session) closes both. */
typedef struct envtest_session {
    envmgr_project_t *project;
    envmgr_engine_t *engine;
} envtest_session_t;
int envtest_session_open(const envtest_globals_t *g, envtest_session_t *s, envmgr_error_t *err);
void envtest_session_close(envtest_session_t *s);
#define cleanup_session __attribute__((cleanup(envtest_session_close)))
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

/* Common options every command accepts after its name: -f FILE, -p NAME, -H HOST. Returns true when
 * opt was one of them (and stores it). */
bool envtest_common_option(envtest_globals_t *g, int opt, const char *arg);
#define ENVTEST_COMMON_SHORTOPTS "f:p:H:"
#define ENVTEST_OPT_PROFILE 0x7f00 /* --profile NAME: enables a Compose profile */
#define ENVTEST_COMMON_LONGOPTS                                                                    \
    {"file", required_argument, NULL, 'f'}, {"project-name", required_argument, NULL, 'p'},        \
        {"host", required_argument, NULL, 'H'}, {"real", required_argument, NULL, 'R'},            \
    {                                                                                              \
        "profile", required_argument, NULL, ENVTEST_OPT_PROFILE                                    \
    }

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
