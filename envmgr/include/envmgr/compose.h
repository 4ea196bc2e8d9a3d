/* Compose files -> envtest's own model. Parsed with libyaml (anchors, aliases, merge keys `<<`),
 * interpolated exactly as the Compose specification says (${V}, $V, ${V:-d}, ${V-d}, ${V:?e},
 * ${V?e}, ${V:+a}, ${V+a}, $$, nested defaults; process environment first, then a .env file
 * beside the compose file, then opts->extra_vars), validated with file:line:column in every error.
 * Values are interpolated, keys are not; .env and env_file values are interpolated too, except
 * single-quoted ones.
 *
 * Supported: the keys README's "Compose compatibility" lists (networks, secrets, configs,
 * container_name, resources, profiles, extends, include, the container keys), each as the Compose
 * specification defines it; services.*.x-envtest.wait: wait strategies (envmgr_wait_t).
 *
 * Unknown keys: a warning through envmgr_log with file:line. Keys that would break an
 * environment's isolation (network_mode host/container:, pid/ipc host, userns_mode, uts,
 * external_links, volumes_from container:) and Swarm-only ones (external secrets/configs,
 * deploy.mode global, device reservations): ENVMGR_E_CONFIG naming file:line:column, the reason
 * and the way out. */
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
    int64_t interval_ms;       /* default 30000 */
    int64_t timeout_ms;        /* default 30000 */
    int64_t start_period_ms;   /* default 0 */
    int64_t start_interval_ms; /* 0: unset (the engine's checks during start_period) */
    int retries;               /* default 3 */
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
    bool create_host_path; /* bind: create a missing source folder (the short syntax, as Compose) */
    int64_t tmpfs_size;    /* bytes, 0 = unset */
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

/* A service's attachment to a network (services.*.networks). */
typedef struct envmgr_service_network {
    char *key; /* the top-level network's key ("default" for the project network) */
    envmgr_strv_t aliases;
    char *ipv4_address, *ipv6_address; /* or NULL */
    int priority;                      /* higher first; the first is the container's primary */
} envmgr_service_network_t;

/* A service's use of a secret or config (short form: just the source). */
typedef struct envmgr_file_ref {
    char *source;  /* the top-level key */
    char *target;  /* absolute path in the container: secrets /run/secrets/<target or source>,
                      configs /<source> unless target is given */
    long uid, gid; /* -1: unset */
    int mode;      /* -1: unset (0444 for configs, 0400 for secrets' private files) */
} envmgr_file_ref_t;

typedef struct envmgr_ulimit {
    char *name;
    int64_t soft, hard;
} envmgr_ulimit_t;

typedef struct envmgr_device {
    char *host, *container, *permissions; /* permissions default "rwm" */
} envmgr_device_t;

/* deploy.resources and the service-level mem_limit/cpus/... (0: unset). */
typedef struct envmgr_resources {
    int64_t memory_limit, memory_reservation, memswap_limit, shm_size; /* bytes */
    int64_t nano_cpus;                                                 /* cpus * 1e9 */
    int64_t cpu_reservation_nano; /* recorded; the engine has no reservation for CPUs */
    int64_t pids_limit;
    int64_t cpu_shares;
    char *cpuset;
} envmgr_resources_t;

/* Wait strategies beyond healthchecks (services.*.x-envtest.wait), as Testcontainers has them;
 * all must pass, in order, after the healthcheck (or port probe). */
enum envmgr_wait_kind {
    ENVMGR_WAIT_LOG,     /* a line matching regex (POSIX extended) appears `times` times */
    ENVMGR_WAIT_HTTP,    /* method path on port answers status */
    ENVMGR_WAIT_SQL,     /* query succeeds on the MySQL protocol port */
    ENVMGR_WAIT_COMMAND, /* the command exits 0 in the container */
    ENVMGR_WAIT_PORTS,   /* each port accepts TCP connections */
};
typedef struct envmgr_wait {
    enum envmgr_wait_kind kind;
    char *pattern;                    /* log: regex; http: path; sql: query */
    int times;                        /* log: default 1 */
    int port;                         /* http (default the first port), sql (default 3306) */
    int status;                       /* http: default 200 */
    char *method;                     /* http: default GET */
    char *user, *password, *database; /* sql: default root / $MYSQL_ROOT_PASSWORD / none */
    envmgr_strv_t command;            /* command: argv, or one string run with /bin/sh -c */
    bool shell;
    int *ports; /* ports */
    size_t n_ports;
} envmgr_wait_t;

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

    char *container_name;               /* or NULL: <project>-<service>-1 */
    envmgr_service_network_t *networks; /* sorted by priority; NULL with network_mode */
    size_t n_networks;
    char *network_mode; /* NULL, "none" or "service:<name>" */
    envmgr_file_ref_t *secrets, *configs;
    size_t n_secrets, n_configs;
    envmgr_resources_t resources;
    envmgr_strv_t profiles;
    int64_t stop_grace_period_ms; /* -1: unset (engine default 10 s) */
    char *stop_signal;
    envmgr_strv_t extra_hosts; /* "host:ip" */
    envmgr_strv_t dns, dns_search, dns_opt;
    envmgr_ulimit_t *ulimits;
    size_t n_ulimits;
    envmgr_kvlist_t sysctls;
    envmgr_strv_t cap_add, cap_drop, security_opt, group_add;
    envmgr_strv_t links;        /* "service" or "service:alias" */
    envmgr_strv_t volumes_from; /* "service[:ro|rw]" */
    envmgr_device_t *devices;
    size_t n_devices;
    bool read_only, privileged, tty, stdin_open;
    char *platform;
    char *pid, *ipc; /* NULL or as given ("host" refused) */
    envmgr_wait_t *waits;
    size_t n_waits;
} envmgr_service_t;

typedef struct envmgr_network_def {
    char *key;  /* as in the file ("default" included when a service uses it) */
    char *name; /* `name:`, else NULL (lifecycle names it <project>_<key>) */
    bool external, internal, attachable, enable_ipv6;
    char *driver; /* NULL or "bridge" */
    envmgr_kvlist_t labels, driver_opts;
    envmgr_strv_t subnets; /* ipam.config[].subnet */
} envmgr_network_def_t;

enum envmgr_file_source { ENVMGR_SOURCE_FILE, ENVMGR_SOURCE_ENVIRONMENT, ENVMGR_SOURCE_CONTENT };
/* A top-level secret or config. */
typedef struct envmgr_file_def {
    char *key;
    char *name;
    enum envmgr_file_source source;
    char *value; /* file: absolute path; environment: the variable's name; content: the text */
    char *data;  /* environment: the variable's value (never printed), or NULL when unset */
    bool external;
} envmgr_file_def_t;

typedef struct envmgr_volume_def {
    char *key;  /* as in the file */
    char *name; /* `name:` if given, else NULL (lifecycle names it <project>_<key>) */
    bool external;
    envmgr_kvlist_t labels;
} envmgr_volume_def_t;

/* Alert limits of `x-envtest: {monitor: {alerts: {...}}}` (ADR-009's IntegrationTestMonitor); a
 * limit of 0 is off. Defaults: the ADR's three (duration 300 s, memory 1 GiB, error rate 0.10). */
typedef struct envmgr_alert_limits {
    int64_t duration_ms;  /* `duration`: a suite or a test slower than this (90, 90s, 5m) */
    int64_t memory_bytes; /* `memory`: a suite's peak RSS (100MB, 1GiB; MB = MiB, as Compose) */
    double error_rate;    /* `error_rate`: failed tests / tests of a suite, and of the run */
    double flaky_rate;    /* `flaky_rate`: a suite's flaky runs / runs in its history */
    double slower_than_median; /* `slower_than_median`: duration / the median of its history */
} envmgr_alert_limits_t;
#define ENVMGR_ALERT_LIMITS_DEFAULT                                                                \
    {                                                                                              \
        .duration_ms = 300 * 1000, .memory_bytes = 1LL << 30, .error_rate = 0.10                   \
    }

typedef struct envmgr_project {
    char *name; /* resolved: opts->project_name > ENVTEST_PROJECT > name: > directory name;
                   normalised to [a-z0-9_-], starting with a letter or digit */
    char *file; /* absolute path of the compose file */
    char *dir;  /* its directory (relative paths resolve against it) */
    envmgr_service_t *services; /* in file order */
    size_t n_services;
    envmgr_volume_def_t *volumes;
    size_t n_volumes;
    envmgr_network_def_t *networks; /* declared ones, plus "default" when a service is on it */
    size_t n_networks;
    envmgr_file_def_t *secret_defs, *config_defs; /* top-level secrets: and configs: */
    size_t n_secret_defs, n_config_defs;
    envmgr_strv_t profiles_active;
    json_t *x_envtest;             /* top-level `x-envtest` (interpolated), or NULL */
    envmgr_strv_t secrets;         /* names listed in x-envtest.secrets (see below) */
    envmgr_kvlist_t secret_values; /* name -> value as resolved (environment, .env or generated) */
    /* Real services instead of mocks: service -> URL, from x-envtest.real, ENVTEST_REAL_<SERVICE>
     * and opts->real_services (later ones winning). Such a service is not started (envmgr_up
     * removes its container if one is left), its dependents' condition on it counts as met, and
     * the file's ${ENVTEST_URL_<SERVICE>} is the URL; `envtest env` gives ENVTEST_<SERVICE>_URL,
     * _HOST and _PORT from it. */
    envmgr_kvlist_t real_services;
    envmgr_alert_limits_t alerts; /* x-envtest.monitor.alerts over the defaults */
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
    const char *const *profiles; /* NULL-terminated --profile names (COMPOSE_PROFILES is added) */
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
const envmgr_network_def_t *envmgr_project_network(const envmgr_project_t *project,
                                                   const char *key);
const envmgr_file_def_t *envmgr_project_secret(const envmgr_project_t *project, const char *key);
const envmgr_file_def_t *envmgr_project_config(const envmgr_project_t *project, const char *key);

/* The resolved model as JSON in Compose's own shape (as `docker compose config` prints): ports and
 * volumes in long form, environment/labels/depends_on as mappings, durations as strings ("1m30s").
 * Dump with JSON_SORT_KEYS for a deterministic order. When mask_secrets, every occurrence of a
 * secret's value (project->secret_values) in a string, whole or inside e.g. a URL, is "********".
 */
json_t *envmgr_project_to_json(const envmgr_project_t *project, bool mask_secrets);
/* What `envtest config` prints (without its final newline): envmgr_project_to_json indented, keys
 * sorted, '$' in values written "$$": itself a Compose file that loads into the same model
 * (tests/test_compose_property.c). malloc'ed. */
char *envmgr_project_config_text(const envmgr_project_t *project, bool mask_secrets);
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
