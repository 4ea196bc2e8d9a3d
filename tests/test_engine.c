/* Unit tests of the Engine client: the frame demultiplexer, and requests and error handling against
 * the stateful fake engine (tests/fake_engine.h), whose injected faults show what a real engine
 * rarely does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fake_engine.h"
#include <envmgr/engine.h>

/* ---- demultiplexer -------------------------------------------------------------------------- */

typedef struct collected {
    envmgr_buf_t out, err;
    int calls;
} collected_t;

static int collect_cb(void *userdata, enum envmgr_stream stream, const char *data, size_t len)
{
    collected_t *c = userdata;
    envmgr_buf_add(stream == ENVMGR_STREAM_STDERR ? &c->err : &c->out, data, len);
    c->calls++;
    return 0;
}

static void collected_free(collected_t *c)
{
    envmgr_buf_free(&c->out);
    envmgr_buf_free(&c->err);
}

static const char *str(const envmgr_buf_t *b)
{
    return b->data ? b->data : "";
}

static char *sample_stream(size_t *len)
{
    char *s = NULL;
    *len = 0;
    fake_frame(&s, len, 1, "hello ", 6);
    fake_frame(&s, len, 2, "oops\n", 5);
    fake_frame(&s, len, 1, "", 0);
    fake_frame(&s, len, 1, "world\n", 6);
    return s;
}

static void test_demux_split_at_every_byte(void **state)
{
    size_t len;
    envmgr_cleanup_free char *s = sample_stream(&len);
    for (size_t cut = 0; cut <= len; cut++) {
        envmgr_demux_t d = {0};
        collected_t c = {0};
        assert_int_equal(envmgr_demux_feed(&d, s, cut, collect_cb, &c), 0);
        assert_int_equal(envmgr_demux_feed(&d, s + cut, len - cut, collect_cb, &c), 0);
        assert_false(envmgr_demux_truncated(&d));
        assert_string_equal(str(&c.out), "hello world\n");
        assert_string_equal(str(&c.err), "oops\n");
        collected_free(&c);
    }
    /* and one byte at a time */
    envmgr_demux_t d = {0};
    collected_t c = {0};
    for (size_t i = 0; i < len; i++)
        assert_int_equal(envmgr_demux_feed(&d, s + i, 1, collect_cb, &c), 0);
    assert_false(envmgr_demux_truncated(&d));
    assert_string_equal(str(&c.out), "hello world\n");
    assert_string_equal(str(&c.err), "oops\n");
    collected_free(&c);
}

static void test_demux_truncated(void **state)
{
    size_t len;
    envmgr_cleanup_free char *s = sample_stream(&len);
    for (size_t cut = 1; cut < len; cut++) {
        envmgr_demux_t d = {0};
        collected_t c = {0};
        assert_int_equal(envmgr_demux_feed(&d, s, cut, collect_cb, &c), 0);
        /* a cut exactly between frames is not truncation; anywhere else is */
        bool boundary = cut == 14 || cut == 27 || cut == 35;
        assert_int_equal(envmgr_demux_truncated(&d), !boundary);
        collected_free(&c);
    }
}

static void test_demux_bad_header(void **state)
{
    static const unsigned char bad_stream[] = {7, 0, 0, 0, 0, 0, 0, 1, 'x'};
    static const unsigned char bad_padding[] = {1, 0, 9, 0, 0, 0, 0, 1, 'x'};
    envmgr_demux_t d = {0};
    collected_t c = {0};
    assert_int_equal(
        envmgr_demux_feed(&d, (const char *)bad_stream, sizeof(bad_stream), collect_cb, &c), -1);
    envmgr_demux_t d2 = {0};
    assert_int_equal(
        envmgr_demux_feed(&d2, (const char *)bad_padding, sizeof(bad_padding), collect_cb, &c), -1);
    assert_int_equal(c.calls, 0);
    /* a TTY stream has no frames: bytes pass through as stdout */
    envmgr_demux_t raw = {.raw = true};
    assert_int_equal(
        envmgr_demux_feed(&raw, (const char *)bad_stream, sizeof(bad_stream), collect_cb, &c), 0);
    assert_int_equal(c.out.len, sizeof(bad_stream));
    assert_false(envmgr_demux_truncated(&raw));
    collected_free(&c);
}

static int stop_cb(void *userdata, enum envmgr_stream stream, const char *data, size_t len)
{
    return 7;
}

static void test_demux_callback_stops(void **state)
{
    size_t len;
    envmgr_cleanup_free char *s = sample_stream(&len);
    envmgr_demux_t d = {0};
    assert_int_equal(envmgr_demux_feed(&d, s, len, stop_cb, NULL), 7);
}

/* ---- against the fake engine ---------------------------------------------------------------- */

static envmgr_engine_t *open_fake(fake_engine_t *f)
{
    envmgr_engine_t *e = NULL;
    envmgr_error_t err = {0};
    int r = envmgr_engine_open(fake_engine_host(f), &e, &err);
    if (r < 0)
        fail_msg("open fake engine: %s", err.message);
    return e;
}

static void test_error_reply_carries_message_and_status(void **state)
{
    fake_engine_t *f = fake_engine_start();
    fake_engine_fault(
        f, "POST /containers/*/start",
        &(fake_fault_t){.status = 500,
                        .body =
                            "{\"message\":\"driver failed programming external connectivity\"}"});
    envmgr_engine_t *e = open_fake(f);
    envmgr_error_t err = {0};
    json_t *reply = NULL;
    assert_int_equal(envmgr_engine_request(e, "POST", "/containers/abc/start", NULL, &reply, &err),
                     -1);
    assert_null(reply);
    assert_int_equal(err.kind, ENVMGR_E_ENGINE);
    assert_int_equal(err.code, 500);
    assert_non_null(strstr(err.message, "driver failed programming external connectivity"));
    assert_non_null(strstr(err.message, "HTTP 500"));
    envmgr_engine_close(e);
    assert_int_equal(fake_engine_requests(f), 2);
    assert_string_equal(fake_engine_request(f, 0), "GET /_ping");
    assert_string_equal(fake_engine_request(f, 1), "POST /v1.41/containers/abc/start");
    fake_engine_free(f);
}

static void test_404_is_not_found(void **state)
{
    fake_engine_t *f = fake_engine_start();
    fake_engine_add_image(f, "x", NULL);
    fake_engine_add_container(f, "x", NULL);
    envmgr_engine_t *e = open_fake(f);
    envmgr_error_t err = {0};
    json_t *out = NULL;
    assert_int_equal(envmgr_engine_container_inspect(e, "abc", &out, &err), -1);
    assert_int_equal(err.kind, ENVMGR_E_NOT_FOUND);
    assert_int_equal(err.code, 404);
    assert_non_null(strstr(err.message, "No such container: abc"));
    envmgr_cleanup_json json_t *config = json_pack("{s:s}", "Image", "x");
    char *id = NULL;
    assert_int_equal(envmgr_engine_container_create(e, "x", config, &id, &err), -1);
    assert_null(id);
    assert_int_equal(err.kind, ENVMGR_E_ENV);
    assert_int_equal(err.code, 409);
    assert_non_null(strstr(err.message, "is already in use"));
    envmgr_engine_close(e);
    assert_int_equal(fake_engine_requests(f), 3);
    assert_int_equal(fake_engine_connections(f), 1); /* one connection, reused */
    assert_string_equal(fake_engine_request(f, 2), "POST /v1.41/containers/create?name=x");
    assert_string_equal(fake_engine_request_body(f, 2), "{\"Image\":\"x\"}");
    fake_engine_free(f);
}

static void test_truncated_json_names_endpoint(void **state)
{
    fake_engine_t *f = fake_engine_start();
    fake_engine_fault(f, "GET /containers/abc/json",
                      &(fake_fault_t){.status = 200, .body = "{\"Id\":\"abc\",\"State\":{\"Sta"});
    envmgr_engine_t *e = open_fake(f);
    envmgr_error_t err = {0};
    json_t *out = NULL;
    assert_int_equal(envmgr_engine_container_inspect(e, "abc", &out, &err), -1);
    assert_null(out);
    assert_int_equal(err.kind, ENVMGR_E_ENGINE);
    assert_non_null(strstr(err.message, "GET /v1.41/containers/abc/json"));
    assert_non_null(strstr(err.message, "malformed JSON reply"));
    envmgr_engine_close(e);
    fake_engine_free(f);
}

static void test_dropped_connection_then_recovers(void **state)
{
    static const char partial[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                  "Content-Length: 200\r\n\r\n[{\"Id\":\"ab";
    fake_engine_t *f = fake_engine_start();
    fake_engine_fault(f, "GET /containers/json", &(fake_fault_t){.raw = partial, .times = 1});
    envmgr_engine_t *e = open_fake(f);
    envmgr_error_t err = {0};
    json_t *out = NULL;
    assert_int_equal(envmgr_engine_container_list(e, "io.envtest.project=p1", true, &out, &err),
                     -1);
    assert_null(out);
    assert_int_equal(err.kind, ENVMGR_E_ENGINE);
    assert_non_null(strstr(err.message, "closed mid-reply"));
    assert_non_null(strstr(err.message, "/v1.41/containers/json"));
    /* the handle opens a new connection for the next request */
    envmgr_error_clear(&err);
    assert_int_equal(envmgr_engine_ping(e, &err), 0);
    envmgr_engine_close(e);
    assert_int_equal(fake_engine_requests(f), 3);
    assert_int_equal(fake_engine_connections(f), 2); /* a new one after the drop */
    /* filters={"label":["io.envtest.project=p1"]}, URL-encoded */
    assert_string_equal(fake_engine_request(f, 1),
                        "GET /v1.41/containers/json?all=1&filters=%7B%22label%22%3A%5B%22io."
                        "envtest.project%3Dp1%22%5D%7D");
    assert_string_equal(fake_engine_request(f, 2), "GET /v1.41/_ping");
    fake_engine_free(f);
}

static void test_unreachable_socket(void **state)
{
    char dir[] = "/tmp/engine-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    envmgr_cleanup_free char *missing = envmgr_xasprintf("%s/missing.sock", dir);
    envmgr_cleanup_free char *host = envmgr_xasprintf("unix://%s", missing);
    envmgr_engine_t *e = NULL;
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_engine_open(host, &e, &err), -1);
    assert_null(e);
    assert_int_equal(err.kind, ENVMGR_E_ENGINE);
    envmgr_cleanup_free char *expected = envmgr_xasprintf(
        "cannot reach the Docker engine at %s: No such file or directory", missing);
    assert_string_equal(err.message, expected);
    assert_non_null(strstr(err.hint, "dockerd"));
    assert_non_null(strstr(err.hint, "ci/setup.sh"));
    assert_non_null(strstr(err.hint, "DOCKER_HOST"));
    assert_int_equal(envmgr_error_exit_code(&err), 3);

    /* a socket file nobody listens on */
    envmgr_cleanup_free char *dead = envmgr_xasprintf("%s/dead.sock", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", dead);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    close(fd);
    envmgr_cleanup_free char *dead_host = envmgr_xasprintf("unix://%s", dead);
    assert_int_equal(envmgr_engine_open(dead_host, &e, &err), -1);
    envmgr_cleanup_free char *refused =
        envmgr_xasprintf("cannot reach the Docker engine at %s: Connection refused", dead);
    assert_string_equal(err.message, refused);
    unlink(dead);
    rmdir(dir);
}

static void open_with_version(const char *engine_api, const char *expected)
{
    fake_engine_t *f = fake_engine_start();
    fake_engine_set_api_version(f, engine_api, NULL);
    /* DOCKER_HOST is honoured when no host is given */
    setenv("DOCKER_HOST", fake_engine_host(f), 1);
    envmgr_engine_t *e = NULL;
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_engine_open(NULL, &e, &err), 0);
    unsetenv("DOCKER_HOST");
    assert_string_equal(envmgr_engine_api_version(e), expected);
    assert_string_equal(envmgr_engine_host(e), fake_engine_host(f));
    /* a dup'ed handle keeps the negotiated version without asking again */
    envmgr_engine_t *copy = NULL;
    assert_int_equal(envmgr_engine_dup(e, &copy, &err), 0);
    envmgr_engine_close(e);
    assert_string_equal(envmgr_engine_api_version(copy), expected);
    assert_int_equal(envmgr_engine_ping(copy, &err), 0);
    envmgr_engine_close(copy);
    assert_int_equal(fake_engine_requests(f), 2);
    envmgr_cleanup_free char *ping = envmgr_xasprintf("GET /v%s/_ping", expected);
    assert_string_equal(fake_engine_request(f, 1), ping);
    fake_engine_free(f);
}

static void test_version_negotiation(void **state)
{
    open_with_version("1.41", "1.41");
    open_with_version("1.50", "1.47");
    open_with_version("1.45", "1.45");

    fake_engine_t *f = fake_engine_start();
    fake_engine_set_api_version(f, "1.40", NULL);
    envmgr_engine_t *e = NULL;
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_engine_open(fake_engine_host(f), &e, &err), -1);
    assert_non_null(strstr(err.message, "speaks API 1.40, older than 1.41"));
    fake_engine_free(f);

    /* a ping reply without the header (not a Docker engine, or a proxy that drops it) */
    f = fake_engine_start();
    fake_engine_set_api_version(f, NULL, NULL);
    assert_int_equal(envmgr_engine_open(fake_engine_host(f), &e, &err), -1);
    assert_int_equal(err.kind, ENVMGR_E_ENGINE);
    assert_non_null(strstr(err.message, "gave no valid Api-Version header (got none)"));
    fake_engine_free(f);

    /* an engine whose minimum API is above ours says so in its first error; we add what to do */
    f = fake_engine_start();
    fake_engine_set_api_version(f, "1.52", "1.48");
    assert_int_equal(envmgr_engine_open(fake_engine_host(f), &e, &err), 0);
    assert_int_equal(envmgr_engine_ping(e, &err), -1);
    assert_non_null(strstr(err.message, "Minimum supported API version is 1.48"));
    assert_non_null(strstr(err.hint, "upgrade envtest"));
    envmgr_engine_close(e);
    fake_engine_free(f);
}

static char *make_context(void)
{
    char tmpl[] = "/tmp/engine-ctx-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    char *dir = envmgr_xstrdup(tmpl);
    envmgr_error_t err = {0};
    envmgr_cleanup_free char *dockerfile = envmgr_xasprintf("%s/Dockerfile", dir);
    envmgr_cleanup_free char *data = envmgr_xasprintf("%s/data.txt", dir);
    envmgr_cleanup_free char *sub = envmgr_xasprintf("%s/sub", dir);
    envmgr_cleanup_free char *ignored = envmgr_xasprintf("%s/sub/ignored.log", dir);
    envmgr_cleanup_free char *ignore = envmgr_xasprintf("%s/.dockerignore", dir);
    const char *df = "FROM scratch\nCOPY data.txt /\n";
    assert_int_equal(envmgr_write_file(dockerfile, df, strlen(df), &err), 0);
    assert_int_equal(envmgr_write_file(data, "one\n", 4, &err), 0);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(envmgr_write_file(ignored, "log\n", 4, &err), 0);
    assert_int_equal(envmgr_write_file(ignore, "# logs\n**/*.log\n", 16, &err), 0);
    return dir;
}

static void remove_context(const char *dir)
{
    const char *names[] = {"Dockerfile", "data.txt", "sub/ignored.log", ".dockerignore", "sub"};
    for (size_t i = 0; i < ENVMGR_ARRAY_SIZE(names); i++) {
        envmgr_cleanup_free char *p = envmgr_xasprintf("%s/%s", dir, names[i]);
        remove(p);
    }
    rmdir(dir);
}

static void progress_collect(void *userdata, const char *line)
{
    envmgr_buf_addf(userdata, "%s|", line);
}

static void test_build_stream_error(void **state)
{
    envmgr_cleanup_free char *ctx = make_context();
    static const char stream[] =
        "{\"stream\":\"Step 1/3 : FROM scratch\\n\"}\r\n"
        "{\"stream\":\" ---\\u003e \\n\"}\r\n"
        "{\"stream\":\"Step 2/3 : COPY data.txt /a\\n\"}\r\n"
        "{\"stream\":\" ---\\u003e 0123456789ab\\n\"}\r\n"
        "{\"stream\":\"Step 3/3 : COPY data.txt /\"}\r\n{\"stream\":\"\\n\"}\r\n"
        "{\"errorDetail\":{\"message\":\"COPY failed: no space left on device\"},"
        "\"error\":\"COPY failed: no space left on device\"}\r\n";
    fake_engine_t *f = fake_engine_start();
    fake_engine_fault(f, "POST /build", &(fake_fault_t){.status = 200, .body = stream});
    fake_engine_add_dangling_image(f, "0123456789ab"); /* what step 2 made */
    envmgr_engine_t *e = open_fake(f);
    envmgr_error_t err = {0};
    envmgr_kvlist_t args = {0};
    envmgr_kvlist_set(&args, "VERSION", "1 2");
    envmgr_buf_t lines = ENVMGR_BUF_INIT;
    envmgr_build_options_t opts = {.context_dir = ctx, .tag = "envtest-x:latest", .args = &args};
    assert_int_equal(envmgr_engine_image_build(e, &opts, progress_collect, &lines, &err), -1);
    assert_int_equal(err.kind, ENVMGR_E_ENV);
    /* ENOSPC: the engine's disk named, with a hint; the step's last output lines */
    assert_string_equal(err.message, "build envtest-x:latest: the Docker engine is out of disk "
                                     "space: COPY failed: no space left on device\n"
                                     "  last build output:\n"
                                     "    Step 1/3 : FROM scratch\n"
                                     "     --->\n"
                                     "    Step 2/3 : COPY data.txt /a\n"
                                     "     ---> 0123456789ab\n"
                                     "    Step 3/3 : COPY data.txt /");
    assert_non_null(strstr(err.hint, "free space where the engine keeps its data"));
    assert_string_equal(str(&lines), "Step 1/3 : FROM scratch| --->|Step 2/3 : COPY data.txt /a| "
                                     "---> 0123456789ab|Step 3/3 : COPY data.txt /|");
    envmgr_engine_close(e);
    /* the image of the step it made is removed (nothing labels it), once found untagged */
    assert_int_equal(fake_engine_requests(f), 4);
    assert_int_equal(fake_engine_count_requests(f, "GET /images/0123456789ab/json"), 1);
    assert_int_equal(fake_engine_count_requests(f, "DELETE /images/0123456789ab"), 1);
    assert_int_equal(fake_engine_count(f, "images", NULL), 0);
    assert_string_equal(fake_engine_request(f, 1),
                        "POST /v1.41/build?t=envtest-x%3Alatest&dockerfile=Dockerfile&buildargs=%"
                        "7B%22VERSION%22%3A%221%202%22%7D&rm=1&forcerm=1");
    /* the context tar holds the Dockerfile and data.txt but not the ignored log */
    const char *tar = fake_engine_request_body(f, 1);
    size_t tar_len = fake_engine_request_body_len(f, 1);
    assert_true(tar_len >= 1024 && tar_len % 512 == 0);
    assert_non_null(memmem(tar, tar_len, "COPY data.txt", 13));
    assert_non_null(memmem(tar, tar_len, "data.txt", 8));
    assert_null(memmem(tar, tar_len, "ignored.log", 11));
    fake_engine_free(f);
    envmgr_buf_free(&lines);
    envmgr_kvlist_free(&args);
    remove_context(ctx);
}

/* Podman's (buildah's) build output: "STEP n/m: ...", "--> Using cache <id>", "--> <11 hex>". The
 * image of the step it made goes; the cached one (an earlier build's) stays. */
static void test_build_failed_podman_stream(void **state)
{
    envmgr_cleanup_free char *ctx = make_context();
    static const char stream[] =
        "{\"stream\":\"STEP 1/4: FROM scratch\\n\"}\n"
        "{\"stream\":\"STEP 2/4: COPY data.txt /a\\n\"}\n"
        "{\"stream\":\"--\\u003e Using cache "
        "27351da32fba89e7c9732eb1c492f21d3773d158be65cedf1f08565c27df32c1\\n\"}\n"
        "{\"stream\":\"--\\u003e 27351da32fb\\n\"}\n"
        "{\"stream\":\"STEP 3/4: RUN [\\\"/bin/busybox\\\", \\\"mkdir\\\", \\\"/x\\\"]\\n\"}\n"
        "{\"stream\":\"--\\u003e d4b3a666cf9\\n\"}\n"
        "{\"stream\":\"STEP 4/4: RUN [\\\"/bin/busybox\\\", \\\"false\\\"]\\n\"}\n"
        "{\"errorDetail\":{\"message\":\"building at STEP \\\"RUN /bin/busybox false\\\": while "
        "running runtime: exit status 1\\n\"},\"error\":\"building at STEP \\\"RUN /bin/busybox "
        "false\\\": while running runtime: exit status 1\\n\"}\n";
    fake_engine_t *f = fake_engine_start();
    fake_engine_fault(f, "POST /build", &(fake_fault_t){.status = 200, .body = stream});
    fake_engine_add_dangling_image(f, "27351da32fb"); /* step 2, from the cache */
    fake_engine_add_dangling_image(f, "d4b3a666cf9"); /* what step 3 made */
    envmgr_engine_t *e = open_fake(f);
    envmgr_error_t err = {0};
    envmgr_build_options_t opts = {.context_dir = ctx, .tag = "envtest-x:latest"};
    assert_int_equal(envmgr_engine_image_build(e, &opts, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.message, "while running runtime: exit status 1"));
    envmgr_engine_close(e);
    assert_int_equal(fake_engine_count_requests(f, "DELETE /images/d4b3a666cf9"), 1);
    assert_int_equal(fake_engine_count_requests(f, "DELETE /images/27351da32fb"), 0);
    assert_int_equal(fake_engine_count(f, "images", NULL), 1);
    fake_engine_free(f);
    remove_context(ctx);
}

static void test_build_context_tar(void **state)
{
    envmgr_cleanup_free char *ctx = make_context();
    envmgr_error_t err = {0};
    /* a file larger than the pieces the tar is streamed in */
    size_t big_len = 300001;
    envmgr_cleanup_free char *big = envmgr_xmalloc(big_len);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (char)('a' + i % 23);
    envmgr_cleanup_free char *big_path = envmgr_xasprintf("%s/big.bin", ctx);
    assert_int_equal(envmgr_write_file(big_path, big, big_len, &err), 0);
    fake_engine_t *f = fake_engine_start();
    envmgr_engine_t *e = open_fake(f);
    envmgr_kvlist_t labels = {0};
    envmgr_kvlist_set(&labels, "io.envtest.project", "p1");
    envmgr_build_options_t opts = {.context_dir = ctx, .tag = "p1-web:latest", .labels = &labels};
    assert_int_equal(envmgr_engine_image_build(e, &opts, NULL, NULL, &err), 0);
    envmgr_kvlist_free(&labels);
    /* the fake now has the image, labelled as asked */
    envmgr_cleanup_json json_t *images = NULL;
    assert_int_equal(envmgr_engine_image_list(e, "io.envtest.project=p1", &images, &err), 0);
    assert_int_equal(json_array_size(images), 1);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_array_get(images, 0), "RepoTags"), 0)),
                        "p1-web:latest");
    envmgr_engine_close(e);
    assert_int_equal(fake_engine_requests(f), 3);

    /* read the tar the fake received: sorted entries, ignored file absent, contents intact */
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_memory(a, fake_engine_request_body(f, 1),
                                              fake_engine_request_body_len(f, 1)),
                     ARCHIVE_OK);
    envmgr_buf_t names = ENVMGR_BUF_INIT;
    struct archive_entry *entry;
    while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(entry);
        envmgr_buf_addf(&names, "%s|", name);
        if (strcmp(name, "big.bin") == 0) {
            assert_int_equal(archive_entry_size(entry), big_len);
            envmgr_cleanup_free char *data = envmgr_xmalloc(big_len);
            assert_int_equal(archive_read_data(a, data, big_len), big_len);
            assert_memory_equal(data, big, big_len);
        }
        assert_int_equal(archive_entry_uid(entry), 0);
    }
    archive_read_free(a);
    assert_string_equal(str(&names), ".dockerignore|Dockerfile|big.bin|data.txt|sub/|");
    envmgr_buf_free(&names);
    fake_engine_free(f);
    unlink(big_path);
    remove_context(ctx);
}

static void test_context_digest(void **state)
{
    envmgr_cleanup_free char *ctx = make_context();
    envmgr_error_t err = {0};
    char d1[65], d2[65], d3[65], d4[65];
    assert_int_equal(envmgr_engine_context_digest(ctx, NULL, d1, &err), 0);
    assert_int_equal(strlen(d1), 64);
    /* an ignored file does not count */
    envmgr_cleanup_free char *ignored = envmgr_xasprintf("%s/sub/ignored.log", ctx);
    assert_int_equal(envmgr_write_file(ignored, "changed\n", 8, &err), 0);
    assert_int_equal(envmgr_engine_context_digest(ctx, NULL, d2, &err), 0);
    assert_string_equal(d1, d2);
    /* content does */
    envmgr_cleanup_free char *data = envmgr_xasprintf("%s/data.txt", ctx);
    assert_int_equal(envmgr_write_file(data, "two\n", 4, &err), 0);
    assert_int_equal(envmgr_engine_context_digest(ctx, NULL, d3, &err), 0);
    assert_string_not_equal(d1, d3);
    /* and so does the mode */
    assert_int_equal(chmod(data, 0755), 0);
    assert_int_equal(envmgr_engine_context_digest(ctx, NULL, d4, &err), 0);
    assert_string_not_equal(d3, d4);
    remove_context(ctx);
    assert_int_equal(envmgr_engine_context_digest(ctx, NULL, d4, &err), -1);
    assert_non_null(strstr(err.message, ctx));
    /* an empty folder (no Dockerfile yet): a digest all the same, the build then says what is
     * missing (UBSan once caught a qsort of its NULL item list here) */
    char empty[] = "/tmp/envtest-empty-context-XXXXXX";
    assert_non_null(mkdtemp(empty));
    assert_int_equal(envmgr_engine_context_digest(empty, NULL, d4, &err), 0);
    assert_int_equal(strlen(d4), 64);
    assert_int_equal(rmdir(empty), 0);
}

static void test_exec_against_fake(void **state)
{
    /* a stream cut inside a frame */
    char *frames = NULL;
    size_t frames_len = 0;
    fake_frame(&frames, &frames_len, 1, "hi\n", 3);
    envmgr_buf_t cut = ENVMGR_BUF_INIT;
    envmgr_buf_adds(&cut, "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                          "Connection: close\r\n\r\n");
    envmgr_buf_add(&cut, frames, frames_len - 2);
    free(frames);
    fake_engine_t *f = fake_engine_start();
    fake_engine_add_container(f, "ctr", NULL);
    /* the exit code shows a moment after the output ends: the client asks again */
    fake_exec_t result = {.exit_code = 3, .out = "hi\n", .err = "warn\n", .still_running = 1};
    fake_engine_exec_script(f, "ctr", &result, 1);
    fake_engine_fault(f, "POST /exec/*/start",
                      &(fake_fault_t){.raw = cut.data, .raw_len = cut.len, .skip = 1});
    envmgr_buf_free(&cut);
    envmgr_engine_t *e = open_fake(f);
    envmgr_error_t err = {0};
    collected_t c = {0};
    int code = -1;
    const char *argv[] = {"sh", "-c", "echo hi", NULL};
    assert_int_equal(envmgr_engine_exec(e, "ctr", argv, NULL, 5000, collect_cb, &c, &code, &err),
                     0);
    assert_int_equal(code, 3);
    assert_string_equal(str(&c.out), "hi\n");
    assert_string_equal(str(&c.err), "warn\n");
    assert_int_equal(envmgr_engine_exec(e, "ctr", argv, NULL, 5000, NULL, NULL, &code, &err), -1);
    assert_non_null(strstr(err.message, "ended inside a frame"));
    envmgr_engine_close(e);
    assert_int_equal(fake_engine_requests(f), 7);
    assert_string_equal(fake_engine_request(f, 1), "POST /v1.41/containers/ctr/exec");
    assert_int_equal(fake_engine_count_requests(f, "POST /exec/*/start"), 2);
    assert_int_equal(fake_engine_count_requests(f, "GET /exec/*/json"), 2);
    assert_non_null(strstr(fake_engine_request(f, 4), "/json"));
    assert_non_null(strstr(fake_engine_request(f, 6), "/start"));
    envmgr_cleanup_json json_t *body = json_loads(fake_engine_request_body(f, 1), 0, NULL);
    assert_string_equal(json_string_value(json_array_get(json_object_get(body, "Cmd"), 2)),
                        "echo hi");
    fake_engine_free(f);
    collected_free(&c);
}

static void test_exec_timeout(void **state)
{
    /* the attached stream never ends: the fake sends a header and nothing more */
    fake_engine_t *f = fake_engine_start();
    fake_engine_add_container(f, "ctr", NULL);
    fake_engine_exec_script(f, "ctr", &(fake_exec_t){.hang = true}, 1);
    envmgr_engine_t *e = open_fake(f);
    envmgr_error_t err = {0};
    int code = -1;
    const char *argv[] = {"sleep", "100", NULL};
    int64_t start = envmgr_now_ms();
    assert_int_equal(envmgr_engine_exec(e, "ctr", argv, NULL, 300, NULL, NULL, &code, &err), -1);
    int64_t elapsed = envmgr_now_ms() - start;
    assert_int_equal(err.kind, ENVMGR_E_ENV);
    assert_string_equal(err.message, "exec sleep in container ctr: timed out after 300 ms");
    assert_true(elapsed >= 250 && elapsed < 10000); /* the timeout, not a hang (loose: CI, ASan) */
    envmgr_engine_close(e);
    fake_engine_free(f);
}

static void test_logs_truncated_frame(void **state)
{
    char *frames = NULL;
    size_t frames_len = 0;
    fake_frame(&frames, &frames_len, 1, "line1\n", 6);
    fake_frame(&frames, &frames_len, 1, "line2\n", 6);
    envmgr_buf_t cut = ENVMGR_BUF_INIT;
    envmgr_buf_adds(&cut, "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                          "Connection: close\r\n\r\n");
    envmgr_buf_add(&cut, frames, frames_len - 3);
    free(frames);
    fake_engine_t *f = fake_engine_start();
    fake_engine_add_container(f, "ctr", NULL);
    fake_engine_fault(f, "GET /containers/ctr/logs",
                      &(fake_fault_t){.raw = cut.data, .raw_len = cut.len});
    envmgr_buf_free(&cut);
    envmgr_engine_t *e = open_fake(f);
    envmgr_error_t err = {0};
    collected_t c = {0};
    assert_int_equal(envmgr_engine_container_logs(e, "ctr", 5, false, false, collect_cb, &c, &err),
                     -1);
    assert_non_null(strstr(err.message, "logs of container ctr"));
    assert_non_null(strstr(err.message, "ended inside a frame (3 bytes missing)"));
    assert_string_equal(str(&c.out), "line1\nlin");
    envmgr_engine_close(e);
    assert_int_equal(fake_engine_requests(f), 3);
    assert_string_equal(fake_engine_request(f, 2),
                        "GET /v1.41/containers/ctr/logs?stdout=1&stderr=1&follow=0&timestamps=0"
                        "&tail=5");
    fake_engine_free(f);
    collected_free(&c);
}

static void test_pull_stream(void **state)
{
    static const char stream[] =
        "{\"status\":\"Pulling from library/mysql\",\"id\":\"8.4\"}\n"
        "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1,\"total\":2},"
        "\"progress\":\"[=>   ] 1MB/2MB\",\"id\":\"abc123\"}\n"
        "{\"errorDetail\":{\"message\":\"manifest for mysql:8.4 not found\"},"
        "\"error\":\"manifest for mysql:8.4 not found\"}\n";
    fake_engine_t *f = fake_engine_start();
    fake_engine_fault(f, "POST /images/create", &(fake_fault_t){.status = 200, .body = stream});
    envmgr_engine_t *e = open_fake(f);
    envmgr_error_t err = {0};
    envmgr_buf_t lines = ENVMGR_BUF_INIT;
    assert_int_equal(envmgr_engine_image_pull(e, "mysql:8.4", progress_collect, &lines, &err), -1);
    assert_int_equal(err.kind, ENVMGR_E_ENV);
    assert_string_equal(err.message, "pull mysql:8.4: manifest for mysql:8.4 not found");
    assert_string_equal(str(&lines),
                        "8.4: Pulling from library/mysql|abc123: Downloading [=>   ] 1MB/2MB|");
    envmgr_engine_close(e);
    assert_int_equal(fake_engine_requests(f), 2);
    assert_int_equal(fake_engine_count(f, "images", NULL), 0);
    assert_string_equal(fake_engine_request(f, 1),
                        "POST /v1.41/images/create?fromImage=mysql&tag=8.4");
    fake_engine_free(f);
    envmgr_buf_free(&lines);
}

static void *interrupt_later(void *arg)
{
    envmgr_sleep_ms(200);
    envmgr_interrupt();
    return NULL;
}

static void test_interrupt_stops_follow(void **state)
{
    /* logs -f of a container that keeps running: the stream stays open */
    fake_engine_t *f = fake_engine_start();
    fake_engine_add_container(f, "ctr", "{\"Config\":{\"Tty\":true}}");
    envmgr_engine_t *e = open_fake(f);
    envmgr_error_t err = {0};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, interrupt_later, NULL), 0);
    int64_t start = envmgr_now_ms();
    int r = envmgr_engine_container_logs(e, "ctr", -1, true, false, collect_cb, NULL, &err);
    int64_t elapsed = envmgr_now_ms() - start;
    pthread_join(thread, NULL);
    envmgr_interrupt_reset();
    assert_int_equal(r, -1);
    assert_int_equal(err.kind, ENVMGR_E_INTERRUPTED);
    assert_int_equal(envmgr_error_exit_code(&err), 130);
    /* the interrupt, not a hang (the bound loose for a loaded machine: CI, ASan) */
    assert_true(elapsed >= 150 && elapsed < 10000);
    envmgr_engine_close(e);
    assert_string_equal(fake_engine_request(f, 2), "GET /v1.41/containers/ctr/logs?stdout=1&"
                                                   "stderr=1&follow=1&timestamps=0&tail=all");
    fake_engine_free(f);
}

/* Ctrl-C during a build: the images of the steps it finished go too (no name or label refers to
 * them, so nothing could remove them later), and the error stays "interrupted". */
static void test_build_interrupted(void **state)
{
    envmgr_cleanup_free char *ctx = make_context();
    /* the build's reply: two steps, then nothing more (the engine still busy with the third) */
    static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                "Content-Length: 100000\r\n\r\n"
                                "{\"stream\":\"Step 1/3 : FROM scratch\\n\"}\r\n"
                                "{\"stream\":\" ---\\u003e \\n\"}\r\n"
                                "{\"stream\":\"Step 2/3 : COPY data.txt /a\\n\"}\r\n"
                                "{\"stream\":\" ---\\u003e 0123456789ab\\n\"}\r\n"
                                "{\"stream\":\"Step 3/3 : COPY data.txt /\\n\"}\r\n";
    fake_engine_t *f = fake_engine_start();
    fake_engine_fault(f, "POST /build", &(fake_fault_t){.raw = reply, .hang = true});
    fake_engine_add_dangling_image(f, "0123456789ab"); /* what step 2 made */
    envmgr_engine_t *e = open_fake(f);
    envmgr_error_t err = {0};
    envmgr_buf_t lines = ENVMGR_BUF_INIT;
    envmgr_build_options_t opts = {.context_dir = ctx, .tag = "envtest-x:latest"};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, interrupt_later, NULL), 0);
    assert_int_equal(envmgr_engine_image_build(e, &opts, progress_collect, &lines, &err), -1);
    pthread_join(thread, NULL);
    assert_true(envmgr_interrupted()); /* still: the caller's clean-up sees the Ctrl-C */
    envmgr_interrupt_reset();
    assert_int_equal(err.kind, ENVMGR_E_INTERRUPTED);
    assert_non_null(strstr(str(&lines), "---> 0123456789ab|"));
    envmgr_engine_close(e);
    assert_int_equal(fake_engine_count_requests(f, "DELETE /images/0123456789ab"), 1);
    assert_int_equal(fake_engine_count(f, "images", NULL), 0);
    fake_engine_free(f);
    envmgr_buf_free(&lines);
    remove_context(ctx);
}

static void test_bad_docker_host(void **state)
{
    envmgr_engine_t *e = NULL;
    envmgr_error_t err = {0};
    /* tcp:// is plain HTTP; nothing listens on port 1 */
    assert_int_equal(envmgr_engine_open("tcp://127.0.0.1:1", &e, &err), -1);
    assert_string_equal(err.message,
                        "cannot reach the Docker engine at tcp://127.0.0.1:1: Connection refused");

    assert_int_equal(envmgr_engine_open("npipe:////./pipe/docker_engine", &e, &err), -1);
    assert_int_equal(err.kind, ENVMGR_E_CONFIG);
    assert_non_null(strstr(err.message, "npipe:////./pipe/docker_engine"));
    assert_non_null(strstr(err.hint, "DOCKER_HOST"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demux_split_at_every_byte),
        cmocka_unit_test(test_demux_truncated),
        cmocka_unit_test(test_demux_bad_header),
        cmocka_unit_test(test_demux_callback_stops),
        cmocka_unit_test(test_error_reply_carries_message_and_status),
        cmocka_unit_test(test_404_is_not_found),
        cmocka_unit_test(test_truncated_json_names_endpoint),
        cmocka_unit_test(test_dropped_connection_then_recovers),
        cmocka_unit_test(test_unreachable_socket),
        cmocka_unit_test(test_version_negotiation),
        cmocka_unit_test(test_build_stream_error),
        cmocka_unit_test(test_build_failed_podman_stream),
        cmocka_unit_test(test_build_context_tar),
        cmocka_unit_test(test_context_digest),
        cmocka_unit_test(test_exec_against_fake),
        cmocka_unit_test(test_exec_timeout),
        cmocka_unit_test(test_logs_truncated_frame),
        cmocka_unit_test(test_pull_stream),
        cmocka_unit_test(test_interrupt_stops_follow),
        cmocka_unit_test(test_build_interrupted),
        cmocka_unit_test(test_bad_docker_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
