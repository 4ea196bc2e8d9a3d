/* Naming, labels, config hashes and dependency order for one Compose project: the pure part of the
 * lifecycle (no engine calls), so it is unit-testable. */
#ifndef ENVMGR_PROJECT_H
#define ENVMGR_PROJECT_H

#include <jansson.h>

#include <envmgr/compose.h>
#include <envmgr/engine.h>
#include <envmgr/env.h> /* envmgr_project_env_stem */
#include <envmgr/error.h>

char *envmgr_project_container_name(const char *project, const char *service); /* p-s-1 */
char *envmgr_project_network_name(const char *project);                        /* p_default */
char *envmgr_project_volume_name(const char *project, const envmgr_volume_def_t *volume);
char *envmgr_project_image_name(const char *project, const char *service); /* p-s:latest */
/* "io.envtest.project=<project>" for label filters. */
char *envmgr_project_label_filter(const char *project);

/* The image a service runs: its image:, else its build's name. */
char *envmgr_service_image(const envmgr_project_t *project, const envmgr_service_t *service);

/* Services to bring up: the named ones (NULL: all) plus their dependencies, in dependency order
 * (each after everything it depends on; ties in file order). *order holds indexes into
 * project->services. Unknown names: ENVMGR_E_USAGE. */
int envmgr_project_plan(const envmgr_project_t *project, const char *const *names, size_t **order,
                        size_t *n_order, envmgr_error_t *err);

/* real.c: real services instead of mocks (project->real_services). */
/* Splits url (libcurl's URL API): *origin "scheme://host[:port]" (the default port left out),
 * *host, *port (the scheme's default when none is given); malloc'ed. */
int envmgr_real_url_parts(const char *url, char **origin, char **host, int *port,
                          envmgr_error_t *err);
/* The status entry of a real service: {"service","container":null,"id":null,"state":"real",
 * "health":"none","url","ports":[]}. */
json_t *envmgr_real_status(const envmgr_project_t *project, const char *service);
/* ENVTEST_<SERVICE>_URL, _HOST, _PORT and _PORT_<container port> of every real service. */
int envmgr_real_env_vars(const envmgr_project_t *project, envmgr_kvlist_t *out,
                         envmgr_error_t *err);

/* The Engine's container-create body for a service. image: the image to run (envmgr_service_image).
 * config_hash: envmgr_project_config_hash's digest, set as the io.envtest.config-hash label (so a
 * changed service or a rebuilt image recreates the container). */
json_t *envmgr_project_container_config(const envmgr_project_t *project,
                                        const envmgr_service_t *service, const char *image,
                                        const char *config_hash);
/* The value of key in a container's Config.Env (["KEY=value", ...]), or NULL. */
const char *envmgr_project_container_env(json_t *env, const char *key);
/* A service's ExposedPorts and PortBindings (published ports, and exposed ones), added to the
 * two objects given. */
void envmgr_project_port_bindings(const envmgr_service_t *s, json_t *exposed, json_t *bindings);
/* The path of a program installed beside envtest (envtest-reaper, envtest-pause), or $env_var
 * when it is set; NULL when /proc/self/exe cannot be read. Malloc'ed. */
char *envmgr_project_sibling_program(const char *env_var, const char *name);
/* A mark: a small volume name with labels (keep.c), or removed with labels NULL (absent is fine).
 */
int envmgr_env_mark_set(envmgr_engine_t *engine, const char *name, const envmgr_kvlist_t *labels,
                        envmgr_error_t *err);

/* sha256 over the service's canonical JSON and the image id. */
void envmgr_project_config_hash(const envmgr_service_t *service, const char *image_id,
                                char out[65]);

/* ---- project_compat.c: networks, secrets/configs, container keys --------------------------- */
/* container_name, else <project>-<service>-1 */
char *envmgr_project_service_container_name(const envmgr_project_t *project,
                                            const envmgr_service_t *service);
/* The engine's name of a network key: name:, else <project>_default / <project>_<key>. */
char *envmgr_project_network_engine_name(const envmgr_project_t *project, const char *key);
/* Where the private files of secrets/configs given by environment or content live (0700). */
char *envmgr_project_secrets_dir(const char *project_name);
json_t *envmgr_project_endpoint_config(const envmgr_project_t *project,
                                       const envmgr_service_t *service,
                                       const envmgr_service_network_t *network);
/* Adds the keys of compose_compat.c to a container-create body made by
 * envmgr_project_container_config. */
void envmgr_project_container_compat(const envmgr_project_t *project,
                                     const envmgr_service_t *service, json_t *config);
/* Creates the project's networks other than its own default one (internal, labels, subnets);
 * checks that external ones exist. */
int envmgr_project_networks_ensure(envmgr_engine_t *engine, const envmgr_project_t *project,
                                   envmgr_error_t *err);
/* Connects a created container to its networks after the first. */
int envmgr_project_container_connect(envmgr_engine_t *engine, const envmgr_project_t *project,
                                     const envmgr_service_t *service, const char *container_id,
                                     envmgr_error_t *err);
/* Writes the files of secrets/configs given by environment: or content: (0400 / 0444 in a 0700
 * folder); checks that file: sources are readable. */
int envmgr_project_files_write(const envmgr_project_t *project, envmgr_error_t *err);
/* Removes that folder (down). */
void envmgr_project_files_remove(const char *project_name);

/* project_files.c: a service's i-th file reference, its secrets then its configs (i < n_secrets +
 * n_configs): *ref, *secret, and its definition (NULL when the file has none). */
const envmgr_file_def_t *envmgr_project_file_ref(const envmgr_project_t *project,
                                                 const envmgr_service_t *service, size_t i,
                                                 const envmgr_file_ref_t **ref, bool *secret);
/* Where a definition's content is on the host: its file:, else the private file that
 * envmgr_project_files_write writes. Malloc'ed. */
char *envmgr_project_file_path(const envmgr_project_t *project, const envmgr_file_def_t *def,
                               bool secret);
/* Whether a service's secret/config is copied into its container (it has uid,
 * gid or mode, and the root is not read_only) rather than bind-mounted. */
bool envmgr_project_file_copied(const envmgr_service_t *service, const envmgr_file_ref_t *ref);
/* Copies those files into the created container, owned uid:gid (default 0) with mode (default
 * 0444). */
int envmgr_project_files_copy(envmgr_engine_t *engine, const envmgr_project_t *project,
                              const envmgr_service_t *service, const char *container_id,
                              envmgr_error_t *err);
/* A build digest for another platform: digest (64 hex) mixed with platform (NULL: unchanged). */
void envmgr_project_platform_digest(const char *platform, char digest[65]);
/* When err is the engine refusing the service's platform (400/404 naming it), says so with the
 * service, the platform and what to do. Returns -1. */
int envmgr_project_platform_error(const envmgr_service_t *service, envmgr_error_t *err);

/* Marks fixture name (digest) loaded into the MySQL container mysql_id (lifecycle_fixtures.c), as
 * envmgr_fixtures_up does after a load: a restored snapshot counts as one. */
int envmgr_fixture_mark_loaded(envmgr_engine_t *engine, const char *project, const char *name,
                               const char *digest, const char *mysql_id, envmgr_error_t *err);

#endif
