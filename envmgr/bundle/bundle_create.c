/* envmgr_bundle_create: the live environment into one archive (see bundle.h). Everything is
 * gathered in a staging directory beside the output, archived, then the staging directory goes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bundle_internal.h"

typedef struct create {
    envmgr_engine_t *engine;
    const envmgr_project_t *project;
    const envmgr_bundle_create_options_t *opts;
    const char *dir; /* staging */
    envmgr_live_targets_t live;
    json_t *manifest, *services, *images;
} create_t;

static void progress(create_t *c, const char *what, enum envmgr_service_phase phase)
{
    if (c->opts->progress)
        c->opts->progress(c->opts->userdata, what, phase, 0, NULL);
}

static const envmgr_fixture_service_t *live_service(const create_t *c, const char *name)
{
    for (size_t i = 0; i < c->live.targets.n_services; i++)
        if (strcmp(c->live.targets.services[i].name, name) == 0)
            return &c->live.targets.services[i];
    return NULL;
}

struct file_sink {
    FILE *f;
};

static int file_sink_cb(void *userdata, enum envmgr_stream stream, const char *data, size_t len)
{
    (void)stream;
    struct file_sink *s = userdata;
    return fwrite(data, 1, len, s->f) == len ? 0 : -1;
}

/* The image a service runs: saved into images/<hex>.tar when envtest built it or no registry has
 * it (no RepoDigests); else pinned by digest. Returns the reference compose.json uses. */
static int image_save(create_t *c, const char *service, const char *container_id, char **ref_out,
                      envmgr_error_t *err)
{
    envmgr_cleanup_json json_t *ci = NULL, *ii = NULL;
    if (envmgr_engine_container_inspect(c->engine, container_id, &ci, err) < 0)
        return -1;
    const char *id = json_string_value(json_object_get(ci, "Image"));
    if (!id || strncmp(id, "sha256:", 7) != 0 || strlen(id) != 71)
        return envmgr_error_set(err, ENVMGR_E_ENGINE, 0, "container %s: no image id", container_id);
    const char *hex = id + 7;
    if (envmgr_engine_image_inspect(c->engine, id, &ii, err) < 0)
        return -1;
    json_t *labels = json_object_get(json_object_get(ii, "Config"), "Labels");
    bool built = json_object_get(labels, ENVMGR_LABEL_PROJECT) != NULL;
    json_t *digests = json_object_get(ii, "RepoDigests");
    json_t *img = json_object_get(c->images, hex);
    if (!img) {
        bool save = built || (json_array_size(digests) == 0 && !c->opts->without_base_images);
        envmgr_cleanup_free char *file = save ? envmgr_xasprintf("images/%s.tar", hex) : NULL;
        char short_id[13];
        memcpy(short_id, hex, 12);
        short_id[12] = '\0';
        envmgr_cleanup_free char *ref =
            json_array_size(digests) && !built
                ? envmgr_xstrdup(json_string_value(json_array_get(digests, 0)))
                : envmgr_xasprintf("envtest-bundle/%s:%s", service, short_id);
        img = json_pack("{s:s,s:s,s:O,s:O,s:b,s:I}", "id", id, "ref", ref, "tags",
                        json_object_get(ii, "RepoTags"), "digests", digests ? digests : json_null(),
                        "built", built, "size", json_integer_value(json_object_get(ii, "Size")));
        json_object_set_new(img, "file", file ? json_string(file) : json_null());
        json_object_set_new(c->images, hex, img);
        if (file) {
            progress(c, service, ENVMGR_PHASE_PULLING);
            envmgr_cleanup_free char *path = envmgr_xasprintf("%s/%s", c->dir, file);
            envmgr_cleanup_free char *parent = envmgr_xasprintf("%s/images", c->dir);
            if (envmgr_mkdir_p(parent, 0755, err) < 0)
                return -1;
            struct file_sink s = {.f = fopen(path, "we")};
            if (!s.f)
                return envmgr_error_errno(err, errno, "create %s", path);
            int r = envmgr_engine_image_save(c->engine, id, file_sink_cb, &s, err);
            if (fclose(s.f) != 0 && r == 0)
                r = envmgr_error_errno(err, errno, "write %s", path);
            if (r < 0)
                return -1;
        }
    }
    *ref_out = envmgr_xstrdup(json_string_value(json_object_get(img, "ref")));
    return 0;
}

/* Every string: '$' doubled (the file is interpolated again when loaded), then each secret's value
 * replaced by ${NAME}. */
static json_t *unresolve_strings(json_t *j, const envmgr_project_t *p)
{
    if (json_is_string(j)) {
        envmgr_buf_t b = ENVMGR_BUF_INIT;
        envmgr_buf_adds(&b, "");
        for (const char *s = json_string_value(j); *s; s++)
            envmgr_buf_add(&b, *s == '$' ? "$$" : s, *s == '$' ? 2 : 1);
        for (size_t i = 0; i < p->secret_values.n; i++) {
            const char *v = p->secret_values.items[i].value;
            if (!v || !*v)
                continue;
            envmgr_cleanup_free char *ref =
                envmgr_xasprintf("${%s}", p->secret_values.items[i].key);
            envmgr_buf_t o = ENVMGR_BUF_INIT;
            envmgr_buf_adds(&o, "");
            const char *at = b.data, *hit;
            while ((hit = strstr(at, v)) != NULL) {
                envmgr_buf_add(&o, at, (size_t)(hit - at));
                envmgr_buf_adds(&o, ref);
                at = hit + strlen(v);
            }
            envmgr_buf_adds(&o, at);
            envmgr_buf_free(&b);
            b = o;
        }
        json_t *out = json_string(b.data);
        envmgr_buf_free(&b);
        return out;
    }
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) json_object_set_new(j, k, unresolve_strings(v, p));
    } else if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++)
            json_array_set_new(j, i, unresolve_strings(json_array_get(j, i), p));
    }
    return json_incref(j);
}

static int compose_save(create_t *c, json_t *refs, envmgr_error_t *err)
{
    envmgr_cleanup_json json_t *model = envmgr_project_to_json(c->project, false);
    envmgr_cleanup_json json_t *j = json_deep_copy(model);
    json_t *services = json_object_get(j, "services");
    const char *name;
    json_t *s;
    size_t k;
    json_t *gone;
    json_array_foreach(json_object_get(c->manifest, "omitted"), k, gone)
    {
        json_object_del(services, json_string_value(gone));
        json_object_foreach(services, name, s)
            json_object_del(json_object_get(s, "depends_on"), json_string_value(gone));
    }
    json_object_foreach(services, name, s)
    {
        json_object_del(s, "build");
        json_t *ref = json_object_get(refs, name);
        if (ref)
            json_object_set(s, "image", ref);
        json_t *vols = json_object_get(s, "volumes");
        for (size_t i = 0; i < json_array_size(vols); i++) {
            json_t *v = json_array_get(vols, i);
            const char *type = json_string_value(json_object_get(v, "type"));
            const char *src = json_string_value(json_object_get(v, "source"));
            if (!type || strcmp(type, "bind") != 0 || !src)
                continue;
            envmgr_cleanup_free char *rel = envmgr_xasprintf("mounts/%s/%zu", name, i);
            envmgr_cleanup_free char *dst = envmgr_xasprintf("%s/%s", c->dir, rel);
            envmgr_cleanup_free char *parent = envmgr_xasprintf("%s/mounts/%s", c->dir, name);
            if (envmgr_mkdir_p(parent, 0755, err) < 0 || bun_copy_tree(src, dst, err) < 0)
                return envmgr_error_wrap(err, "service %s: bind mount %s", name, src);
            envmgr_cleanup_free char *dot = envmgr_xasprintf("./%s", rel);
            json_object_set_new(v, "source", json_string(dot));
        }
    }
    json_t *x = json_object_get(j, "x-envtest");
    if (x) {
        json_object_del(x, "fixtures"); /* the state is restored instead */
        json_t *suites = json_object_get(x, "suites");
        for (size_t i = 0; i < json_array_size(suites); i++) {
            json_t *su = json_array_get(suites, i);
            const char *path = json_string_value(json_object_get(su, "path"));
            if (path && path[0] != '/') {
                envmgr_cleanup_free char *abs = envmgr_xasprintf("%s/%s", c->project->dir, path);
                json_object_set_new(su, "path", json_string(abs));
            }
        }
    }
    envmgr_cleanup_json json_t *safe = unresolve_strings(j, c->project);
    bun_unpin_project_names(safe); /* restored under another project: its own network, volumes */
    return bun_write_json(c->dir, "compose.json", safe, err);
}

static int logs_save(create_t *c, const char *service, const char *container_id,
                     envmgr_error_t *err)
{
    envmgr_cleanup_free char *parent = envmgr_xasprintf("%s/logs", c->dir);
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/%s.log", parent, service);
    if (envmgr_mkdir_p(parent, 0755, err) < 0)
        return -1;
    struct file_sink s = {.f = fopen(path, "we")};
    if (!s.f)
        return envmgr_error_errno(err, errno, "create %s", path);
    int r = envmgr_engine_container_logs(c->engine, container_id, -1, false, true, file_sink_cb, &s,
                                         err);
    if (fclose(s.f) != 0 && r == 0)
        r = envmgr_error_errno(err, errno, "write %s", path);
    return r;
}

static int fixtures_save(create_t *c, envmgr_error_t *err)
{
    envmgr_cleanup_free char *filter =
        envmgr_xasprintf("%s=%s", ENVMGR_LABEL_PROJECT, c->project->name);
    envmgr_cleanup_json json_t *vols = NULL;
    if (envmgr_engine_volume_list(c->engine, filter, &vols, err) < 0)
        return -1;
    json_t *fixtures = json_object();
    size_t i;
    json_t *v;
    size_t plen = strlen(ENVMGR_LABEL_FIXTURE_PREFIX);
    json_array_foreach(vols, i, v)
    {
        const char *k;
        json_t *val;
        json_object_foreach(json_object_get(v, "Labels"), k, val)
        {
            if (strncmp(k, ENVMGR_LABEL_FIXTURE_PREFIX, plen) == 0)
                json_object_set(fixtures, k + plen, val);
        }
    }
    json_object_set_new(c->manifest, "fixtures", fixtures);
    return 0;
}

/* The run's reports, and which suites failed there (report.json). */
static int run_save(create_t *c, envmgr_error_t *err)
{
    json_t *failed = json_array();
    json_object_set_new(c->manifest, "failed_suites", failed);
    if (!c->opts->run_dir)
        return 0;
    envmgr_cleanup_free char *dst = envmgr_xasprintf("%s/run", c->dir);
    if (bun_copy_tree(c->opts->run_dir, dst, err) < 0)
        return envmgr_error_wrap(err, "run reports");
    envmgr_cleanup_free char *rp = envmgr_xasprintf("%s/report.json", dst);
    envmgr_error_t ignored = {0};
    envmgr_cleanup_json json_t *report = bun_read_json(rp, &ignored);
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(report, "suites"), i, s)
    {
        const char *status = json_string_value(json_object_get(s, "status"));
        const char *name = json_string_value(json_object_get(s, "name"));
        if (name && status && strcmp(status, "passed") != 0 && strcmp(status, "flaky") != 0 &&
            strcmp(status, "skipped") != 0)
            json_array_append_new(failed, json_string(name));
    }
    json_object_set(c->manifest, "run_id", json_object_get(report, "run_id"));
    return 0;
}

static int secrets_save(create_t *c, envmgr_error_t *err)
{
    json_t *names = json_array();
    for (size_t i = 0; i < c->project->secret_values.n; i++)
        json_array_append_new(names, json_string(c->project->secret_values.items[i].key));
    json_object_set_new(
        c->manifest, "secrets",
        json_pack("{s:o,s:b}", "names", names, "encrypted", c->opts->passphrase != NULL));
    if (!c->opts->passphrase)
        return 0;
    envmgr_cleanup_json json_t *values = json_object();
    for (size_t i = 0; i < c->project->secret_values.n; i++)
        if (c->project->secret_values.items[i].value)
            json_object_set_new(values, c->project->secret_values.items[i].key,
                                json_string(c->project->secret_values.items[i].value));
    envmgr_cleanup_free char *plain = json_dumps(values, JSON_COMPACT);
    envmgr_buf_t enc = ENVMGR_BUF_INIT;
    int r = envmgr_bundle_encrypt(c->opts->passphrase, plain, strlen(plain), &enc, err);
    memset(plain, 0, strlen(plain));
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/secrets.enc", c->dir);
    if (r == 0)
        r = envmgr_write_file(path, enc.data, enc.len, err);
    envmgr_buf_free(&enc);
    return r;
}

static int create_in(create_t *c, envmgr_error_t *err)
{
    if (envmgr_live_targets_get(c->engine, c->project, &c->live, err) < 0)
        return envmgr_error_wrap(err, "bundle: %s is not up", c->project->name);
    envmgr_cleanup_json json_t *refs = json_object();
    for (size_t i = 0; i < c->project->n_services; i++) {
        const envmgr_service_t *svc = &c->project->services[i];
        const envmgr_fixture_service_t *ls = live_service(c, svc->name);
        if (!ls || !ls->container_id) { /* not up (e.g. `up SERVICE...`): not in the bundle */
            json_array_append_new(json_object_get(c->manifest, "omitted"), json_string(svc->name));
            continue;
        }
        char *ref = NULL;
        if (image_save(c, svc->name, ls->container_id, &ref, err) < 0)
            return envmgr_error_wrap(err, "bundle: service %s: image", svc->name);
        json_object_set_new(refs, svc->name, json_string(ref));
        free(ref);
        progress(c, svc->name, ENVMGR_PHASE_LOADING);
        bun_service_t bs = {.name = svc->name,
                            .container_id = ls->container_id,
                            .base_url = ls->base_url,
                            .mysql = c->live.mysql_container_id &&
                                     strcmp(c->live.mysql_container_id, ls->container_id) == 0};
        json_t *kinds = json_array();
        json_object_set_new(c->services, svc->name,
                            json_pack("{s:o,s:s}", "state", kinds, "image",
                                      json_string_value(json_object_get(refs, svc->name))));
        if (bun_state_save(c->engine, &bs, c->dir, kinds, err) < 0 ||
            logs_save(c, svc->name, ls->container_id, err) < 0)
            return envmgr_error_wrap(err, "bundle");
        progress(c, svc->name, ENVMGR_PHASE_LOADED);
    }
    if (compose_save(c, refs, err) < 0 || fixtures_save(c, err) < 0 || run_save(c, err) < 0 ||
        secrets_save(c, err) < 0)
        return envmgr_error_wrap(err, "bundle");
    return bun_write_json(c->dir, "manifest.json", c->manifest, err);
}

int envmgr_bundle_create(envmgr_engine_t *engine, const envmgr_project_t *project,
                         const envmgr_bundle_create_options_t *opts, envmgr_error_t *err)
{
    envmgr_cleanup_free char *staging = envmgr_xasprintf("%s.staging-XXXXXX", opts->output);
    if (!mkdtemp(staging))
        return envmgr_error_errno(err, errno, "create %s", staging);
    char created[32];
    time_t now = time(NULL);
    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    create_t c = {.engine = engine, .project = project, .opts = opts, .dir = staging};
    c.services = json_object();
    c.images = json_object();
    c.manifest = json_pack("{s:s,s:s,s:s,s:O,s:O,s:[]}", "format", ENVMGR_BUNDLE_FORMAT, "project",
                           project->name, "created", created, "services", c.services, "images",
                           c.images, "omitted");
    int r = create_in(&c, err);
    if (r == 0)
        r = bun_archive_write(staging, opts->output, err);
    envmgr_error_t ignored = {0};
    envmgr_bundle_remove_tree(staging, &ignored);
    envmgr_live_targets_free(&c.live);
    json_decref(c.services);
    json_decref(c.images);
    json_decref(c.manifest);
    return r;
}
