/* Property (issue 13, item 6): `envtest config` of a random valid Compose model, loaded again,
 * gives the same model. Each round generates a random valid Compose file (services with image or
 * build, command/entrypoint, environment, ports, expose, volumes and tmpfs, depends_on with
 * conditions, healthchecks, networks, secrets, configs, profiles, labels, resources, the container
 * keys, x-envtest bits; top-level volumes, networks, secrets, configs, x-envtest), loads it with
 * envmgr_compose_load, renders it as `envtest config` does (envmgr_project_config_text), writes
 * that JSON (which is YAML) to a file, loads that and renders it again: the two renderings must
 * be the same, byte for byte, and the two loaded models the same, field by field (equal renderings
 * alone would let a lossy renderer through).
 *   ENVTEST_PROPERTY_SEED  the first seed (default: 20261206); round i uses seed + i
 *   ENVTEST_PROPERTY_N     rounds (default 300)
 * On a failure: the seed, the generated file, both renderings and where they first differ. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compose_model_diff.h"
#include "test_compose_lib.h"
#include <envmgr/compose.h>
#include <envmgr/util.h>

#define MAX_SERVICES 5

typedef struct gen {
    uint64_t state;
    envmgr_buf_t y; /* the Compose file */
    int port;       /* next host port: published ports are unique */
    int n_volumes, n_networks, n_secrets, n_configs;
    char services[MAX_SERVICES][24]; /* "s<i><word>": up to 23 */
    bool has_profile[MAX_SERVICES];
} gen_t;

static uint32_t rnd(gen_t *g)
{
    /* splitmix64 */
    uint64_t z = (g->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}
static int pick(gen_t *g, int n)
{
    return (int)(rnd(g) % (uint32_t)n);
}
static bool coin(gen_t *g, int percent)
{
    return pick(g, 100) < percent;
}

static void add(gen_t *g, const char *fmt, ...) ENVMGR_PRINTF(2, 3);
static void add(gen_t *g, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    envmgr_buf_adds(&g->y, buf);
}

/* A YAML double-quoted scalar with the model's value s: '$' doubled (the file is interpolated). */
static void q(gen_t *g, const char *s)
{
    envmgr_buf_adds(&g->y, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            add(g, "\\%c", *p);
        else if (*p == '\n')
            envmgr_buf_adds(&g->y, "\\n");
        else if (*p == '\t')
            envmgr_buf_adds(&g->y, "\\t");
        else if (*p == '$')
            envmgr_buf_adds(&g->y, "$$");
        else
            envmgr_buf_add(&g->y, p, 1);
    }
    envmgr_buf_adds(&g->y, "\"");
}

static void word(gen_t *g, char *out, size_t size)
{
    static const char first[] = "abcdefghijklmnopqrstuvwxyz";
    static const char rest[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    size_t n = 1 + (size_t)pick(g, (int)(size - 2 < 8 ? size - 2 : 8));
    out[0] = first[pick(g, 26)];
    for (size_t i = 1; i < n; i++)
        out[i] = rest[pick(g, 36)];
    out[n] = '\0';
}

/* Any text a value may hold: quotes, backslashes, YAML indicators, '$', braces, UTF-8, blanks. */
static void text(gen_t *g, char *out, size_t size)
{
    static const char *const parts[] = {
        "a",  "Z",  "7",    " ",     "'",  "\"", "\\", ":",  "#",    "-",  "$",   "{",
        "}",  "${", "$$",   "%",     "=",  ",",  "[",  "]",  "서울", "é",  "\t",  "\n",
        "ok", "1",  "true", "null",  "*",  "&",  "!",  "|",  ">",    "?",  "@",   "`",
        "~",  "0x", "1e3",  "https", "//", "/",  ".",  "..", "x=y",  "--", "A_B", "${X:-d}",
    };
    size_t len = 0, n = (size_t)pick(g, 7);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *p = parts[pick(g, (int)ENVMGR_ARRAY_SIZE(parts))];
        if (len + strlen(p) + 1 >= size)
            break;
        memcpy(out + len, p, strlen(p) + 1);
        len += strlen(p);
    }
}

static const char *duration(gen_t *g)
{
    static const char *const d[] = {"1s",  "1.5s", "250ms", "1m30s",  "2h",
                                    "90s", "10s",  "0s",    "1h2m3s", "3s"};
    return d[pick(g, (int)ENVMGR_ARRAY_SIZE(d))];
}

/* ---- top level --------------------------------------------------------------------------------
 */

static void gen_labels(gen_t *g, const char *indent)
{
    int n = 1 + pick(g, 3);
    for (int i = 0; i < n; i++) {
        char k[16], v[64];
        word(g, k, sizeof(k));
        text(g, v, sizeof(v));
        add(g, "%s\"io.test.%s%d\": ", indent, k, i);
        q(g, v);
        add(g, "\n");
    }
}

/* Any JSON-like value in YAML (x-envtest's free parts): numbers, booleans, null, strings that
 * look like numbers, nested maps and lists. */
static void gen_any(gen_t *g, int depth)
{
    char t[64];
    switch (depth > 2 ? pick(g, 6) : pick(g, 8)) {
    case 0:
        add(g, "%d", pick(g, 100000) - 500);
        break;
    case 1:
        add(g, "%s", coin(g, 50) ? "true" : "false");
        break;
    case 2:
        add(g, "null");
        break;
    case 3:
        add(g, "%d.%d", pick(g, 100), 1 + pick(g, 9));
        break;
    case 4:
        add(g, "\"%03d\"", pick(g, 100));
        break;
    case 5:
        text(g, t, sizeof(t));
        q(g, t);
        break;
    case 6: {
        int n = pick(g, 3);
        add(g, "[");
        for (int i = 0; i < n; i++) {
            add(g, i ? ", " : "");
            gen_any(g, depth + 1);
        }
        add(g, "]");
        break;
    }
    default: {
        int n = pick(g, 3);
        add(g, "{");
        for (int i = 0; i < n; i++) {
            char k[16];
            word(g, k, sizeof(k));
            add(g, "%s%s%d: ", i ? ", " : "", k, i);
            gen_any(g, depth + 1);
        }
        add(g, "}");
    }
    }
}

static void gen_top(gen_t *g)
{
    char w[16];
    word(g, w, sizeof(w));
    add(g, "name: \"p%s\"\n", w);
    g->n_volumes = pick(g, 4);
    if (g->n_volumes) {
        add(g, "volumes:\n");
        for (int i = 0; i < g->n_volumes; i++) {
            switch (pick(g, 4)) {
            case 0:
                add(g, "  vol%d: {}\n", i);
                break;
            case 1:
                add(g, "  vol%d:\n    name: \"named-%d\"\n    labels:\n", i, i);
                gen_labels(g, "      ");
                break;
            case 2:
                add(g, "  vol%d:\n    external: true\n    name: \"ext-%d\"\n", i, i);
                break;
            default:
                add(g, "  vol%d:\n", i);
            }
        }
    }
    g->n_networks = pick(g, 4);
    if (g->n_networks) {
        add(g, "networks:\n");
        for (int i = 0; i < g->n_networks; i++) {
            add(g, "  net%d:\n", i);
            if (coin(g, 30)) {
                add(g, "    name: \"netname-%d\"\n", i);
            }
            if (coin(g, 30))
                add(g, "    internal: true\n");
            if (coin(g, 30))
                add(g, "    attachable: true\n");
            if (coin(g, 20))
                add(g, "    enable_ipv6: true\n");
            if (coin(g, 30))
                add(g, "    driver: bridge\n");
            if (coin(g, 30)) {
                add(g, "    labels:\n");
                gen_labels(g, "      ");
            }
            if (coin(g, 20))
                add(g, "    driver_opts:\n      com.docker.network.bridge.enable_icc: \"true\"\n");
            if (coin(g, 30))
                add(g, "    ipam:\n      config:\n        - subnet: \"10.%d.%d.0/24\"\n", 100 + i,
                    pick(g, 250));
        }
    }
    g->n_secrets = pick(g, 3);
    if (g->n_secrets) {
        add(g, "secrets:\n");
        for (int i = 0; i < g->n_secrets; i++) {
            if (i == 0)
                add(g, "  sec%d:\n    file: ./secret%d.txt\n", i, i);
            else
                add(g, "  sec%d:\n    environment: PROPERTY_SECRET_%d\n", i, i);
            if (coin(g, 30))
                add(g, "    name: \"secname%d\"\n", i);
        }
    }
    g->n_configs = pick(g, 3);
    if (g->n_configs) {
        add(g, "configs:\n");
        for (int i = 0; i < g->n_configs; i++) {
            char t[64];
            if (i == 0) {
                add(g, "  cfg%d:\n    file: ./config%d.txt\n", i, i);
            } else {
                text(g, t, sizeof(t));
                add(g, "  cfg%d:\n    content: ", i);
                q(g, t);
                add(g, "\n");
            }
        }
    }
    if (coin(g, 60)) {
        add(g, "x-envtest:\n");
        if (coin(g, 50))
            add(g, "  monitor:\n    alerts:\n      duration: %ds\n      error_rate: 0.%d\n",
                1 + pick(g, 600), 1 + pick(g, 9));
        if (coin(g, 50))
            add(g, "  environment:\n    API_URL: "
                   "\"http://$${ENVTEST_WEB_HOST}:$${ENVTEST_WEB_PORT}\"\n");
        add(g, "  custom: ");
        gen_any(g, 0);
        add(g, "\n");
    }
}

/* ---- services ---------------------------------------------------------------------------------
 */

static void gen_strv(gen_t *g, int max)
{
    int n = 1 + pick(g, max);
    add(g, "[");
    for (int i = 0; i < n; i++) {
        char t[64];
        text(g, t, sizeof(t));
        add(g, i ? ", " : "");
        q(g, t);
    }
    add(g, "]\n");
}

static void gen_environment(gen_t *g)
{
    int n = 1 + pick(g, 4);
    bool list = coin(g, 25);
    add(g, "    environment:\n");
    for (int i = 0; i < n; i++) {
        char k[16], v[64];
        word(g, k, sizeof(k));
        text(g, v, sizeof(v));
        for (char *c = k; *c; c++)
            *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
        if (list) {
            envmgr_cleanup_free char *kv = envmgr_xasprintf("%s_%d=%s", k, i, v);
            add(g, "      - ");
            q(g, kv);
            add(g, "\n");
        } else if (coin(g, 10)) {
            add(g, "      %s_%d:\n", k, i); /* no value: from the environment (unset: none) */
        } else if (coin(g, 15)) {
            add(g, "      %s_%d: %d\n", k, i, pick(g, 1000));
        } else {
            add(g, "      %s_%d: ", k, i);
            q(g, v);
            add(g, "\n");
        }
    }
}

static void gen_ports(gen_t *g)
{
    int n = 1 + pick(g, 3);
    add(g, "    ports:\n");
    for (int i = 0; i < n; i++) {
        int target = 1000 + pick(g, 9000);
        switch (pick(g, 5)) {
        case 0:
            add(g, "      - \"%d\"\n", target);
            break;
        case 1:
            add(g, "      - \"127.0.0.1:%d:%d/udp\"\n", g->port++, target);
            break;
        case 2:
            add(g, "      - \"%d-%d\"\n", target, target + 2);
            break;
        case 3:
            add(g, "      - \"%d:%d\"\n", g->port++, target);
            break;
        default:
            add(g, "      - target: %d\n", target);
            if (coin(g, 50))
                add(g, "        published: \"%d\"\n", g->port++);
            if (coin(g, 50))
                add(g, "        host_ip: 127.0.0.1\n");
            if (coin(g, 50))
                add(g, "        protocol: %s\n", coin(g, 50) ? "tcp" : "udp");
            if (coin(g, 30))
                add(g, "        mode: ingress\n");
        }
    }
    if (coin(g, 30))
        add(g, "    expose: [\"%d\", %d]\n", 3000 + pick(g, 100), 4000 + pick(g, 100));
}

static void gen_volumes(gen_t *g, int si)
{
    int n = 1 + pick(g, 3);
    add(g, "    volumes:\n");
    for (int i = 0; i < n; i++) {
        switch (pick(g, 5)) {
        case 0:
            if (g->n_volumes) {
                add(g, "      - \"vol%d:/data%d%s\"\n", pick(g, g->n_volumes), i,
                    coin(g, 30) ? ":ro" : "");
                break;
            }
            /* fall through */
        case 1:
            add(g, "      - \"./bind%d:/bind%d%s\"\n", si, i, coin(g, 30) ? ":ro" : "");
            break;
        case 2:
            add(g, "      - /anon%d\n", i);
            break;
        case 3:
            add(g, "      - type: tmpfs\n        target: /tmp%d\n", i);
            if (coin(g, 50))
                add(g, "        tmpfs:\n          size: %d\n", 1024 * (1 + pick(g, 64)));
            break;
        default:
            add(g, "      - type: bind\n        source: ./bind%d\n        target: /long%d\n", si,
                i);
            if (coin(g, 50))
                add(g, "        read_only: true\n");
        }
    }
    if (coin(g, 30))
        add(g, "    tmpfs: [/run%d]\n", si);
}

static void gen_depends(gen_t *g, int si)
{
    static const char *const cond[] = {"service_started", "service_healthy",
                                       "service_completed_successfully"};
    int candidates[MAX_SERVICES], n = 0;
    for (int i = 0; i < si; i++)
        if (!g->has_profile[i])
            candidates[n++] = i;
    if (n == 0 || coin(g, 40))
        return;
    bool list = coin(g, 30);
    add(g, "    depends_on:%s", list ? " [" : "\n");
    int used = 0;
    for (int k = 0; k < n; k++) {
        if (k > 0 && coin(g, 50))
            continue;
        const char *name = g->services[candidates[k]];
        if (list) {
            add(g, "%s%s", used ? ", " : "", name);
        } else if (coin(g, 20)) {
            add(g, "      %s: {}\n", name);
        } else {
            add(g, "      %s:\n        condition: %s\n", name, cond[pick(g, 3)]);
            if (coin(g, 30))
                add(g, "        required: %s\n", coin(g, 50) ? "true" : "false");
            if (coin(g, 20))
                add(g, "        restart: true\n");
        }
        used++;
    }
    if (list)
        add(g, "]\n");
}

static void gen_healthcheck(gen_t *g)
{
    char t[64];
    add(g, "    healthcheck:\n");
    switch (pick(g, 6)) {
    case 0:
        add(g, "      test: [\"CMD\", \"check\"");
        for (int i = pick(g, 3); i > 0; i--) {
            text(g, t, sizeof(t));
            add(g, ", ");
            q(g, t);
        }
        add(g, "]\n");
        break;
    case 1:
        text(g, t, sizeof(t));
        add(g, "      test: [\"CMD-SHELL\", ");
        q(g, *t ? t : "true");
        add(g, "]\n");
        break;
    case 2:
        text(g, t, sizeof(t));
        add(g, "      test: ");
        q(g, *t ? t : "exit 0");
        add(g, "\n");
        break;
    case 3:
        add(g, "      disable: true\n");
        return;
    case 4:
        add(g, "      test: [\"NONE\"]\n");
        return;
    default:
        break; /* no test: the image's, with these timings */
    }
    if (coin(g, 60))
        add(g, "      interval: %s\n", duration(g));
    if (coin(g, 50))
        add(g, "      timeout: %s\n", duration(g));
    if (coin(g, 40))
        add(g, "      start_period: %s\n", duration(g));
    if (coin(g, 30))
        add(g, "      start_interval: %s\n", duration(g));
    if (coin(g, 50))
        add(g, "      retries: %d\n", pick(g, 20));
}

static void gen_networks(gen_t *g)
{
    if (coin(g, 50)) {
        add(g, "    networks: [");
        int n = 0;
        for (int i = 0; i < g->n_networks; i++)
            if (coin(g, 60))
                add(g, "%snet%d", n++ ? ", " : "", i);
        add(g, "%sdefault]\n", n ? ", " : "");
        return;
    }
    add(g, "    networks:\n");
    for (int i = 0; i < g->n_networks; i++) {
        if (coin(g, 40))
            continue;
        switch (pick(g, 3)) {
        case 0:
            add(g, "      net%d:\n", i);
            break;
        case 1:
            add(g, "      net%d: {}\n", i);
            break;
        default: {
            char a[16];
            word(g, a, sizeof(a));
            add(g, "      net%d:\n        aliases: [\"%s\", \"%s-2\"]\n", i, a, a);
            if (coin(g, 50))
                add(g, "        priority: %d\n", pick(g, 1000));
        }
        }
    }
    add(g, "      default:\n");
}

static void gen_file_refs(gen_t *g, const char *key, const char *prefix, int n)
{
    add(g, "    %s:\n", key);
    for (int i = 0; i < n; i++) {
        if (coin(g, 40))
            continue;
        if (coin(g, 50)) {
            add(g, "      - %s%d\n", prefix, i);
            continue;
        }
        add(g, "      - source: %s%d\n", prefix, i);
        if (coin(g, 50))
            add(g, "        target: %s%s-t%d\n", strcmp(prefix, "cfg") == 0 ? "/etc/" : "", prefix,
                i);
        if (coin(g, 40))
            add(g, "        uid: \"%d\"\n", pick(g, 2000));
        if (coin(g, 40))
            add(g, "        gid: \"%d\"\n", pick(g, 2000));
        if (coin(g, 40))
            add(g, "        mode: %s\n", coin(g, 50) ? "0440" : "292");
    }
    add(g, "      - %s0\n", prefix);
}

static void gen_container_keys(gen_t *g, int si)
{
    char t[64];
    if (coin(g, 20)) {
        text(g, t, sizeof(t));
        add(g, "    working_dir: \"/w%d\"\n", si);
    }
    if (coin(g, 20))
        add(g, "    user: \"%d:%d\"\n", pick(g, 2000), pick(g, 2000));
    if (coin(g, 20))
        add(g, "    hostname: h%d\n", si);
    if (coin(g, 20))
        add(g, "    init: true\n");
    if (coin(g, 15))
        add(g, "    container_name: \"c%d-%s\"\n", si, g->services[si]);
    if (coin(g, 20))
        add(g, "    stop_grace_period: %s\n", duration(g));
    if (coin(g, 15))
        add(g, "    stop_signal: SIGQUIT\n");
    if (coin(g, 15))
        add(g, "    extra_hosts: [\"db%d:10.0.0.%d\"]\n", si, 1 + pick(g, 250));
    if (coin(g, 15))
        add(g, "    dns: [\"10.0.0.%d\"]\n    dns_search: [example.com]\n", 1 + pick(g, 250));
    if (coin(g, 15))
        add(g, "    cap_add: [NET_ADMIN]\n    cap_drop: [MKNOD]\n");
    if (coin(g, 10))
        add(g, "    security_opt: [\"no-new-privileges:true\"]\n    group_add: [\"%d\"]\n",
            pick(g, 2000));
    if (coin(g, 10))
        add(g, "    read_only: true\n");
    if (coin(g, 10))
        add(g, "    tty: true\n    stdin_open: true\n");
    if (coin(g, 10))
        add(g, "    privileged: true\n");
    if (coin(g, 10))
        add(g, "    platform: linux/amd64\n");
    if (coin(g, 20))
        add(g, "    mem_limit: %dm\n", 64 * (1 + pick(g, 16)));
    if (coin(g, 20))
        add(g, "    cpus: %s\n", coin(g, 50) ? "0.5" : "\"1.25\"");
    if (coin(g, 15))
        add(g, "    pids_limit: %d\n", 10 + pick(g, 1000));
    if (coin(g, 15))
        add(g, "    shm_size: %s\n", coin(g, 50) ? "64m" : "\"1gb\"");
    if (coin(g, 10))
        add(g, "    cpu_shares: %d\n", 2 + pick(g, 1000));
    if (coin(g, 10))
        add(g, "    mem_reservation: 32m\n    memswap_limit: 1g\n");
    if (coin(g, 15))
        add(g,
            "    deploy:\n      resources:\n        limits: {cpus: \"0.%d\", memory: %dM}\n"
            "        reservations: {memory: 16M}\n",
            1 + pick(g, 9), 100 + pick(g, 900));
    if (coin(g, 15))
        add(g, "    ulimits:\n      nproc: %d\n      nofile: {soft: 1024, hard: %d}\n",
            100 + pick(g, 1000), 2048 + pick(g, 1000));
    if (coin(g, 10))
        add(g, "    sysctls:\n      net.core.somaxconn: %d\n", 128 + pick(g, 1000));
}

static void gen_service(gen_t *g, int si, int n_services)
{
    char w[16], t[64];
    add(g, "  %s:\n", g->services[si]);
    if (coin(g, 25)) {
        add(g, "    build:\n      context: ./ctx%d\n", si % 2);
        if (coin(g, 50))
            add(g, "      dockerfile: Dockerfile.%d\n", si);
        if (coin(g, 40)) {
            text(g, t, sizeof(t));
            add(g, "      args:\n        VERSION: ");
            q(g, t);
            add(g, "\n");
        }
        if (coin(g, 30))
            add(g, "    image: \"local/built%d\"\n", si);
    } else {
        word(g, w, sizeof(w));
        add(g, "    image: \"registry.example:5000/team/%s:%d.%d\"\n", w, pick(g, 10), pick(g, 10));
    }
    if (coin(g, 40)) {
        add(g, "    command: ");
        if (coin(g, 30))
            add(g, "\"run --port %d 'two words' \\\"q\\\"\"\n", pick(g, 9000));
        else
            gen_strv(g, 4);
    }
    if (coin(g, 20)) {
        add(g, "    entrypoint: ");
        gen_strv(g, 2);
    }
    if (coin(g, 70))
        gen_environment(g);
    if (coin(g, 50))
        gen_ports(g);
    if (coin(g, 50))
        gen_volumes(g, si);
    gen_depends(g, si);
    if (coin(g, 50))
        gen_healthcheck(g);
    if (g->n_networks && coin(g, 50))
        gen_networks(g);
    if (g->n_secrets && coin(g, 40))
        gen_file_refs(g, "secrets", "sec", g->n_secrets);
    if (g->n_configs && coin(g, 40))
        gen_file_refs(g, "configs", "cfg", g->n_configs);
    /* profiles only on services nothing depends on: "on" is activated, "off" is not */
    if (si == n_services - 1 && si > 0 && coin(g, 40)) {
        g->has_profile[si] = true;
        add(g, "    profiles: [%s%s]\n", coin(g, 70) ? "\"on\"" : "\"off\"",
            coin(g, 30) ? ", extra" : "");
    }
    if (coin(g, 40)) {
        add(g, "    labels:\n");
        gen_labels(g, "      ");
    }
    gen_container_keys(g, si);
    if (coin(g, 30)) {
        add(g, "    x-envtest:\n");
        if (coin(g, 50))
            add(g,
                "      wait:\n        - log: \"ready( now)?\"\n          times: %d\n"
                "        - ports: [%d]\n",
                1 + pick(g, 3), 1 + pick(g, 60000));
        add(g, "      note: ");
        gen_any(g, 0);
        add(g, "\n");
    }
}

static void generate(gen_t *g)
{
    gen_top(g);
    int n = 1 + pick(g, MAX_SERVICES);
    for (int i = 0; i < n; i++) {
        char w[12];
        word(g, w, sizeof(w));
        snprintf(g->services[i], sizeof(g->services[i]), "s%d%s", i, w);
        g->has_profile[i] = false;
    }
    add(g, "services:\n");
    for (int i = 0; i < n; i++)
        gen_service(g, i, n);
}

/* ---- the property -------------------------------------------------------------------------------
 */

static void write_text(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(s, f);
    assert_int_equal(fclose(f), 0);
}

static envmgr_project_t *load_file(const char *path, const char *yaml_for_errors, uint64_t seed)
{
    static const char *const profiles[] = {"on", NULL};
    envmgr_compose_options_t opts = {.profiles = profiles};
    envmgr_project_t *p = NULL;
    envmgr_error_t err = {0};
    if (envmgr_compose_load(path, &opts, &p, &err) < 0) {
        print_message("seed %" PRIu64 ": %s does not load:\n%s\n---\n%s\n", seed, path, err.message,
                      yaml_for_errors);
        fail_msg("seed %" PRIu64 ": %s: %s", seed, path, err.message);
    }
    return p;
}

static void show_difference(const char *a, const char *b)
{
    size_t i = 0, line = 1, start = 0;
    while (a[i] && a[i] == b[i]) {
        if (a[i] == '\n') {
            line++;
            start = i + 1;
        }
        i++;
    }
    print_message("first difference at line %zu:\n  first:  %.*s\n  second: %.*s\n", line,
                  (int)strcspn(a + start, "\n"), a + start, (int)strcspn(b + start, "\n"),
                  b + start);
}

static void test_config_round_trip(void **state)
{
    (void)state;
    const char *seed_env = getenv("ENVTEST_PROPERTY_SEED");
    const char *n_env = getenv("ENVTEST_PROPERTY_N");
    uint64_t seed0 = seed_env ? strtoull(seed_env, NULL, 10) : 20261206;
    int rounds = n_env ? atoi(n_env) : 300;
    mkdir("ctx0", 0755);
    mkdir("ctx1", 0755);
    write_text("secret0.txt", "s3cret\n");
    write_text("config0.txt", "key = value\n");
    setenv("PROPERTY_SECRET_1", "from-the-environment", 1);
    setenv("PROPERTY_SECRET_2", "another", 1);
    for (int r = 0; r < rounds; r++) {
        uint64_t seed = seed0 + (uint64_t)r;
        gen_t g = {.state = seed, .y = ENVMGR_BUF_INIT, .port = 20000};
        generate(&g);
        write_text("compose.yaml", g.y.data);
        envmgr_project_t *p1 = load_file("compose.yaml", g.y.data, seed);
        char *first = envmgr_project_config_text(p1, true);
        write_text("config.json", first);
        envmgr_project_t *p2 = load_file("config.json", first, seed);
        char *second = envmgr_project_config_text(p2, true);
        char where[256];
        bool changed = compose_model_diff(p1, p2, where, sizeof(where));
        envmgr_project_free(p1);
        envmgr_project_free(p2);
        if (changed) {
            print_message("seed %" PRIu64 " (ENVTEST_PROPERTY_SEED=%" PRIu64
                          " ENVTEST_PROPERTY_N=1): config, loaded again, gives another model: "
                          "%s differs\n--- compose.yaml\n%s--- config\n%s\n",
                          seed, seed, where, g.y.data, first);
            fail_msg("seed %" PRIu64 ": %s changed through config", seed, where);
        }
        if (strcmp(first, second) != 0) {
            print_message("seed %" PRIu64 " (ENVTEST_PROPERTY_SEED=%" PRIu64
                          " ENVTEST_PROPERTY_N=1): config, loaded again, renders otherwise\n"
                          "--- compose.yaml\n%s--- config\n%s\n--- config of the config\n%s\n",
                          seed, seed, g.y.data, first, second);
            show_difference(first, second);
            fail_msg("seed %" PRIu64 ": the model changed through config", seed);
        }
        free(first);
        free(second);
        envmgr_buf_free(&g.y);
    }
    print_message("%d random models (seeds %" PRIu64 "..%" PRIu64 "): config round-trips\n", rounds,
                  seed0, seed0 + (uint64_t)rounds - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config_round_trip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
