/* x-envtest.monitor: the alert limits of envtest run (ADR-009's IntegrationTestMonitor).
 *
 *   x-envtest:
 *     monitor:
 *       alerts: {duration: 300s, memory: 1GiB, error_rate: 0.10, flaky_rate: 0.05,
 *                slower_than_median: 1.5}
 *
 * Each key is optional (the defaults are the ADR's three); 0 or `off` turns one off. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compose_internal.h"

static bool is_off(const char *s)
{
    return strcasecmp(s, "off") == 0 || strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0;
}

/* Compose's sizes (b, k, kb, m, mb, g, gb: binary), and KiB, MiB, GiB. */
static int parse_memory(const char *s, int64_t *out)
{
    size_t n = strlen(s);
    if (n > 3 && strcasecmp(s + n - 2, "ib") == 0) {
        envmgr_cleanup_free char *copy = envmgr_xstrndup(s, n - 2);
        return compose_parse_size(copy, out);
    }
    return compose_parse_size(s, out);
}

static int parse_rate(const char *s, double max, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || v < 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_alert(compose_ctx_t *ctx, envmgr_alert_limits_t *limits, const compose_pair_t *p)
{
    const char *key = p->key->scalar;
    envmgr_cleanup_free char *path = envmgr_xasprintf("x-envtest.monitor.alerts.%s", key);
    envmgr_cleanup_free char *value = NULL;
    if (p->value == NULL || p->value->kind != COMPOSE_SCALAR)
        return compose_error_at(ctx, p->value ? p->value : p->key, path,
                                "expected a scalar, got %s", compose_node_kind_name(p->value));
    if (compose_get_string(ctx, p->value, path, &value) < 0)
        return -1;
    bool off = is_off(value);
    if (strcmp(key, "duration") == 0) {
        if (off)
            limits->duration_ms = 0;
        else if (envmgr_parse_duration_ms(value, &limits->duration_ms) < 0 ||
                 limits->duration_ms <= 0)
            return compose_error_at(ctx, p->value, path,
                                    "'%s' is not a duration (300, 300s, 5m) or off", value);
    } else if (strcmp(key, "memory") == 0) {
        if (off)
            limits->memory_bytes = 0;
        else if (parse_memory(value, &limits->memory_bytes) < 0 || limits->memory_bytes <= 0)
            return compose_error_at(ctx, p->value, path,
                                    "'%s' is not a size (100MB, 512MiB, 1GiB) or off", value);
    } else if (strcmp(key, "error_rate") == 0 || strcmp(key, "flaky_rate") == 0) {
        double *rate = key[0] == 'e' ? &limits->error_rate : &limits->flaky_rate;
        if (off)
            *rate = 0;
        else if (parse_rate(value, 1.0, rate) < 0)
            return compose_error_at(ctx, p->value, path,
                                    "'%s' is not a rate between 0 and 1 (e.g. 0.10)", value);
    } else if (strcmp(key, "slower_than_median") == 0) {
        if (off)
            limits->slower_than_median = 0;
        else if (parse_rate(value, 1e6, &limits->slower_than_median) < 0 ||
                 limits->slower_than_median <= 1.0)
            return compose_error_at(ctx, p->value, path, "'%s' is not a factor above 1 (e.g. 1.5)",
                                    value);
    } else {
        return compose_error_at(ctx, p->key, path,
                                "unknown alert '%s' (known: duration, memory, error_rate, "
                                "flaky_rate, slower_than_median)",
                                key);
    }
    return 0;
}

int compose_parse_monitor(compose_ctx_t *ctx, const compose_node_t *x_envtest)
{
    envmgr_alert_limits_t limits = ENVMGR_ALERT_LIMITS_DEFAULT;
    ctx->project->alerts = limits;
    const compose_node_t *monitor =
        x_envtest && x_envtest->kind == COMPOSE_MAP ? compose_node_get(x_envtest, "monitor") : NULL;
    if (compose_node_is_null(monitor))
        return 0;
    if (monitor->kind != COMPOSE_MAP)
        return compose_error_at(ctx, monitor, "x-envtest.monitor", "expected a mapping, got %s",
                                compose_node_kind_name(monitor));
    for (size_t i = 0; i < monitor->n_pairs; i++)
        if (strcmp(monitor->pairs[i].key->scalar, "alerts") != 0)
            return compose_error_at(ctx, monitor->pairs[i].key, "x-envtest.monitor",
                                    "unknown key '%s' (known: alerts)",
                                    monitor->pairs[i].key->scalar);
    const compose_node_t *alerts = compose_node_get(monitor, "alerts");
    if (compose_node_is_null(alerts))
        return 0;
    if (alerts->kind != COMPOSE_MAP)
        return compose_error_at(ctx, alerts, "x-envtest.monitor.alerts",
                                "expected a mapping (e.g. {memory: 1GiB}), got %s",
                                compose_node_kind_name(alerts));
    for (size_t i = 0; i < alerts->n_pairs; i++)
        if (parse_alert(ctx, &limits, &alerts->pairs[i]) < 0)
            return -1;
    ctx->project->alerts = limits;
    return 0;
}
