/* The live state of an environment, typed: what the engine reports of a project's services (found
 * by the label io.envtest.project), read once by envmgr_env_inspect and passed around as a struct.
 * status, env, fixtures, isolation, keep and run read it; JSON is made from it only where a user
 * asks for JSON (envmgr_env_state_to_json, for `envtest status --json`). */
#ifndef ENVMGR_ENV_H
#define ENVMGR_ENV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include <envmgr/compose.h>
#include <envmgr/engine.h>
#include <envmgr/error.h>
#include <envmgr/util.h>

/* The container port a database service publishes. */
#define ENVMGR_MYSQL_PORT 3306

typedef struct envmgr_port_binding {
    int container_port;
    char protocol[8]; /* "tcp", "udp" */
    char *host_ip;    /* "127.0.0.1" */
    int host_port;
    /* Where this envtest connects to it: host_ip (127.0.0.1 for 0.0.0.0 or none) and host_port;
     * when envtest runs in a container with a network namespace of its own (envmgr_engine_self),
     * the container's (pod mode: the holder's) address on the project's network and
     * container_port. */
    char *reach_host;
    int reach_port;
} envmgr_port_binding_t;

/* A MySQL or MariaDB service's credentials, from its container's variables by one rule: each
 * setting is read as MYSQL_<NAME>, else MARIADB_<NAME> (ROOT_PASSWORD, USER, PASSWORD, DATABASE).
 * A service is a database when it publishes ENVMGR_MYSQL_PORT on the host and sets any of them. */
typedef struct envmgr_db_credentials {
    int host_port;       /* the published 3306, on 127.0.0.1 */
    const char *host;    /* where envtest connects to it: its binding's reach_host (borrowed) */
    int port;            /* and reach_port */
    char *root_password; /* "" when unset (MYSQL_ALLOW_EMPTY_PASSWORD) */
    char *user;          /* the application user, or "root" when none is set */
    char *password;      /* the application user's (root's when user is "root") */
    char *database;      /* "" when unset */
} envmgr_db_credentials_t;

typedef struct envmgr_service_state {
    char *service;
    char *container;         /* the container's name, or NULL when it has none */
    char *id;                /* the container's id, or NULL when it has none */
    char *state;             /* the engine's: "running", "exited", ...; "missing": no container */
    char *health;            /* "healthy", "starting", "unhealthy", or "none" (no check) */
    char *health_checked_by; /* "engine", "envtest" (envmgr_env_check_starting), "none" */
    envmgr_port_binding_t *ports; /* IPv4 bindings, in the engine's order */
    size_t n_ports;
    envmgr_db_credentials_t *db; /* NULL when the service is not a database */
    char *url; /* a real service (--real, x-envtest.real): its URL, state "real"; else NULL */
} envmgr_service_state_t;

typedef struct envmgr_env_state {
    char *project;
    bool kept;                        /* the keep mark (envmgr_keep_set) is there */
    envmgr_service_state_t *services; /* the model's services, in its order */
    size_t n_services;
    const envmgr_service_state_t *mysql; /* the first database service (of services), or NULL */
} envmgr_env_state_t;

/* Reads the live state of the project's services: one container list, one inspect per container,
 * the keep mark. Services of the model without a container have state "missing". health is the
 * engine's verdict. With a self container (envtest in a container of the engine,
 * envmgr_engine_self), it connects that container to the services' networks, once per network
 * and handle, for their addresses there (reach_host). */
int envmgr_env_inspect(envmgr_engine_t *engine, const envmgr_project_t *project,
                       envmgr_env_state_t *out, envmgr_error_t *err);
void envmgr_env_state_free(envmgr_env_state_t *state);

/* The engine's first check comes `interval` after the start, so right after `up` it still says
 * "starting" of a service envtest found healthy: for each running service in that state, runs its
 * healthcheck once through exec (as up does), sets health to "healthy" when it passed and
 * health_checked_by to "envtest". For `envtest status`; the other readers of the state do not pay
 * for it. */
int envmgr_env_check_starting(envmgr_engine_t *engine, const envmgr_project_t *project,
                              envmgr_env_state_t *state, envmgr_error_t *err);

/* Every service running (real ones aside), and healthy, starting or without a check. */
bool envmgr_env_state_healthy(const envmgr_env_state_t *state);
/* True when any service has a container. */
bool envmgr_env_state_up(const envmgr_env_state_t *state);
const envmgr_service_state_t *envmgr_env_state_service(const envmgr_env_state_t *state,
                                                       const char *service);

/* {"project", "kept", "services": [{"service", "container", "id", "state", "health",
 *   "health_checked_by", "url" (a real service), "ports": [{"container_port", "protocol",
 *   "host_ip", "host_port"}]}]}
 * (container and id null for a missing service). No credentials. New reference. */
json_t *envmgr_env_state_to_json(const envmgr_env_state_t *state);

/* Connection variables for other tools, from the state: ENVTEST_PROJECT, ENVTEST_<SERVICE>_HOST /
 * _PORT / _PORT_<containerport> (where envtest reaches them: reach_host, reach_port), and for the
 * database service DATABASE_URL (mysql://user:password@host:port/db, user and password
 * URL-escaped),
 * ENVTEST_MYSQL_USER/PASSWORD/DATABASE. <SERVICE> is envmgr_project_env_stem(service). Fails with
 * ENVMGR_E_ENV when no service has a container. With project (may be NULL), then the real
 * services' ENVTEST_<SERVICE>_URL/_HOST/_PORT from their URLs, then x-envtest.environment,
 * interpolated against those variables and the project's secrets. */
int envmgr_env_state_vars(const envmgr_env_state_t *state, const envmgr_project_t *project,
                          envmgr_kvlist_t *out, envmgr_error_t *err);
/* envmgr_env_inspect + envmgr_env_state_vars. */
int envmgr_env_vars(envmgr_engine_t *engine, const envmgr_project_t *project, envmgr_kvlist_t *out,
                    envmgr_error_t *err);
/* The <SERVICE> stem of those variables: "mock-llm" -> "MOCK_LLM". Malloc'ed. */
char *envmgr_project_env_stem(const char *service);

/* Finds a service's container id (malloc'ed), or ENVMGR_E_NOT_FOUND with a hint to run up. */
int envmgr_service_container(envmgr_engine_t *engine, const char *project_name, const char *service,
                             char **id_out, envmgr_error_t *err);

/* The project's service containers that died (OOM-killed, or exited with a non-zero code), for
 * `run` after its suites: [{"service", "container", "state", "exit_code", "oom_killed",
 * "memory_limit" (bytes, 0: none), "message", "hint"}], empty when none. New reference. */
int envmgr_env_service_failures(envmgr_engine_t *engine, const char *project_name, json_t **out,
                                envmgr_error_t *err);

/* ---- every project on the engine (`envtest ls`) ------------------------------------------- */

typedef struct envmgr_project_summary {
    char *name;
    int containers, running, networks;
    bool kept;
    envmgr_strv_t services; /* sorted */
} envmgr_project_summary_t;

typedef struct envmgr_project_list {
    envmgr_project_summary_t *items; /* sorted by name */
    size_t n;
} envmgr_project_list_t;

/* Every envtest project the engine has something of (containers, networks or the keep mark),
 * found by label, as `docker compose ls` lists Compose's. */
int envmgr_projects_list(envmgr_engine_t *engine, envmgr_project_list_t *out, envmgr_error_t *err);
void envmgr_project_list_free(envmgr_project_list_t *list);
/* [{"name", "containers", "running", "networks", "kept", "services": [...]}]. New reference. */
json_t *envmgr_project_list_to_json(const envmgr_project_list_t *list);

#endif
