/* Wait strategies (services.*.x-envtest.wait): a list (or one mapping) of
 *   {log: REGEX, times: N}              a log line matching REGEX, N times (default 1)
 *   {http: PATH, port: P, status: S, method: M}   an HTTP answer with status S (default 200)
 *   {sql: QUERY, port: P, user: U, password: W, database: D}   QUERY succeeds (MySQL protocol)
 *   {command: CMD}                      CMD (string: sh -c; list: argv) exits 0 in the container
 *   {ports: [P, ...]}                   each port accepts TCP connections
 * checked in order after the healthcheck (envmgr/env/health_wait.c runs them). */
#include "compose_internal.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

static int wait_port(compose_ctx_t *ctx, const compose_node_t *v, const char *path, int *out)
{
    long n;
    if (compose_get_int(ctx, v, path, 1, 65535, &n) < 0)
        return -1;
    *out = (int)n;
    return 0;
}

static int wait_one(compose_ctx_t *ctx, envmgr_wait_t *w, const compose_node_t *node,
                    const char *path)
{
    static const char *const kinds[] = {"log", "http", "sql", "command", "ports"};
    int kind = -1;
    if (node->kind != COMPOSE_MAP)
        return compose_error_at(ctx, node, path,
                                "expected a mapping with one of log, http, sql, command, ports");
    for (size_t i = 0; i < node->n_pairs; i++)
        for (int k = 0; k < (int)ENVMGR_ARRAY_SIZE(kinds); k++)
            if (!strcmp(node->pairs[i].key->scalar, kinds[k])) {
                if (kind >= 0)
                    return compose_error_at(ctx, node->pairs[i].key, path,
                                            "one strategy per item: both %s and %s", kinds[kind],
                                            kinds[k]);
                kind = k;
            }
    if (kind < 0)
        return compose_error_at(ctx, node, path, "expected one of log, http, sql, command, ports");
    w->kind = (enum envmgr_wait_kind)kind;
    w->times = 1;
    w->status = 200;
    for (size_t i = 0; i < node->n_pairs; i++) {
        const char *key = node->pairs[i].key->scalar;
        const compose_node_t *v = node->pairs[i].value;
        envmgr_cleanup_free char *kpath = envmgr_xasprintf("%s.%s", path, key);
        long n;
        int r = 0;
        if (!strcmp(key, "log") || !strcmp(key, "http") || !strcmp(key, "sql"))
            r = compose_get_string(ctx, v, kpath, &w->pattern);
        else if (!strcmp(key, "command")) {
            w->shell = v->kind == COMPOSE_SCALAR;
            r = compose_get_strv(ctx, v, kpath, false, &w->command);
            if (r == 0 && w->command.n == 0)
                r = compose_error_at(ctx, v, kpath, "empty command");
        } else if (!strcmp(key, "ports")) {
            if (v->kind != COMPOSE_SEQ || v->n_items == 0)
                return compose_error_at(ctx, v, kpath, "expected a list of ports");
            w->ports = envmgr_xcalloc(v->n_items, sizeof(int));
            for (size_t k = 0; k < v->n_items && r == 0; k++)
                r = wait_port(ctx, v->items[k], kpath, &w->ports[w->n_ports++]);
        } else if (!strcmp(key, "times") && kind == ENVMGR_WAIT_LOG) {
            r = compose_get_int(ctx, v, kpath, 1, 1000000, &n);
            w->times = (int)n;
        } else if (!strcmp(key, "port") && (kind == ENVMGR_WAIT_HTTP || kind == ENVMGR_WAIT_SQL))
            r = wait_port(ctx, v, kpath, &w->port);
        else if (!strcmp(key, "status") && kind == ENVMGR_WAIT_HTTP) {
            r = compose_get_int(ctx, v, kpath, 100, 599, &n);
            w->status = (int)n;
        } else if (!strcmp(key, "method") && kind == ENVMGR_WAIT_HTTP)
            r = compose_get_string(ctx, v, kpath, &w->method);
        else if (!strcmp(key, "user") && kind == ENVMGR_WAIT_SQL)
            r = compose_get_string(ctx, v, kpath, &w->user);
        else if (!strcmp(key, "password") && kind == ENVMGR_WAIT_SQL)
            r = compose_get_string(ctx, v, kpath, &w->password);
        else if (!strcmp(key, "database") && kind == ENVMGR_WAIT_SQL)
            r = compose_get_string(ctx, v, kpath, &w->database);
        else
            r = compose_error_at(ctx, node->pairs[i].key, kpath, "unknown key for a %s wait",
                                 kinds[kind]);
        if (r < 0)
            return -1;
    }
    if (kind == ENVMGR_WAIT_LOG) {
        regex_t re;
        int rc = regcomp(&re, w->pattern, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char msg[256];
            regerror(rc, &re, msg, sizeof(msg));
            return compose_error_at(ctx, compose_node_get(node, "log"), path,
                                    "invalid regular expression '%s': %s", w->pattern, msg);
        }
        regfree(&re);
    }
    if (kind == ENVMGR_WAIT_HTTP && w->pattern[0] != '/')
        return compose_error_at(ctx, compose_node_get(node, "http"), path,
                                "the path must start with '/', got '%s'", w->pattern);
    return 0;
}

int compose_parse_waits(compose_ctx_t *ctx, envmgr_service_t *svc, const compose_node_t *x,
                        const char *path)
{
    const compose_node_t *node = x && x->kind == COMPOSE_MAP ? compose_node_get(x, "wait") : NULL;
    envmgr_cleanup_free char *wpath = envmgr_xasprintf("%s.wait", path);
    if (compose_node_is_null(node))
        return 0;
    size_t n = node->kind == COMPOSE_SEQ ? node->n_items : 1;
    svc->waits = envmgr_xcalloc(n, sizeof(*svc->waits));
    for (size_t i = 0; i < n; i++) {
        envmgr_cleanup_free char *ipath = node->kind == COMPOSE_SEQ
                                              ? envmgr_xasprintf("%s[%zu]", wpath, i)
                                              : envmgr_xstrdup(wpath);
        svc->n_waits++;
        if (wait_one(ctx, &svc->waits[i], node->kind == COMPOSE_SEQ ? node->items[i] : node,
                     ipath) < 0)
            return -1;
    }
    return 0;
}
