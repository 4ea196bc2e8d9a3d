/* mock-vector as a real process on loopback, driven with libcurl: HTTP/1.1 keep-alive, the Qdrant
 * API end to end, body limit, bad input, the admin API (journal, reset, faults), --healthcheck and
 * shutdown on SIGTERM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MOCK_VECTOR_BIN
#error "MOCK_VECTOR_BIN must name the mock-vector executable"
#endif

typedef struct server {
    pid_t pid;
    int port;
    char dir[64];
    CURL *curl; /* one handle: keep-alive across requests */
} server_t;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static server_t *running; /* killed by the teardown when a test fails midway */

static void server_start(server_t *s, const char *extra_arg, const char *extra_value)
{
    memset(s, 0, sizeof(*s));
    running = s;
    snprintf(s->dir, sizeof(s->dir), "/tmp/mockvector-test-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    char port_file[128];
    snprintf(port_file, sizeof(port_file), "%s/port", s->dir);
    char log_file[128];
    snprintf(log_file, sizeof(log_file), "%s/log", s->dir);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        int fd = open(log_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(MOCK_VECTOR_BIN, MOCK_VECTOR_BIN, "--host", "127.0.0.1", "--port", "0", "--port-file",
              port_file, "--quiet", extra_arg, extra_value, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && s->port == 0; i++) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            if (fscanf(f, "%d", &s->port) != 1)
                s->port = 0;
            fclose(f);
        }
        if (s->port == 0)
            usleep(20000);
    }
    assert_true(s->port > 0);
    s->curl = curl_easy_init();
    assert_non_null(s->curl);
}

/* The server's stdout and stderr (malloc'ed). */
static char *server_log(const server_t *s)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/log", s->dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Sends SIGTERM and returns the seconds until the process exited. Asserts the behaviour: exit
 * status 0 and the "stopped on SIGTERM" line, within a generous 5 s so that only a hang fails (how
 * fast is measured by ci/bench/mock_vector.sh, not here). */
static double server_stop(server_t *s)
{
    curl_easy_cleanup(s->curl);
    running = NULL;
    double t0 = now();
    kill(s->pid, SIGTERM);
    int status = 0;
    pid_t r = 0;
    while ((r = waitpid(s->pid, &status, WNOHANG)) == 0 && now() - t0 < 5.0)
        usleep(1000);
    double elapsed = now() - t0;
    if (r != s->pid) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &status, 0);
        print_error("mock-vector did not exit within 5 s of SIGTERM\n");
    }
    assert_int_equal(r, s->pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    char *log = server_log(s);
    bool stopped = strstr(log, "mock-vector stopped on SIGTERM\n") != NULL;
    if (!stopped)
        print_error("no shutdown line in the log:\n%s\n", log);
    free(log);
    assert_true(stopped);
    char path[128];
    snprintf(path, sizeof(path), "%s/port", s->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/log", s->dir);
    unlink(path);
    rmdir(s->dir);
    return elapsed;
}

typedef struct reply {
    long status;
    char *body;
    size_t len;
    char content_type[128];
    long connects; /* new connections this request made */
} reply_t;

static size_t collect(char *data, size_t size, size_t n, void *user)
{
    reply_t *r = user;
    r->body = realloc(r->body, r->len + size * n + 1);
    memcpy(r->body + r->len, data, size * n);
    r->len += size * n;
    r->body[r->len] = '\0';
    return size * n;
}

static reply_t request(server_t *s, const char *method, const char *path, const char *body,
                       size_t body_len)
{
    reply_t r = {0};
    char url[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_reset(s->curl);
    curl_easy_setopt(s->curl, CURLOPT_URL, url);
    curl_easy_setopt(s->curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(s->curl, CURLOPT_TIMEOUT, 10L);
    if (body) {
        curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    CURLcode rc = curl_easy_perform(s->curl);
    if (rc != CURLE_OK)
        print_error("%s %s: %s\n", method, path, curl_easy_strerror(rc));
    assert_int_equal(rc, CURLE_OK);
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_getinfo(s->curl, CURLINFO_NUM_CONNECTS, &r.connects);
    char *ct = NULL;
    curl_easy_getinfo(s->curl, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(r.content_type, sizeof(r.content_type), "%s", ct ? ct : "");
    curl_slist_free_all(headers);
    if (!r.body)
        r.body = calloc(1, 1);
    return r;
}

/* Request with a string body; asserts the status; returns the parsed JSON body. */
static json_t *call(server_t *s, const char *method, const char *path, const char *body,
                    long want_status)
{
    reply_t r = request(s, method, path, body, body ? strlen(body) : 0);
    if (r.status != want_status)
        print_error("%s %s -> %ld %s\n", method, path, r.status, r.body);
    assert_int_equal(r.status, want_status);
    json_t *doc = json_loads(r.body, 0, NULL);
    if (!doc)
        print_error("not JSON: %s\n", r.body);
    assert_non_null(doc);
    free(r.body);
    return doc;
}

static const char *error_of(json_t *doc)
{
    const char *e = json_string_value(json_object_get(json_object_get(doc, "status"), "error"));
    assert_non_null(e);
    return e;
}

static void test_api_over_http(void **state)
{
    server_t s;
    server_start(&s, NULL, NULL);
    reply_t r = request(&s, "GET", "/healthz", NULL, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "healthz check passed");
    assert_non_null(strstr(r.content_type, "text/plain"));
    free(r.body);

    json_decref(call(&s, "PUT", "/collections/web",
                     "{\"vectors\":{\"size\":3,\"distance\":\"Euclid\"}}", 200));
    json_t *doc = call(&s, "PUT", "/collections/web/points?wait=true",
                       "{\"points\":[{\"id\":1,\"vector\":[0,0,0],\"payload\":{\"t\":\"a\"}},"
                       "{\"id\":\"6ba7b810-9dad-11d1-80b4-00c04fd430c8\",\"vector\":[1,2,2]},"
                       "{\"id\":3,\"vector\":[3,0,4],\"payload\":{\"t\":\"b\"}}]}",
                       200);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(doc, "result"), "status")), "completed");
    json_decref(doc);

    /* the same connection serves the next requests (keep-alive) */
    const char *search = "{\"vector\":[1,1,1],\"limit\":3,\"with_payload\":true}";
    r = request(&s, "POST", "/collections/web/points/search", search, strlen(search));
    assert_int_equal(r.status, 200);
    assert_int_equal(r.connects, 0);
    doc = json_loads(r.body, 0, NULL);
    free(r.body);
    json_t *hits = json_object_get(doc, "result");
    assert_int_equal(json_array_size(hits), 3);
    /* distances from [1,1,1]: id 1 -> sqrt(3), uuid -> sqrt(0+1+1), id 3 -> sqrt(4+1+9) */
    assert_string_equal(json_string_value(json_object_get(json_array_get(hits, 0), "id")),
                        "6ba7b810-9dad-11d1-80b4-00c04fd430c8");
    assert_float_equal(json_number_value(json_object_get(json_array_get(hits, 0), "score")),
                       sqrt(2.0), 1e-6);
    assert_float_equal(json_number_value(json_object_get(json_array_get(hits, 1), "score")),
                       sqrt(3.0), 1e-6);
    assert_float_equal(json_number_value(json_object_get(json_array_get(hits, 2), "score")),
                       sqrt(14.0), 1e-6);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(hits, 2), "payload"), "t")),
                        "b");
    json_decref(doc);

    doc = call(&s, "POST", "/collections/web/points/count",
               "{\"filter\":{\"must\":[{\"key\":\"t\",\"match\":{\"any\":[\"a\",\"b\"]}}]}}", 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "result"), "count")),
                     2);
    json_decref(doc);

    doc = call(&s, "POST", "/collections/web/points/search", "{\"vector\":[1,1],\"limit\":3}", 400);
    assert_string_equal(error_of(doc),
                        "Wrong input: Vector dimension error: expected dim: 3, got 2");
    json_decref(doc);
    doc = call(&s, "POST", "/collections/nope/points/count", "{}", 404);
    assert_string_equal(error_of(doc), "Not found: Collection `nope` doesn't exist!");
    json_decref(doc);
    doc = call(&s, "POST", "/collections/web/points/count", "{\"filter\":", 400);
    assert_non_null(strstr(error_of(doc), "Format error in JSON body"));
    json_decref(doc);
    r = request(&s, "POST", "/collections/web/points/count", "{\"a\":\"\xff\"}", 8);
    assert_int_equal(r.status, 400);
    free(r.body);
    doc = call(&s, "GET", "/no/such/route", NULL, 404);
    json_decref(doc);
    /* the connection survived the errors */
    r = request(&s, "GET", "/collections/web/exists", NULL, 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.connects, 0);
    free(r.body);

    /* clean shutdown on SIGTERM (asserted by server_stop); the time is only reported here */
    double stop = server_stop(&s);
    print_message("# SIGTERM to exit: %.1f ms (median in ci/bench/mock_vector.sh)\n", stop * 1e3);
}

static void test_body_limit(void **state)
{
    server_t s;
    server_start(&s, "--body-limit", "2048");
    json_decref(
        call(&s, "PUT", "/collections/c", "{\"vectors\":{\"size\":1,\"distance\":\"Dot\"}}", 200));
    size_t n = 5000;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    memcpy(big, "{\"points\":[", 11);
    memcpy(big + n - 3, "]}\n", 3);
    big[n] = '\0';
    reply_t r = request(&s, "PUT", "/collections/c/points", big, n);
    free(big);
    assert_int_equal(r.status, 413);
    json_t *doc = json_loads(r.body, 0, NULL);
    assert_non_null(doc);
    assert_non_null(json_string_value(json_object_get(json_object_get(doc, "status"), "error")));
    json_decref(doc);
    free(r.body);
    server_stop(&s);
}

static void test_admin_journal_reset_faults(void **state)
{
    server_t s;
    server_start(&s, NULL, NULL);
    json_decref(
        call(&s, "PUT", "/collections/c", "{\"vectors\":{\"size\":2,\"distance\":\"Dot\"}}", 200));
    json_decref(
        call(&s, "POST", "/collections/c/points/search", "{\"vector\":[1,0],\"limit\":1}", 200));
    json_t *doc = call(&s, "GET", "/__admin/requests", NULL, 200);
    json_t *list = json_object_get(doc, "requests");
    assert_int_equal(json_array_size(list), 2);
    json_t *last = json_array_get(list, 1);
    assert_string_equal(json_string_value(json_object_get(last, "path")),
                        "/collections/c/points/search");
    assert_int_equal(json_integer_value(json_object_get(last, "status")), 200);
    json_decref(doc);

    /* an injected 503 comes in Qdrant's error shape */
    json_decref(call(&s, "PUT", "/__admin/faults",
                     "{\"seed\":1,\"faults\":[{\"type\":\"status\",\"status\":503,\"path\":"
                     "\"/collections/*\",\"times\":1}]}",
                     200));
    doc = call(&s, "GET", "/collections/c", NULL, 503);
    error_of(doc);
    json_decref(doc);
    json_decref(call(&s, "GET", "/collections/c", NULL, 200));

    /* reset drops the collections too */
    reply_t r = request(&s, "POST", "/__admin/reset", "", 0);
    assert_int_equal(r.status, 200);
    free(r.body);
    doc = call(&s, "GET", "/collections", NULL, 200);
    assert_int_equal(
        json_array_size(json_object_get(json_object_get(doc, "result"), "collections")), 0);
    json_decref(doc);
    server_stop(&s);
}

static int run_healthcheck(int port)
{
    char port_text[16];
    snprintf(port_text, sizeof(port_text), "%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        execl(MOCK_VECTOR_BIN, MOCK_VECTOR_BIN, "--healthcheck", "--port", port_text, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_healthcheck_mode(void **state)
{
    server_t s;
    server_start(&s, NULL, NULL);
    assert_int_equal(run_healthcheck(s.port), 0);
    int port = s.port;
    server_stop(&s);
    assert_int_not_equal(run_healthcheck(port), 0);
}

static int kill_running_server(void **state)
{
    if (running) {
        kill(running->pid, SIGKILL);
        waitpid(running->pid, NULL, 0);
        char path[128];
        snprintf(path, sizeof(path), "%s/port", running->dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/log", running->dir);
        unlink(path);
        rmdir(running->dir);
        curl_easy_cleanup(running->curl);
        running = NULL;
    }
    return 0;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_api_over_http, kill_running_server),
        cmocka_unit_test_teardown(test_body_limit, kill_running_server),
        cmocka_unit_test_teardown(test_admin_journal_reset_faults, kill_running_server),
        cmocka_unit_test_teardown(test_healthcheck_mode, kill_running_server),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
