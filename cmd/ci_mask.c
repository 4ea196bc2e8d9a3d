/* CI log masking. On GitHub Actions (GITHUB_ACTIONS=true) a secret that a step prints shows in
 * clear in its log, and a variable appended to $GITHUB_ENV shows in the environment block of
 * every later step. The runner hides a value from the moment `::add-mask::VALUE` appears on a
 * step's stdout: so every command that generates, reads or hands out a secret prints that line
 * first, once per value per process, before anything else could show the value. */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static envmgr_strv_t masked; /* values masked by this process */

static void free_masked(void)
{
    envmgr_strv_free(&masked);
}

bool envtest_ci_masking(void)
{
    const char *gha = getenv("GITHUB_ACTIONS");
    return gha && strcmp(gha, "true") == 0;
}

static void mask_line(const char *line, size_t len)
{
    if (len < ENVMGR_SECRET_MIN_LEN)
        return;
    for (size_t i = 0; i < masked.n; i++)
        if (strlen(masked.items[i]) == len && memcmp(masked.items[i], line, len) == 0)
            return;
    if (masked.n == 0)
        atexit(free_masked);
    char *copy = envmgr_xstrndup(line, len);
    envmgr_strv_push(&masked, copy);
    free(copy);
    printf("::add-mask::%.*s\n", (int)len, line);
}

void envtest_ci_mask_value(const char *value)
{
    if (!value || !envtest_ci_masking())
        return;
    /* The runner masks line by line: a multi-line value is masked as its lines. */
    for (const char *p = value; *p;) {
        size_t len = strcspn(p, "\r\n");
        mask_line(p, len);
        p += len;
        p += strspn(p, "\r\n");
    }
    fflush(stdout);
}

void envtest_ci_mask_project(const envmgr_project_t *project, const envmgr_kvlist_t *vars)
{
    if (!project || !envtest_ci_masking())
        return;
    envmgr_strv_t secrets = {0};
    envmgr_project_secrets(project, vars, &secrets);
    for (size_t i = 0; i < secrets.n; i++)
        envtest_ci_mask_value(secrets.items[i]);
    envmgr_strv_free(&secrets);
}
