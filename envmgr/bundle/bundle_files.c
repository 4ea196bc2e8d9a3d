/* The bundle on disk: copying trees into the staging directory, writing it as a tar.zst
 * (libarchive, loaded on first use), unpacking and checking one, removing trees. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle_internal.h"
#include "dlib.h"

#define BUN_IO_CHUNK 65536

/* ---- trees ---------------------------------------------------------------------------------- */

static int copy_file(const char *src, const char *dst, mode_t mode, envmgr_error_t *err)
{
    envmgr_cleanup_close int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return envmgr_error_errno(err, errno, "open %s", src);
    envmgr_cleanup_close int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode & 0777);
    if (out < 0)
        return envmgr_error_errno(err, errno, "create %s", dst);
    char buf[BUN_IO_CHUNK];
    ssize_t n;
    while ((n = read(in, buf, sizeof(buf))) > 0) {
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0)
                return envmgr_error_errno(err, errno, "write %s", dst);
            off += w;
        }
    }
    if (n < 0)
        return envmgr_error_errno(err, errno, "read %s", src);
    return 0;
}

int bun_copy_tree(const char *src, const char *dst, envmgr_error_t *err)
{
    struct stat st;
    if (stat(src, &st) < 0) /* follows links: the copy holds what the container saw */
        return envmgr_error_errno(err, errno, "stat %s", src);
    if (S_ISREG(st.st_mode))
        return copy_file(src, dst, st.st_mode, err);
    if (!S_ISDIR(st.st_mode))
        return envmgr_error_set(err, ENVMGR_E_ENV, 0, "%s: neither a file nor a directory", src);
    if (envmgr_mkdir_p(dst, 0755, err) < 0)
        return -1;
    DIR *d = opendir(src);
    if (!d)
        return envmgr_error_errno(err, errno, "open directory %s", src);
    struct dirent *e;
    int r = 0;
    while (r == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        envmgr_cleanup_free char *s = envmgr_xasprintf("%s/%s", src, e->d_name);
        envmgr_cleanup_free char *t = envmgr_xasprintf("%s/%s", dst, e->d_name);
        r = bun_copy_tree(s, t, err);
    }
    closedir(d);
    return r;
}

static int remove_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

int envmgr_bundle_remove_tree(const char *path, envmgr_error_t *err)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : envmgr_error_errno(err, errno, "stat %s", path);
    if (nftw(path, remove_cb, 16, FTW_DEPTH | FTW_PHYS) < 0)
        return envmgr_error_errno(err, errno, "remove %s", path);
    return 0;
}

int bun_write_json(const char *dir, const char *rel, const json_t *doc, envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/%s", dir, rel);
    envmgr_cleanup_free char *parent = envmgr_xstrdup(path);
    *strrchr(parent, '/') = '\0';
    if (envmgr_mkdir_p(parent, 0755, err) < 0)
        return -1;
    if (json_dump_file(doc, path, JSON_INDENT(1) | JSON_SORT_KEYS) < 0)
        return envmgr_error_set(err, ENVMGR_E_SYSTEM, 0, "cannot write %s", path);
    return 0;
}

json_t *bun_read_json(const char *path, envmgr_error_t *err)
{
    json_error_t je;
    json_t *doc = json_load_file(path, 0, &je);
    if (!doc)
        envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s:%d:%d: %s", path, je.line, je.column,
                         je.text);
    return doc;
}

/* ---- writing -------------------------------------------------------------------------------- */

static int archive_fail(struct archive *a, const char *path, const char *what, envmgr_error_t *err)
{
    return envmgr_error_set(err, ENVMGR_E_SYSTEM, archive_errno(a), "write bundle %s: %s: %s", path,
                            what, archive_error_string(a));
}

static int add_entry(struct archive *a, const char *out_path, const char *rel, const char *full,
                     json_t *sums, envmgr_error_t *err)
{
    struct stat st;
    envmgr_cleanup_close int fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0)
        return envmgr_error_errno(err, errno, "open %s", full);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, rel);
    archive_entry_set_size(e, st.st_size);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, st.st_mode & 0755);
    archive_entry_set_mtime(e, st.st_mtime, 0);
    int r = archive_write_header(a, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK)
        return archive_fail(a, out_path, rel, err);
    envmgr_sha256_t md;
    envmgr_sha256_init(&md);
    char buf[BUN_IO_CHUNK];
    ssize_t n;
    int64_t total = 0;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        envmgr_sha256_update(&md, buf, (size_t)n);
        if (archive_write_data(a, buf, (size_t)n) != n)
            return archive_fail(a, out_path, rel, err);
        total += n;
    }
    if (n < 0)
        return envmgr_error_errno(err, errno, "read %s", full);
    if (total != st.st_size)
        return envmgr_error_set(err, ENVMGR_E_SYSTEM, 0, "%s changed while it was archived", full);
    char hex[65];
    envmgr_sha256_final_hex(&md, hex);
    if (sums)
        json_object_set_new(sums, rel,
                            json_pack("{s:s,s:I}", "sha256", hex, "size", (json_int_t)total));
    return 0;
}

int bun_archive_write(const char *dir, const char *path, envmgr_error_t *err)
{
    if (envmgr_dl_archive(err) < 0)
        return -1;
    envmgr_strv_t files = {0};
    envmgr_list_files(dir, false, &files, err); /* not strict: it cannot fail */
    envmgr_cleanup_free char *tmp = envmgr_xasprintf("%s.tmp", path);
    struct archive *a = archive_write_new();
    int r = 0;
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_add_filter_zstd(a) != ARCHIVE_OK ||
        archive_write_open_filename(a, tmp) != ARCHIVE_OK)
        r = archive_fail(a, path, "open", err);
    json_t *sums = json_object();
    envmgr_cleanup_free char *manifest = envmgr_xasprintf("%s/manifest.json", dir);
    if (r == 0)
        r = add_entry(a, path, "manifest.json", manifest, sums, err);
    for (size_t i = 0; r == 0 && i < files.n; i++) {
        if (strcmp(files.items[i], "manifest.json") == 0)
            continue;
        envmgr_cleanup_free char *full = envmgr_xasprintf("%s/%s", dir, files.items[i]);
        r = add_entry(a, path, files.items[i], full, sums, err);
    }
    if (r == 0) {
        envmgr_cleanup_json json_t *doc =
            json_pack("{s:s,s:O}", "format", ENVMGR_BUNDLE_FORMAT, "files", sums);
        r = bun_write_json(dir, "checksums.json", doc, err);
        envmgr_cleanup_free char *full = envmgr_xasprintf("%s/checksums.json", dir);
        if (r == 0)
            r = add_entry(a, path, "checksums.json", full, NULL, err);
    }
    if (r == 0 && archive_write_close(a) != ARCHIVE_OK)
        r = archive_fail(a, path, "close", err);
    archive_write_free(a);
    json_decref(sums);
    envmgr_strv_free(&files);
    if (r == 0 && rename(tmp, path) < 0)
        r = envmgr_error_errno(err, errno, "rename %s", tmp);
    if (r < 0)
        unlink(tmp);
    return r;
}

/* ---- reading -------------------------------------------------------------------------------- */

/* A member name the extraction may write: relative, no "..", no empty component. */
static bool safe_member(const char *p)
{
    if (!*p || p[0] == '/' || strlen(p) > 1024)
        return false;
    for (const char *c = p; *c;) {
        const char *slash = strchr(c, '/');
        size_t n = slash ? (size_t)(slash - c) : strlen(c);
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return false;
        c += n + (slash ? 1 : 0);
    }
    return true;
}

typedef struct extract {
    const char *path, *dir;
    envmgr_engine_t *engine;
    json_t *manifest;
    json_t *seen; /* rel -> {sha256, size} */
    json_t *checksums;
    char checksums_hex[65];
} extract_t;

/* images/<id>.tar whose image the engine has already: read through, not written. */
static bool image_present(extract_t *x, const char *rel)
{
    if (!x->engine || strncmp(rel, "images/", 7) != 0)
        return false;
    envmgr_cleanup_free char *id = envmgr_xstrdup(rel + 7);
    char *dot = strstr(id, ".tar");
    if (!dot)
        return false;
    *dot = '\0';
    envmgr_cleanup_free char *ref = envmgr_xasprintf("sha256:%s", id);
    json_t *info = NULL;
    envmgr_error_t ignored = {0};
    bool present = envmgr_engine_image_inspect(x->engine, ref, &info, &ignored) == 0;
    json_decref(info);
    return present;
}

static int extract_entry(extract_t *x, struct archive *a, const char *rel, envmgr_error_t *err)
{
    bool skip = image_present(x, rel);
    envmgr_cleanup_free char *full = envmgr_xasprintf("%s/%s", x->dir, rel);
    envmgr_cleanup_free char *parent = envmgr_xstrdup(full);
    *strrchr(parent, '/') = '\0';
    if (!skip && envmgr_mkdir_p(parent, 0755, err) < 0)
        return -1;
    envmgr_cleanup_close int fd =
        skip ? -1 : open(full, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (!skip && fd < 0)
        return envmgr_error_errno(err, errno, "create %s", full);
    envmgr_sha256_t md;
    envmgr_sha256_init(&md);
    char buf[BUN_IO_CHUNK];
    la_ssize_t n;
    int64_t total = 0;
    while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
        envmgr_sha256_update(&md, buf, (size_t)n);
        total += n;
        for (la_ssize_t off = 0; !skip && off < n;) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w < 0)
                return envmgr_error_errno(err, errno, "write %s", full);
            off += w;
        }
    }
    if (n < 0)
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "bundle %s: %s: %s (truncated?)", x->path,
                                rel, archive_error_string(a));
    char hex[65];
    envmgr_sha256_final_hex(&md, hex);
    json_object_set_new(x->seen, rel,
                        json_pack("{s:s,s:I}", "sha256", hex, "size", (json_int_t)total));
    if (strcmp(rel, "checksums.json") == 0)
        memcpy(x->checksums_hex, hex, sizeof(hex));
    return 0;
}

static int check_manifest(extract_t *x, envmgr_error_t *err)
{
    envmgr_cleanup_free char *p = envmgr_xasprintf("%s/manifest.json", x->dir);
    x->manifest = bun_read_json(p, err);
    if (!x->manifest)
        return envmgr_error_wrap(err, "bundle %s", x->path);
    const char *format = json_string_value(json_object_get(x->manifest, "format"));
    if (!format || strcmp(format, ENVMGR_BUNDLE_FORMAT) != 0)
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                "bundle %s: manifest.json: format is %s%s%s, expected %s", x->path,
                                format ? "'" : "", format ? format : "missing", format ? "'" : "",
                                ENVMGR_BUNDLE_FORMAT);
    return 0;
}

static int check_sums(extract_t *x, envmgr_error_t *err)
{
    envmgr_cleanup_free char *p = envmgr_xasprintf("%s/checksums.json", x->dir);
    envmgr_cleanup_json json_t *doc = bun_read_json(p, err);
    if (!doc)
        return envmgr_error_wrap(err, "bundle %s", x->path);
    json_t *files = json_object_get(doc, "files");
    if (!json_is_object(files))
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "bundle %s: checksums.json: no files",
                                x->path);
    const char *rel;
    json_t *want;
    json_object_foreach(files, rel, want)
    {
        json_t *got = json_object_get(x->seen, rel);
        if (!got)
            return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "bundle %s: %s is missing", x->path,
                                    rel);
        if (!json_equal(json_object_get(got, "sha256"), json_object_get(want, "sha256")) ||
            !json_equal(json_object_get(got, "size"), json_object_get(want, "size")))
            return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                    "bundle %s: %s does not match its checksum (damaged bundle)",
                                    x->path, rel);
    }
    if (json_object_size(x->seen) != json_object_size(files) + 1)
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                "bundle %s: holds entries that checksums.json does not list",
                                x->path);
    return 0;
}

static int extract_all(extract_t *x, envmgr_error_t *err)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_zstd(a);
    archive_read_support_format_tar(a);
    int r = 0;
    if (archive_read_open_filename(a, x->path, BUN_IO_CHUNK) != ARCHIVE_OK) {
        r = envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "bundle %s: %s", x->path,
                             archive_error_string(a));
        goto out;
    }
    struct archive_entry *e;
    bool first = true, done = false;
    int hr;
    while (r == 0 && (hr = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *rel = archive_entry_pathname(e);
        if (done) {
            r = envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                 "bundle %s: entry %s after checksums.json", x->path, rel);
            break;
        }
        if (!rel || !safe_member(rel) || archive_entry_filetype(e) != AE_IFREG) {
            r = envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                 "bundle %s: entry %s is not a plain relative file", x->path,
                                 rel ? rel : "(unnamed)");
            break;
        }
        if (first && strcmp(rel, "manifest.json") != 0) {
            r = envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                 "bundle %s: not an envtest bundle (first entry %s, expected "
                                 "manifest.json)",
                                 x->path, rel);
            break;
        }
        if (json_object_get(x->seen, rel)) {
            r = envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "bundle %s: entry %s appears twice",
                                 x->path, rel);
            break;
        }
        r = extract_entry(x, a, rel, err);
        if (r == 0 && first)
            r = check_manifest(x, err);
        first = false;
        done = strcmp(rel, "checksums.json") == 0;
    }
    if (r == 0 && hr != ARCHIVE_EOF)
        r = envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "bundle %s: %s (truncated?)", x->path,
                             archive_error_string(a));
    if (r == 0 && first)
        r = envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "bundle %s: empty archive", x->path);
    if (r == 0 && !done)
        r = envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                             "bundle %s: incomplete (no checksums.json at the end: truncated?)",
                             x->path);
    if (r == 0)
        r = check_sums(x, err);
out:
    archive_read_free(a);
    return r;
}

bool bun_unpin_project_names(json_t *compose)
{
    const char *project = json_string_value(json_object_get(compose, "name"));
    static const char *const kinds[] = {"networks", "volumes"};
    bool changed = false;
    for (size_t k = 0; project && k < 2; k++) {
        const char *key;
        json_t *v;
        json_object_foreach(json_object_get(compose, kinds[k]), key, v)
        {
            const char *name = json_string_value(json_object_get(v, "name"));
            size_t plen = strlen(project);
            if (name && !json_is_true(json_object_get(v, "external")) &&
                strncmp(name, project, plen) == 0 && name[plen] == '_' &&
                strcmp(name + plen + 1, key) == 0) {
                json_object_del(v, "name");
                changed = true;
            }
        }
    }
    return changed;
}

/* Bundles made before bun_unpin_project_names was applied at create time: the same, after the
 * checksums were verified. */
static int unpin_extracted(const char *dir, envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/compose.json", dir);
    envmgr_cleanup_json json_t *compose = bun_read_json(path, err);
    if (!compose)
        return -1;
    return bun_unpin_project_names(compose) ? bun_write_json(dir, "compose.json", compose, err) : 0;
}

/* A bind-mounted directory that was empty has no entry in the archive: made again. */
static int make_empty_mounts(const char *dir, envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/compose.json", dir);
    envmgr_cleanup_json json_t *compose = bun_read_json(path, err);
    if (!compose)
        return -1;
    const char *name;
    json_t *s;
    json_object_foreach(json_object_get(compose, "services"), name, s)
    {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(s, "volumes"), i, v)
        {
            const char *src = json_string_value(json_object_get(v, "source"));
            if (!src || strncmp(src, "./mounts/", 9) != 0 || !safe_member(src + 2))
                continue;
            envmgr_cleanup_free char *full = envmgr_xasprintf("%s/%s", dir, src + 2);
            if (access(full, F_OK) < 0 && envmgr_mkdir_p(full, 0755, err) < 0)
                return -1;
        }
    }
    return 0;
}

int envmgr_bundle_extract(const char *path, const char *dir, envmgr_engine_t *engine,
                          envmgr_bundle_t **out, envmgr_error_t *err)
{
    *out = NULL;
    if (envmgr_dl_archive(err) < 0)
        return -1;
    if (access(path, R_OK) < 0)
        return envmgr_error_errno(err, errno, "bundle %s", path);
    if (access(dir, F_OK) == 0)
        return envmgr_error_set(err, ENVMGR_E_ENV, 0, "%s already exists", dir);
    if (envmgr_mkdir_p(dir, 0700, err) < 0)
        return -1;
    extract_t x = {.path = path, .dir = dir, .engine = engine, .seen = json_object()};
    int r = extract_all(&x, err);
    json_decref(x.manifest);
    json_decref(x.seen);
    if (r == 0) {
        envmgr_cleanup_free char *idfile = envmgr_xasprintf("%s/.bundle-id", dir);
        r = envmgr_write_file(idfile, x.checksums_hex, 64, err);
    }
    if (r == 0)
        r = make_empty_mounts(dir, err);
    if (r == 0)
        r = unpin_extracted(dir, err);
    if (r == 0)
        r = envmgr_bundle_open_dir(dir, out, err);
    if (r < 0) {
        envmgr_error_t ignored = {0};
        envmgr_bundle_remove_tree(dir, &ignored);
    }
    return r;
}

int envmgr_bundle_open_dir(const char *dir, envmgr_bundle_t **out, envmgr_error_t *err)
{
    envmgr_bundle_t *b = calloc(1, sizeof(*b));
    if (!b)
        abort();
    b->dir = envmgr_xstrdup(dir);
    b->compose_file = envmgr_xasprintf("%s/compose.json", dir);
    envmgr_cleanup_free char *mf = envmgr_xasprintf("%s/manifest.json", dir);
    envmgr_cleanup_free char *idfile = envmgr_xasprintf("%s/.bundle-id", dir);
    char *id = NULL;
    size_t len = 0;
    b->manifest = bun_read_json(mf, err);
    if (!b->manifest || envmgr_read_file(idfile, &id, &len, err) < 0 || len != 64) {
        free(id);
        envmgr_bundle_free(b);
        if (len != 64 && id)
            return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s: bad .bundle-id", dir);
        return -1;
    }
    memcpy(b->id, id, 64);
    free(id);
    *out = b;
    return 0;
}

void envmgr_bundle_free(envmgr_bundle_t *b)
{
    if (!b)
        return;
    free(b->dir);
    free(b->compose_file);
    json_decref(b->manifest);
    free(b);
}

const json_t *envmgr_bundle_manifest(const envmgr_bundle_t *b)
{
    return b->manifest;
}

const char *envmgr_bundle_dir(const envmgr_bundle_t *b)
{
    return b->dir;
}

const char *envmgr_bundle_compose_file(const envmgr_bundle_t *b)
{
    return b->compose_file;
}

const char *envmgr_bundle_id(const envmgr_bundle_t *b)
{
    return b->id;
}

long bun_file_read(void *userdata, char *buf, size_t len, envmgr_error_t *err)
{
    bun_file_source_t *s = userdata;
    ssize_t n = read(s->fd, buf, len);
    if (n < 0)
        return envmgr_error_errno(err, errno, "read %s", s->path);
    return n;
}
