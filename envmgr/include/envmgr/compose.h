/* Compose files -> envtest's own model. Parsed with libyaml (anchors, aliases, merge keys `<<`),
 * interpolated exactly as the Compose specification says (${V}, $V, ${V:-d}, ${V-d}, ${V:?e},
 * ${V?e}, ${V:+a}, ${V+a}, $$, nested defaults; process environment first, then a .env file
 * beside the compose file, then opts->extra_vars), validated with file:line:column in every error.
 * Values are interpolated, keys are not; .env and env_file values are interpolated too, except
 * single-quoted ones.
 *
 * Supported: name; services.*: image, build (string, or context/dockerfile/args), command and
 * entrypoint (string: split as a shell does; list), environment and labels (mapping or list),
 * env_file (string/list/{path, required}), ports (every short and long form), expose,
 * healthcheck, depends_on (list or mapping with condition/required), volumes (short and long:
 * volume, bind, tmpfs), tmpfs, working_dir, user, init, hostname, x-envtest. Accepted and
 * ignored: restart (silently), platform, profiles and networks other than default (warnings).
 * Top level: services, volumes (name, external, labels), networks (default only; others warn),
 * x-* (x-envtest kept as JSON). Rejected: container_name (envtest names containers), include,
 * top-level secrets/configs.
 *
 * Unknown keys: a warning through envmgr_log with file:line. Keys that would change meaning if
 * ignored (network_mode, privileged, pid, ipc, cap_add, cap_drop, devices, security_opt, deploy,
 * extends, secrets, configs, links, external_links, volumes_from, userns_mode, sysctls,
 * ulimits): ENVMGR_E_CONFIG naming file:line:column and the key. */
#ifndef ENVMGR_COMPOSE_H
#define ENVMGR_COMPOSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include <envmgr/error.h>
#include <envmgr/util.h>

enum envmgr_healthcheck_kind {
    ENVMGR_HEALTHCHECK_UNSET = 0, /* no healthcheck key (image's own may apply) */
    ENVMGR_HEALTHCHECK_CMD,       /* test: [CMD, arg...]: argv in test */
    ENVMGR_HEALTHCHECK_CMD_SHELL, /* test: [CMD-SHELL, "cmd"] or a string: test.items[0] */
    ENVMGR_HEALTHCHECK_NONE,      /* test: [NONE] or disable: true */
};

typedef struct envmgr_healthcheck {
    enum envmgr_healthcheck_kind kind;
    envmgr_strv_t test;
    int64_t interval_ms;     /* default 30000 */
    int64_t timeout_ms;      /* default 30000 */
    int64_t start_period_ms; /* default 0 */
    int retries;             /* default 3 */
} envmgr_healthcheck_t;

typedef struct envmgr_port {
    char *host_ip;      /* default "127.0.0.1" (safe by default; Compose's default is 0.0.0.0) */
    int host_port;      /* 0: ephemeral */
    int container_port; /* ranges are expanded into one entry per port */
    char *protocol;     /* "tcp" or "udp" */
} envmgr_port_t;

enum envmgr_mount_type { ENVMGR_MOUNT_VOLUME, ENVMGR_MOUNT_BIND, ENVMGR_MOUNT_TMPFS };
typedef struct envmgr_mount {
    enum envmgr_mount_type type;
    char *source; /* volume: the top-level volume's key (NULL: anonymous); bind: absolute path */
    char *target; /* absolute path in the container */
    bool read_only;
    int64_t tmpfs_size; /* bytes, 0 = unset */
} envmgr_mount_t;

enum envmgr_depends_condition {
    ENVMGR_DEPENDS_STARTED,
    ENVMGR_DEPENDS_HEALTHY,
    ENVMGR_DEPENDS_COMPLETED_SUCCESSFULLY,
};
typedef struct envmgr_dependency {
    char *service;
    enum envmgr_depends_condition condition;
    bool required; /* default true */
} envmgr_dependency_t;

typedef struct envmgr_build {
    char *context;    /* absolute */
    char *dockerfile; /* relative to context; default "Dockerfile" */
    envmgr_kvlist_t args;
} envmgr_build_t;

typedef struct envmgr_service {
    char *name;
    char *image;           /* NULL only when build is set (the image is then named by lifecycle) */
    envmgr_build_t *build; /* NULL when no build: key */
    bool has_command, has_entrypoint;
    envmgr_strv_t command; /* string forms are split shell-style into argv */
    envmgr_strv_t entrypoint;
    envmgr_kvlist_t environment; /* env_file entries first, then environment (which wins).
                                    A name listed without a value takes it from the process
                                    environment/.env; value NULL when unset there (not passed). */
    envmgr_port_t *ports;
    size_t n_ports;
    int *expose;
    size_t n_expose;
    envmgr_healthcheck_t healthcheck;
    envmgr_dependency_t *depends_on;
    size_t n_depends_on;
    envmgr_kvlist_t labels;
    envmgr_mount_t *mounts; /* volumes: and tmpfs: */
    size_t n_mounts;
    char *working_dir;
    char *user;
    char *hostname;
    bool init;
    json_t *x_envtest; /* the service's `x-envtest` mapping (interpolated), or NULL */
    int line;          /* line of the service's key in the file */
} envmgr_service_t;

typedef struct envmgr_volume_def {
    char *key;  /* as in the file */
    char *name; /* `name:` if given, else NULL (lifecycle names it <project>_<key>) */
    bool external;
    envmgr_kvlist_t labels;
} envmgr_volume_def_t;

typedef struct envmgr_project {
    char *name; /* resolved: opts->project_name > ENVTEST_PROJECT > name: > directory name;
                   normalised to [a-z0-9_-], starting with a letter or digit */
    char *file; /* absolute path of the compose file */
    char *dir;  /* its directory (relative paths resolve against it) */
    envmgr_service_t *services; /* in file order */
    size_t n_services;
    envmgr_volume_def_t *volumes;
    size_t n_volumes;
    json_t *x_envtest;             /* top-level `x-envtest` (interpolated), or NULL */
    envmgr_strv_t secrets;         /* names listed in x-envtest.secrets (see below) */
    envmgr_kvlist_t secret_values; /* name -> value as resolved (environment, .env or generated) */
    /* Real services instead of mocks: service -> URL, from x-envtest.real, ENVTEST_REAL_<SERVICE>
     * and opts->real_services (later ones winning). Such a service is not started (envmgr_up
     * removes its container if one is left), its dependents' condition on it counts as met, and
     * the file's ${ENVTEST_URL_<SERVICE>} is the URL; `envtest env` gives ENVTEST_<SERVICE>_URL,
     * _HOST and _PORT from it. */
    envmgr_kvlist_t real_services;
} envmgr_project_t;

/* The URL replacing service, or NULL when it is started as the file says. */
const char *envmgr_project_real_url(const envmgr_project_t *project, const char *service);

/* Asked for each name in the top-level `x-envtest: {secrets: [NAME, ...]}` that is not set in the
 * process environment or .env: returns a malloc'ed value (e.g. a generated password kept in the
 * project's labels), or NULL to generate a random one. */
typedef char *(*envmgr_secret_cb)(void *userdata, const char *name);

typedef struct envmgr_compose_options {
    const char *project_name;          /* -p, or NULL */
    const envmgr_kvlist_t *extra_vars; /* lowest-priority variables, or NULL */
    envmgr_secret_cb secret_cb;        /* or NULL: random */
    void *secret_userdata;
    bool no_interpolate; /* for tests */
    /* service -> URL (`--real`), winning over ENVTEST_REAL_<SERVICE> and x-envtest.real; a value
     * "" keeps the mock. Or NULL. */
    const envmgr_kvlist_t *real_services;
} envmgr_compose_options_t;

/* path: the file given with -f, or NULL: compose/compose.yaml if present, else ./compose.yaml
 * (also compose.yml, docker-compose.yaml, docker-compose.yml). */
int envmgr_compose_load(const char *path, const envmgr_compose_options_t *opts,
                        envmgr_project_t **out, envmgr_error_t *err);
/* Same, from a string (file is used in messages and to resolve relative paths). */
int envmgr_compose_load_string(const char *yaml, size_t len, const char *file,
                               const envmgr_compose_options_t *opts, envmgr_project_t **out,
                               envmgr_error_t *err);
void envmgr_project_free(envmgr_project_t *project);

/* Lower-cases name and drops characters outside [a-z0-9_-] and leading '_'/'-' (as Compose does).
 * Returns NULL when nothing is left. */
char *envmgr_compose_normalize_project_name(const char *name);

const envmgr_service_t *envmgr_project_service(const envmgr_project_t *project, const char *name);

/* The resolved model as JSON in Compose's own shape (as `docker compose config` prints): ports and
 * volumes in long form, environment/labels/depends_on as mappings, durations as strings ("1m30s").
 * Dump with JSON_SORT_KEYS for a deterministic order. When mask_secrets, every occurrence of a
 * secret's value (project->secret_values) in a string, whole or inside e.g. a URL, is "********".
 */
json_t *envmgr_project_to_json(const envmgr_project_t *project, bool mask_secrets);
/* Secrets the project hands out, for CI log masking (GitHub's ::add-mask::): every x-envtest
 * secret's value; the value of every service environment variable and of every var in vars (e.g.
 * `envtest env`'s) whose name says it is a credential (envmgr_secret_name); and the password of
 * every "scheme://user:password@host" URL among those values. Distinct values of at least
 * ENVMGR_SECRET_MIN_LEN bytes are appended to out (masking shorter ones would mangle the logs). */
#define ENVMGR_SECRET_MIN_LEN 4
void envmgr_project_secrets(const envmgr_project_t *project, const envmgr_kvlist_t *vars,
                            envmgr_strv_t *out);
/* Whether a variable's name says it holds a credential: *PASSWORD*, *PASSWD*, *SECRET*, *TOKEN*,
 * *API_KEY*, *APIKEY*, *PRIVATE_KEY*, *ACCESS_KEY*, or ending in _KEY (case-insensitive). */
bool envmgr_secret_name(const char *name);
/* One service's canonical JSON (for config hashes). */
json_t *envmgr_service_to_json(const envmgr_service_t *service);

/* Interpolates one string (exposed for tests). lookup returns the value or NULL when unset.
 * Unset variables without a default give "" and the warning "variable X is not set, defaulting
 * to blank". On ${V:?msg}/${V?msg} failures and syntax errors: ENVMGR_E_CONFIG, e.g.
 * "required variable X is missing a value: msg" (the loader prefixes file:line:column: key). */
typedef const char *(*envmgr_lookup_cb)(void *userdata, const char *name);
int envmgr_compose_interpolate(const char *in, envmgr_lookup_cb lookup, void *userdata, char **out,
                               envmgr_error_t *err);

#endif
