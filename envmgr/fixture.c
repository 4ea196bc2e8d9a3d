/* Fixture archives: opening and checking (one streaming pass over every member), member readers
 * that enforce the size and compression-ratio limits, inspect, and the load/verify drivers. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture_internal.h"
#include "log.h"

#define READ_BLOCK (64 * 1024)
/* Ratio checks start after this many uncompressed bytes, with this much compressed slack, so that
 * small, very compressible members (a SQL file of blanks) are not refused. */
#define RATIO_FLOOR (1 << 20)
#define RATIO_SLACK (64 * 1024)

static const char *entry_type_name(mode_t type)
{
    switch (type) {
    case AE_IFLNK:
        return "a symbolic link";
    case AE_IFCHR:
        return "a character device";
    case AE_IFBLK:
        return "a block device";
    case AE_IFIFO:
        return "a fifo";
    case AE_IFSOCK:
        return "a socket";
    default:
        return "not a regular file";
    }
}

/* Normalises "./a/b" to "a/b"; refuses absolute paths, "..", backslashes, empty names. */
static int normalise_path(const char *where, const char *raw, const char **out, envmgr_error_t *err)
{
    if (raw == NULL || *raw == '\0')
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s: a member has no name", where);
    if (raw[0] == '/')
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                "%s:%s: absolute member path refused (members must be relative)",
                                where, raw);
    if (strchr(raw, '\\'))
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                "%s:%s: member path with a backslash refused", where, raw);
    for (const char *s = raw; *s;) {
        const char *e = strchr(s, '/');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        if (l == 2 && strncmp(s, "..", 2) == 0)
            return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                    "%s:%s: path traversal refused (`..` in a member path)", where,
                                    raw);
        s += l + (e ? 1 : 0);
    }
    while (raw[0] == '.' && raw[1] == '/')
        raw += 2;
    *out = raw;
    return 0;
}

int fx_check_entry(const char *where, struct archive_entry *e, envmgr_error_t *err)
{
    const char *path;
    if (normalise_path(where, archive_entry_pathname(e), &path, err) < 0)
        return -1;
    if (archive_entry_hardlink(e) != NULL)
        return envmgr_error_set(
            err, ENVMGR_E_CONFIG, 0,
            "%s:%s: hard link to `%s` refused (fixtures hold regular files only)", where, path,
            archive_entry_hardlink(e));
    mode_t type = archive_entry_filetype(e);
    if (type == AE_IFLNK)
        return envmgr_error_set(
            err, ENVMGR_E_CONFIG, 0,
            "%s:%s: symbolic link to `%s` refused (fixtures hold regular files only)", where, path,
            archive_entry_symlink(e) ? archive_entry_symlink(e) : "?");
    if (type != AE_IFREG && type != AE_IFDIR)
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s:%s: %s refused", where, path,
                                entry_type_name(type));
    return 0;
}

static struct archive *archive_open_read(const char *path, const char *where, envmgr_error_t *err)
{
    if (envmgr_dl_archive(err) < 0) {
        envmgr_error_wrap(err, "%s", where);
        return NULL;
    }
    struct archive *a = archive_read_new();
    /* The formats and filters a fixture may come in, named one by one: "all" would also link
     * the XAR reader, and with it libxml2, ICU and libstdc++ (2 MB of RSS in every command). */
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_bzip2(a);
    archive_read_support_filter_xz(a);
    archive_read_support_filter_lzma(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_filter_lz4(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_zip(a);
    archive_read_support_format_7zip(a);
    archive_read_support_format_cpio(a);
    if (archive_read_open_filename(a, path, READ_BLOCK) != ARCHIVE_OK) {
        envmgr_error_set(err, ENVMGR_E_CONFIG, archive_errno(a), "%s: cannot read archive: %s",
                         where, archive_error_string(a));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

/* ---- scans: forward passes over the archive -------------------------------------------------
 * A scan checks every entry it passes (path, type, size, duplicates and, for data it skips, the
 * compression ratio) and remembers the regular files. Readers are positioned by a scan; when a
 * reader closes, its scan is kept in the fixture so that the next reader whose member lies further
 * on continues it: a load of an archive packed in manifest order decompresses it once. */
struct fx_scan {
    struct archive *a;
    fx_member_info_t *members; /* regular files passed, in archive order */
    size_t n_members;
    bool manifest_seen;
    bool on_member; /* positioned on members[n_members - 1] */
    bool data_read; /* a reader took that member's data (and checked the limits while reading) */
    int64_t compressed_start;
    bool eof, failed;
};

static int next_header(struct archive *a, const char *where, struct archive_entry **e,
                       envmgr_error_t *err)
{
    int r = archive_read_next_header(a, e);
    if (r == ARCHIVE_EOF)
        return 1;
    if (r == ARCHIVE_WARN)
        envmgr_warn("%s: %s", where, archive_error_string(a));
    else if (r != ARCHIVE_OK)
        return envmgr_error_set(err, ENVMGR_E_CONFIG, archive_errno(a), "%s: corrupt archive: %s",
                                where, archive_error_string(a));
    return 0;
}

static void members_free(fx_member_info_t *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(m[i].path);
    free(m);
}

static void scan_free(fx_scan_t *s)
{
    if (s == NULL)
        return;
    if (s->a)
        archive_read_free(s->a);
    members_free(s->members, s->n_members);
    free(s);
}

static fx_scan_t *scan_open(const envmgr_fixture_t *f, envmgr_error_t *err)
{
    struct archive *a = archive_open_read(f->path, f->display_name, err);
    if (a == NULL)
        return NULL;
    fx_scan_t *s = xcalloc(1, sizeof(*s));
    s->a = a;
    return s;
}

static bool is_manifest_name(const char *path)
{
    return strcmp(path, ENVMGR_FIXTURE_MANIFEST_YAML) == 0 ||
           strcmp(path, ENVMGR_FIXTURE_MANIFEST_JSON) == 0;
}

/* Skips the data of the current member unless a reader took it: with the size from the header,
 * the compression ratio is checked from the compressed bytes the skip consumed; without one, the
 * data is read through with the reader's size and ratio checks. */
static int scan_skip_data(envmgr_fixture_t *f, fx_scan_t *s, envmgr_error_t *err)
{
    if (!s->on_member || s->data_read)
        return 0;
    s->on_member = false;
    fx_member_info_t *info = &s->members[s->n_members - 1];
    if (info->size >= 0) {
        if (archive_read_data_skip(s->a) != ARCHIVE_OK)
            return envmgr_error_set(err, ENVMGR_E_CONFIG, archive_errno(s->a),
                                    "%s:%s: corrupt data: %s", f->display_name, info->path,
                                    archive_error_string(s->a));
        int64_t compressed = archive_filter_bytes(s->a, -1) - s->compressed_start;
        if (info->size > RATIO_FLOOR &&
            info->size / (compressed + RATIO_SLACK) > (int64_t)f->limits.max_ratio)
            return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                    "%s:%s: compression ratio over %d:1 (%" PRId64
                                    " bytes from %" PRId64 "): refused as a possible archive bomb",
                                    f->display_name, info->path, f->limits.max_ratio, info->size,
                                    compressed);
        return 0;
    }
    fx_reader_t r = {.a = s->a, .fixture = f, .compressed_start = s->compressed_start};
    r.where = xasprintf("%s:%s", f->display_name, info->path);
    cleanup_free char *buf = xmalloc(READ_BLOCK); /* not __thread: see file_sha256 */
    ssize_t n;
    while ((n = fx_reader_read(&r, buf, READ_BLOCK, err)) > 0)
        ;
    free(r.where);
    info->size = r.read_bytes;
    return n < 0 ? -1 : 0;
}

/* Advances to the next regular file, checking it; *index gets its place in s->members. Returns 1
 * at the end of the archive. */
static int scan_next(envmgr_fixture_t *f, fx_scan_t *s, size_t *index, envmgr_error_t *err)
{
    if (s->eof)
        return 1;
    if (s->failed || scan_skip_data(f, s, err) < 0)
        goto fail;
    for (;;) {
        struct archive_entry *e;
        int n = next_header(s->a, f->display_name, &e, err);
        if (n < 0)
            goto fail;
        if (n > 0) {
            s->eof = true;
            return 1;
        }
        const char *path;
        if (fx_check_entry(f->display_name, e, err) < 0 ||
            normalise_path(f->display_name, archive_entry_pathname(e), &path, err) < 0)
            goto fail;
        if (archive_entry_filetype(e) == AE_IFDIR)
            continue;
        if (archive_entry_size_is_set(e) && archive_entry_size(e) > f->limits.max_member_bytes) {
            envmgr_error_set(
                err, ENVMGR_E_CONFIG, 0,
                "%s:%s: member of %" PRId64 " bytes is over the size limit of %" PRId64 " bytes",
                f->display_name, path, (int64_t)archive_entry_size(e), f->limits.max_member_bytes);
            goto fail;
        }
        for (size_t i = 0; i < s->n_members; i++)
            if (strcmp(s->members[i].path, path) == 0) {
                envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                 "%s:%s: the member appears twice in the archive", f->display_name,
                                 path);
                goto fail;
            }
        if (is_manifest_name(path)) {
            if (s->manifest_seen) {
                envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                 "%s: both %s and %s at the root: keep one", f->display_name,
                                 ENVMGR_FIXTURE_MANIFEST_YAML, ENVMGR_FIXTURE_MANIFEST_JSON);
                goto fail;
            }
            s->manifest_seen = true;
        }
        s->members = xrealloc(s->members, (s->n_members + 1) * sizeof(*s->members));
        fx_member_info_t *info = &s->members[s->n_members];
        memset(info, 0, sizeof(*info));
        info->path = xstrdup(path);
        info->size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
        *index = s->n_members++;
        s->on_member = true;
        s->data_read = false;
        s->compressed_start = archive_filter_bytes(s->a, -1);
        return 0;
    }
fail:
    s->failed = true;
    return -1;
}

static int check_member_exists(void *ud, const char *member, int line)
{
    void **args = ud;
    envmgr_fixture_t *f = args[0];
    envmgr_error_t *err = args[1];
    for (size_t i = 0; i < f->n_members; i++)
        if (strcmp(f->members[i].path, member) == 0)
            return 0;
    return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                            "%s: manifest line %d names member `%s`, which the archive lacks",
                            f->display_name, line, member);
}

/* A scan that reached the end checked the whole archive: its member list becomes the fixture's,
 * and every member the manifest names must be in it. */
static int scan_adopt(envmgr_fixture_t *f, fx_scan_t *s, envmgr_error_t *err)
{
    members_free(f->members, f->n_members);
    f->members = s->members;
    f->n_members = s->n_members;
    s->members = NULL;
    s->n_members = 0;
    void *args[2] = {f, err};
    if (fx_manifest_members(f->manifest, check_member_exists, args) < 0)
        return -1;
    f->checked = true;
    return 0;
}

static int scan_to_end(envmgr_fixture_t *f, fx_scan_t *s, envmgr_error_t *err)
{
    size_t index;
    int n;
    while ((n = scan_next(f, s, &index, err)) == 0)
        ;
    return n < 0 ? -1 : 0;
}

int fx_fixture_check_all(envmgr_fixture_t *f, envmgr_error_t *err)
{
    if (f->checked)
        return 0;
    fx_scan_t *s = f->tail;
    f->tail = NULL;
    if (s == NULL && (s = scan_open(f, err)) == NULL)
        return -1;
    int r = scan_to_end(f, s, err);
    if (r == 0)
        r = scan_adopt(f, s, err);
    scan_free(s);
    return r;
}

/* ---- member readers ---------------------------------------------------------------------------
 */
int fx_reader_open(envmgr_fixture_t *f, const char *member, fx_reader_t *r, envmgr_error_t *err)
{
    memset(r, 0, sizeof(*r));
    r->fixture = f;
    r->member = xstrdup(member);
    r->where = xasprintf("%s:%s", f->display_name, member);
    /* first from where the last reader stopped, then (if the member was behind it) from the start
     */
    fx_scan_t *s = f->tail;
    f->tail = NULL;
    for (int pass = s ? 0 : 1; pass < 2; pass++) {
        if (s == NULL && (s = scan_open(f, err)) == NULL)
            return -1;
        r->scan = s;
        r->a = s->a;
        size_t index;
        int n;
        while ((n = scan_next(f, s, &index, err)) == 0) {
            if (strcmp(s->members[index].path, member) == 0) {
                s->data_read = true;
                r->compressed_start = s->compressed_start;
                return 0;
            }
        }
        if (n < 0)
            return -1;
        if (!f->checked && scan_adopt(f, s, err) < 0)
            return -1;
        scan_free(s);
        s = r->scan = NULL;
        r->a = NULL;
    }
    return envmgr_error_set(err, ENVMGR_E_NOT_FOUND, 0, "%s: no member `%s` in the archive",
                            f->display_name, member);
}

ssize_t fx_reader_read(fx_reader_t *r, void *buf, size_t len, envmgr_error_t *err)
{
    if (r->eof)
        return 0;
    if (envmgr_interrupted())
        return envmgr_error_set(err, ENVMGR_E_INTERRUPTED, 0, "%s: interrupted", r->where);
    la_ssize_t n = archive_read_data(r->a, buf, len);
    if (n < 0)
        return envmgr_error_set(err, ENVMGR_E_CONFIG, archive_errno(r->a), "%s: corrupt data: %s",
                                r->where, archive_error_string(r->a));
    if (n == 0) {
        r->eof = true;
        return 0;
    }
    r->read_bytes += n;
    const envmgr_fixture_limits_t *lim = &r->fixture->limits;
    if (r->read_bytes > lim->max_member_bytes)
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                "%s: member is over the size limit of %" PRId64 " bytes", r->where,
                                lim->max_member_bytes);
    int64_t compressed = archive_filter_bytes(r->a, -1) - r->compressed_start;
    if (r->read_bytes > RATIO_FLOOR &&
        r->read_bytes / (compressed + RATIO_SLACK) > (int64_t)lim->max_ratio)
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                "%s: compression ratio over %d:1 (%" PRId64 " bytes from %" PRId64
                                "): refused as a possible archive bomb",
                                r->where, lim->max_ratio, r->read_bytes, compressed);
    return n;
}

void fx_reader_close(fx_reader_t *r)
{
    if (r->scan) {
        /* kept for the next reader, unless it failed */
        envmgr_fixture_t *f = r->fixture;
        if (r->scan->failed || f == NULL) {
            scan_free(r->scan);
        } else {
            scan_free(f->tail);
            f->tail = r->scan;
        }
    }
    free(r->member);
    free(r->where);
    memset(r, 0, sizeof(*r));
}

int fx_read_member(envmgr_fixture_t *f, const char *member, size_t max, char **out, size_t *len,
                   envmgr_error_t *err)
{
    fx_reader_t r;
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    char chunk[READ_BLOCK];
    int ret = fx_reader_open(f, member, &r, err);
    while (ret == 0) {
        ssize_t n = fx_reader_read(&r, chunk, sizeof(chunk), err);
        if (n <= 0) {
            ret = (int)n;
            break;
        }
        if (b.len + (size_t)n > max) {
            ret = envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s: over %zu bytes", r.where, max);
            break;
        }
        envmgr_buf_add(&b, chunk, (size_t)n);
    }
    fx_reader_close(&r);
    if (ret < 0) {
        envmgr_buf_free(&b);
        return -1;
    }
    *len = b.len;
    *out = envmgr_buf_detach(&b);
    return 0;
}

/* ---- open ------------------------------------------------------------------------------------ */
static int file_sha256(const char *path, char out[65], envmgr_error_t *err)
{
    cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return envmgr_error_errno(err, errno, "open `%s`", path);
    envmgr_sha256_t md;
    envmgr_sha256_init(&md);
    /* heap, not static __thread: thread-local arrays are zeroed in every thread at its start */
    cleanup_free char *buf = xmalloc(READ_BLOCK);
    ssize_t n;
    while ((n = read(fd, buf, READ_BLOCK)) > 0)
        envmgr_sha256_update(&md, buf, (size_t)n);
    envmgr_sha256_final_hex(&md, out);
    if (n < 0)
        return envmgr_error_errno(err, errno, "read `%s`", path);
    return 0;
}

static const char *basename_of(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Scans up to the manifest and reads it (at most 1 MiB); *yaml tells which one it is. */
static int read_manifest(envmgr_fixture_t *f, fx_scan_t *s, envmgr_buf_t *out, bool *yaml,
                         envmgr_error_t *err)
{
    size_t index;
    int n;
    while ((n = scan_next(f, s, &index, err)) == 0 && !is_manifest_name(s->members[index].path))
        ;
    if (n < 0)
        return -1;
    if (n > 0)
        return envmgr_error_set(
            err, ENVMGR_E_CONFIG, 0, "%s: no manifest: expected %s (or %s) at the archive root",
            f->display_name, ENVMGR_FIXTURE_MANIFEST_YAML, ENVMGR_FIXTURE_MANIFEST_JSON);
    *yaml = strcmp(s->members[index].path, ENVMGR_FIXTURE_MANIFEST_YAML) == 0;
    s->data_read = true;
    fx_reader_t r = {.a = s->a, .fixture = f, .compressed_start = s->compressed_start};
    r.where = xasprintf("%s:%s", f->display_name, s->members[index].path);
    cleanup_free char *buf = xmalloc(READ_BLOCK);
    ssize_t got;
    while ((got = fx_reader_read(&r, buf, READ_BLOCK, err)) > 0) {
        if (out->len + (size_t)got > (1u << 20)) {
            got = envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "%s: manifest over 1 MiB", r.where);
            break;
        }
        envmgr_buf_add(out, buf, (size_t)got);
    }
    free(r.where);
    if (got < 0)
        s->failed = true;
    return got < 0 ? -1 : 0;
}

static int fixture_open(const char *path, const envmgr_fixture_limits_t *limits, bool check_all,
                        envmgr_fixture_t **out, envmgr_error_t *err)
{
    envmgr_fixture_t *f = xcalloc(1, sizeof(*f));
    f->path = xstrdup(path);
    f->display_name = xstrdup(basename_of(path));
    f->limits.max_member_bytes = limits && limits->max_member_bytes
                                     ? limits->max_member_bytes
                                     : ENVMGR_FIXTURE_DEFAULT_MAX_MEMBER;
    f->limits.max_ratio =
        limits && limits->max_ratio ? limits->max_ratio : ENVMGR_FIXTURE_DEFAULT_MAX_RATIO;
    envmgr_buf_t manifest = ENVMGR_BUF_INIT;
    bool yaml = true;
    fx_scan_t *s = NULL;
    int64_t start = envmgr_now_ms();
    int r = file_sha256(path, f->digest, err);
    envmgr_debug("fixture: %s: sha256 in %" PRId64 " ms", f->display_name, envmgr_now_ms() - start);
    if (r == 0 && (s = scan_open(f, err)) == NULL)
        r = -1;
    if (r == 0)
        r = read_manifest(f, s, &manifest, &yaml, err);
    if (r == 0 && check_all)
        r = scan_to_end(f, s, err);
    if (r == 0) {
        cleanup_free char *where =
            xasprintf("%s:%s", f->display_name,
                      yaml ? ENVMGR_FIXTURE_MANIFEST_YAML : ENVMGR_FIXTURE_MANIFEST_JSON);
        r = fx_manifest_parse(manifest.data ? manifest.data : "", manifest.len, yaml, where,
                              &f->manifest, err);
    }
    if (r == 0 && check_all)
        r = scan_adopt(f, s, err);
    envmgr_buf_free(&manifest);
    if (r == 0 && !check_all) {
        f->tail = s; /* the load's first reader goes on from the manifest */
        s = NULL;
    }
    scan_free(s);
    if (r < 0) {
        envmgr_fixture_free(f);
        return -1;
    }
    *out = f;
    return 0;
}

int envmgr_fixture_open(const char *path, const envmgr_fixture_limits_t *limits,
                        envmgr_fixture_t **out, envmgr_error_t *err)
{
    return fixture_open(path, limits, true, out, err);
}

int envmgr_fixture_open_streamed(const char *path, const envmgr_fixture_limits_t *limits,
                                 envmgr_fixture_t **out, envmgr_error_t *err)
{
    return fixture_open(path, limits, false, out, err);
}

void envmgr_fixture_free(envmgr_fixture_t *f)
{
    if (f == NULL)
        return;
    fx_manifest_free(f->manifest);
    members_free(f->members, f->n_members);
    scan_free(f->tail);
    free(f->path);
    free(f->display_name);
    free(f);
}

const char *envmgr_fixture_name(const envmgr_fixture_t *f)
{
    return f->manifest->name;
}

const char *envmgr_fixture_version(const envmgr_fixture_t *f)
{
    return f->manifest->version;
}

const char *envmgr_fixture_digest(const envmgr_fixture_t *f)
{
    return f->digest;
}

/* ---- inspect ----------------------------------------------------------------------------------
 */
static json_t *step_json(const fx_step_t *s)
{
    json_t *j = json_pack("{s:s, s:i}", "type", fx_step_type_name(s->type), "line", s->line);
    envmgr_buf_t sum = ENVMGR_BUF_INIT;
    switch (s->type) {
    case FX_STEP_MYSQL: {
        json_t *scripts = json_array(), *tables = json_array();
        for (size_t i = 0; i < s->n_scripts; i++)
            json_array_append_new(scripts, json_string(s->scripts[i]));
        for (size_t i = 0; i < s->n_tables; i++)
            json_array_append_new(tables, json_pack("{s:s, s:s}", "table", s->tables[i].table,
                                                    "file", s->tables[i].file));
        envmgr_buf_addf(&sum, "%zu script(s), %zu table(s)", s->n_scripts, s->n_tables);
        json_object_set_new(j, "scripts", scripts);
        json_object_set_new(j, "tables", tables);
        break;
    }
    case FX_STEP_HTTP:
        envmgr_buf_addf(&sum, "%s %s%s to %s, expect %ld", s->method, s->path,
                        s->body ? " with a body" : "", s->service, s->expect_status);
        json_object_set_new(j, "service", json_string(s->service));
        json_object_set_new(j, "method", json_string(s->method));
        json_object_set_new(j, "path", json_string(s->path));
        if (s->body)
            json_object_set_new(j, "body", json_string(s->body));
        json_object_set_new(j, "expect", json_integer(s->expect_status));
        break;
    case FX_STEP_DOCUMENTS:
        envmgr_buf_addf(&sum, "%s embedded by %s (%s, %ld dims) into %s/%s", s->file, s->service,
                        s->model, s->dimensions, s->vectors_service, s->collection);
        json_object_set_new(j, "file", json_string(s->file));
        json_object_set_new(j, "collection", json_string(s->collection));
        break;
    case FX_STEP_COPY:
        envmgr_buf_addf(&sum, "%zu file(s) into %s", s->n_files, s->service);
        json_object_set_new(j, "service", json_string(s->service));
        break;
    }
    json_object_set_new(j, "summary", json_string(sum.data ? sum.data : ""));
    envmgr_buf_free(&sum);
    return j;
}

/* SHA-256 of every member (a pass of its own: open() only checks). */
static int member_digests(envmgr_fixture_t *f, envmgr_error_t *err)
{
    for (size_t i = 0; i < f->n_members; i++) {
        if (f->members[i].sha256[0])
            continue;
        fx_reader_t r;
        int ret = fx_reader_open(f, f->members[i].path, &r, err);
        envmgr_sha256_t md;
        envmgr_sha256_init(&md);
        char *buf = xmalloc(READ_BLOCK);
        ssize_t n = 0;
        while (ret == 0 && (n = fx_reader_read(&r, buf, READ_BLOCK, err)) > 0)
            envmgr_sha256_update(&md, buf, (size_t)n);
        char hex[65];
        envmgr_sha256_final_hex(&md, hex);
        free(buf);
        if (ret == 0 && n == 0)
            f->members[i].size = r.read_bytes;
        fx_reader_close(&r);
        if (ret < 0 || n < 0)
            return -1;
        memcpy(f->members[i].sha256, hex, sizeof(hex));
    }
    return 0;
}

int envmgr_fixture_inspect(envmgr_fixture_t *f, json_t **out, envmgr_error_t *err)
{
    if (fx_fixture_check_all(f, err) < 0 || member_digests(f, err) < 0)
        return -1;
    json_t *steps = json_array(), *members = json_array();
    for (size_t i = 0; i < f->manifest->n_steps; i++)
        json_array_append_new(steps, step_json(&f->manifest->steps[i]));
    for (size_t i = 0; i < f->n_members; i++)
        json_array_append_new(members, json_pack("{s:s, s:I, s:s}", "path", f->members[i].path,
                                                 "size", (json_int_t)f->members[i].size, "sha256",
                                                 f->members[i].sha256));
    *out = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "archive", f->path, "name",
                     f->manifest->name, "version", f->manifest->version, "digest", f->digest,
                     "steps", steps, "members", members);
    return *out ? 0 : envmgr_error_set(err, ENVMGR_E_SYSTEM, 0, "inspect: JSON failed");
}

/* ---- load / verify drivers --------------------------------------------------------------------
 */
const envmgr_fixture_service_t *fx_find_service(const envmgr_fixture_targets_t *t, const char *name)
{
    for (size_t i = 0; t && i < t->n_services; i++)
        if (t->services[i].name && strcmp(t->services[i].name, name) == 0)
            return &t->services[i];
    return NULL;
}

void fx_report(fx_load_ctx_t *ctx, const char *type, const char *target, uint64_t rows,
               uint64_t bytes, int64_t start_ms, bool done)
{
    if (ctx->progress == NULL)
        return;
    int64_t elapsed = envmgr_now_ms() - start_ms;
    envmgr_fixture_progress_t p = {
        .step = ctx->step_index,
        .n_steps = ctx->fixture->manifest->n_steps,
        .type = type,
        .target = target,
        .rows = rows,
        .bytes = bytes,
        .rows_per_s = elapsed > 0 ? (double)rows * 1000.0 / (double)elapsed : 0.0,
        .done = done,
    };
    ctx->progress(ctx->userdata, &p);
}

static int run_step(fx_load_ctx_t *ctx, const fx_step_t *s, envmgr_error_t *err)
{
    switch (s->type) {
    case FX_STEP_MYSQL:
        return fx_mysql_step(ctx, s, err);
    case FX_STEP_HTTP:
        return fx_http_step(ctx, s, err);
    case FX_STEP_DOCUMENTS:
        return fx_documents_step(ctx, s, err);
    case FX_STEP_COPY:
        return fx_copy_step(ctx, s, err);
    }
    return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "unknown step type");
}

int envmgr_fixture_load(envmgr_fixture_t *f, const envmgr_fixture_targets_t *targets,
                        envmgr_fixture_progress_cb progress, void *userdata, envmgr_error_t *err)
{
    fx_load_ctx_t ctx = {
        .fixture = f, .targets = targets, .progress = progress, .userdata = userdata};
    int r = 0;
    for (size_t i = 0; i < f->manifest->n_steps && r == 0; i++) {
        ctx.step_index = i;
        const fx_step_t *s = &f->manifest->steps[i];
        /* a stream-opened archive is checked to its end before a step that cannot be undone */
        if (s->type != FX_STEP_MYSQL && fx_fixture_check_all(f, err) < 0)
            r = -1;
        else
            r = run_step(&ctx, s, err);
        if (r < 0)
            envmgr_error_wrap(err, "fixture %s: step %zu (%s, manifest line %d)", f->display_name,
                              i + 1, fx_step_type_name(s->type), s->line);
    }
    if (r == 0 && fx_fixture_check_all(f, err) < 0) {
        envmgr_error_wrap(err, "fixture %s", f->display_name);
        r = -1;
    }
    if (r == 0 && fx_mysql_finish(&ctx, true, err) < 0) {
        envmgr_error_wrap(err, "fixture %s", f->display_name);
        r = -1;
    }
    if (r < 0) {
        envmgr_error_t ignored = {0};
        fx_mysql_finish(&ctx, false, &ignored);
        fx_documents_rollback(&ctx);
    }
    envmgr_strv_free(&ctx.collections);
    envmgr_kvlist_free(&ctx.collection_urls);
    return r;
}

int envmgr_fixture_verify(envmgr_fixture_t *f, const envmgr_fixture_targets_t *targets,
                          json_t **out, envmgr_error_t *err)
{
    cleanup_json json_t *checks = json_array();
    if (fx_mysql_verify(f, targets, checks, err) < 0 ||
        fx_documents_verify(f, targets, checks, err) < 0)
        return -1;
    bool ok = true;
    const char *first = NULL;
    size_t i;
    json_t *c;
    json_array_foreach(checks, i, c)
    {
        if (!json_is_true(json_object_get(c, "ok")) && ok) {
            ok = false;
            first = json_string_value(json_object_get(c, "message"));
        }
    }
    if (out)
        *out = json_pack("{s:b, s:s, s:O}", "ok", ok, "digest", f->digest, "checks", checks);
    if (!ok)
        return envmgr_error_set(err, ENVMGR_E_ENV, 0, "fixture %s: %s", f->display_name,
                                first ? first : "verification failed");
    return 0;
}
