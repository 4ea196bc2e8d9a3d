/* envmgr_fixture_pack: a directory into a deterministic tar.gz (manifest first, then members in
 * byte order; mtime 0, uid/gid 0, no gzip timestamp), so the same inputs give the same digest. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture_internal.h"

static int collect_files(const char *root, const char *rel, envmgr_strv_t *out, int depth,
                         envmgr_error_t *err)
{
    cleanup_free char *dir = rel[0] ? xasprintf("%s/%s", root, rel) : xstrdup(root);
    if (depth > 32)
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s: nested too deeply", dir);
    DIR *d = opendir(dir);
    if (d == NULL)
        return envmgr_error_errno(err, errno, "pack: open directory `%s`", dir);
    int r = 0;
    struct dirent *de;
    while (r == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        cleanup_free char *relpath =
            rel[0] ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
        cleanup_free char *full = xasprintf("%s/%s", root, relpath);
        struct stat st;
        if (lstat(full, &st) < 0)
            r = envmgr_error_errno(err, errno, "pack: stat `%s`", full);
        else if (S_ISDIR(st.st_mode))
            r = collect_files(root, relpath, out, depth + 1, err);
        else if (S_ISREG(st.st_mode))
            envmgr_strv_push(out, relpath);
        else
            r = envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                 "pack: `%s` is not a regular file (links and devices are not "
                                 "packed)",
                                 full);
    }
    closedir(d);
    return r;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int member_in_list(void *ud, const char *member, int line)
{
    void **args = ud;
    envmgr_strv_t *files = args[0];
    envmgr_error_t *err = args[1];
    for (size_t i = 0; i < files->n; i++)
        if (strcmp(files->items[i], member) == 0)
            return 0;
    return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                            "pack: manifest line %d names `%s`, which is not in the directory",
                            line, member);
}

/* Appends a member the manifest names to the packing order, once. */
static int order_member(void *ud, const char *member, int line)
{
    envmgr_strv_t *order = ud;
    for (size_t i = 0; i < order->n; i++)
        if (strcmp(order->items[i], member) == 0)
            return 0;
    envmgr_strv_push(order, member);
    return 0;
}

static int add_file(struct archive *a, const char *root, const char *rel, envmgr_error_t *err)
{
    cleanup_free char *full = xasprintf("%s/%s", root, rel);
    cleanup_close int fd = open(full, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return envmgr_error_errno(err, errno, "pack: open `%s`", full);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, rel);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, st.st_size);
    archive_entry_set_mtime(e, 0, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    int r = archive_write_header(a, e) == ARCHIVE_OK ? 0 : -1;
    archive_entry_free(e);
    char *buf = xmalloc(1 << 16);
    ssize_t n = 0;
    while (r == 0 && (n = read(fd, buf, 1 << 16)) > 0)
        if (archive_write_data(a, buf, (size_t)n) != n)
            r = -1;
    free(buf);
    if (n < 0)
        return envmgr_error_errno(err, errno, "pack: read `%s`", full);
    if (r < 0)
        return envmgr_error_set(err, ENVMGR_E_SYSTEM, archive_errno(a), "pack: %s: %s", rel,
                                archive_error_string(a));
    return 0;
}

static int write_archive(const char *dir, const envmgr_strv_t *files, const char *manifest,
                         const char *tmp, envmgr_error_t *err)
{
    if (envmgr_dl_archive(err) < 0)
        return -1;
    struct archive *a = archive_write_new();
    archive_write_add_filter_gzip(a);
    archive_write_set_format_pax_restricted(a);
    archive_write_set_options(a, "gzip:!timestamp");
    int r = 0;
    if (archive_write_open_filename(a, tmp) != ARCHIVE_OK)
        r = envmgr_error_set(err, ENVMGR_E_SYSTEM, archive_errno(a), "pack: create `%s`: %s", tmp,
                             archive_error_string(a));
    if (r == 0)
        r = add_file(a, dir, manifest, err);
    for (size_t i = 0; i < files->n && r == 0; i++)
        if (strcmp(files->items[i], manifest) != 0)
            r = add_file(a, dir, files->items[i], err);
    if (archive_write_close(a) != ARCHIVE_OK && r == 0)
        r = envmgr_error_set(err, ENVMGR_E_SYSTEM, archive_errno(a), "pack: write `%s`: %s", tmp,
                             archive_error_string(a));
    archive_write_free(a);
    return r;
}

int envmgr_fixture_pack(const char *dir, const char *out_path, envmgr_error_t *err)
{
    envmgr_strv_t files = {0};
    int r = collect_files(dir, "", &files, 0, err);
    const char *manifest = NULL;
    for (size_t i = 0; r == 0 && i < files.n; i++)
        if (strcmp(files.items[i], ENVMGR_FIXTURE_MANIFEST_YAML) == 0 ||
            strcmp(files.items[i], ENVMGR_FIXTURE_MANIFEST_JSON) == 0)
            manifest = files.items[i];
    if (r == 0 && manifest == NULL)
        r = envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "pack: `%s` has no %s (or %s)", dir,
                             ENVMGR_FIXTURE_MANIFEST_YAML, ENVMGR_FIXTURE_MANIFEST_JSON);
    fx_manifest_t *m = NULL;
    if (r == 0) {
        cleanup_free char *path = xasprintf("%s/%s", dir, manifest);
        cleanup_free char *data = NULL;
        size_t len;
        r = envmgr_read_file(path, &data, &len, err);
        if (r == 0)
            r = fx_manifest_parse(data, len, strstr(manifest, ".yaml") != NULL, path, &m, err);
    }
    if (r == 0) {
        qsort(files.items, files.n, sizeof(*files.items), cmp_str);
        void *args[2] = {&files, err};
        r = fx_manifest_members(m, member_in_list, args);
    }
    /* The manifest first, then the members in the order the steps use them, then the rest
     * (sorted): a load then reads the archive front to back, once. */
    envmgr_strv_t order = {0};
    if (r == 0) {
        fx_manifest_members(m, order_member, &order);
        for (size_t i = 0; i < files.n; i++)
            order_member(&order, files.items[i], 0);
    }
    fx_manifest_free(m);
    cleanup_free char *tmp = xasprintf("%s.tmp.%d", out_path, (int)getpid());
    if (r == 0)
        r = write_archive(dir, &order, manifest, tmp, err);
    envmgr_strv_free(&order);
    if (r == 0 && rename(tmp, out_path) < 0)
        r = envmgr_error_errno(err, errno, "pack: rename to `%s`", out_path);
    if (r < 0)
        unlink(tmp);
    envmgr_strv_free(&files);
    return r;
}
