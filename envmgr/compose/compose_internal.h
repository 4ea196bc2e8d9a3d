/* Internals of the compose module (compose*.c only): the YAML node tree with line/column, the
 * loader's context, interpolation with locations, and dotenv files. */
#ifndef ENVMGR_COMPOSE_INTERNAL_H
#define ENVMGR_COMPOSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <envmgr/compose.h>
#include <envmgr/error.h>
#include <envmgr/util.h>

/* ---- YAML node tree (compose_yaml.c) ----------------------------------------------------------
 */
enum compose_node_kind { COMPOSE_SCALAR, COMPOSE_SEQ, COMPOSE_MAP };

typedef struct compose_node compose_node_t;
typedef struct compose_pair {
    compose_node_t *key; /* always a scalar */
    compose_node_t *value;
} compose_pair_t;

struct compose_node {
    enum compose_node_kind kind;
    int line, column;       /* 1-based */
    unsigned refs;          /* aliases share nodes */
    size_t weight;          /* nodes after expanding aliases (bounded) */
    char *scalar;           /* COMPOSE_SCALAR: the text (NUL-terminated) */
    bool plain;             /* plain style (null/bool/int resolution applies); false when quoted */
    compose_node_t **items; /* COMPOSE_SEQ */
    size_t n_items;
    compose_pair_t *pairs; /* COMPOSE_MAP, after merge keys (`<<`) were applied */
    size_t n_pairs;
    char *file; /* the file this node comes from when it is another one (extends: file:): its
                   relative paths resolve against that file's folder and errors name it; NULL:
                   the project's own (ctx->file, ctx->dir) */
};

/* Parses one YAML document. Aliases share nodes; merge keys are resolved; duplicate keys are an
 * error. An empty document gives *root = NULL. */
int compose_yaml_parse(const char *data, size_t len, const char *file, compose_node_t **root,
                       envmgr_error_t *err);
void compose_node_unref(compose_node_t *node);
/* Value of key in a mapping, or NULL. */
compose_node_t *compose_node_get(const compose_node_t *map, const char *key);
/* A plain `~`, `null`, empty scalar. */
bool compose_node_is_null(const compose_node_t *node);
const char *compose_node_kind_name(const compose_node_t *node);

/* ---- interpolation and dotenv (compose_interpolate.c) ------------------------------------------
 */
/* Like envmgr_compose_interpolate; warnings about unset variables are prefixed with where. */
int compose_interpolate_at(const char *in, envmgr_lookup_cb lookup, void *userdata,
                           const char *where, char **out, envmgr_error_t *err);
/* Parses dotenv text (K=V lines, # comments, "export ", single/double quotes) into out (later
 * entries win). Unquoted and double-quoted values are interpolated (earlier entries, then lookup;
 * lookup NULL: the process environment). Lines with a key only take the value from lookup, or are
 * skipped when it has none. */
int compose_dotenv_parse(const char *data, const char *file, envmgr_lookup_cb lookup,
                         void *userdata, envmgr_kvlist_t *out, envmgr_error_t *err);
/* Splits a command line into words as a POSIX shell does (quotes and backslashes, no expansion). */
int compose_shell_split(const char *s, envmgr_strv_t *out, envmgr_error_t *err);

/* ---- the loader's context (compose.c, compose_service.c) ------------------------------------- */
typedef struct compose_ctx compose_ctx_t;
struct compose_ctx {
    const char *file;               /* as given, for messages */
    const char *dir;                /* absolute directory of the file (the project's) */
    const compose_node_t *services; /* the services mapping (to check depends_on) */
    envmgr_error_t *err;
    envmgr_kvlist_t dotenv;    /* .env beside the file */
    envmgr_kvlist_t secrets;   /* generated secret values (x-envtest.secrets not set elsewhere) */
    envmgr_kvlist_t real_vars; /* ENVTEST_URL_<SERVICE> of the real services (compose_real.c) */
    const envmgr_kvlist_t *extra_vars;
    bool no_interpolate;
    envmgr_project_t *project;
    compose_ctx_t *parent; /* the file that includes this one (its variables win), or NULL */
};

const char *compose_ctx_lookup(void *userdata, const char *name);
/* "file:line:column: path: message"; returns -1. */
int compose_error_at(compose_ctx_t *ctx, const compose_node_t *node, const char *path,
                     const char *fmt, ...) ENVMGR_PRINTF(4, 5);
/* Scalar accessors: interpolated; errors name file:line:column and path. */
int compose_get_string(compose_ctx_t *ctx, const compose_node_t *node, const char *path,
                       char **out);
int compose_get_bool(compose_ctx_t *ctx, const compose_node_t *node, const char *path, bool *out);
int compose_get_int(compose_ctx_t *ctx, const compose_node_t *node, const char *path, long min,
                    long max, long *out);
/* The fields of a definition (volumes.NAME, networks.NAME): null (none) or a mapping, each pair of
 * which field(ctx, def, pair, path) reads; stops at the first error. */
typedef int (*compose_field_fn)(compose_ctx_t *ctx, void *def, const compose_pair_t *f,
                                const char *path);
int compose_each_field(compose_ctx_t *ctx, const compose_node_t *node, const char *path,
                       compose_field_fn field, void *def);
/* A duration (30s, 1m30s, 500ms) in milliseconds. */
int compose_get_duration(compose_ctx_t *ctx, const compose_node_t *node, const char *path,
                         int64_t *out_ms);
/* A string or a list of strings (string: split shell-style when split, else one item). */
int compose_get_strv(compose_ctx_t *ctx, const compose_node_t *node, const char *path, bool split,
                     envmgr_strv_t *out);
/* A mapping (values stringified; null -> NULL or looked up) or a list of "K=V"/"K". */
int compose_get_kvlist(compose_ctx_t *ctx, const compose_node_t *node, const char *path,
                       bool lookup_missing, envmgr_kvlist_t *out);
/* A node (interpolated) as JSON (x-envtest). */
int compose_node_to_json(compose_ctx_t *ctx, const compose_node_t *node, const char *path,
                         json_t **out);
/* Resolves path against the compose file's directory ("~" against $HOME); lexical normalisation. */
char *compose_resolve_path(compose_ctx_t *ctx, const char *path);
/* Same, against the folder of node->file when the node came from another file (extends: file:). */
char *compose_resolve_path_at(compose_ctx_t *ctx, const compose_node_t *node, const char *path);
char *compose_path_normalize(const char *path);

/* compose_monitor.c: `x-envtest.monitor` (node: the top-level x-envtest, or NULL) into
 * ctx->project->alerts (defaults first). */
int compose_parse_monitor(compose_ctx_t *ctx, const compose_node_t *x_envtest);

/* compose_mounts.c: ports, expose, volumes, tmpfs of one service. */
int compose_parse_ports(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                        const char *path);
int compose_parse_expose(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                         const char *path);
int compose_parse_volumes(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                          const char *path);
int compose_parse_tmpfs(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                        const char *path);
/* "64m", "1g", "1024" (bytes), b/k/kb/m/mb/g/gb, binary multiples. */
int compose_parse_size(const char *s, int64_t *out);

/* compose_real.c: the real services (x-envtest.real, ENVTEST_REAL_<SERVICE>, opts->real_services)
 * into project->real_services and ENVTEST_URL_<SERVICE> into ctx->real_vars; before the services
 * are parsed (they interpolate those). */
int compose_load_real(compose_ctx_t *ctx, const compose_node_t *root,
                      const envmgr_compose_options_t *opts);
/* "mock-llm" -> "MOCK_LLM" (as envtest env names variables); malloc'ed. */
char *compose_env_stem(const char *service);
/* compose_compat.c: the keys that change how a container runs. *handled is false for a key it
 * does not know. compose_service_finish checks the combination after all keys were read. */
int compose_parse_compat_key(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_pair_t *f,
                             const char *path, bool *handled);
int compose_service_finish(compose_ctx_t *ctx, envmgr_service_t *svc);
void compose_service_compat_clear(envmgr_service_t *svc);
/* compose_wait.c: x-envtest.wait of a service (x: its x-envtest node). */
int compose_parse_waits(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *x,
                        const char *path);
/* compose_resources.c: top-level networks, secrets, configs; profiles; extends; include. */
int compose_parse_networks(compose_ctx_t *ctx, const compose_node_t *node);
int compose_parse_file_defs(compose_ctx_t *ctx, const compose_node_t *node, bool secrets);
/* Checks each service's networks, secrets and configs against the top level, adds the
 * "default" network when used, and drops the services of inactive profiles. */
int compose_resolve_references(compose_ctx_t *ctx, const envmgr_compose_options_t *opts);
/* Replaces each service's node by its merge with what it extends (services.*.extends). */
int compose_apply_extends(compose_ctx_t *ctx, compose_node_t *root);
/* An included file's project directory and environment files (include: long form). */
typedef struct compose_include {
    const char *project_dir;        /* absolute, or NULL: the included file's folder */
    const envmgr_strv_t *env_files; /* absolute paths, or NULL: .env in project_dir if present */
    compose_ctx_t *parent;          /* the including file's context */
} compose_include_t;
/* envmgr_compose_load for an included file (compose.c). */
int compose_load_included(const char *file, const compose_include_t *inc,
                          const envmgr_compose_options_t *opts, envmgr_project_t **out,
                          envmgr_error_t *err);
/* Loads the files of top-level include: into the project. */
int compose_apply_include(compose_ctx_t *ctx, const compose_node_t *root,
                          const envmgr_compose_options_t *opts);
void compose_resources_free(envmgr_project_t *project);

/* A service, volume or network name: [A-Za-z0-9._-]+. */
bool compose_valid_name(const char *s);

int compose_parse_service(compose_ctx_t *ctx, const compose_pair_t *pair, envmgr_service_t *svc);
void compose_service_clear(envmgr_service_t *svc);

#endif
