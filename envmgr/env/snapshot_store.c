/* The snapshot folder: one folder per key, complete once meta.json is written. Plain files rather
 * than engine images or volumes: a tmpfs data folder (the Seoul MySQL's) is in neither a committed
 * image nor a volume; files stream straight into the restore request, work the same with a remote
 * engine or Podman, survive an engine prune, and are listed and removed without the engine. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include "snapshot_internal.h"

char *envmgr_snapshot_dir(void)
{
    const char *dir = getenv("ENVTEST_SNAPSHOT_DIR");
    if (dir && *dir)
        return envmgr_xstrdup(dir);
    const char *cache = getenv("XDG_CACHE_HOME");
    if (cache && *cache)
        return envmgr_xasprintf("%s/envtest/snapshots", cache);
    const char *home = getenv("HOME");
    return envmgr_xasprintf("%s/.cache/envtest/snapshots", home && *home ? home : "/tmp");
}

char *snap_path(const char *key, const char *file)
{
    envmgr_cleanup_free char *dir = envmgr_snapshot_dir();
    return file ? envmgr_xasprintf("%s/%s/%s", dir, key, file)
                : envmgr_xasprintf("%s/%s", dir, key);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static int remove_tree(const char *path)
{
    if (access(path, F_OK) < 0)
        return 0;
    return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void snap_discard(const char *key)
{
    envmgr_cleanup_free char *dir = snap_path(key, NULL);
    remove_tree(dir);
}

int snap_begin(const char *staging, envmgr_error_t *err)
{
    envmgr_cleanup_free char *dir = snap_path(staging, NULL);
    if (remove_tree(dir) < 0)
        return envmgr_error_errno(err, errno, "remove the unfinished snapshot %s", dir);
    return envmgr_mkdir_p(dir, 0700, err);
}

int snap_commit(const char *staging, const char *key, const json_t *meta, envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = snap_path(staging, SNAP_META_FILE);
    if (json_dump_file(meta, path, JSON_INDENT(1) | JSON_SORT_KEYS) < 0)
        return envmgr_error_set(err, ENVMGR_E_SYSTEM, 0, "cannot write %s", path);
    envmgr_cleanup_free char *from = snap_path(staging, NULL);
    envmgr_cleanup_free char *to = snap_path(key, NULL);
    if (chmod(path, 0600) < 0)
        return envmgr_error_errno(err, errno, "chmod %s", path);
    if (rename(from, to) < 0) {
        if (errno == ENOTEMPTY || errno == EEXIST) { /* another up saved it meanwhile */
            remove_tree(from);
            return 0;
        }
        return envmgr_error_errno(err, errno, "rename %s to %s", from, to);
    }
    return 0;
}

int snap_meta_read(const char *key, json_t **out, envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = snap_path(key, SNAP_META_FILE);
    if (access(path, F_OK) < 0)
        return envmgr_error_set(err, ENVMGR_E_NOT_FOUND, 0, "no snapshot %s", key);
    json_error_t je;
    json_t *meta = json_load_file(path, 0, &je);
    if (!json_is_object(meta)) {
        json_decref(meta);
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s:%d: %s", path, je.line,
                                je.text[0] ? je.text : "not a JSON object");
    }
    if (json_integer_value(json_object_get(meta, "format")) != ENVMGR_SNAPSHOT_FORMAT) {
        json_decref(meta);
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s: format: expected %d", path,
                                ENVMGR_SNAPSHOT_FORMAT);
    }
    *out = meta;
    return 0;
}

void snap_touch(const char *key)
{
    envmgr_cleanup_free char *path = snap_path(key, SNAP_META_FILE);
    utime(path, NULL);
}

/* <key> (64 hex digits) or a staging folder <key>.<pid>.tmp */
static bool is_key(const char *name)
{
    size_t n = strspn(name, "0123456789abcdef");
    if (n != 64)
        return false;
    size_t len = strlen(name);
    return len == 64 || (len > 68 && strcmp(name + len - 4, ".tmp") == 0);
}

static uint64_t tree_size(const char *dir)
{
    uint64_t size = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        envmgr_cleanup_free char *p = envmgr_xasprintf("%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISREG(st.st_mode))
            size += (uint64_t)st.st_blocks * 512;
    }
    closedir(d);
    return size;
}

static void info_fill(envmgr_snapshot_info_t *info, const char *name)
{
    memset(info, 0, sizeof(*info));
    snprintf(info->key, sizeof(info->key), "%.64s", name);
    info->folder = envmgr_xstrdup(name);
    envmgr_cleanup_free char *dir = snap_path(name, NULL);
    envmgr_cleanup_free char *meta_path = snap_path(name, SNAP_META_FILE);
    info->size = tree_size(dir);
    struct stat st;
    if (stat(dir, &st) == 0)
        info->created_ms = info->used_ms = (int64_t)st.st_mtime * 1000;
    json_t *meta = NULL;
    envmgr_error_t ignored = {0};
    if (strlen(name) != 64 || snap_meta_read(name, &meta, &ignored) < 0)
        return;
    info->complete = true;
    info->service = envmgr_xstrdup(json_string_value(json_object_get(meta, "service")) ?: "?");
    info->image = envmgr_xstrdup(json_string_value(json_object_get(meta, "image")) ?: "?");
    info->project = envmgr_xstrdup(json_string_value(json_object_get(meta, "project")) ?: "?");
    info->created_ms = json_integer_value(json_object_get(meta, "created_ms"));
    if (stat(meta_path, &st) == 0)
        info->used_ms = (int64_t)st.st_mtime * 1000;
    envmgr_buf_t fx = ENVMGR_BUF_INIT;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(meta, "fixtures"), i, f) envmgr_buf_addf(
        &fx, "%s%s@%.12s", i ? ", " : "", json_string_value(json_object_get(f, "name")) ?: "?",
        json_string_value(json_object_get(f, "digest")) ?: "?");
    info->fixtures = envmgr_buf_detach(&fx);
    json_decref(meta);
}

static int by_use(const void *a, const void *b)
{
    const envmgr_snapshot_info_t *x = a, *y = b;
    return x->used_ms < y->used_ms ? 1 : x->used_ms > y->used_ms ? -1 : strcmp(x->key, y->key);
}

int envmgr_snapshot_list(envmgr_snapshot_info_t **out, size_t *n, envmgr_error_t *err)
{
    *out = NULL;
    *n = 0;
    envmgr_cleanup_free char *dir = envmgr_snapshot_dir();
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : envmgr_error_errno(err, errno, "open %s", dir);
    envmgr_snapshot_info_t *list = NULL;
    size_t cap = 0, count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_key(e->d_name))
            continue;
        list = envmgr_xgrow(list, count, &cap, sizeof(*list));
        info_fill(&list[count++], e->d_name);
    }
    closedir(d);
    if (count)
        qsort(list, count, sizeof(*list), by_use);
    *out = list;
    *n = count;
    return 0;
}

void envmgr_snapshot_list_free(envmgr_snapshot_info_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(list[i].service);
        free(list[i].image);
        free(list[i].project);
        free(list[i].fixtures);
        free(list[i].folder);
    }
    free(list);
}

int envmgr_snapshot_remove(const char *key, char removed[65], envmgr_error_t *err)
{
    size_t len = strlen(key);
    if (len < 4 || len > 64 || strspn(key, "0123456789abcdef") != len)
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                "%s: a snapshot key is 4 to 64 lowercase hex digits "
                                "(see `envtest snapshot ls`)",
                                key);
    envmgr_snapshot_info_t *list = NULL;
    size_t n = 0;
    if (envmgr_snapshot_list(&list, &n, err) < 0)
        return -1;
    envmgr_buf_t matches = ENVMGR_BUF_INIT;
    size_t found = 0, at = 0;
    for (size_t i = 0; i < n; i++)
        if (list[i].complete && strncmp(list[i].key, key, len) == 0) {
            envmgr_buf_addf(&matches, "%s%.12s", found ? ", " : "", list[i].key);
            at = i;
            found++;
        }
    int r = 0;
    if (found == 0)
        r = envmgr_error_set(err, ENVMGR_E_NOT_FOUND, 0, "no snapshot %s", key);
    else if (found > 1)
        r = envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                             "%s names %zu snapshots (%s): give more digits", key, found,
                             matches.data);
    if (r == 0) {
        envmgr_cleanup_free char *dir = snap_path(list[at].folder, NULL);
        if (remove_tree(dir) < 0)
            r = envmgr_error_errno(err, errno, "remove %s", dir);
        else
            memcpy(removed, list[at].key, 65);
    }
    envmgr_buf_free(&matches);
    envmgr_snapshot_list_free(list, n);
    return r;
}

int envmgr_snapshot_prune(int64_t older_than_ms, size_t *removed, uint64_t *freed,
                          envmgr_error_t *err)
{
    *removed = 0;
    *freed = 0;
    envmgr_snapshot_info_t *list = NULL;
    size_t n = 0;
    if (envmgr_snapshot_list(&list, &n, err) < 0)
        return -1;
    int64_t now = envmgr_wall_now_ms();
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        /* an unfinished one may be a save in progress: left alone for an hour */
        bool stale = list[i].complete ? older_than_ms < 0 || now - list[i].used_ms > older_than_ms
                                      : older_than_ms < 0 || now - list[i].used_ms > 3600000;
        if (!stale)
            continue;
        envmgr_cleanup_free char *dir = snap_path(list[i].folder, NULL);
        if (remove_tree(dir) < 0) {
            r = envmgr_error_errno(err, errno, "remove %s", dir);
            break;
        }
        (*removed)++;
        *freed += list[i].size;
    }
    envmgr_snapshot_list_free(list, n);
    return r;
}
