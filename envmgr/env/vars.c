/* Connection variables (`envtest env`, what every suite gets), from the typed state. */
#include <envmgr/env.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "project.h"

static char *url_escape(const char *s)
{
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || strchr("-._~", *p))
            envmgr_buf_add(&b, p, 1);
        else
            envmgr_buf_addf(&b, "%%%02X", *p);
    }
    return envmgr_buf_detach(&b);
}

static void add_mysql_vars(envmgr_kvlist_t *out, const envmgr_db_credentials_t *db)
{
    envmgr_cleanup_free char *u = url_escape(db->user);
    envmgr_cleanup_free char *pw = url_escape(db->password);
    envmgr_cleanup_free char *url =
        envmgr_xasprintf("mysql://%s:%s@%s:%d/%s", u, pw, db->host, db->port, db->database);
    envmgr_kvlist_set(out, "DATABASE_URL", url);
    envmgr_kvlist_set(out, "ENVTEST_MYSQL_USER", db->user);
    envmgr_kvlist_set(out, "ENVTEST_MYSQL_PASSWORD", db->password);
    envmgr_kvlist_set(out, "ENVTEST_MYSQL_DATABASE", db->database);
}

static void add_service_vars(envmgr_kvlist_t *out, const envmgr_service_state_t *s)
{
    envmgr_cleanup_free char *stem = envmgr_project_env_stem(s->service);
    envmgr_cleanup_free char *host_key = envmgr_xasprintf("ENVTEST_%s_HOST", stem);
    int first = 0;
    for (size_t p = 0; p < s->n_ports; p++) {
        if (!s->ports[p].host_port)
            continue;
        if (!first) {
            first = s->ports[p].reach_port;
            envmgr_kvlist_set(out, host_key, s->ports[p].reach_host);
        }
        envmgr_cleanup_free char *k =
            envmgr_xasprintf("ENVTEST_%s_PORT_%d", stem, s->ports[p].container_port);
        envmgr_cleanup_free char *v = envmgr_xasprintf("%d", s->ports[p].reach_port);
        envmgr_kvlist_set(out, k, v);
    }
    if (!first) /* nothing published: where it would be */
        envmgr_kvlist_set(out, host_key, "127.0.0.1");
    if (first) {
        envmgr_cleanup_free char *k = envmgr_xasprintf("ENVTEST_%s_PORT", stem);
        envmgr_cleanup_free char *v = envmgr_xasprintf("%d", first);
        envmgr_kvlist_set(out, k, v);
    }
    if (s->db)
        add_mysql_vars(out, s->db);
}

static const char *x_environment_lookup(void *userdata, const char *name)
{
    const envmgr_project_t *project = ((void **)userdata)[0];
    const envmgr_kv_t *kv = envmgr_kvlist_find(((void **)userdata)[1], name);
    if (!kv)
        kv = envmgr_kvlist_find(&project->secret_values, name);
    return kv ? kv->value : NULL;
}

/* x-envtest.environment: values interpolated again against the variables above and the secrets
 * (written $${ENVTEST_SCA_API_PORT} in the file, since they are known only once the project is up).
 */
static int add_x_environment(const envmgr_project_t *project, envmgr_kvlist_t *out,
                             envmgr_error_t *err)
{
    const char *key;
    json_t *value;
    void *lookup[2] = {(void *)project, out};
    json_object_foreach(json_object_get(project->x_envtest, "environment"), key, value)
    {
        char *expanded = NULL;
        if (!json_is_string(value))
            return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                    "x-envtest.environment.%s: must be a string", key);
        if (envmgr_compose_interpolate(json_string_value(value), x_environment_lookup, lookup,
                                       &expanded, err) < 0)
            return envmgr_error_wrap(err, "x-envtest.environment.%s", key);
        envmgr_kvlist_set(out, key, expanded);
        free(expanded);
    }
    return 0;
}

int envmgr_env_state_vars(const envmgr_env_state_t *state, const envmgr_project_t *project,
                          envmgr_kvlist_t *out, envmgr_error_t *err)
{
    if (!envmgr_env_state_up(state)) {
        envmgr_error_set(err, ENVMGR_E_ENV, 0, "project %s is not up", state->project);
        return envmgr_error_hint(err, "run `envtest up` first");
    }
    envmgr_kvlist_set(out, "ENVTEST_PROJECT", state->project);
    for (size_t i = 0; i < state->n_services; i++)
        if (state->services[i].id)
            add_service_vars(out, &state->services[i]);
    if (!project)
        return 0;
    if (envmgr_real_env_vars(project, out, err) < 0) /* ENVTEST_<SERVICE>_URL, ... */
        return -1;
    return add_x_environment(project, out, err);
}

int envmgr_env_vars(envmgr_engine_t *engine, const envmgr_project_t *project, envmgr_kvlist_t *out,
                    envmgr_error_t *err)
{
    envmgr_env_state_t state;
    if (envmgr_env_inspect(engine, project, &state, err) < 0)
        return -1;
    int r = envmgr_env_state_vars(&state, project, out, err);
    envmgr_env_state_free(&state);
    return r;
}
