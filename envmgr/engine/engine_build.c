/* Image builds: the build context (a directory walked in sorted order, .dockerignore's simple
 * patterns honoured) as a tar made with libarchive and POSTed to /build, and the context digest
 * (sha256 over relative paths, modes and contents) that tells when sources changed. */
#include "engine_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dlib.h"
#include <envmgr/log.h>

/* ---- .dockerignore -------------------------------------------------------------------------- */

typedef struct ignore_rule {
    char *pattern;
    bool negate;
} ignore_rule_t;

typedef struct ignore_list {
    ignore_rule_t *rules;
    size_t n, cap;
    bool has_negation;
} ignore_list_t;

static void ignore_list_free(ignore_list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->rules[i].pattern);
    free(l->rules);
}

static void ignore_add(ignore_list_t *l, const char *line)
{
    bool negate = false;
    while (*line == ' ' || *line == '\t')
        line++;
    if (*line == '!') {
        negate = true;
        line++;
    }
    while (*line == '/' || (line[0] == '.' && line[1] == '/'))
        line += *line == '/' ? 1 : 2;
    size_t n = strlen(line);
    while (n > 0 &&
           (line[n - 1] == '/' || line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
        n--;
    if (n == 0)
        return;
    l->rules = envmgr_xgrow(l->rules, l->n, &l->cap, sizeof(*l->rules));
    l->rules[l->n].pattern = envmgr_xstrndup(line, n);
    l->rules[l->n].negate = negate;
    l->has_negation |= negate;
    l->n++;
}

static int ignore_load(const char *context_dir, ignore_list_t *l, envmgr_error_t *err)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/.dockerignore", context_dir);
    envmgr_cleanup_free char *text = NULL;
    if (access(path, F_OK) != 0)
        return 0;
    if (envmgr_read_file(path, &text, NULL, err) < 0)
        return -1;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] != '#')
            ignore_add(l, line);
    }
    return 0;
}

/* A pattern matches the path itself or one of its parent directories; "**" crosses '/'. */
static bool ignore_pattern_matches(const char *pattern, const char *rel)
{
    int flags = strstr(pattern, "**") ? 0 : FNM_PATHNAME;
    if (fnmatch(pattern, rel, flags) == 0)
        return true;
    envmgr_cleanup_free char *prefix = envmgr_xstrdup(rel);
    for (char *slash = strrchr(prefix, '/'); slash; slash = strrchr(prefix, '/')) {
        *slash = '\0';
        if (fnmatch(pattern, prefix, flags) == 0)
            return true;
    }
    return false;
}

static bool ignore_excludes(const ignore_list_t *l, const char *rel)
{
    bool excluded = false;
    for (size_t i = 0; i < l->n; i++)
        if (ignore_pattern_matches(l->rules[i].pattern, rel))
            excluded = !l->rules[i].negate;
    return excluded;
}

/* ---- walking the context -------------------------------------------------------------------- */

typedef struct context_entry {
    char *rel;
    struct stat st;
} context_entry_t;

typedef struct context_list {
    context_entry_t *items;
    size_t n, cap;
} context_list_t;

static void context_list_free(context_list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].rel);
    free(l->items);
}

static int context_walk(const char *root, const char *rel_dir, const ignore_list_t *ignore,
                        const char *dockerfile, context_list_t *out, envmgr_error_t *err)
{
    envmgr_cleanup_free char *dir_path =
        *rel_dir ? envmgr_xasprintf("%s/%s", root, rel_dir) : envmgr_xstrdup(root);
    DIR *dir = opendir(dir_path);
    if (!dir)
        return envmgr_error_errno(err, errno, "build context: open directory %s", dir_path);
    int r = 0;
    for (struct dirent *de = readdir(dir); de && r == 0; de = readdir(dir)) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char *rel =
            *rel_dir ? envmgr_xasprintf("%s/%s", rel_dir, de->d_name) : envmgr_xstrdup(de->d_name);
        envmgr_cleanup_free char *full = envmgr_xasprintf("%s/%s", root, rel);
        struct stat st;
        if (lstat(full, &st) < 0) {
            r = envmgr_error_errno(err, errno, "build context: stat %s", full);
            free(rel);
            break;
        }
        bool excluded = strcmp(rel, dockerfile) != 0 && ignore_excludes(ignore, rel);
        bool descend = S_ISDIR(st.st_mode) && (!excluded || ignore->has_negation);
        if (!excluded) {
            out->items = envmgr_xgrow(out->items, out->n, &out->cap, sizeof(*out->items));
            out->items[out->n++] = (context_entry_t){.rel = envmgr_xstrdup(rel), .st = st};
        }
        if (descend)
            r = context_walk(root, rel, ignore, dockerfile, out, err);
        free(rel);
    }
    closedir(dir);
    return r;
}

static int context_entry_cmp(const void *a, const void *b)
{
    return strcmp(((const context_entry_t *)a)->rel, ((const context_entry_t *)b)->rel);
}

static int context_collect(const char *context_dir, const char *dockerfile, context_list_t *out,
                           envmgr_error_t *err)
{
    ignore_list_t ignore = {0};
    int r = ignore_load(context_dir, &ignore, err);
    if (r == 0)
        r = context_walk(context_dir, "", &ignore, dockerfile, out, err);
    ignore_list_free(&ignore);
    if (r == 0 && out->n > 1) /* an empty context has no items (qsort of NULL is undefined) */
        qsort(out->items, out->n, sizeof(*out->items), context_entry_cmp);
    return r;
}

/* ---- digest --------------------------------------------------------------------------------- */

static int digest_file(envmgr_sha256_t *md, const char *path, envmgr_error_t *err)
{
    envmgr_cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return envmgr_error_errno(err, errno, "build context: open %s", path);
    char chunk[16384]; /* on a worker thread's stack: every page touched stays in RSS */
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return envmgr_error_errno(err, errno, "build context: read %s", path);
        if (n == 0)
            return 0;
        envmgr_sha256_update(md, chunk, (size_t)n);
    }
}

static int digest_entry(envmgr_sha256_t *md, const char *root, const context_entry_t *e,
                        envmgr_error_t *err)
{
    char header[64];
    int n = snprintf(header, sizeof(header), "%o %lld", (unsigned)e->st.st_mode,
                     S_ISREG(e->st.st_mode) ? (long long)e->st.st_size : 0LL);
    envmgr_sha256_update(md, e->rel, strlen(e->rel) + 1);
    envmgr_sha256_update(md, header, (size_t)n + 1);
    envmgr_cleanup_free char *full = envmgr_xasprintf("%s/%s", root, e->rel);
    if (S_ISREG(e->st.st_mode))
        return digest_file(md, full, err);
    if (S_ISLNK(e->st.st_mode)) {
        char target[4096];
        ssize_t len = readlink(full, target, sizeof(target));
        if (len < 0)
            return envmgr_error_errno(err, errno, "build context: readlink %s", full);
        envmgr_sha256_update(md, target, (size_t)len);
    }
    return 0;
}

int envmgr_engine_context_digest(const char *context_dir, const char *dockerfile, char out[65],
                                 envmgr_error_t *err)
{
    if (!dockerfile)
        dockerfile = "Dockerfile";
    context_list_t list = {0};
    int r = context_collect(context_dir, dockerfile, &list, err);
    envmgr_sha256_t ctx, *md = &ctx;
    envmgr_sha256_init(md);
    envmgr_sha256_update(md, dockerfile, strlen(dockerfile) + 1);
    for (size_t i = 0; r == 0 && i < list.n; i++)
        r = digest_entry(md, context_dir, &list.items[i], err);
    envmgr_sha256_final_hex(md, out);
    context_list_free(&list);
    if (r < 0)
        return envmgr_error_wrap(err, "digest of build context %s", context_dir);
    return 0;
}

/* ---- tar, streamed -------------------------------------------------------------------------- */

/* The context tar is produced on demand as curl asks for body bytes: one header or one 64 KiB piece
 * of a file at a time, so memory stays small whatever the context's size. */
typedef struct tar_stream {
    const char *root;
    context_list_t list;
    size_t next; /* next entry to add */
    int fd;      /* file whose data is being added, or -1 */
    struct archive *archive;
    envmgr_buf_t out; /* produced, not yet sent */
    size_t sent;      /* bytes of out already handed to curl */
    bool closed;
} tar_stream_t;

static la_ssize_t tar_write_cb(struct archive *a, void *userdata, const void *data, size_t len)
{
    tar_stream_t *t = userdata;
    envmgr_buf_add(&t->out, data, len);
    return (la_ssize_t)len;
}

static int tar_error(tar_stream_t *t, const char *rel, envmgr_error_t *err)
{
    return envmgr_error_set(err, ENVMGR_E_SYSTEM, 0, "build context: tar %s/%s: %s", t->root, rel,
                            archive_error_string(t->archive));
}

static int tar_write_header(tar_stream_t *t, const context_entry_t *e, envmgr_error_t *err)
{
    envmgr_cleanup_free char *full = envmgr_xasprintf("%s/%s", t->root, e->rel);
    struct archive_entry *entry = archive_entry_new();
    archive_entry_copy_stat(entry, &e->st);
    archive_entry_set_pathname(entry, e->rel);
    archive_entry_set_uid(entry, 0);
    archive_entry_set_gid(entry, 0);
    archive_entry_set_uname(entry, "root");
    archive_entry_set_gname(entry, "root");
    if (!S_ISREG(e->st.st_mode))
        archive_entry_set_size(entry, 0);
    int r = 0;
    if (S_ISLNK(e->st.st_mode)) {
        char target[4096];
        ssize_t len = readlink(full, target, sizeof(target) - 1);
        if (len < 0)
            r = envmgr_error_errno(err, errno, "build context: readlink %s", full);
        else {
            target[len] = '\0';
            archive_entry_set_symlink(entry, target);
        }
    }
    if (r == 0 && archive_write_header(t->archive, entry) != ARCHIVE_OK)
        r = tar_error(t, e->rel, err);
    if (r == 0 && S_ISREG(e->st.st_mode)) {
        t->fd = open(full, O_RDONLY | O_CLOEXEC);
        if (t->fd < 0)
            r = envmgr_error_errno(err, errno, "build context: open %s", full);
    }
    archive_entry_free(entry);
    return r;
}

static int tar_add_data(tar_stream_t *t, envmgr_error_t *err)
{
    const char *rel = t->list.items[t->next - 1].rel;
    char chunk[65536];
    ssize_t n;
    do
        n = read(t->fd, chunk, sizeof(chunk));
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return envmgr_error_errno(err, errno, "build context: read %s/%s", t->root, rel);
    if (n == 0) {
        close(t->fd);
        t->fd = -1;
        return 0;
    }
    if (archive_write_data(t->archive, chunk, (size_t)n) < 0)
        return tar_error(t, rel, err);
    return 0;
}

/* Adds one more piece: file data, the next entry's header, or the end of the archive. */
static int tar_stream_step(tar_stream_t *t, envmgr_error_t *err)
{
    if (t->fd >= 0)
        return tar_add_data(t, err);
    while (t->next < t->list.n) {
        const context_entry_t *e = &t->list.items[t->next++];
        mode_t m = e->st.st_mode;
        if (S_ISREG(m) || S_ISDIR(m) || S_ISLNK(m)) /* sockets, devices, fifos are skipped */
            return tar_write_header(t, e, err);
    }
    t->closed = true;
    if (archive_write_close(t->archive) != ARCHIVE_OK)
        return tar_error(t, "", err);
    return 0;
}

static long tar_stream_read(void *userdata, char *buf, size_t len, envmgr_error_t *err)
{
    tar_stream_t *t = userdata;
    if (t->sent > 0) {
        memmove(t->out.data, t->out.data + t->sent, t->out.len - t->sent);
        t->out.len -= t->sent;
        t->sent = 0;
    }
    while (t->out.len < len && !t->closed)
        if (tar_stream_step(t, err) < 0)
            return -1;
    size_t n = t->out.len < len ? t->out.len : len;
    if (n)
        memcpy(buf, t->out.data, n);
    t->sent = n;
    return (long)n;
}

static int tar_stream_open(tar_stream_t *t, const char *context_dir, const char *dockerfile,
                           envmgr_error_t *err)
{
    *t = (tar_stream_t){.root = context_dir, .fd = -1};
    if (envmgr_dl_archive(err) < 0)
        return -1;
    if (context_collect(context_dir, dockerfile, &t->list, err) < 0)
        return -1;
    t->archive = archive_write_new();
    archive_write_set_format_pax_restricted(t->archive);
    archive_write_set_bytes_in_last_block(t->archive, 1);
    if (archive_write_open(t->archive, t, NULL, tar_write_cb, NULL) != ARCHIVE_OK)
        return tar_error(t, "", err);
    return 0;
}

static void tar_stream_free(tar_stream_t *t)
{
    if (t->fd >= 0)
        close(t->fd);
    if (t->archive)
        archive_write_free(t->archive);
    context_list_free(&t->list);
    envmgr_buf_free(&t->out);
}

/* ---- build ---------------------------------------------------------------------------------- */

static char *build_path(const envmgr_build_options_t *opts, const char *dockerfile)
{
    envmgr_buf_t q = ENVMGR_BUF_INIT;
    envmgr_buf_adds(&q, "/build");
    envmgr_buf_t params = ENVMGR_BUF_INIT;
    if (opts->tag)
        engine_query_add(&params, "t", opts->tag);
    engine_query_add(&params, "dockerfile", dockerfile);
    if (opts->args && opts->args->n)
        engine_query_add_kvlist(&params, "buildargs", opts->args);
    if (opts->labels && opts->labels->n)
        engine_query_add_kvlist(&params, "labels", opts->labels);
    if (opts->platform)
        engine_query_add(&params, "platform", opts->platform);
    engine_query_add(&params, "rm", "1");
    engine_query_add(&params, "forcerm", "1");
    envmgr_buf_add(&q, params.data, params.len);
    envmgr_buf_free(&params);
    return envmgr_buf_detach(&q);
}

/* What a failed build needs from its output: the last lines (the step's own error, e.g. "dd: error
 * writing '/fill': No space left on device", where the engine's errorDetail only says "returned a
 * non-zero code: 1"), and the images of the steps it made (" ---> <id>" after a step that did not
 * come from the cache): untagged and unlabelled (the labels are only on the last step), nothing
 * else would ever remove them. */
#define BUILD_TAIL_LINES 8
typedef struct build_watch {
    envmgr_engine_progress_cb cb;
    void *userdata;
    char *tail[BUILD_TAIL_LINES]; /* a ring */
    size_t n_lines;
    envmgr_strv_t made; /* short image ids, in build order */
    bool cached;        /* the step's last line was " ---> Using cache" */
} build_watch_t;

static void build_watch_cb(void *userdata, const char *line)
{
    build_watch_t *w = userdata;
    if (w->cb)
        w->cb(w->userdata, line);
    /* the engine colours a step's stderr (ESC [91m ... ESC [0m): plain text for the error */
    char *plain = envmgr_xstrdup(line), *to = plain;
    for (const char *from = line; *from; from++) {
        if (from[0] == '\x1b' && from[1] == '[') {
            from += 2 + strspn(from + 2, "0123456789;");
            if (!*from)
                break;
            continue;
        }
        *to++ = *from;
    }
    *to = '\0';
    if (*plain) {
        free(w->tail[w->n_lines % BUILD_TAIL_LINES]);
        w->tail[w->n_lines++ % BUILD_TAIL_LINES] = plain;
    } else {
        free(plain);
    }
    /* "Step 1/3 : FROM base" (Docker), "STEP 1/3: FROM base" (Podman, buildah): the id that
     * follows is the base image's, not one this build made */
    if (strncasecmp(line, "Step ", 5) == 0 &&
        (strcasestr(line, " : FROM ") != NULL || strcasestr(line, ": FROM ") != NULL)) {
        w->cached = true;
        return;
    }
    /* " ---> <12 hex>" (Docker; " ---> " with no id after FROM scratch), "--> <11 hex>" (buildah)
     */
    const char *arrow = strncmp(line, " --->", 5) == 0 ? line + 5
                        : strncmp(line, "-->", 3) == 0 ? line + 3
                                                       : NULL;
    if (!arrow)
        return;
    const char *id = arrow + strspn(arrow, " ");
    if (strncmp(id, "Using cache", 11) == 0) { /* Docker's alone, buildah's with the full id */
        w->cached = true;
        return;
    }
    size_t n = strspn(id, "0123456789abcdef");
    if (n >= 11 && id[n] == '\0' && !w->cached)
        envmgr_strv_push(&w->made, id);
    w->cached = false;
}

static void build_watch_free(build_watch_t *w)
{
    for (size_t i = 0; i < BUILD_TAIL_LINES; i++)
        free(w->tail[i]);
    envmgr_strv_free(&w->made);
}

/* Whether id is an image no name refers to (a step's): never a tagged one, whatever the output
 * said (a base image is the user's). */
static bool step_image_dangling(envmgr_engine_t *engine, const char *id)
{
    envmgr_error_t ignored = {0};
    envmgr_cleanup_json json_t *info = NULL;
    if (envmgr_engine_image_inspect(engine, id, &info, &ignored) < 0)
        return false;
    json_t *tags = json_object_get(info, "RepoTags"), *tag;
    size_t i;
    json_array_foreach(tags, i, tag)
    {
        if (strcmp(json_string_value(tag) ?: "", "<none>:<none>") != 0)
            return false;
    }
    return true;
}

/* The images of the steps a failed or interrupted build made, removed (newest first; one another
 * build uses stays), even after Ctrl-C (the engine calls refuse to start while interrupted): no
 * name or label refers to them, so nothing could remove them later. */
static void remove_step_images(envmgr_engine_t *engine, const build_watch_t *w)
{
    bool held = envmgr_interrupt_hold();
    for (size_t i = w->made.n; i > 0; i--) {
        envmgr_error_t ignored = {0};
        if (step_image_dangling(engine, w->made.items[i - 1]) &&
            envmgr_engine_image_remove(engine, w->made.items[i - 1], false, &ignored) == 0)
            envmgr_debug("build ended early: removed its step image %s", w->made.items[i - 1]);
    }
    envmgr_interrupt_restore(held);
}

/* A failed build: the output's last lines in the error, the engine's disk named when it is full. */
static void build_failed(build_watch_t *w, envmgr_error_t *err)
{
    bool enospc = strcasestr(err->message, "no space left on device") != NULL;
    size_t first = w->n_lines > BUILD_TAIL_LINES ? w->n_lines - BUILD_TAIL_LINES : 0;
    envmgr_buf_t tail = ENVMGR_BUF_INIT;
    for (size_t i = first; i < w->n_lines; i++) {
        const char *line = w->tail[i % BUILD_TAIL_LINES];
        enospc = enospc || strcasestr(line, "no space left on device");
        envmgr_buf_addf(&tail, "\n    %s", line);
    }
    if (tail.len && err->kind == ENVMGR_E_ENV) /* a step failed: what it said */
        snprintf(err->message + strlen(err->message), sizeof(err->message) - strlen(err->message),
                 "\n  last build output:%s", tail.data);
    envmgr_buf_free(&tail);
    if (enospc) {
        envmgr_error_wrap(err, "the Docker engine is out of disk space");
        envmgr_error_hint(err, "free space where the engine keeps its data (docker system df; "
                               "envtest gc --images; docker builder prune), or give it more");
    }
}

int envmgr_engine_image_build(envmgr_engine_t *engine, const envmgr_build_options_t *opts,
                              envmgr_engine_progress_cb cb, void *userdata, envmgr_error_t *err)
{
    const char *dockerfile = opts->dockerfile ? opts->dockerfile : "Dockerfile";
    const char *what = opts->tag ? opts->tag : opts->context_dir;
    envmgr_cleanup_free char *dockerfile_path =
        envmgr_xasprintf("%s/%s", opts->context_dir, dockerfile);
    if (access(dockerfile_path, R_OK) != 0)
        return envmgr_error_errno(err, errno, "build %s: Dockerfile %s", what, dockerfile_path);
    tar_stream_t tar;
    if (tar_stream_open(&tar, opts->context_dir, dockerfile, err) < 0) {
        tar_stream_free(&tar);
        return envmgr_error_wrap(err, "build %s", what);
    }
    envmgr_cleanup_free char *path = build_path(opts, dockerfile);
    engine_call_t call = {.method = "POST",
                          .path = path,
                          .source = tar_stream_read,
                          .source_userdata = &tar,
                          .content_type = "application/x-tar",
                          .timeout_ms = 0};
    build_watch_t watch = {.cb = cb, .userdata = userdata};
    int r = engine_jsonl_call(engine, &call, build_watch_cb, &watch, err);
    if (r < 0 && err->kind != ENVMGR_E_INTERRUPTED)
        build_failed(&watch, err);
    if (r < 0) {
        remove_step_images(engine, &watch);
        envmgr_error_wrap(err, "build %s", what);
    }
    build_watch_free(&watch);
    tar_stream_free(&tar);
    return r;
}
