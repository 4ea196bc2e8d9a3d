/* State snapshots at `up` (see <envmgr/snapshot.h>): the plan made before the services start, the
 * container of the MySQL service created with a snapshot's data put in, and after the services are
 * up either the check of the restored data (and the mocks' state put back through their admin
 * APIs, snapshot_mocks.c) or the fixtures loaded and then saved. A fixture with a step whose
 * result no snapshot holds (a copy step, an http step outside a mock's /__admin/) is loaded as
 * before. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "project.h"
#include "snapshot_internal.h"
#include <envmgr/env.h>
#include <envmgr/fixture.h>
#include <envmgr/log.h>

struct envmgr_snapshot_plan {
    const envmgr_service_t *service; /* the MySQL service */
    envmgr_strv_t names, digests;    /* per fixture archive */
    char key[65];
    bool keyed;    /* key computed (the service's container was created by this up) */
    bool restored; /* its data was put in from the snapshot */
    bool init;     /* an init snapshot: no fixtures, the server's initialized, empty data */
    json_t *meta;  /* of the snapshot restored */
    char *image;   /* the service's image reference */
};

static bool is_database(const envmgr_service_t *s)
{
    bool port = false;
    for (size_t i = 0; i < s->n_ports; i++)
        port = port || s->ports[i].container_port == ENVMGR_MYSQL_PORT;
    static const char *const names[] = {
        "MYSQL_ROOT_PASSWORD",       "MYSQL_USER",   "MYSQL_DATABASE",
        "MARIADB_ROOT_PASSWORD",     "MARIADB_USER", "MARIADB_DATABASE",
        "MYSQL_ALLOW_EMPTY_PASSWORD"};
    bool env = false;
    for (size_t i = 0; i < ENVMGR_ARRAY_SIZE(names); i++)
        env = env || envmgr_kvlist_find(&s->environment, names[i]);
    return port && env;
}

/* NULL when the service's data can be snapshotted, else why not. */
static const char *service_unsupported(const envmgr_service_t *s)
{
    if (s->user)
        return "it runs as another user (user:)";
    for (size_t i = 0; i < s->n_mounts; i++)
        if (strcmp(s->mounts[i].target, SNAP_DATADIR) == 0 &&
            s->mounts[i].type != ENVMGR_MOUNT_TMPFS && s->mounts[i].source)
            return "its data folder is a named volume or a bind mount (kept between ups)";
    for (size_t i = 0; i < s->command.n; i++)
        if (strstr(s->command.items[i], "datadir") || strstr(s->command.items[i], "init-file") ||
            strstr(s->command.items[i], "init_file"))
            return "its command sets the data folder or an init file";
    return NULL;
}

void envmgr_snapshot_plan_free(envmgr_snapshot_plan_t *plan)
{
    if (!plan)
        return;
    envmgr_strv_free(&plan->names);
    envmgr_strv_free(&plan->digests);
    json_decref(plan->meta);
    free(plan->image);
    free(plan);
}

/* Every step of the fixture puts state where a snapshot holds it: MySQL, the mocks' admin APIs
 * (http steps to /__admin/...), a vector collection (documents steps). */
static int fixture_snapshottable(envmgr_fixture_t *fixture, bool *ok, envmgr_error_t *err)
{
    envmgr_cleanup_json json_t *doc = NULL;
    if (envmgr_fixture_inspect(fixture, &doc, err) < 0)
        return -1;
    *ok = true;
    size_t i;
    json_t *step;
    json_array_foreach(json_object_get(doc, "steps"), i, step)
    {
        const char *type = json_string_value(json_object_get(step, "type")) ?: "";
        const char *path = json_string_value(json_object_get(step, "path")) ?: "";
        bool held = strcmp(type, "mysql") == 0 || strcmp(type, "documents") == 0 ||
                    (strcmp(type, "http") == 0 && strncmp(path, "/__admin/", 9) == 0);
        if (!held)
            envmgr_debug("snapshot: fixture %s: step %zu (%s) is not one a snapshot holds",
                         envmgr_fixture_name(fixture), i + 1, type);
        *ok = *ok && held;
    }
    return 0;
}

/* A fixture's name, digest and whether a snapshot can hold it, remembered per file (path, size,
 * inode, modification and change times) in <dir>/fixture-digests.json: the digest of the
 * 1,000,000-row archive is a second of reading, more than a restore. */
static json_t *digest_cache_read(void)
{
    envmgr_cleanup_free char *dir = envmgr_snapshot_dir();
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/fixture-digests.json", dir);
    json_t *cache = json_load_file(path, 0, NULL);
    if (!json_is_object(cache)) {
        json_decref(cache);
        cache = json_object();
    }
    return cache;
}

static void digest_cache_write(const json_t *cache)
{
    envmgr_cleanup_free char *dir = envmgr_snapshot_dir();
    envmgr_error_t ignored = {0};
    if (envmgr_mkdir_p(dir, 0700, &ignored) < 0)
        return;
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/fixture-digests.json", dir);
    envmgr_cleanup_free char *tmp = envmgr_xasprintf("%s.%ld.tmp", path, (long)getpid());
    if (json_dump_file(cache, tmp, JSON_INDENT(1) | JSON_SORT_KEYS) == 0 && rename(tmp, path) == 0)
        return;
    unlink(tmp);
}

static char *file_stamp(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return NULL;
    return envmgr_xasprintf("%lld %llu %lld.%09ld %lld.%09ld", (long long)st.st_size,
                            (unsigned long long)st.st_ino, (long long)st.st_mtim.tv_sec,
                            st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

/* *entry: {"stamp","name","digest","ok"} of the fixture at full, from the cache or by opening it;
 * NULL when it cannot be opened (loading reports why). */
static int fixture_entry(json_t *cache, const char *full, bool *changed, json_t **entry,
                         envmgr_error_t *err)
{
    *entry = NULL;
    char resolved[PATH_MAX];
    envmgr_cleanup_free char *stamp = file_stamp(full);
    if (!stamp || !realpath(full, resolved))
        return 0;
    json_t *hit = json_object_get(cache, resolved);
    if (hit && strcmp(json_string_value(json_object_get(hit, "stamp")) ?: "", stamp) == 0 &&
        json_string_value(json_object_get(hit, "digest"))) {
        *entry = hit;
        return 0;
    }
    envmgr_fixture_t *fixture = NULL;
    envmgr_error_t open_err = {0};
    if (envmgr_fixture_open_streamed(full, NULL, &fixture, &open_err) < 0)
        return 0;
    bool ok = false;
    int r = fixture_snapshottable(fixture, &ok, err);
    if (r == 0) {
        json_object_set_new(cache, resolved,
                            json_pack("{s:s,s:s,s:s,s:b}", "stamp", stamp, "name",
                                      envmgr_fixture_name(fixture), "digest",
                                      envmgr_fixture_digest(fixture), "ok", ok));
        *entry = json_object_get(cache, resolved);
        *changed = true;
    }
    envmgr_fixture_free(fixture);
    return r;
}

int envmgr_snapshot_plan_make(envmgr_engine_t *engine, const envmgr_project_t *project,
                              envmgr_snapshot_plan_t **out, envmgr_error_t *err)
{
    *out = NULL;
    json_t *list = json_object_get(project->x_envtest, "fixtures");
    /* init snapshots only when asked for: with envtest/mysql-offline they measured no faster and
     * the first up of every key pays the save (README, "Init snapshots") */
    const char *init = getenv("ENVTEST_INIT_SNAPSHOT");
    if (json_array_size(list) == 0 && !(init && strcmp(init, "1") == 0))
        return 0;
    const char *host = envmgr_engine_host(engine);
    if (!host || strncmp(host, "unix://", 7) != 0) {
        envmgr_debug("snapshot: not with the remote engine %s", host ? host : "?");
        return 0;
    }
    const envmgr_service_t *db = NULL;
    for (size_t i = 0; i < project->n_services && !db; i++)
        if (is_database(&project->services[i]))
            db = &project->services[i];
    if (!db)
        return 0;
    const char *why = service_unsupported(db);
    if (why) {
        envmgr_debug("snapshot: not for service %s: %s", db->name, why);
        return 0;
    }
    envmgr_snapshot_plan_t *plan = envmgr_xcalloc(1, sizeof(*plan));
    plan->service = db;
    plan->image = envmgr_service_image(project, db);
    if (json_array_size(list) == 0) { /* the init snapshot */
        plan->init = true;
        *out = plan;
        return 0;
    }
    envmgr_cleanup_json json_t *cache = digest_cache_read();
    bool changed = false, ok = true;
    int r = 0;
    for (size_t i = 0; i < json_array_size(list) && ok && r == 0; i++) {
        json_t *item = json_array_get(list, i);
        const char *path = json_is_string(item) ? json_string_value(item)
                                                : json_string_value(json_object_get(item, "path"));
        if (!path) {
            ok = false; /* envmgr_fixtures_up says what is wrong */
            break;
        }
        envmgr_cleanup_free char *full =
            path[0] == '/' ? envmgr_xstrdup(path) : envmgr_xasprintf("%s/%s", project->dir, path);
        json_t *entry = NULL;
        r = fixture_entry(cache, full, &changed, &entry, err);
        ok = r == 0 && entry && json_is_true(json_object_get(entry, "ok"));
        if (ok) {
            envmgr_strv_push(&plan->names, json_string_value(json_object_get(entry, "name")));
            envmgr_strv_push(&plan->digests, json_string_value(json_object_get(entry, "digest")));
        }
    }
    if (changed)
        digest_cache_write(cache);
    if (r < 0 || !ok) {
        envmgr_snapshot_plan_free(plan);
        return r;
    }
    *out = plan;
    return 0;
}

/* text with every generated secret's value replaced by ${NAME} */
static char *mask_secrets(const envmgr_project_t *project, const char *text)
{
    char *s = envmgr_xstrdup(text);
    for (size_t i = 0; i < project->secret_values.n; i++) {
        const envmgr_kv_t *kv = &project->secret_values.items[i];
        if (!kv->value || strlen(kv->value) < 4)
            continue;
        envmgr_buf_t b = ENVMGR_BUF_INIT;
        envmgr_buf_adds(&b, "");
        size_t vl = strlen(kv->value);
        const char *p = s;
        for (const char *hit; (hit = strstr(p, kv->value)); p = hit + vl) {
            envmgr_buf_add(&b, p, (size_t)(hit - p));
            envmgr_buf_addf(&b, "${%s}", kv->key);
        }
        envmgr_buf_adds(&b, p);
        free(s);
        s = envmgr_buf_detach(&b);
    }
    return s;
}

static void hash_file(envmgr_sha256_t *h, const char *path)
{
    char *data = NULL;
    size_t len = 0;
    envmgr_error_t ignored = {0};
    if (envmgr_read_file(path, &data, &len, &ignored) == 0) {
        envmgr_sha256_update(h, path, strlen(path) + 1);
        envmgr_sha256_update(h, data, len);
    }
    free(data);
}

/* The bind-mounted files (one level of a folder): init scripts change what the data holds. */
static void hash_binds(envmgr_sha256_t *h, const envmgr_service_t *s)
{
    for (size_t i = 0; i < s->n_mounts; i++) {
        const envmgr_mount_t *m = &s->mounts[i];
        struct stat st;
        if (m->type != ENVMGR_MOUNT_BIND || stat(m->source, &st) < 0)
            continue;
        if (S_ISREG(st.st_mode)) {
            hash_file(h, m->source);
            continue;
        }
        struct dirent **names = NULL;
        int n = scandir(m->source, &names, NULL, alphasort);
        for (int k = 0; k < n; k++) {
            envmgr_cleanup_free char *p = envmgr_xasprintf("%s/%s", m->source, names[k]->d_name);
            if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
                hash_file(h, p);
            free(names[k]);
        }
        free(names);
    }
}

static void make_key(envmgr_snapshot_plan_t *plan, const envmgr_project_t *project,
                     const char *image_id)
{
    envmgr_sha256_t h;
    envmgr_sha256_init(&h);
    envmgr_cleanup_free char *head =
        envmgr_xasprintf("envtest-snapshot %d%s\n%s\n", ENVMGR_SNAPSHOT_FORMAT,
                         plan->init ? " init" : "", image_id ?: "");
    envmgr_sha256_update(&h, head, strlen(head));
    json_t *j = envmgr_service_to_json(plan->service);
    envmgr_cleanup_free char *text = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(j);
    envmgr_cleanup_free char *masked = mask_secrets(project, text ? text : "");
    envmgr_sha256_update(&h, masked, strlen(masked) + 1);
    hash_binds(&h, plan->service);
    /* the other services (the mocks the fixtures fill, and any that writes into MySQL): their
     * configuration and image reference (envtest's own images are tagged by their content) */
    for (size_t i = 0; i < project->n_services && !plan->init; i++) {
        const envmgr_service_t *other = &project->services[i];
        if (other == plan->service)
            continue;
        json_t *oj = envmgr_service_to_json(other);
        envmgr_cleanup_free char *image = envmgr_service_image(project, other);
        json_object_set_new(oj, "image_ref", json_string(image ? image : ""));
        envmgr_cleanup_free char *otext = json_dumps(oj, JSON_SORT_KEYS | JSON_COMPACT);
        json_decref(oj);
        envmgr_cleanup_free char *omasked = mask_secrets(project, otext ? otext : "");
        envmgr_sha256_update(&h, omasked, strlen(omasked) + 1);
    }
    for (size_t i = 0; i < plan->names.n; i++) {
        envmgr_cleanup_free char *line =
            envmgr_xasprintf("%s %s\n", plan->names.items[i], plan->digests.items[i]);
        envmgr_sha256_update(&h, line, strlen(line));
    }
    envmgr_sha256_final_hex(&h, plan->key);
    plan->keyed = true;
}

/* The snapshot of the key when it is complete, whole and for this image; else NULL (an unusable
 * one is removed, with a warning). */
static const char *fallback(const envmgr_snapshot_plan_t *plan)
{
    return plan->init ? "the image initializes the server" : "loading the fixtures";
}

static json_t *usable_snapshot(const envmgr_snapshot_plan_t *plan, envmgr_progress_cb progress,
                               void *userdata, const char *service)
{
    const char *key = plan->key;
    json_t *meta = NULL;
    envmgr_error_t err = {0};
    if (snap_meta_read(key, &meta, &err) < 0) {
        if (err.kind != ENVMGR_E_NOT_FOUND)
            envmgr_warn("snapshot %.12s unusable (%s): removed, %s", key, err.message,
                        fallback(plan));
        if (err.kind != ENVMGR_E_NOT_FOUND)
            snap_discard(key);
        return NULL;
    }
    envmgr_cleanup_free char *state = snap_path(key, SNAP_STATE_FILE);
    struct stat st;
    json_int_t size = json_integer_value(json_object_get(meta, "size"));
    if (stat(state, &st) < 0 || st.st_size != size) {
        envmgr_warn("snapshot %.12s unusable (%s is %s, %lld bytes expected): removed, %s", key,
                    state, access(state, F_OK) == 0 ? "of another size" : "missing",
                    (long long)size, fallback(plan));
        snap_discard(key);
        json_decref(meta);
        return NULL;
    }
    if (progress)
        progress(userdata, service, ENVMGR_PHASE_LOADING, 0, "state from a snapshot");
    return meta;
}

int envmgr_snapshot_container_create(envmgr_snapshot_plan_t *plan, envmgr_engine_t *engine,
                                     const envmgr_project_t *project, const envmgr_service_t *s,
                                     const char *name, json_t *config, const char *image_id,
                                     envmgr_progress_cb progress, void *userdata, char **id,
                                     envmgr_error_t *err)
{
    if (!plan || s != plan->service)
        return envmgr_engine_container_create_platform(engine, name, s->platform, config, id, err);
    make_key(plan, project, image_id);
    envmgr_cleanup_json json_t *image = NULL;
    envmgr_error_t lookup = {0};
    json_t *meta = NULL;
    if (envmgr_engine_image_inspect(engine, image_id, &image, &lookup) == 0)
        meta = usable_snapshot(plan, progress, userdata, s->name);
    if (!meta)
        return envmgr_engine_container_create_platform(engine, name, s->platform, config, id, err);
    envmgr_cleanup_json json_t *wrapped = json_deep_copy(config);
    envmgr_cleanup_free char *state = snap_path(plan->key, SNAP_STATE_FILE);
    char state_abs[PATH_MAX];
    if (!realpath(state, state_abs))
        snprintf(state_abs, sizeof(state_abs), "%s", state);
    snap_mysql_wrap_config(s, json_object_get(image, "Config"), state_abs, wrapped);
    if (envmgr_engine_container_create_platform(engine, name, s->platform, wrapped, id, err) < 0) {
        json_decref(meta);
        return -1;
    }
    envmgr_error_t put_err = {0};
    if (snap_mysql_put(engine, *id, project, meta, &put_err) == 0) {
        plan->restored = true;
        plan->meta = meta;
        return 0;
    }
    /* a snapshot that cannot be put in: the container as without one */
    json_decref(meta);
    envmgr_warn("snapshot %.12s not restored (%s): %s", plan->key, put_err.message, fallback(plan));
    if (envmgr_engine_container_remove(engine, *id, true, true, err) < 0)
        return -1;
    free(*id);
    *id = NULL;
    return envmgr_engine_container_create_platform(engine, name, s->platform, config, id, err);
}

static int save_mocks(envmgr_snapshot_plan_t *plan, envmgr_engine_t *engine,
                      const envmgr_project_t *project, const char *staging, json_t *meta,
                      envmgr_error_t *err)
{
    envmgr_live_targets_t live;
    if (envmgr_live_targets_get(engine, project, &live, err) < 0)
        return -1;
    json_t *mocks = NULL;
    int r = snap_mocks_save(&live, plan->service->name, &mocks, err);
    envmgr_live_targets_free(&live);
    envmgr_cleanup_free char *path = snap_path(staging, SNAP_MOCKS_FILE);
    if (r == 0 && json_object_size(mocks)) {
        if (json_dump_file(mocks, path, JSON_COMPACT) < 0)
            r = envmgr_error_set(err, ENVMGR_E_SYSTEM, 0, "cannot write %s", path);
        json_object_set_new(meta, "mocks", json_pack("[]"));
        const char *name;
        json_t *v;
        json_object_foreach(mocks, name, v)
            json_array_append_new(json_object_get(meta, "mocks"), json_string(name));
    }
    json_decref(mocks);
    return r;
}

static int restore_mocks(envmgr_snapshot_plan_t *plan, envmgr_engine_t *engine,
                         const envmgr_project_t *project, envmgr_error_t *err)
{
    if (json_array_size(json_object_get(plan->meta, "mocks")) == 0)
        return 0;
    envmgr_cleanup_free char *path = snap_path(plan->key, SNAP_MOCKS_FILE);
    json_error_t je;
    envmgr_cleanup_json json_t *mocks = json_load_file(path, 0, &je);
    if (!json_is_object(mocks))
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s:%d: %s", path, je.line,
                                je.text[0] ? je.text : "not a JSON object");
    envmgr_live_targets_t live;
    if (envmgr_live_targets_get(engine, project, &live, err) < 0)
        return -1;
    int r = snap_mocks_restore(&live, mocks, err);
    envmgr_live_targets_free(&live);
    return r;
}

static int save(envmgr_snapshot_plan_t *plan, envmgr_engine_t *engine,
                const envmgr_project_t *project, const char *container_id,
                envmgr_progress_cb progress, void *userdata, envmgr_error_t *err)
{
    int64_t t0 = envmgr_now_ms();
    /* made aside and renamed into place: two ups saving the same key do not mix */
    envmgr_cleanup_free char *staging = envmgr_xasprintf("%s.%ld.tmp", plan->key, (long)getpid());
    if (snap_begin(staging, err) < 0)
        return -1;
    json_t *meta =
        json_pack("{s:i,s:s,s:s,s:s,s:s,s:I}", "format", ENVMGR_SNAPSHOT_FORMAT, "key", plan->key,
                  "service", plan->service->name, "image", plan->image, "project", project->name,
                  "created_ms", (json_int_t)envmgr_wall_now_ms());
    json_t *fixtures = json_array();
    for (size_t i = 0; i < plan->names.n; i++)
        json_array_append_new(fixtures, json_pack("{s:s,s:s}", "name", plan->names.items[i],
                                                  "digest", plan->digests.items[i]));
    json_object_set_new(meta, "fixtures", fixtures);
    int r = snap_mysql_save(engine, container_id, project, (const char *const *)plan->digests.items,
                            plan->digests.n, staging, meta, err);
    if (plan->init)
        json_object_set_new(meta, "init", json_true());
    else if (r == 0)
        r = save_mocks(plan, engine, project, staging, meta, err);
    if (r == 0)
        r = snap_commit(staging, plan->key, meta, err);
    if (r < 0)
        snap_discard(staging);
    else if (progress) {
        char detail[160];
        snprintf(detail, sizeof(detail), "snapshot %.12s saved (%.1f MB)", plan->key,
                 (double)json_integer_value(json_object_get(meta, "size")) / 1e6);
        progress(userdata, plan->service->name, ENVMGR_PHASE_LOADED, envmgr_now_ms() - t0, detail);
    }
    json_decref(meta);
    return r;
}

static int restored_check(envmgr_snapshot_plan_t *plan, envmgr_engine_t *engine,
                          const envmgr_project_t *project, const char *container_id, bool *use,
                          envmgr_progress_cb progress, void *userdata, envmgr_error_t *err)
{
    envmgr_cleanup_free char *why = NULL;
    int r = plan->init
                ? snap_mysql_unpacked(engine, container_id, &why, err)
                : snap_mysql_check(engine, container_id, (const char *const *)plan->digests.items,
                                   plan->digests.n, plan->meta, &why, err);
    if (r < 0) { /* the data is there but not as saved: up fails, the snapshot goes */
        snap_discard(plan->key);
        envmgr_error_wrap(err, "service %s: snapshot %.12s (removed)", plan->service->name,
                          plan->key);
        return envmgr_error_hint(err, "run up again: it loads the fixtures and saves a new one");
    }
    if (r == 0) {
        envmgr_warn("snapshot %.12s could not be restored (%s): removed, %s", plan->key,
                    why ? why : "?",
                    plan->init ? "the image initialized the server" : fallback(plan));
        snap_discard(plan->key);
        *use = false;
        return 0;
    }
    if (restore_mocks(plan, engine, project, err) < 0) {
        snap_discard(plan->key);
        envmgr_error_wrap(err, "snapshot %.12s (removed): the mocks' state", plan->key);
        return envmgr_error_hint(err, "run up again: it loads the fixtures and saves a new one");
    }
    snap_touch(plan->key);
    *use = true;
    if (progress) {
        char detail[96];
        snprintf(detail, sizeof(detail), "state from snapshot %.12s", plan->key);
        progress(userdata, plan->service->name, ENVMGR_PHASE_LOADED, 0, detail);
    }
    return 0;
}

int envmgr_snapshot_service_ready(envmgr_snapshot_plan_t *plan, envmgr_engine_t *engine,
                                  const envmgr_project_t *project, const envmgr_service_t *s,
                                  const char *container_id, envmgr_progress_cb progress,
                                  void *userdata, envmgr_error_t *err)
{
    if (!plan || !plan->init || !plan->keyed || s != plan->service)
        return 0;
    if (plan->restored) {
        bool use = false;
        if (restored_check(plan, engine, project, container_id, &use, progress, userdata, err) < 0)
            return -1;
        if (use)
            return 0;
    }
    envmgr_error_t save_err = {0};
    if (save(plan, engine, project, container_id, progress, userdata, &save_err) < 0)
        envmgr_warn("no snapshot saved: %s", save_err.message);
    return 0;
}

int envmgr_snapshot_fixtures_up(envmgr_snapshot_plan_t *plan, envmgr_engine_t *engine,
                                const envmgr_project_t *project, envmgr_progress_cb progress,
                                void *userdata, envmgr_error_t *err)
{
    /* no snapshot, a container this up did not create, or an init snapshot (restored or saved
     * when the service turned healthy) */
    if (!plan || !plan->keyed || plan->init)
        return envmgr_fixtures_up(engine, project, progress, userdata, err);
    envmgr_cleanup_free char *container_id = NULL;
    if (envmgr_service_container(engine, project->name, plan->service->name, &container_id, err) <
        0)
        return -1;
    if (plan->restored) {
        bool use = false;
        if (restored_check(plan, engine, project, container_id, &use, progress, userdata, err) < 0)
            return -1;
        for (size_t i = 0; use && i < plan->names.n; i++) /* loaded, as a load marks them */
            if (envmgr_fixture_mark_loaded(engine, project->name, plan->names.items[i],
                                           plan->digests.items[i], container_id, err) < 0)
                return -1;
        if (use)
            return 0;
    }
    if (envmgr_fixtures_up(engine, project, progress, userdata, err) < 0)
        return -1;
    envmgr_error_t save_err = {0};
    if (save(plan, engine, project, container_id, progress, userdata, &save_err) < 0)
        envmgr_warn("no snapshot saved: %s", save_err.message);
    return 0;
}
