/* Engines elsewhere, as Docker users have them: tcp:// with TLS (DOCKER_TLS_VERIFY,
 * DOCKER_CERT_PATH: ca.pem, cert.pem, key.pem, given to libcurl as CA and client certificate),
 * ssh:// (each connection is `ssh HOST docker system dial-stdio`, whose stdin/stdout is one end of
 * a socketpair libcurl speaks HTTP over), and Docker contexts (DOCKER_CONTEXT, else
 * ~/.docker/config.json's currentContext: ~/.docker/contexts/meta/<sha256 of the name>/meta.json
 * gives Endpoints.docker.Host and SkipTLSVerify, ~/.docker/contexts/tls/<sha256>/docker/ the TLS
 * files). */
#include "engine_private.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <envmgr/log.h>

static char *docker_config_dir(void)
{
    const char *dir = getenv("DOCKER_CONFIG");
    if (dir && *dir)
        return envmgr_xstrdup(dir);
    const char *home = getenv("HOME");
    return envmgr_xasprintf("%s/.docker", home && *home ? home : "/root");
}

static bool file_exists(const char *path)
{
    return access(path, R_OK) == 0;
}

/* The current context's name, or NULL for "default" (none). */
static char *current_context(envmgr_error_t *err)
{
    const char *name = getenv("DOCKER_CONTEXT");
    if (name && *name)
        return strcmp(name, "default") == 0 ? NULL : envmgr_xstrdup(name);
    envmgr_cleanup_free char *dir = docker_config_dir();
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/config.json", dir);
    if (!file_exists(path))
        return NULL;
    json_error_t jerr;
    envmgr_cleanup_json json_t *config = json_load_file(path, 0, &jerr);
    if (!config) {
        envmgr_warn("%s:%d: %s (its currentContext is ignored)", path, jerr.line, jerr.text);
        return NULL;
    }
    const char *current = json_string_value(json_object_get(config, "currentContext"));
    return current && *current && strcmp(current, "default") != 0 ? envmgr_xstrdup(current) : NULL;
}

int engine_resolve_host(const char *given, engine_target_t *t, envmgr_error_t *err)
{
    *t = (engine_target_t){0};
    if (given && *given) {
        t->host = envmgr_xstrdup(given);
        return 0;
    }
    const char *env = getenv("DOCKER_HOST");
    if (env && *env) {
        t->host = envmgr_xstrdup(env);
        return 0;
    }
    envmgr_cleanup_free char *name = current_context(err);
    if (!name) {
        t->host = envmgr_xstrdup("unix:///var/run/docker.sock");
        return 0;
    }
    char digest[65];
    envmgr_sha256_hex(name, strlen(name), digest);
    envmgr_cleanup_free char *dir = docker_config_dir();
    envmgr_cleanup_free char *meta = envmgr_xasprintf("%s/contexts/meta/%s/meta.json", dir, digest);
    json_error_t jerr;
    envmgr_cleanup_json json_t *j = json_load_file(meta, 0, &jerr);
    if (!j) {
        envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "Docker context \"%s\": %s: %s", name, meta,
                         jerr.text);
        return envmgr_error_hint(err, "`docker context ls` lists the contexts; set DOCKER_CONTEXT "
                                      "or DOCKER_HOST, or -H HOST");
    }
    json_t *docker = json_object_get(json_object_get(j, "Endpoints"), "docker");
    const char *host = json_string_value(json_object_get(docker, "Host"));
    if (!host || !*host)
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0,
                                "Docker context \"%s\": %s has no Endpoints.docker.Host", name,
                                meta);
    t->host = envmgr_xstrdup(host);
    t->context = envmgr_xstrdup(name);
    t->skip_tls_verify = json_is_true(json_object_get(docker, "SkipTLSVerify"));
    envmgr_cleanup_free char *tls = envmgr_xasprintf("%s/contexts/tls/%s/docker", dir, digest);
    envmgr_cleanup_free char *ca = envmgr_xasprintf("%s/ca.pem", tls);
    envmgr_cleanup_free char *cert = envmgr_xasprintf("%s/cert.pem", tls);
    if (file_exists(ca) || file_exists(cert))
        t->tls_dir = envmgr_xstrdup(tls);
    return 0;
}

void engine_target_free(engine_target_t *t)
{
    free(t->host);
    free(t->context);
    free(t->tls_dir);
    *t = (engine_target_t){0};
}

int engine_tls_setup(envmgr_engine_t *e, const engine_target_t *t, envmgr_error_t *err)
{
    const char *verify = getenv("DOCKER_TLS_VERIFY");
    const char *tls_on = getenv("DOCKER_TLS");
    bool from_env = (verify && *verify) || (tls_on && *tls_on);
    if (!t->tls_dir && !from_env)
        return 0;
    if (!e->base_url || strncmp(e->base_url, "http://", 7) != 0 || e->socket_path)
        return 0; /* TLS is for tcp:// */
    envmgr_cleanup_free char *dir = NULL;
    if (t->tls_dir) {
        dir = envmgr_xstrdup(t->tls_dir);
    } else {
        const char *path = getenv("DOCKER_CERT_PATH");
        dir = path && *path ? envmgr_xstrdup(path) : docker_config_dir();
    }
    e->tls_verify = t->tls_dir ? !t->skip_tls_verify : (verify && *verify);
    e->tls_ca = envmgr_xasprintf("%s/ca.pem", dir);
    e->tls_cert = envmgr_xasprintf("%s/cert.pem", dir);
    e->tls_key = envmgr_xasprintf("%s/key.pem", dir);
    const char *need[] = {e->tls_verify ? e->tls_ca : NULL, e->tls_cert, e->tls_key};
    for (size_t i = 0; i < 3; i++) {
        if (need[i] && !file_exists(need[i])) {
            envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "TLS for the Docker engine at %s: %s: %s",
                             e->display, need[i], strerror(errno));
            return envmgr_error_hint(err, "DOCKER_CERT_PATH names the folder of ca.pem, cert.pem "
                                          "and key.pem (default ~/.docker)");
        }
    }
    char *https = envmgr_xasprintf("https://%s", e->base_url + 7);
    free(e->base_url);
    e->base_url = https;
    e->tls = true;
    return 0;
}

void engine_remote_setopt(envmgr_engine_t *e, CURL *c)
{
    if (e->tls) {
        if (e->tls_verify)
            curl_easy_setopt(c, CURLOPT_CAINFO, e->tls_ca);
        curl_easy_setopt(c, CURLOPT_SSLCERT, e->tls_cert);
        curl_easy_setopt(c, CURLOPT_SSLKEY, e->tls_key);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, e->tls_verify ? 1L : 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, e->tls_verify ? 2L : 0L);
    }
    if (e->ssh_target) {
        curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, engine_ssh_open_cb);
        curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, e);
        curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, engine_ssh_sockopt_cb);
    }
}

/* ---- ssh:// ---------------------------------------------------------------------------------- */

int engine_ssh_sockopt_cb(void *userdata, curl_socket_t fd, curlsocktype purpose)
{
    (void)userdata;
    (void)fd;
    (void)purpose;
    return CURL_SOCKOPT_ALREADY_CONNECTED;
}

/* A connection: `ssh [-p PORT] [USER@]HOST -- docker system dial-stdio` on one end of a
 * socketpair; libcurl gets the other. The ssh process ends when libcurl closes its end. */
curl_socket_t engine_ssh_open_cb(void *userdata, curlsocktype purpose, struct curl_sockaddr *addr)
{
    envmgr_engine_t *e = userdata;
    (void)purpose;
    (void)addr;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return CURL_SOCKET_BAD;
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return CURL_SOCKET_BAD;
    }
    if (pid == 0) {
        dup2(sv[1], 0);
        dup2(sv[1], 1);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0 && !getenv("ENVTEST_SSH_STDERR"))
            dup2(devnull, 2);
        const char *argv[12];
        int n = 0;
        argv[n++] = "ssh";
        argv[n++] = "-o";
        argv[n++] = "BatchMode=yes";
        if (e->ssh_port) {
            argv[n++] = "-p";
            argv[n++] = e->ssh_port;
        }
        argv[n++] = e->ssh_target;
        argv[n++] = "--";
        argv[n++] = "docker";
        argv[n++] = "system";
        argv[n++] = "dial-stdio";
        argv[n] = NULL;
        execvp("ssh", (char *const *)argv);
        _exit(127);
    }
    close(sv[1]);
    e->ssh_pids = envmgr_xgrow(e->ssh_pids, e->n_ssh_pids, &e->cap_ssh_pids, sizeof(pid_t));
    e->ssh_pids[e->n_ssh_pids++] = pid;
    return sv[0];
}

int engine_ssh_parse(envmgr_engine_t *e, const char *host, envmgr_error_t *err)
{
    const char *rest = host + 6; /* ssh:// */
    size_t n = strcspn(rest, "/");
    envmgr_cleanup_free char *target = envmgr_xstrndup(rest, n);
    if (!*target)
        return envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "Docker host \"%s\": no host", host);
    char *colon = strrchr(target, ':');
    if (colon && !strchr(colon, ']')) {
        *colon = '\0';
        e->ssh_port = envmgr_xstrdup(colon + 1);
    }
    e->ssh_target = envmgr_xstrdup(target);
    e->host = envmgr_xstrdup(host);
    e->base_url = envmgr_xstrdup("http://docker");
    e->display = envmgr_xstrdup(host);
    return 0;
}

void engine_ssh_reap(envmgr_engine_t *e)
{
    for (size_t i = 0; i < e->n_ssh_pids; i++)
        waitpid(e->ssh_pids[i], NULL, 0);
    free(e->ssh_pids);
    free(e->ssh_target);
    free(e->ssh_port);
    free(e->tls_ca);
    free(e->tls_cert);
    free(e->tls_key);
}
