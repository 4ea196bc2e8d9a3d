/* The mocks' shared HTTP layer: deferred answers (mock_request_defer), in process. The server runs
 * on this thread's loop; a client thread talks to it over loopback sockets. Blocking work waits
 * on semaphores the test controls, so every ordering below is forced, not timed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mock_http.h"

typedef struct fixture {
    uv_loop_t loop;
    mock_server_t *srv;
    uv_async_t stop;
    uv_timer_t watch;
    sem_t work_started, release;
    atomic_int dropped, answered, work_ran;
    atomic_bool reset_sent; /* the client reset its connection: release once the server saw it */
    bool stop_releases;     /* the stop async also releases the work (server stopping) */
    bool stop_sent;         /* the client function stopped the server itself */
    pthread_t client;
    void (*client_fn)(struct fixture *f);
    int port;
} fixture_t;

typedef struct slow_work {
    fixture_t *f;
    char path[64];
    int value;
} slow_work_t;

static void slow_work_cb(void *data)
{
    slow_work_t *w = data;
    atomic_fetch_add(&w->f->work_ran, 1);
    if (strcmp(w->path, "/slow") == 0) {
        sem_post(&w->f->work_started);
        sem_wait(&w->f->release); /* a blocking call: a database query, an HTTP call */
    }
    w->value = 42;
}

static void slow_done_cb(mock_request_t *req, void *data)
{
    slow_work_t *w = data;
    if (!req) {
        atomic_fetch_add(&w->f->dropped, 1);
    } else {
        atomic_fetch_add(&w->f->answered, 1);
        char body[96];
        int n = snprintf(body, sizeof(body), "{\"path\":\"%s\",\"value\":%d}", w->path, w->value);
        mock_respond(req, 200, NULL, body, (size_t)n);
    }
    free(w);
}

static void handle(mock_request_t *req, void *user)
{
    fixture_t *f = user;
    const char *path = mock_request_path(req);
    if (strcmp(path, "/fast") == 0) {
        mock_respond(req, 200, NULL, "{\"path\":\"/fast\"}", 16);
        return;
    }
    if (strcmp(path, "/slow") == 0 || strcmp(path, "/quick-work") == 0) {
        slow_work_t *w = calloc(1, sizeof(*w));
        w->f = f;
        snprintf(w->path, sizeof(w->path), "%s", path);
        if (mock_request_defer(req, slow_work_cb, slow_done_cb, w) != 0) {
            free(w);
            mock_respond(req, 500, NULL, "{}", 2);
        }
        return;
    }
    mock_respond(req, 404, NULL, "{}", 2);
}

static void close_noop(uv_handle_t *h)
{
    (void)h;
}

static void stop_cb(uv_async_t *a)
{
    fixture_t *f = a->data;
    mock_server_stop(f->srv);
    if (f->stop_releases)
        sem_post(&f->release);
    uv_close((uv_handle_t *)&f->stop, close_noop);
    uv_close((uv_handle_t *)&f->watch, close_noop);
}

/* Releases the blocked work once the server closed the reset connection. */
static void watch_cb(uv_timer_t *t)
{
    fixture_t *f = t->data;
    if (atomic_load(&f->reset_sent) && mock_server_connections(f->srv) == 0) {
        atomic_store(&f->reset_sent, false);
        sem_post(&f->release);
    }
}

static void *client_main(void *arg)
{
    fixture_t *f = arg;
    f->client_fn(f);
    if (!f->stop_sent)
        uv_async_send(&f->stop);
    return NULL;
}

/* Runs client_fn on a thread against a fresh server until it returns; then the loop ends. */
static void run(fixture_t *f, void (*client_fn)(fixture_t *f))
{
    assert_int_equal(uv_loop_init(&f->loop), 0);
    mock_server_config_t cfg = {.name = "mock-test",
                                .host = "127.0.0.1",
                                .port = 0,
                                .quiet = true,
                                .handler = handle,
                                .user = f};
    f->srv = mock_server_new(&f->loop, &cfg);
    assert_int_equal(mock_server_listen(f->srv), 0);
    f->port = mock_server_port(f->srv);
    sem_init(&f->work_started, 0, 0);
    sem_init(&f->release, 0, 0);
    uv_async_init(&f->loop, &f->stop, stop_cb);
    f->stop.data = f;
    uv_timer_init(&f->loop, &f->watch);
    f->watch.data = f;
    uv_timer_start(&f->watch, watch_cb, 1, 1);
    f->client_fn = client_fn;
    assert_int_equal(pthread_create(&f->client, NULL, client_main, f), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    pthread_join(f->client, NULL);
    assert_int_equal(uv_loop_close(&f->loop), 0); /* every handle and work request finished */
    mock_server_free(f->srv);
    sem_destroy(&f->work_started);
    sem_destroy(&f->release);
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void send_all(int fd, const char *s)
{
    size_t n = strlen(s);
    if (write(fd, s, n) != (ssize_t)n)
        fprintf(stderr, "short write\n");
}

/* Reads until the text holds `want` answers' bodies ("}" count) or EOF, 10 s at most. */
static char *read_answers(int fd, int want)
{
    size_t cap = 8192, n = 0;
    char *buf = calloc(1, cap);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int got = 0;
    while (got < want && poll(&p, 1, 10000) > 0) {
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r <= 0)
            break;
        n += (size_t)r;
        buf[n] = '\0';
        got = 0;
        for (const char *q = strstr(buf, "\r\n\r\n{"); q; q = strstr(q + 1, "\r\n\r\n{"))
            got++;
    }
    return buf;
}

static int ok_count;

/* A slow deferred answer does not hold up other connections; pipelined requests behind it on
 * its own connection are answered after it, in order. */
static void client_concurrent(fixture_t *f)
{
    int a = connect_to(f->port);
    send_all(a, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
    sem_wait(&f->work_started);
    int b = connect_to(f->port);
    send_all(b, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\nGET /quick-work HTTP/1.1\r\nHost: x\r\n\r\n");
    char *ob = read_answers(b, 2); /* answered while /slow's work is still blocked */
    ok_count += strstr(ob, "\"path\":\"/fast\"") != NULL;
    ok_count += strstr(ob, "\"path\":\"/quick-work\",\"value\":42") != NULL;
    free(ob);
    sem_post(&f->release);
    char *oa = read_answers(a, 2);
    const char *slow = strstr(oa, "\"path\":\"/slow\",\"value\":42");
    const char *fast = strstr(oa, "\"path\":\"/fast\"");
    ok_count += slow && fast && slow < fast;
    free(oa);
    close(a);
    close(b);
}

static void test_deferred_answers_do_not_block_the_loop(void **state)
{
    (void)state;
    fixture_t f = {0};
    ok_count = 0;
    run(&f, client_concurrent);
    assert_int_equal(ok_count, 3);
    assert_int_equal(atomic_load(&f.answered), 2);
    assert_int_equal(atomic_load(&f.dropped), 0);
}

/* The client resets the connection while the work runs: the connection closes at once, the work
 * finishes later, done gets NULL (answer dropped), nothing is used after it was freed (ASan and
 * valgrind runs of this test say so). */
static void client_reset(fixture_t *f)
{
    int a = connect_to(f->port);
    send_all(a, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    sem_wait(&f->work_started);
    struct linger lg = {.l_onoff = 1, .l_linger = 0}; /* close with RST */
    setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(a);
    atomic_store(&f->reset_sent, true);
    while (atomic_load(&f->dropped) == 0) {
        struct pollfd none = {.fd = -1};
        poll(&none, 0, 1); /* waits for the loop's done callback, not a fixed time */
    }
}

static void test_reset_while_work_pending_drops_the_answer(void **state)
{
    (void)state;
    fixture_t f = {0};
    run(&f, client_reset);
    assert_int_equal(atomic_load(&f.dropped), 1);
    assert_int_equal(atomic_load(&f.answered), 0);
}

/* The server stops (SIGTERM) while work runs: connections close, the loop waits for the work,
 * done gets NULL, and the loop closes cleanly. */
static void client_stop(fixture_t *f)
{
    int a = connect_to(f->port);
    send_all(a, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    sem_wait(&f->work_started);
    f->stop_sent = true;
    uv_async_send(&f->stop); /* stops the server, then releases the work */
    char *out = read_answers(a, 1);
    ok_count = out[0] == '\0'; /* no answer: the connection was closed */
    free(out);
    close(a);
}

static void test_server_stop_while_work_pending(void **state)
{
    (void)state;
    fixture_t f = {0};
    f.stop_releases = true;
    ok_count = 0;
    run(&f, client_stop);
    assert_int_equal(atomic_load(&f.dropped), 1);
    assert_int_equal(atomic_load(&f.answered), 0);
}

/* Connection: close on a deferred request: answered, then closed. */
static void client_close_after(fixture_t *f)
{
    int a = connect_to(f->port);
    send_all(a, "GET /quick-work HTTP/1.0\r\n\r\n");
    char *out = read_answers(a, 1);
    ok_count = strstr(out, "\"value\":42") != NULL && strstr(out, "Connection: close") != NULL;
    free(out);
    char c;
    ok_count += read(a, &c, 1) == 0; /* EOF: the server closed */
    close(a);
}

static void test_deferred_answer_then_close(void **state)
{
    (void)state;
    fixture_t f = {0};
    ok_count = 0;
    run(&f, client_close_after);
    assert_int_equal(ok_count, 2);
}

/* In memory (mock_server_feed, the fuzzers): work and done run inside the defer call. */
static void test_deferred_in_memory(void **state)
{
    (void)state;
    fixture_t f = {0};
    uv_loop_t loop;
    uv_loop_init(&loop);
    mock_server_config_t cfg = {.name = "mock-test", .quiet = true, .handler = handle, .user = &f};
    mock_server_t *srv = mock_server_new(&loop, &cfg);
    mock_buf_t out = MOCK_BUF_INIT;
    const char req[] = "GET /quick-work HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\n\r\n";
    mock_server_feed(srv, req, sizeof(req) - 1, &out);
    assert_non_null(out.data);
    const char *w = strstr(out.data, "\"value\":42");
    const char *fast = strstr(out.data, "\"path\":\"/fast\"");
    assert_non_null(w);
    assert_non_null(fast);
    assert_true(w < fast);
    mock_buf_free(&out);
    mock_server_free(srv);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deferred_answers_do_not_block_the_loop),
        cmocka_unit_test(test_reset_while_work_pending_drops_the_answer),
        cmocka_unit_test(test_server_stop_while_work_pending),
        cmocka_unit_test(test_deferred_answer_then_close),
        cmocka_unit_test(test_deferred_in_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
