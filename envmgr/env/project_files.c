/* Secrets and configs whose long form gives an owner or a mode (uid, gid, mode), and a service's
 * platform. A bind mount cannot give a file another owner or mode inside the container, so such a
 * file is copied into the created container (PUT /containers/{id}/archive, before it starts) as a
 * one-file tar made with libarchive whose header carries uid, gid and mode, as the Compose
 * specification asks (uid/gid default 0, mode 0444). Others stay bind-mounted read-only. A
 * read_only: true container's root cannot be written: there the file stays bind-mounted, with a
 * warning. */
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

const envmgr_file_def_t *envmgr_project_file_ref(const envmgr_project_t *project,
                                                 const envmgr_service_t *s, size_t i,
                                                 const envmgr_file_ref_t **ref, bool *secret)
{
    *secret = i < s->n_secrets;
    *ref = *secret ? &s->secrets[i] : &s->configs[i - s->n_secrets];
    return *secret ? envmgr_project_secret(project, (*ref)->source)
                   : envmgr_project_config(project, (*ref)->source);
}

char *envmgr_project_file_path(const envmgr_project_t *project, const envmgr_file_def_t *d,
                               bool secret)
{
    if (d->source == ENVMGR_SOURCE_FILE)
        return envmgr_xstrdup(d->value);
    envmgr_cleanup_free char *dir = envmgr_project_secrets_dir(project->name);
    return envmgr_xasprintf("%s/%s-%s", dir, secret ? "secret" : "config", d->key);
}

int envmgr_project_files_copy(envmgr_engine_t *engine, const envmgr_project_t *project,
                              const envmgr_service_t *s, const char *container_id,
                              envmgr_error_t *err)
{
    for (size_t i = 0; i < s->n_secrets + s->n_configs; i++) {
        bool secret;
        const envmgr_file_ref_t *r;
        const envmgr_file_def_t *d = envmgr_project_file_ref(project, s, i, &r, &secret);
        if (!d || (r->uid < 0 && r->gid < 0 && r->mode < 0))
            continue;
        if (!envmgr_project_file_copied(s, r)) {
            envmgr_warn("service %s: %s %s: uid, gid and mode are not applied: its root is "
                        "read_only, so the file is bind-mounted as it is on the host",
                        s->name, secret ? "secret" : "config", r->source);
            continue;
        }
        envmgr_cleanup_free char *path = envmgr_project_file_path(project, d, secret);
        envmgr_cleanup_free char *data = NULL;
        size_t len = 0;
        int ret = envmgr_read_file(path, &data, &len, err);
        envmgr_engine_file_t file = {.member = r->target,
                                     .data = data,
                                     .len = len,
                                     .mode = r->mode >= 0 ? r->mode : 0444,
                                     .uid = r->uid >= 0 ? r->uid : 0,
                                     .gid = r->gid >= 0 ? r->gid : 0,
                                     .mtime = time(NULL)};
        if (ret == 0)
            ret = envmgr_engine_container_put_file(engine, container_id, "/", &file, err);
        if (data)
            memset(data, 0, len); /* a secret's bytes do not linger in freed memory */
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
