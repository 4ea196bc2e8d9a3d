/* Test helpers for the mock services (see mock_child.h). */
#include "mock_child.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double mock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int mock_child_start(mock_child_t *c, const char *bin, const char *const *args)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->dir, sizeof(c->dir), "/tmp/envtest-mock-XXXXXX");
    if (!mkdtemp(c->dir))
        return -1;
    char portfile[300], logfile[300];
    snprintf(portfile, sizeof(portfile), "%s/port", c->dir);
    snprintf(logfile, sizeof(logfile), "%s/log", c->dir);
    const char *argv[64] = {bin, "--host", "127.0.0.1", "--port", "0", "--port-file", portfile};
    int n = 7;
    for (int i = 0; args && args[i] && n < 62; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    c->pid = fork();
    if (c->pid < 0)
        return -1;
    if (c->pid == 0) {
        int fd = open(logfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        FILE *f = fopen(portfile, "r");
        if (f) {
            int ok = fscanf(f, "%d", &c->port) == 1;
            fclose(f);
            if (ok && c->port > 0) {
                snprintf(c->base, sizeof(c->base), "http://127.0.0.1:%d", c->port);
                return 0;
            }
        }
        int st;
        if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
            c->pid = 0;
            return -1;
        }
        usleep(10000);
    }
    kill(c->pid, SIGKILL);
    waitpid(c->pid, NULL, 0);
    c->pid = 0;
    return -1;
}

static char *read_log(const mock_child_t *c)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/log", c->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0, k;
    char *buf = malloc(cap);
    while ((k = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (n + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    buf[n] = '\0';
    fclose(f);
    return buf;
}

double mock_child_stop(mock_child_t *c)
{
    return mock_child_stop_log(c, NULL);
}

double mock_child_stop_log(mock_child_t *c, char **log)
{
    if (log)
        *log = NULL;
    if (c->pid <= 0)
        return -1;
    double t0 = mock_now_ms();
    kill(c->pid, SIGTERM);
    int st = 0;
    double ms = -1;
    while (mock_now_ms() - t0 < 5000) { /* a hang fails; speed is measured by ci/bench */
        pid_t r = waitpid(c->pid, &st, WNOHANG);
        if (r == c->pid) {
            ms = mock_now_ms() - t0;
            break;
        }
        usleep(200);
    }
    if (ms < 0) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, &st, 0);
    }
    c->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    c->pid = 0;
    if (log)
        *log = read_log(c);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", c->dir);
    return ms;
}

size_t mock_bytes_sink(char *p, size_t size, size_t n, void *user)
{
    mock_bytes_t *s = user;
    size_t add = size * n;
    s->data = realloc(s->data, s->len + add + 1);
    memcpy(s->data + s->len, p, add);
    s->len += add;
    s->data[s->len] = '\0';
    return add;
}

long mock_http(CURL *h, const char *method, const char *url, const char *body, size_t len,
               mock_http_resp_t *r)
{
    memset(r, 0, sizeof(*r));
    mock_bytes_t b = {0}, hd = {0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, mock_bytes_sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, mock_bytes_sink);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &hd);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    r->code = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hdrs);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    r->body = b.data ? b.data : strdup("");
    r->len = b.len;
    r->headers = hd.data ? hd.data : strdup("");
    return r->status;
}

void mock_http_resp_free(mock_http_resp_t *r)
{
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof(*r));
}

json_t *mock_http_json(const mock_child_t *c, const char *method, const char *path,
                       const char *body, long *status)
{
    CURL *h = curl_easy_init();
    char url[512];
    snprintf(url, sizeof(url), "%s%s", c->base, path);
    mock_http_resp_t r;
    mock_http(h, method, url, body, body ? strlen(body) : 0, &r);
    curl_easy_cleanup(h);
    if (status)
        *status = r.status;
    json_t *j = json_loadb(r.body, r.len, 0, NULL);
    mock_http_resp_free(&r);
    return j;
}
