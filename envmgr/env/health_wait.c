/* Wait strategies beyond healthchecks (services.*.x-envtest.wait; the model is compose's
 * envmgr_wait_t): a log line (regex, n times), an HTTP status on a path, a SQL query, a command,
 * listening ports. Each is retried every 100 ms until it passes or the deadline; an exited
 * container fails at once. HTTP, SQL and ports reach the container as the port probe does
 * (probe.h: its address, or its published ports on a VM engine). */
#include "health.h"
#include "pod.h"
#include "probe.h"

#include <curl/curl.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "dlib.h"
#include <envmgr/log.h>

#define WAIT_POLL_MS 100

struct target {
    envmgr_probe_target_t probe;
    char status[32];
    int first_port;
};

static int target_get(envmgr_engine_t *engine, const char *id, struct target *t,
                      envmgr_error_t *err)
{
    envmgr_cleanup_json json_t *inspect = NULL;
    memset(t, 0, sizeof(*t));
    if (envmgr_engine_container_inspect(engine, id, &inspect, err) < 0)
        return -1;
    snprintf(t->status, sizeof(t->status), "%s",
             json_string_value(json_object_get(json_object_get(inspect, "State"), "Status")) ?: "");
    if (envmgr_probe_target_get(engine, inspect, &t->probe, err) < 0)
        return -1;
    for (size_t i = 0; i < t->probe.n_tcp_ports; i++)
        if (!t->first_port || t->probe.tcp_ports[i] < t->first_port)
            t->first_port = t->probe.tcp_ports[i];
    return 0;
}

static int collect_cb(void *userdata, enum envmgr_stream stream, const char *data, size_t len)
{
    (void)stream;
    envmgr_buf_add(userdata, data, len);
    return 0;
}

static int count_matches(const char *text, const regex_t *re)
{
    int n = 0;
    const char *p = text;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = envmgr_xmalloc(len + 1);
        memcpy(line, p, len);
        line[len] = '\0';
        if (regexec(re, line, 0, NULL, 0) == 0)
            n++;
        free(line);
        p = nl ? nl + 1 : NULL;
    }
    return n;
}

static size_t discard_cb(char *ptr, size_t size, size_t n, void *userdata)
{
    (void)ptr, (void)userdata;
    return size * n;
}

static const char *const kind_names[] = {"log", "http", "sql", "command", "ports"};

/* Where the wait connects for container_port: 1; 0 when nowhere yet (out says why: no address,
 * no port); -1 when never: on a VM engine, a port that is not published cannot be reached from
 * here, an error that waiting cannot mend. */
static int reachable(const struct target *t, const envmgr_wait_t *w, int container_port,
                     const char **host, int *port, envmgr_buf_t *out, envmgr_error_t *err)
{
    if (container_port > 0 && envmgr_probe_address(&t->probe, container_port, host, port))
        return 1;
    if (container_port > 0 && t->probe.published) {
        envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                         "its %s wait: container port %d is not published, and this engine's "
                         "containers are reached from here only through published ports (a VM: "
                         "Docker Desktop, a Podman machine)",
                         kind_names[w->kind], container_port);
        return envmgr_error_hint(err, "publish it (ports: [\"%d\"]), or wait with a command",
                                 container_port);
    }
    if (container_port > 0)
        envmgr_buf_addf(out, "no address for port %d", container_port);
    else
        envmgr_buf_adds(out, "no port to connect to (give the wait a port)");
    return 0;
}

/* One attempt: 1 passed, 0 not yet (out says why), -1 error that retrying cannot mend. */
static int attempt(envmgr_engine_t *engine, const char *id, const envmgr_service_t *s,
                   const envmgr_wait_t *w, const struct target *t, const regex_t *re,
                   envmgr_buf_t *out, envmgr_error_t *err)
{
    envmgr_buf_reset(out);
    switch (w->kind) {
    case ENVMGR_WAIT_LOG: {
        envmgr_buf_t logs = ENVMGR_BUF_INIT;
        int r = envmgr_engine_container_logs(engine, id, -1, false, false, collect_cb, &logs, err);
        int n = r == 0 ? count_matches(logs.data ? logs.data : "", re) : 0;
        envmgr_buf_free(&logs);
        if (r < 0)
            return -1;
        envmgr_buf_addf(out, "log /%s/ seen %d of %d times", w->pattern, n, w->times);
        return n >= w->times;
    }
    case ENVMGR_WAIT_COMMAND: {
        const char *shell[] = {"/bin/sh", "-c", w->command.items[0], NULL};
        const char *const *argv = w->shell ? shell : (const char *const *)w->command.items;
        int code = -1;
        if (envmgr_engine_exec(engine, id, argv, NULL, 10000, collect_cb, out, &code, err) < 0)
            return -1;
        envmgr_buf_addf(out, "%scommand exited %d", out->len ? "\n" : "", code);
        return code == 0;
    }
    case ENVMGR_WAIT_PORTS:
        for (size_t i = 0; i < w->n_ports; i++) {
            const char *host;
            int port;
            int rr = reachable(t, w, w->ports[i], &host, &port, out, err);
            if (rr <= 0)
                return rr;
            if (!envmgr_probe_port(&t->probe, w->ports[i])) {
                envmgr_buf_addf(out, "port %d does not accept connections", w->ports[i]);
                return 0;
            }
        }
        return 1;
    case ENVMGR_WAIT_HTTP: {
        const char *host;
        int port;
        long status = 0;
        int rr = reachable(t, w, w->port ? w->port : t->first_port, &host, &port, out, err);
        if (rr <= 0)
            return rr;
        envmgr_cleanup_free char *url = envmgr_xasprintf("http://%s:%d%s", host, port, w->pattern);
        CURL *c = curl_easy_init();
        if (!c)
            return envmgr_error_set(err, ENVMGR_E_ENV, 0, "curl_easy_init failed");
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, w->method ? w->method : "GET");
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_cb);
        CURLcode rc = curl_easy_perform(c);
        if (rc == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
        if (rc != CURLE_OK)
            envmgr_buf_addf(out, "%s %s: %s", w->method ? w->method : "GET", url,
                            curl_easy_strerror(rc));
        else
            envmgr_buf_addf(out, "%s %s: status %ld, want %d", w->method ? w->method : "GET", url,
                            status, w->status);
        return rc == CURLE_OK && status == w->status;
    }
    case ENVMGR_WAIT_SQL: {
        if (envmgr_dl_mysql(err) < 0)
            return -1;
        const envmgr_kv_t *pw = envmgr_kvlist_find(&s->environment, "MYSQL_ROOT_PASSWORD");
        if (!pw || !pw->value)
            pw = envmgr_kvlist_find(&s->environment, "MARIADB_ROOT_PASSWORD");
        const char *password = w->password ? w->password : pw ? pw->value : NULL;
        MYSQL *m = mysql_init(NULL);
        unsigned timeout = 2;
        int ok = 0;
        if (!m)
            return envmgr_error_set(err, ENVMGR_E_ENV, 0, "mysql_init failed");
        mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
        const char *host;
        int port;
        int rr = reachable(t, w, w->port ? w->port : 3306, &host, &port, out, err);
        if (rr <= 0) {
            mysql_close(m);
            return rr;
        }
        if (mysql_real_connect(m, host, w->user ? w->user : "root", password, w->database,
                               (unsigned)port, NULL, 0) &&
            mysql_query(m, w->pattern) == 0) {
            MYSQL_RES *res = mysql_store_result(m);
            if (res)
                mysql_free_result(res);
            ok = 1;
        } else {
            envmgr_buf_addf(out, "sql: %s", mysql_error(m));
        }
        mysql_close(m);
        return ok;
    }
    }
    return 0;
}

int envmgr_health_wait_strategies(envmgr_engine_t *engine, const char *id,
                                  const envmgr_service_t *s, const envmgr_wait_limit_t *limit,
                                  envmgr_buf_t *last_output, envmgr_error_t *err)
{
    for (size_t i = 0; i < s->n_waits; i++) {
        const envmgr_wait_t *w = &s->waits[i];
        regex_t re;
        bool have_re =
            w->kind == ENVMGR_WAIT_LOG && regcomp(&re, w->pattern, REG_EXTENDED | REG_NOSUB) == 0;
        int r = 0;
        for (;;) {
            struct target t;
            if (target_get(engine, id, &t, err) < 0) {
                r = -1;
                break;
            }
            if (strcmp(t.status, "running") != 0 && strcmp(t.status, "created") != 0) {
                r = envmgr_error_set(err, ENVMGR_E_ENV, 0,
                                     "the container %s while waiting for its %s wait", t.status,
                                     kind_names[w->kind]);
                break;
            }
            if ((r = attempt(engine, id, s, w, &t, have_re ? &re : NULL, last_output, err)) != 0)
                break;
            if ((r = envmgr_wait_stopped(limit, err)) < 0)
                break;
            if (envmgr_now_ms() >= limit->deadline_ms) {
                r = envmgr_error_set(err, ENVMGR_E_ENV, 0, "timed out on its %s wait: %s",
                                     kind_names[w->kind],
                                     last_output->data ? last_output->data : "");
                break;
            }
            envmgr_sleep_ms(WAIT_POLL_MS);
        }
        if (have_re)
            regfree(&re);
        if (r < 0)
            return -1;
    }
    return 0;
}
