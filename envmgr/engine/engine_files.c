/* One file into a container (a one-member tar made with libarchive, put with
 * PUT /containers/{id}/archive) and a shell script's output out of one (see <envmgr/engine.h>). */
#include "dlib.h"
#include "engine_private.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static la_ssize_t tar_to_buf_cb(struct archive *a, void *userdata, const void *data, size_t len)
{
    (void)a;
    envmgr_buf_add(userdata, data, len);
    return (la_ssize_t)len;
}

static int file_tar(const envmgr_engine_file_t *f, envmgr_buf_t *out, envmgr_error_t *err)
{
    if (envmgr_dl_archive(err) < 0)
        return -1;
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();
    int r = 0;
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_in_last_block(a, 1);
    archive_entry_set_pathname(e, f->member + strspn(f->member, "/"));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, (mode_t)f->mode);
    archive_entry_set_uid(e, f->uid);
    archive_entry_set_gid(e, f->gid);
    archive_entry_set_size(e, (la_int64_t)f->len);
    archive_entry_set_mtime(e, (time_t)f->mtime, 0);
    if (archive_write_open(a, out, NULL, tar_to_buf_cb, NULL) != ARCHIVE_OK ||
        archive_write_header(a, e) != ARCHIVE_OK ||
        (f->len && archive_write_data(a, f->data, f->len) != (la_ssize_t)f->len) ||
        archive_write_close(a) != ARCHIVE_OK)
        r = envmgr_error_set(err, ENVMGR_E_SYSTEM, 0, "tar of %s: %s", f->member,
                             archive_error_string(a) ? archive_error_string(a) : "failed");
    archive_entry_free(e);
    archive_write_free(a);
    return r;
}

int envmgr_engine_container_put_file(envmgr_engine_t *engine, const char *id, const char *path,
                                     const envmgr_engine_file_t *file, envmgr_error_t *err)
{
    envmgr_buf_t tar = ENVMGR_BUF_INIT;
    int r = file_tar(file, &tar, err);
    if (r == 0)
        r = envmgr_engine_container_put_archive(engine, id, path, tar.data, tar.len, err);
    if (tar.data)
        memset(tar.data, 0, tar.len); /* it may hold a secret */
    envmgr_buf_free(&tar);
    return r;
}

struct exec_capture {
    FILE *out;
    envmgr_buf_t text; /* stdout when out is NULL */
    envmgr_buf_t errors;
    bool write_failed;
};

static int capture_cb(void *userdata, enum envmgr_stream stream, const char *data, size_t len)
{
    struct exec_capture *c = userdata;
    if (stream == ENVMGR_STREAM_STDOUT && c->out) {
        if (fwrite(data, 1, len, c->out) != len)
            c->write_failed = true;
    } else if (stream == ENVMGR_STREAM_STDOUT) {
        if (c->text.len < 65536)
            envmgr_buf_add(&c->text, data, len);
    } else if (c->errors.len < 4096) {
        envmgr_buf_add(&c->errors, data, len);
    }
    return 0;
}

int envmgr_engine_exec_script(envmgr_engine_t *engine, const char *id, const char *script,
                              const char *const *env, FILE *out, char **text, const char *what,
                              envmgr_error_t *err)
{
    const char *argv[] = {"sh", "-c", script, NULL};
    struct exec_capture cap = {.out = out};
    int status = 0;
    int r = envmgr_engine_exec(engine, id, argv, env, 0, capture_cb, &cap, &status, err);
    if (r == 0 && cap.write_failed)
        r = envmgr_error_errno(err, errno, "%s: write", what);
    if (r == 0 && status != 0)
        r = envmgr_error_set(err, ENVMGR_E_ENV, status, "%s exited with %d: %.400s", what, status,
                             cap.errors.data ? cap.errors.data : "");
    if (r == 0 && text)
        *text = envmgr_buf_detach(&cap.text);
    envmgr_buf_free(&cap.text);
    envmgr_buf_free(&cap.errors);
    return r;
}
