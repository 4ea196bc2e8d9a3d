/* Secrets and configs whose long form gives an owner or a mode (uid, gid, mode), and a service's
 * platform. A bind mount cannot give a file another owner or mode inside the container, so such a
 * file is copied into the created container (PUT /containers/{id}/archive, before it starts) as a
 * one-file tar made with libarchive whose header carries uid, gid and mode, as the Compose
 * specification asks (uid/gid default 0, mode 0444). Others stay bind-mounted read-only. A
 * read_only: true container's root cannot be written: there the file stays bind-mounted, with a
 * warning. */
#include "dlib.h"
#include "project.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <envmgr/log.h>
#include <envmgr/util.h>

bool envmgr_project_file_copied(const envmgr_service_t *s, const envmgr_file_ref_t *r)
{
    return (r->uid >= 0 || r->gid >= 0 || r->mode >= 0) && !s->read_only;
}

static la_ssize_t tar_to_buf_cb(struct archive *a, void *userdata, const void *data, size_t len)
{
    (void)a;
    envmgr_buf_add(userdata, data, len);
    return (la_ssize_t)len;
}

/* A tar holding `data` at `target` (without its leading '/'), owned by uid:gid with mode. */
static int file_tar(const char *target, const char *data, size_t len, long uid, long gid, int mode,
                    envmgr_buf_t *out, envmgr_error_t *err)
{
    if (envmgr_dl_archive(err) < 0)
        return -1;
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();
    int r = 0;
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_in_last_block(a, 1);
    archive_entry_set_pathname(e, target + strspn(target, "/"));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, (mode_t)mode);
    archive_entry_set_uid(e, uid);
    archive_entry_set_gid(e, gid);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_entry_set_mtime(e, time(NULL), 0);
    if (archive_write_open(a, out, NULL, tar_to_buf_cb, NULL) != ARCHIVE_OK ||
        archive_write_header(a, e) != ARCHIVE_OK ||
        (len && archive_write_data(a, data, len) != (la_ssize_t)len) ||
        archive_write_close(a) != ARCHIVE_OK)
        r = envmgr_error_set(err, ENVMGR_E_ENV, 0, "tar of %s: %s", target,
                             archive_error_string(a) ? archive_error_string(a) : "failed");
    archive_entry_free(e);
    archive_write_free(a);
    return r;
}

int envmgr_project_files_copy(envmgr_engine_t *engine, const envmgr_project_t *project,
                              const envmgr_service_t *s, const char *container_id,
                              envmgr_error_t *err)
{
    envmgr_cleanup_free char *dir = envmgr_project_secrets_dir(project->name);
    for (size_t i = 0; i < s->n_secrets + s->n_configs; i++) {
        bool secret = i < s->n_secrets;
        const envmgr_file_ref_t *r = secret ? &s->secrets[i] : &s->configs[i - s->n_secrets];
        const envmgr_file_def_t *d = secret ? envmgr_project_secret(project, r->source)
                                            : envmgr_project_config(project, r->source);
        if (!d || (r->uid < 0 && r->gid < 0 && r->mode < 0))
            continue;
        if (!envmgr_project_file_copied(s, r)) {
            envmgr_warn("service %s: %s %s: uid, gid and mode are not applied: its root is "
                        "read_only, so the file is bind-mounted as it is on the host",
                        s->name, secret ? "secret" : "config", r->source);
            continue;
        }
        envmgr_cleanup_free char *path =
            d->source == ENVMGR_SOURCE_FILE
                ? envmgr_xstrdup(d->value)
                : envmgr_xasprintf("%s/%s-%s", dir, secret ? "secret" : "config", d->key);
        envmgr_cleanup_free char *data = NULL;
        size_t len = 0;
        envmgr_buf_t tar = ENVMGR_BUF_INIT;
        int ret = envmgr_read_file(path, &data, &len, err);
        if (ret == 0)
            ret = file_tar(r->target, data, len, r->uid >= 0 ? r->uid : 0, r->gid >= 0 ? r->gid : 0,
                           r->mode >= 0 ? r->mode : 0444, &tar, err);
        if (ret == 0)
            ret = envmgr_engine_container_put_archive(engine, container_id, "/", tar.data, tar.len,
                                                      err);
        if (data)
            memset(data, 0, len); /* a secret's bytes do not linger in freed memory */
        envmgr_buf_free(&tar);
        if (ret < 0)
            return envmgr_error_wrap(err, "service %s: %s %s at %s", s->name,
                                     secret ? "secret" : "config", r->source, r->target);
    }
    return 0;
}

void envmgr_project_platform_digest(const char *platform, char digest[65])
{
    if (!platform)
        return;
    envmgr_cleanup_free char *text = envmgr_xasprintf("%s\nplatform=%s", digest, platform);
    envmgr_sha256_hex(text, strlen(text), digest);
}

int envmgr_project_platform_error(const envmgr_service_t *s, envmgr_error_t *err)
{
    if (!s->platform || (err->code != 400 && err->code != 404) ||
        (!strstr(err->message, "platform") && !strstr(err->message, "operating system")))
        return -1;
    char msg[sizeof(err->message)];
    snprintf(msg, sizeof(msg), "%s", err->message);
    envmgr_error_set(err, ENVMGR_E_ENV, err->code,
                     "service %s: the engine refused platform %s (platform: in the Compose file): "
                     "%s",
                     s->name, s->platform, msg);
    return envmgr_error_hint(err,
                             "use an image built for %s (docker image inspect shows its Os and "
                             "Architecture), or remove platform: to run the engine's own",
                             s->platform);
}
