/* libFuzzer target for the Engine's JSON replies, read through the engine's own call path
 * (engine_replay_open: no socket) by the readers that turn them into typed values:
 *   modes 0-4: container inspect (Podman's empty health normalised), wait (exit code, error),
 *              volume list (null or an array), container create (Id, warnings), network and image
 *              inspect and version, each with the reply's status (2xx, 304, 4xx, 5xx);
 *   mode 5:    envmgr_env_inspect of a two-service project (a MySQL service with 3306 published,
 *              an app in pod mode behind a holder): container list, inspects, the holder's, the
 *              keep mark's volumes, read into envmgr_env_state_t, then its variables and JSON.
 * Input: [mode][status][reply bytes...]; in mode 5 the reply is split at "\n--\n" into the
 * container list, db's inspect, app's inspect, the volume list and the holder's inspect (a missing
 * part gets a minimal valid reply). Checks: a failure always has a message (with the HTTP status
 * for an error status); a success gives the typed value its contract promises (an array, an id,
 * a state with every service, each with a state, a health and NUL-terminated protocols, the MySQL
 * service one of them with credentials). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_private.h"
#include <envmgr/compose.h>
#include <envmgr/env.h>
#include <envmgr/lifecycle.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PARTS 5

typedef struct reply {
    const char *part[PARTS];
    size_t len[PARTS];
    long status;
    bool every_call; /* the status answers every call (modes 0-4), else db's inspect only */
} reply_t;

static const char *const defaults[PARTS] = {
    "[{\"Id\":\"a\",\"Labels\":{\"io.envtest.service\":\"db\"}},"
    "{\"Id\":\"b\",\"Labels\":{\"io.envtest.service\":\"app\"}}]",
    "{\"Id\":\"a\",\"Name\":\"/fz-db-1\",\"State\":{\"Status\":\"running\"},"
    "\"Config\":{\"Env\":[\"MYSQL_ROOT_PASSWORD=example\"]},\"NetworkSettings\":{\"Ports\":"
    "{\"3306/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"49153\"}]}}}",
    "{\"Id\":\"b\",\"Name\":\"/fz-app-1\",\"State\":{\"Status\":\"running\"},"
    "\"HostConfig\":{\"NetworkMode\":\"container:h\"},"
    "\"Config\":{\"Labels\":{\"io.envtest.pod-ports\":\"8080/tcp\"}}}",
    "{\"Volumes\":null}",
    "{\"Id\":\"h\",\"NetworkSettings\":{\"Ports\":{\"8080/tcp\":[{\"HostIp\":\"127.0.0.1\","
    "\"HostPort\":\"49154\"}]}}}",
};

static int answer(void *userdata, const engine_call_t *call, long *status, const char **body,
                  size_t *len, size_t *piece, envmgr_error_t *err)
{
    (void)err;
    const reply_t *r = userdata;
    int k = 0;
    if (strncmp(call->path, "/containers/json", 16) == 0)
        k = 0;
    else if (strncmp(call->path, "/containers/a/", 14) == 0)
        k = 1;
    else if (strncmp(call->path, "/containers/b/", 14) == 0)
        k = 2;
    else if (strncmp(call->path, "/volumes", 8) == 0)
        k = 3;
    else
        k = 4;
    *status = r->every_call || k == 1 ? r->status : 200;
    *body = r->part[k] ? r->part[k] : defaults[k];
    *len = r->part[k] ? r->len[k] : strlen(defaults[k]);
    *piece = 7;
    return 0;
}

static envmgr_project_t *project(void)
{
    static envmgr_project_t *p;
    static const char yaml[] = "name: fz\n"
                               "services:\n"
                               "  db:\n"
                               "    image: mariadb\n"
                               "    environment: {MYSQL_ROOT_PASSWORD: example}\n"
                               "    ports: [\"3306\"]\n"
                               "  app:\n"
                               "    image: app\n"
                               "    ports: [\"8080\"]\n";
    envmgr_error_t err = {0};
    if (p == NULL &&
        envmgr_compose_load_string(yaml, strlen(yaml), "/fuzz/compose.yaml", NULL, &p, &err) < 0)
        abort();
    return p;
}

static void check_failure(int rc, const envmgr_error_t *err, long status)
{
    if (rc >= 0)
        return;
    if (err->message[0] == '\0')
        abort(); /* every failure says why */
    char http[32];
    snprintf(http, sizeof(http), "HTTP %ld", status);
    if (status >= 400 && err->kind != ENVMGR_E_INTERRUPTED && !strstr(err->message, http)) {
        fprintf(stderr, "status %ld not named: %s\n", status, err->message);
        abort(); /* an error status is named */
    }
}

static void env_state(envmgr_engine_t *e)
{
    envmgr_error_t err = {0};
    envmgr_env_state_t state;
    const envmgr_project_t *p = project();
    int rc = envmgr_env_inspect(e, p, &state, &err);
    if (rc < 0) {
        if (err.message[0] == '\0')
            abort();
        return;
    }
    if (state.n_services != p->n_services)
        abort();
    bool mysql_found = state.mysql == NULL;
    for (size_t i = 0; i < state.n_services; i++) {
        const envmgr_service_state_t *s = &state.services[i];
        if (!s->service || !s->state || !s->health || !s->health_checked_by)
            abort();
        for (size_t k = 0; k < s->n_ports; k++)
            if (strnlen(s->ports[k].protocol, sizeof(s->ports[k].protocol)) >=
                    sizeof(s->ports[k].protocol) ||
                !s->ports[k].host_ip)
                abort();
        mysql_found = mysql_found || (state.mysql == s && s->db != NULL);
    }
    if (!mysql_found)
        abort();
    envmgr_kvlist_t vars = {0};
    envmgr_error_t verr = {0};
    if (envmgr_env_state_vars(&state, p, &vars, &verr) < 0 && verr.message[0] == '\0')
        abort();
    envmgr_kvlist_free(&vars);
    json_t *j = envmgr_env_state_to_json(&state);
    if (j == NULL)
        abort();
    json_decref(j);
    (void)envmgr_env_state_healthy(&state);
    (void)envmgr_env_state_up(&state);
    envmgr_env_state_free(&state);
}

static void typed_reply(envmgr_engine_t *e, int mode, long status)
{
    envmgr_error_t err = {0};
    json_t *out = NULL;
    int rc;
    if (mode == 0) {
        rc = envmgr_engine_container_inspect(e, "a", &out, &err);
        const char *health = json_string_value(
            json_object_get(json_object_get(json_object_get(out, "State"), "Health"), "Status"));
        if (rc == 0 && health && !*health)
            abort(); /* Podman's empty health is removed */
    } else if (mode == 1) {
        int64_t code = -1;
        rc = envmgr_engine_container_wait(e, "a", &code, &err);
    } else if (mode == 2) {
        rc = envmgr_engine_volume_list(e, NULL, &out, &err);
        if (rc == 0 && !json_is_array(out))
            abort();
    } else if (mode == 3) {
        char *id = NULL;
        json_t *config = json_object();
        rc = envmgr_engine_container_create(e, "x", config, &id, &err);
        json_decref(config);
        if (rc == 0 && id == NULL)
            abort();
        free(id);
    } else {
        rc = envmgr_engine_network_inspect(e, "a", &out, &err);
        check_failure(rc, &err, status);
        json_decref(out);
        out = NULL;
        envmgr_error_clear(&err);
        rc = envmgr_engine_image_inspect(e, "a", &out, &err);
        check_failure(rc, &err, status);
        json_decref(out);
        out = NULL;
        envmgr_error_clear(&err);
        rc = envmgr_engine_version(e, &out, &err);
    }
    check_failure(rc, &err, status);
    json_decref(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = {200, 201, 204, 304, 400, 404, 409, 500};
    if (size < 2)
        return 0;
    int mode = data[0] % 6;
    reply_t r = {.status = statuses[data[1] % 8], .every_call = mode < 5};
    const char *body = (const char *)data + 2, *end = body + size - 2;
    if (mode < 5) {
        for (int k = 0; k < PARTS; k++) {
            r.part[k] = body;
            r.len[k] = size - 2;
        }
    } else {
        for (int k = 0; k < PARTS && body <= end; k++) {
            const char *sep = memmem(body, (size_t)(end - body), "\n--\n", 4);
            r.part[k] = body;
            r.len[k] = (size_t)((sep ? sep : end) - body);
            body = sep ? sep + 4 : end + 1;
        }
    }
    envmgr_engine_t *e = engine_replay_open(answer, &r, "1.41");
    if (mode < 5)
        typed_reply(e, mode, r.status);
    else
        env_state(e);
    envmgr_engine_close(e);
    return 0;
}
