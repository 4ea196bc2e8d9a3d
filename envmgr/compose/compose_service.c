/* One service: the key table, and image/build/command/environment/env_file/healthcheck/depends_on
 * and the simple string keys. Ports and mounts are in compose_mounts.c. */
#include "compose_internal.h"
#include <envmgr/log.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*field_fn)(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                        const char *path);

/* ---- simple keys ----------------------------------------------------------------------------- */

static int field_image(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                       const char *path)
{
    if (compose_get_string(ctx, node, path, &svc->image) < 0)
        return -1;
    if (!*svc->image)
        return compose_error_at(ctx, node, path, "the image name is empty");
    return 0;
}

static int field_command(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                         const char *path)
{
    svc->has_command = !compose_node_is_null(node);
    return compose_get_strv(ctx, node, path, true, &svc->command);
}

static int field_entrypoint(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                            const char *path)
{
    svc->has_entrypoint = !compose_node_is_null(node);
    return compose_get_strv(ctx, node, path, true, &svc->entrypoint);
}

static int field_environment(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                             const char *path)
{
    return compose_get_kvlist(ctx, node, path, true, &svc->environment);
}

static int field_labels(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                        const char *path)
{
    return compose_get_kvlist(ctx, node, path, false, &svc->labels);
}

static int field_working_dir(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                             const char *path)
{
    return compose_get_string(ctx, node, path, &svc->working_dir);
}

static int field_user(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                      const char *path)
{
    return compose_get_string(ctx, node, path, &svc->user);
}

static int field_hostname(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                          const char *path)
{
    return compose_get_string(ctx, node, path, &svc->hostname);
}

static int field_init(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                      const char *path)
{
    return compose_get_bool(ctx, node, path, &svc->init);
}

static int field_x_envtest(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                           const char *path)
{
    if (compose_node_to_json(ctx, node, path, &svc->x_envtest) < 0)
        return -1;
    return compose_parse_waits(ctx, svc, node, path);
}

static int field_ignore(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                        const char *path)
{
    return 0;
}

/* ---- build ------------------------------------------------------------------------------------
 */

static int build_context(compose_ctx_t *ctx, envmgr_build_t *b, const compose_node_t *node,
                         const char *path)
{
    envmgr_cleanup_free char *s = NULL;
    if (compose_get_string(ctx, node, path, &s) < 0)
        return -1;
    if (strstr(s, "://") || !strncmp(s, "git@", 4))
        return compose_error_at(ctx, node, path,
                                "remote build context '%s' is not supported: use a directory", s);
    free(b->context);
    b->context = compose_resolve_path_at(ctx, node, *s ? s : ".");
    return 0;
}

static int field_build(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                       const char *path)
{
    envmgr_build_t *b = svc->build = envmgr_xcalloc(1, sizeof(*b));
    b->dockerfile = envmgr_xstrdup("Dockerfile");
    if (node->kind == COMPOSE_SCALAR)
        return build_context(ctx, b, node, path);
    if (node->kind != COMPOSE_MAP)
        return compose_error_at(ctx, node, path, "expected a directory or a mapping, got %s",
                                compose_node_kind_name(node));
    b->context = compose_resolve_path_at(ctx, node, ".");
    for (size_t i = 0; i < node->n_pairs; i++) {
        const char *key = node->pairs[i].key->scalar;
        const compose_node_t *v = node->pairs[i].value;
        envmgr_cleanup_free char *kpath = envmgr_xasprintf("%s.%s", path, key);
        int r = 0;
        if (!strcmp(key, "context"))
            r = build_context(ctx, b, v, kpath);
        else if (!strcmp(key, "dockerfile")) {
            free(b->dockerfile);
            b->dockerfile = NULL;
            r = compose_get_string(ctx, v, kpath, &b->dockerfile);
        } else if (!strcmp(key, "args"))
            r = compose_get_kvlist(ctx, v, kpath, true, &b->args);
        else if (strncmp(key, "x-", 2) != 0)
            envmgr_warn("%s:%d: unknown key '%s' in service '%s' build ignored", ctx->file,
                        node->pairs[i].key->line, key, svc->name);
        if (r < 0)
            return -1;
    }
    return 0;
}

/* ---- env_file ---------------------------------------------------------------------------------
 */

static int env_file_one(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                        const char *path)
{
    envmgr_cleanup_free char *name = NULL, *file = NULL, *data = NULL;
    bool required = true;
    size_t len;
    const compose_node_t *name_node = node;
    if (node->kind == COMPOSE_MAP) {
        const compose_node_t *req = compose_node_get(node, "required");
        envmgr_cleanup_free char *req_path = envmgr_xasprintf("%s.required", path);
        name_node = compose_node_get(node, "path");
        if (!name_node)
            return compose_error_at(ctx, node, path, "missing 'path'");
        if (req && compose_get_bool(ctx, req, req_path, &required) < 0)
            return -1;
    }
    if (compose_get_string(ctx, name_node, path, &name) < 0)
        return -1;
    file = compose_resolve_path_at(ctx, name_node, name);
    if (access(file, F_OK) != 0) {
        if (!required)
            return 0;
        return compose_error_at(ctx, name_node, path, "cannot read env file '%s': %s", file,
                                strerror(errno));
    }
    if (envmgr_read_file(file, &data, &len, ctx->err) < 0 ||
        compose_dotenv_parse(data, file, compose_ctx_lookup, ctx, &svc->environment, ctx->err) <
            0) {
        char msg[sizeof(ctx->err->message)];
        snprintf(msg, sizeof(msg), "%s", ctx->err->message);
        return compose_error_at(ctx, name_node, path, "%s", msg);
    }
    return 0;
}

static int field_env_file(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                          const char *path)
{
    if (node->kind != COMPOSE_SEQ)
        return env_file_one(ctx, svc, node, path);
    for (size_t i = 0; i < node->n_items; i++) {
        envmgr_cleanup_free char *item_path = envmgr_xasprintf("%s[%zu]", path, i);
        if (env_file_one(ctx, svc, node->items[i], item_path) < 0)
            return -1;
    }
    return 0;
}

/* ---- healthcheck ------------------------------------------------------------------------------
 */

static int health_test(compose_ctx_t *ctx, envmgr_healthcheck_t *h, const compose_node_t *node,
                       const char *path)
{
    envmgr_strv_t words = {0};
    if (node->kind == COMPOSE_SCALAR) {
        h->kind = ENVMGR_HEALTHCHECK_CMD_SHELL;
        return compose_get_strv(ctx, node, path, false, &h->test);
    }
    if (compose_get_strv(ctx, node, path, false, &words) < 0) {
        envmgr_strv_free(&words);
        return -1;
    }
    const char *first = words.n ? words.items[0] : "";
    int ret = 0;
    if (!strcmp(first, "NONE")) {
        h->kind = ENVMGR_HEALTHCHECK_NONE;
    } else if (!strcmp(first, "CMD") && words.n >= 2) {
        h->kind = ENVMGR_HEALTHCHECK_CMD;
        for (size_t i = 1; i < words.n; i++)
            envmgr_strv_push(&h->test, words.items[i]);
    } else if (!strcmp(first, "CMD-SHELL") && words.n >= 2) {
        envmgr_buf_t cmd = ENVMGR_BUF_INIT;
        for (size_t i = 1; i < words.n; i++)
            envmgr_buf_addf(&cmd, "%s%s", i > 1 ? " " : "", words.items[i]);
        h->kind = ENVMGR_HEALTHCHECK_CMD_SHELL;
        envmgr_strv_push(&h->test, cmd.data);
        envmgr_buf_free(&cmd);
    } else {
        ret = compose_error_at(ctx, node, path,
                               "expected a command string, [CMD, arg...], [CMD-SHELL, command] "
                               "or [NONE]");
    }
    envmgr_strv_free(&words);
    return ret;
}

static int health_field(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_pair_t *f,
                        const char *path, bool *disable)
{
    envmgr_healthcheck_t *h = &svc->healthcheck;
    const char *key = f->key->scalar;
    envmgr_cleanup_free char *kpath = envmgr_xasprintf("%s.%s", path, key);
    long retries;
    if (!strcmp(key, "test"))
        return health_test(ctx, h, f->value, kpath);
    if (!strcmp(key, "interval"))
        return compose_get_duration(ctx, f->value, kpath, &h->interval_ms);
    if (!strcmp(key, "timeout"))
        return compose_get_duration(ctx, f->value, kpath, &h->timeout_ms);
    if (!strcmp(key, "start_period"))
        return compose_get_duration(ctx, f->value, kpath, &h->start_period_ms);
    if (!strcmp(key, "start_interval"))
        return compose_get_duration(ctx, f->value, kpath, &h->start_interval_ms);
    if (!strcmp(key, "disable"))
        return compose_get_bool(ctx, f->value, kpath, disable);
    if (!strcmp(key, "retries")) {
        if (compose_get_int(ctx, f->value, kpath, 0, 1000000, &retries) < 0)
            return -1;
        h->retries = (int)retries;
        return 0;
    }
    if (strncmp(key, "x-", 2) != 0)
        envmgr_warn("%s:%d: unknown key '%s' in service '%s' healthcheck ignored", ctx->file,
                    f->key->line, key, svc->name);
    return 0;
}

static int field_healthcheck(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                             const char *path)
{
    bool disable = false;
    if (node->kind != COMPOSE_MAP)
        return compose_error_at(ctx, node, path, "expected a mapping, got %s",
                                compose_node_kind_name(node));
    for (size_t i = 0; i < node->n_pairs; i++)
        if (health_field(ctx, svc, &node->pairs[i], path, &disable) < 0)
            return -1;
    if (disable) {
        if (svc->healthcheck.kind != ENVMGR_HEALTHCHECK_UNSET &&
            svc->healthcheck.kind != ENVMGR_HEALTHCHECK_NONE)
            return compose_error_at(ctx, node, path,
                                    "'test' and 'disable: true' exclude each other");
        svc->healthcheck.kind = ENVMGR_HEALTHCHECK_NONE;
    }
    return 0;
}

/* ---- depends_on -------------------------------------------------------------------------------
 */

static int add_dependency(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *name,
                          const char *path, envmgr_dependency_t dep)
{
    if (name->kind != COMPOSE_SCALAR)
        return compose_error_at(ctx, name, path, "expected a service name, got %s",
                                compose_node_kind_name(name));
    bool included = false; /* a service of an include: file */
    for (size_t i = 0; i < ctx->project->n_services && !included; i++)
        included =
            ctx->project->services[i].name && !strcmp(ctx->project->services[i].name, name->scalar);
    if (!compose_node_get(ctx->services, name->scalar) && !included)
        return compose_error_at(ctx, name, path, "unknown service '%s'", name->scalar);
    for (size_t i = 0; i < svc->n_depends_on; i++)
        if (!strcmp(svc->depends_on[i].service, name->scalar))
            return 0;
    svc->depends_on =
        envmgr_xrealloc(svc->depends_on, (svc->n_depends_on + 1) * sizeof(*svc->depends_on));
    dep.service = envmgr_xstrdup(name->scalar);
    svc->depends_on[svc->n_depends_on++] = dep;
    return 0;
}

static int dependency_options(compose_ctx_t *ctx, envmgr_dependency_t *dep,
                              const compose_node_t *node, const char *path)
{
    static const char *const conditions[] = {"service_started", "service_healthy",
                                             "service_completed_successfully"};
    if (compose_node_is_null(node))
        return 0;
    if (node->kind != COMPOSE_MAP)
        return compose_error_at(ctx, node, path, "expected a mapping with 'condition', got %s",
                                compose_node_kind_name(node));
    for (size_t i = 0; i < node->n_pairs; i++) {
        const char *key = node->pairs[i].key->scalar;
        const compose_node_t *v = node->pairs[i].value;
        envmgr_cleanup_free char *kpath = envmgr_xasprintf("%s.%s", path, key);
        envmgr_cleanup_free char *s = NULL;
        if (!strcmp(key, "required")) {
            if (compose_get_bool(ctx, v, kpath, &dep->required) < 0)
                return -1;
        } else if (!strcmp(key, "condition")) {
            size_t c = 0;
            if (compose_get_string(ctx, v, kpath, &s) < 0)
                return -1;
            while (c < ENVMGR_ARRAY_SIZE(conditions) && strcmp(s, conditions[c]) != 0)
                c++;
            if (c == ENVMGR_ARRAY_SIZE(conditions))
                return compose_error_at(ctx, v, kpath,
                                        "unknown condition '%s': expected service_started, "
                                        "service_healthy or service_completed_successfully",
                                        s);
            dep->condition = (enum envmgr_depends_condition)c;
        } else if (strcmp(key, "restart") != 0 && strncmp(key, "x-", 2) != 0) {
            envmgr_warn("%s:%d: unknown key '%s' in %s ignored", ctx->file,
                        node->pairs[i].key->line, key, path);
        }
    }
    return 0;
}

static int field_depends_on(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                            const char *path)
{
    if (node->kind == COMPOSE_SEQ) {
        for (size_t i = 0; i < node->n_items; i++) {
            envmgr_cleanup_free char *item_path = envmgr_xasprintf("%s[%zu]", path, i);
            envmgr_dependency_t dep = {NULL, ENVMGR_DEPENDS_STARTED, true};
            if (add_dependency(ctx, svc, node->items[i], item_path, dep) < 0)
                return -1;
        }
        return 0;
    }
    if (node->kind != COMPOSE_MAP)
        return compose_error_at(ctx, node, path, "expected a list or a mapping of services, got %s",
                                compose_node_kind_name(node));
    for (size_t i = 0; i < node->n_pairs; i++) {
        envmgr_cleanup_free char *item_path =
            envmgr_xasprintf("%s.%s", path, node->pairs[i].key->scalar);
        envmgr_dependency_t dep = {NULL, ENVMGR_DEPENDS_STARTED, true};
        if (dependency_options(ctx, &dep, node->pairs[i].value, item_path) < 0 ||
            add_dependency(ctx, svc, node->pairs[i].key, path, dep) < 0)
            return -1;
    }
    return 0;
}

/* ---- the key table ----------------------------------------------------------------------------
 */

static int field_ports(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                       const char *path)
{
    return compose_parse_ports(ctx, svc, node, path);
}

static int field_expose(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                        const char *path)
{
    return compose_parse_expose(ctx, svc, node, path);
}

static int field_volumes(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                         const char *path)
{
    return compose_parse_volumes(ctx, svc, node, path);
}

static int field_tmpfs(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *node,
                       const char *path)
{
    return compose_parse_tmpfs(ctx, svc, node, path);
}

static const struct {
    const char *key;
    field_fn fn;
} fields[] = {
    {"build", field_build},
    {"command", field_command},
    {"depends_on", field_depends_on},
    {"entrypoint", field_entrypoint},
    {"env_file", field_ignore}, /* read first, see compose_parse_service */
    {"environment", field_environment},
    {"expose", field_expose},
    {"healthcheck", field_healthcheck},
    {"hostname", field_hostname},
    {"image", field_image},
    {"init", field_init},
    {"labels", field_labels},
    {"ports", field_ports},
    {"restart", field_ignore},
    {"tmpfs", field_tmpfs},
    {"user", field_user},
    {"volumes", field_volumes},
    {"working_dir", field_working_dir},
    {"x-envtest", field_x_envtest},
};

static const char *const unsupported_keys[] = {"external_links", "userns_mode", "uts"};

static int service_key(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_pair_t *f)
{
    const char *key = f->key->scalar;
    envmgr_cleanup_free char *path = envmgr_xasprintf("services.%s.%s", svc->name, key);
    for (size_t i = 0; i < ENVMGR_ARRAY_SIZE(fields); i++)
        if (!strcmp(key, fields[i].key))
            return compose_node_is_null(f->value) && fields[i].fn != field_command &&
                           fields[i].fn != field_entrypoint
                       ? 0
                       : fields[i].fn(ctx, svc, f->value, path);
    bool handled = false;
    int r = compose_parse_compat_key(ctx, svc, f, path, &handled);
    if (r < 0 || handled)
        return r;
    for (size_t i = 0; i < ENVMGR_ARRAY_SIZE(unsupported_keys); i++)
        if (!strcmp(key, unsupported_keys[i]))
            return envmgr_error_set(ctx->err, ENVMGR_E_CONFIG, 0,
                                    "%s:%d:%d: service '%s': '%s' is refused: it joins the "
                                    "container to something outside its environment (another "
                                    "container, the host's user or UTS namespace); remove it",
                                    ctx->file, f->key->line, f->key->column, svc->name, key);
    if (!strcmp(key, "extends"))
        return 0; /* merged before the service is read (compose_extends.c) */
    if (strncmp(key, "x-", 2) != 0)
        envmgr_warn("%s:%d: unknown key '%s' in service '%s' ignored", ctx->file, f->key->line, key,
                    svc->name);
    return 0;
}

bool compose_valid_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' && *s != '-')
            return false;
    return true;
}

int compose_parse_service(compose_ctx_t *ctx, const compose_pair_t *pair, envmgr_service_t *svc)
{
    const compose_node_t *node = pair->value;
    svc->name = envmgr_xstrdup(pair->key->scalar);
    svc->line = pair->key->line;
    svc->healthcheck.interval_ms = 30000;
    svc->healthcheck.timeout_ms = 30000;
    svc->healthcheck.retries = 3;
    svc->stop_grace_period_ms = -1;
    envmgr_cleanup_free char *path = envmgr_xasprintf("services.%s", svc->name);
    if (!compose_valid_name(svc->name))
        return compose_error_at(ctx, pair->key, path,
                                "invalid service name '%s': use letters, digits, '.', '_' and '-'",
                                svc->name);
    if (!node || node->kind != COMPOSE_MAP)
        return compose_error_at(ctx, node && !compose_node_is_null(node) ? node : pair->key, path,
                                "expected a mapping with 'image' or 'build', got %s",
                                compose_node_kind_name(node));
    const compose_node_t *env_file = compose_node_get(node, "env_file");
    if (!compose_node_is_null(env_file)) {
        envmgr_cleanup_free char *env_path = envmgr_xasprintf("%s.env_file", path);
        if (field_env_file(ctx, svc, env_file, env_path) < 0)
            return -1;
    }
    for (size_t i = 0; i < node->n_pairs; i++)
        if (service_key(ctx, svc, &node->pairs[i]) < 0)
            return -1;
    if (!svc->image && !svc->build)
        return compose_error_at(ctx, pair->key, path,
                                "service '%s' has neither 'image' nor 'build'", svc->name);
    return compose_service_finish(ctx, svc);
}

void compose_service_clear(envmgr_service_t *svc)
{
    free(svc->name);
    free(svc->image);
    if (svc->build) {
        free(svc->build->context);
        free(svc->build->dockerfile);
        envmgr_kvlist_free(&svc->build->args);
        free(svc->build);
    }
    envmgr_strv_free(&svc->command);
    envmgr_strv_free(&svc->entrypoint);
    envmgr_kvlist_free(&svc->environment);
    for (size_t i = 0; i < svc->n_ports; i++) {
        free(svc->ports[i].host_ip);
        free(svc->ports[i].protocol);
    }
    free(svc->ports);
    free(svc->expose);
    envmgr_strv_free(&svc->healthcheck.test);
    for (size_t i = 0; i < svc->n_depends_on; i++)
        free(svc->depends_on[i].service);
    free(svc->depends_on);
    envmgr_kvlist_free(&svc->labels);
    for (size_t i = 0; i < svc->n_mounts; i++) {
        free(svc->mounts[i].source);
        free(svc->mounts[i].target);
    }
    free(svc->mounts);
    free(svc->working_dir);
    free(svc->user);
    free(svc->hostname);
    json_decref(svc->x_envtest);
    compose_service_compat_clear(svc);
}
