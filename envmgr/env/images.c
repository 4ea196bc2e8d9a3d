/* Content-addressed images, built-in service images and the data dir (envmgr/images.h). */
#include <envmgr/images.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <envmgr/lifecycle.h>
#include <envmgr/log.h>

#ifndef ENVTEST_BIN_TO_DATA
#define ENVTEST_BIN_TO_DATA "../lib/envtest"
#endif

/* name after "envtest/" -> its context under the data dir */
static const char *const builtin_images[][2] = {
    {"mock-llm", "compose/mock-llm/context"},
    {"mock-llm-record", "compose/mock-llm/record-context"},
    {"mock-vector", "compose/mock-vector/context"},
    {"sca-api", "compose/sca-api/context"},
};

static bool is_dir_with(const char *dir, const char *file)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/%s", dir, file);
    return access(path, F_OK) == 0;
}

char *envmgr_data_dir(void)
{
    const char *set = getenv("ENVTEST_DATA_DIR");
    if (set && *set)
        return envmgr_xstrdup(set);
    set = getenv("ENVTEST_BUILD_DIR");
    if (set && *set)
        return envmgr_xstrdup(set);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    /* the build tree: <build>/cmd/envtest (or <build>/tests/<test>) */
    envmgr_cleanup_free char *build = envmgr_xasprintf("%s/..", exe);
    char resolved[PATH_MAX];
    if (is_dir_with(build, "CMakeCache.txt") && realpath(build, resolved))
        return envmgr_xstrdup(resolved);
    envmgr_cleanup_free char *installed = envmgr_xasprintf("%s/%s", exe, ENVTEST_BIN_TO_DATA);
    if (realpath(installed, resolved))
        return envmgr_xstrdup(resolved);
    return NULL;
}

char *envmgr_builtin_image_context(const char *image, bool *is_builtin)
{
    if (is_builtin)
        *is_builtin = false;
    if (!image || strncmp(image, "envtest/", 8) != 0)
        return NULL;
    const char *name = image + 8;
    size_t len = strcspn(name, ":@");
    if (name[len] == '@' || (name[len] == ':' && strcmp(name + len, ":latest") != 0))
        return NULL;
    for (size_t i = 0; i < sizeof(builtin_images) / sizeof(builtin_images[0]); i++) {
        if (strlen(builtin_images[i][0]) != len || strncmp(name, builtin_images[i][0], len) != 0)
            continue;
        if (is_builtin)
            *is_builtin = true;
        envmgr_cleanup_free char *data = envmgr_data_dir();
        if (!data)
            return NULL;
        char *context = envmgr_xasprintf("%s/%s", data, builtin_images[i][1]);
        if (is_dir_with(context, "Dockerfile"))
            return context;
        free(context);
        return NULL;
    }
    return NULL;
}

int envmgr_image_build_digest(const char *context_dir, const char *dockerfile,
                              const envmgr_kvlist_t *args, char out[65], envmgr_error_t *err)
{
    char context[65];
    if (envmgr_engine_context_digest(context_dir, dockerfile, context, err) < 0)
        return -1;
    envmgr_sha256_t md;
    envmgr_sha256_init(&md);
    envmgr_sha256_update(&md, context, 64);
    for (size_t i = 0; args && i < args->n; i++) {
        envmgr_sha256_update(&md, "\0", 1);
        envmgr_sha256_update(&md, args->items[i].key, strlen(args->items[i].key) + 1);
        if (args->items[i].value)
            envmgr_sha256_update(&md, args->items[i].value, strlen(args->items[i].value));
    }
    envmgr_sha256_final_hex(&md, out);
    return 0;
}

char *envmgr_image_content_tag(const char *repo, const char *digest)
{
    size_t len = strcspn(repo, "@");
    const char *slash = memrchr(repo, '/', len);
    const char *colon = memchr(slash ? slash : repo, ':', len - (size_t)(slash ? slash - repo : 0));
    if (colon) /* a tag already given (":latest"): replaced */
        len = (size_t)(colon - repo);
    return envmgr_xasprintf("%.*s:%.16s", (int)len, repo, digest);
}

static bool strv_has(const envmgr_strv_t *v, const char *s)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->items[i], s) == 0)
            return true;
    return false;
}

int envmgr_images_of_project(envmgr_engine_t *engine, const char *project, envmgr_strv_t *out,
                             envmgr_error_t *err)
{
    envmgr_cleanup_free char *filter = envmgr_xasprintf("%s=%s", ENVMGR_LABEL_PROJECT, project);
    envmgr_cleanup_json json_t *containers = NULL;
    if (envmgr_engine_container_list(engine, filter, true, &containers, err) < 0)
        return envmgr_error_wrap(err, "images of %s", project);
    for (size_t i = 0; i < json_array_size(containers); i++) {
        const char *id =
            json_string_value(json_object_get(json_array_get(containers, i), "ImageID"));
        if (!id || strv_has(out, id))
            continue;
        envmgr_cleanup_json json_t *inspect = NULL;
        envmgr_error_t lookup_err = {0};
        if (envmgr_engine_image_inspect(engine, id, &inspect, &lookup_err) < 0)
            continue; /* gone already */
        json_t *labels = json_object_get(json_object_get(inspect, "Config"), "Labels");
        if (json_object_get(labels, ENVMGR_LABEL_CONTEXT_DIGEST))
            envmgr_strv_push(out, id);
    }
    /* Images labelled with the project: builds before images were shared, and their untagged
     * leftovers (an interrupted build, a tag moved to a rebuild). */
    envmgr_cleanup_json json_t *images = NULL;
    if (envmgr_engine_image_list(engine, filter, &images, err) < 0)
        return envmgr_error_wrap(err, "images of %s", project);
    for (size_t i = 0; i < json_array_size(images); i++) {
        const char *id = json_string_value(json_object_get(json_array_get(images, i), "Id"));
        if (id && !strv_has(out, id))
            envmgr_strv_push(out, id);
    }
    return 0;
}

/* The image ids some container (any state) runs. */
static int images_in_use(envmgr_engine_t *engine, envmgr_strv_t *used, envmgr_error_t *err)
{
    envmgr_cleanup_json json_t *containers = NULL;
    if (envmgr_engine_container_list(engine, NULL, true, &containers, err) < 0)
        return envmgr_error_wrap(err, "containers using images");
    for (size_t i = 0; i < json_array_size(containers); i++) {
        const char *id =
            json_string_value(json_object_get(json_array_get(containers, i), "ImageID"));
        if (id && !strv_has(used, id))
            envmgr_strv_push(used, id);
    }
    return 0;
}

int envmgr_images_remove_unused(envmgr_engine_t *engine, const envmgr_strv_t *ids, int *removed,
                                envmgr_error_t *err)
{
    int count = 0;
    if (removed)
        *removed = 0;
    if (ids->n == 0)
        return 0;
    envmgr_strv_t used = {0};
    if (images_in_use(engine, &used, err) < 0) {
        envmgr_strv_free(&used);
        return -1;
    }
    for (size_t i = 0; i < ids->n; i++) {
        if (strv_has(&used, ids->items[i])) {
            envmgr_debug("image %.19s stays: a container uses it", ids->items[i]);
            continue;
        }
        envmgr_error_t rm_err = {0};
        /* force: the image may carry several tags (one per service name); no container uses it */
        if (envmgr_engine_image_remove(engine, ids->items[i], true, &rm_err) == 0)
            count++;
        else if (rm_err.kind != ENVMGR_E_NOT_FOUND)
            envmgr_warn("image %.19s stays: %s", ids->items[i], rm_err.message);
    }
    envmgr_strv_free(&used);
    if (removed)
        *removed = count;
    return 0;
}

static int images_with_label(envmgr_engine_t *engine, const char *label, envmgr_strv_t *out,
                             envmgr_error_t *err)
{
    envmgr_cleanup_json json_t *images = NULL;
    if (envmgr_engine_image_list(engine, label, &images, err) < 0)
        return envmgr_error_wrap(err, "images labelled %s", label);
    for (size_t i = 0; i < json_array_size(images); i++) {
        const char *id = json_string_value(json_object_get(json_array_get(images, i), "Id"));
        if (id && !strv_has(out, id))
            envmgr_strv_push(out, id);
    }
    return 0;
}

int envmgr_images_gc(envmgr_engine_t *engine, int *removed, envmgr_error_t *err)
{
    envmgr_strv_t ids = {0};
    int r = images_with_label(engine, ENVMGR_LABEL_CONTEXT_DIGEST, &ids, err);
    if (r == 0)
        r = images_with_label(engine, ENVMGR_LABEL_PROJECT, &ids, err);
    if (r == 0)
        r = envmgr_images_remove_unused(engine, &ids, removed, err);
    envmgr_strv_free(&ids);
    return r;
}
