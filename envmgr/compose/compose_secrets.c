/* The secret values a project hands out: what CI log masking (GitHub's ::add-mask::) must know
 * before any of them can be printed. */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <envmgr/compose.h>

/* A name that says its value is a credential: *PASSWORD*, *PASSWD*, *SECRET*, *TOKEN*, *_KEY,
 * *APIKEY* (case-insensitive), as Compose users name them. */
bool envmgr_secret_name(const char *name)
{
    static const char *const words[] = {"PASSWORD", "PASSWD",  "SECRET",      "TOKEN",
                                        "APIKEY",   "API_KEY", "PRIVATE_KEY", "ACCESS_KEY"};
    char upper[128];
    size_t n = 0;
    for (; name[n] && n + 1 < sizeof(upper); n++)
        upper[n] = (char)toupper((unsigned char)name[n]);
    upper[n] = '\0';
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strstr(upper, words[i]))
            return true;
    return n >= 4 && strcmp(upper + n - 4, "_KEY") == 0;
}

static void add_unique(envmgr_strv_t *out, const char *value, size_t len)
{
    if (len < ENVMGR_SECRET_MIN_LEN)
        return;
    for (size_t i = 0; i < out->n; i++)
        if (strlen(out->items[i]) == len && memcmp(out->items[i], value, len) == 0)
            return;
    char *copy = envmgr_xstrndup(value, len);
    envmgr_strv_push(out, copy);
    free(copy);
}

/* The password of every "scheme://user:password@host" in value (percent-encoded as written, and
 * as the tools that read the URL would print it). */
static void add_url_passwords(envmgr_strv_t *out, const char *value)
{
    for (const char *p = strstr(value, "://"); p; p = strstr(p, "://")) {
        p += 3;
        size_t auth = strcspn(p, "@/?# \t\n");
        if (p[auth] != '@')
            continue;
        const char *colon = memchr(p, ':', auth);
        if (colon)
            add_unique(out, colon + 1, (size_t)(p + auth - colon - 1));
        p += auth;
    }
}

static void add_value(envmgr_strv_t *out, const char *key, const char *value)
{
    if (!value)
        return;
    if (key && envmgr_secret_name(key))
        add_unique(out, value, strlen(value));
    add_url_passwords(out, value);
}

void envmgr_project_secrets(const envmgr_project_t *project, const envmgr_kvlist_t *vars,
                            envmgr_strv_t *out)
{
    for (size_t i = 0; i < project->secret_values.n; i++) {
        const char *v = project->secret_values.items[i].value;
        if (v)
            add_unique(out, v, strlen(v));
    }
    for (size_t s = 0; s < project->n_services; s++) {
        const envmgr_kvlist_t *env = &project->services[s].environment;
        for (size_t i = 0; i < env->n; i++)
            add_value(out, env->items[i].key, env->items[i].value);
    }
    for (size_t i = 0; vars && i < vars->n; i++)
        add_value(out, vars->items[i].key, vars->items[i].value);
}
