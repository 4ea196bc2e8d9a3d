/* From an extracted bundle back to a live environment: images, suites found locally, secrets,
 * each service's state. The environment itself is brought up by envmgr_up from compose.json. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle_internal.h"

int envmgr_bundle_secrets(const envmgr_bundle_t *b, const char *passphrase, envmgr_kvlist_t *out,
                          envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/secrets.enc", b->dir);
    if (access(path, F_OK) < 0)
        return envmgr_error_set(err, ENVMGR_E_NOT_FOUND, 0, "the bundle holds no secrets");
    char *data = NULL;
    size_t len = 0;
    if (envmgr_read_file(path, &data, &len, err) < 0)
        return -1;
    envmgr_buf_t plain = ENVMGR_BUF_INIT;
    int r = envmgr_bundle_decrypt(passphrase, data, len, &plain, err);
    free(data);
    json_t *doc = r == 0 ? json_loadb(plain.data, plain.len, 0, NULL) : NULL;
    if (r == 0 && !json_is_object(doc))
        r = envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s: not a JSON object", path);
    const char *k;
    json_t *v;
    if (r == 0)
        json_object_foreach(doc, k, v) if (json_is_string(v))
            envmgr_kvlist_set(out, k, json_string_value(v));
    json_decref(doc);
    if (plain.data)
        memset(plain.data, 0, plain.len);
    envmgr_buf_free(&plain);
    return r;
}

int envmgr_bundle_localize_suites(envmgr_bundle_t *b, const envmgr_project_t *local,
                                  envmgr_error_t *err)
{
    envmgr_cleanup_json json_t *compose = bun_read_json(b->compose_file, err);
    if (!compose)
        return -1;
    json_t *suites = json_object_get(json_object_get(compose, "x-envtest"), "suites");
    json_t *mine = local && local->x_envtest ? json_object_get(local->x_envtest, "suites") : NULL;
    bool changed = false;
    for (size_t i = 0; i < json_array_size(suites); i++) {
        json_t *s = json_array_get(suites, i);
        const char *name = json_string_value(json_object_get(s, "name"));
        const char *path = json_string_value(json_object_get(s, "path"));
        if (!name || !path || access(path, X_OK) == 0)
            continue;
        for (size_t k = 0; k < json_array_size(mine); k++) {
            json_t *m = json_array_get(mine, k);
            const char *mp = json_string_value(json_object_get(m, "path"));
            if (!mp || strcmp(name, json_string_value(json_object_get(m, "name")) ?: "") != 0)
                continue;
            char *abs =
                mp[0] == '/' ? envmgr_xstrdup(mp) : envmgr_xasprintf("%s/%s", local->dir, mp);
            /* the bundle's compose.json is interpolated again: keep '$' literal */
            envmgr_buf_t esc = ENVMGR_BUF_INIT;
            envmgr_buf_adds(&esc, "");
            for (const char *c = abs; *c; c++)
                envmgr_buf_add(&esc, *c == '$' ? "$$" : c, *c == '$' ? 2 : 1);
            json_object_set_new(s, "path", json_string(esc.data));
            envmgr_buf_free(&esc);
            free(abs);
            changed = true;
        }
    }
    if (!changed)
        return 0;
    envmgr_cleanup_free char *tmp = envmgr_xasprintf("%s.tmp", b->compose_file);
    if (json_dump_file(compose, tmp, JSON_INDENT(1) | JSON_SORT_KEYS) < 0 ||
        rename(tmp, b->compose_file) < 0)
        return envmgr_error_errno(err, errno, "write %s", b->compose_file);
    return 0;
}

static int tag_ref(envmgr_engine_t *engine, const char *id, const char *ref, envmgr_error_t *err)
{
    envmgr_cleanup_free char *repo = envmgr_xstrdup(ref);
    char *colon = strrchr(repo, ':');
    if (!colon || strchr(colon, '/'))
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "image reference %s has no tag", ref);
    *colon = '\0';
    return envmgr_engine_image_tag(engine, id, repo, colon + 1, err);
}

int envmgr_bundle_load_images(envmgr_engine_t *engine, const envmgr_bundle_t *b,
                              envmgr_progress_cb progress, void *userdata, envmgr_error_t *err)
{
    const char *hex;
    json_t *img;
    json_object_foreach(json_object_get(b->manifest, "images"), hex, img)
    {
        const char *id = json_string_value(json_object_get(img, "id"));
        const char *ref = json_string_value(json_object_get(img, "ref"));
        const char *file = json_string_value(json_object_get(img, "file"));
        if (!id || !ref)
            return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                    "%s/manifest.json: images.%s: id and ref are required", b->dir,
                                    hex);
        json_t *info = NULL;
        envmgr_error_t lookup = {0};
        bool present = envmgr_engine_image_inspect(engine, id, &info, &lookup) == 0;
        json_decref(info);
        if (!present && lookup.kind != ENVMGR_E_NOT_FOUND) {
            *err = lookup;
            return -1;
        }
        if (!present && file) {
            envmgr_cleanup_free char *path = envmgr_xasprintf("%s/%s", b->dir, file);
            if (progress)
                progress(userdata, ref, ENVMGR_PHASE_PULLING, 0, "loading from the bundle");
            bun_file_source_t src = {.fd = open(path, O_RDONLY | O_CLOEXEC), .path = path};
            if (src.fd < 0)
                return envmgr_error_errno(err, errno, "open %s", path);
            int r = envmgr_engine_image_load(engine, bun_file_read, &src, err);
            close(src.fd);
            if (r < 0)
                return -1;
            unlink(path); /* loaded: the engine has it now */
        } else if (!present && !file) {
            if (strchr(ref, '@')) {
                if (envmgr_engine_image_pull(engine, ref, NULL, NULL, err) < 0)
                    return -1;
                continue;
            }
            return envmgr_error_set(err, ENVMGR_E_ENV, 0,
                                    "image %s (%s) is neither in the bundle nor on this engine",
                                    ref, id);
        }
        if (!strchr(ref, '@') && tag_ref(engine, id, ref, err) < 0)
            return -1;
    }
    return 0;
}

int envmgr_bundle_restore_state(envmgr_engine_t *engine, const envmgr_bundle_t *b,
                                const envmgr_project_t *project, envmgr_progress_cb progress,
                                void *userdata, envmgr_error_t *err)
{
    envmgr_live_targets_t live = {0};
    if (envmgr_live_targets_get(engine, project, &live, err) < 0)
        return -1;
    int r = 0;
    const char *name;
    json_t *svc;
    json_object_foreach(json_object_get(b->manifest, "services"), name, svc)
    {
        const json_t *kinds = json_object_get(svc, "state");
        if (json_array_size(kinds) == 0)
            continue;
        const envmgr_fixture_service_t *ls = NULL;
        for (size_t i = 0; i < live.targets.n_services; i++)
            if (strcmp(live.targets.services[i].name, name) == 0)
                ls = &live.targets.services[i];
        if (!ls || !ls->container_id) {
            r = envmgr_error_set(err, ENVMGR_E_ENV, 0, "service %s is not running", name);
            break;
        }
        if (progress)
            progress(userdata, name, ENVMGR_PHASE_LOADING, 0, "restoring its state");
        bun_service_t bs = {
            .name = name,
            .container_id = ls->container_id,
            .base_url = ls->base_url,
            .mysql = json_array_size(kinds) &&
                     strcmp(json_string_value(json_array_get(kinds, 0)) ?: "", "mysql") == 0};
        if ((r = bun_state_restore(engine, &bs, b->dir, kinds, err)) < 0)
            break;
        if (progress)
            progress(userdata, name, ENVMGR_PHASE_LOADED, 0, NULL);
    }
    envmgr_live_targets_free(&live);
    return r;
}
