/* Engine client against the real Docker engine (label docker). Skips with a message when the engine
 * is unreachable, unless ENVTEST_REQUIRE_DOCKER is set (then that is a failure). Every object a
 * test creates carries the label io.envtest.test=engine-<pid>; each test removes what it made and
 * asserts that nothing with its label remains (a teardown also sweeps them after a failure). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <envmgr/engine.h>

#define TEST_LABEL "io.envtest.test"
#define TEST_IMAGE "envtest-test-busybox:latest"

static envmgr_engine_t *g_engine;
static envmgr_error_t g_open_err;
static char g_label_value[64]; /* engine-<pid> */
static char g_filter[128];     /* io.envtest.test=engine-<pid> */
static int g_build_rc = -1;
static envmgr_error_t g_build_err;
static envmgr_buf_t g_build_lines;

static void require_engine(void)
{
    if (g_engine)
        return;
    const char *require = getenv("ENVTEST_REQUIRE_DOCKER");
    if (require && *require && strcmp(require, "0") != 0)
        fail_msg("ENVTEST_REQUIRE_DOCKER is set and the engine is unreachable: %s (%s)",
                 g_open_err.message, g_open_err.hint);
    print_message("skipped: %s\n", g_open_err.message);
    skip();
}

static char *unique_name(const char *what)
{
    static int counter;
    return envmgr_xasprintf("envtest-engine-test-%s-%d-%d", what, (int)getpid(), ++counter);
}

static void test_labels(envmgr_kvlist_t *labels)
{
    envmgr_kvlist_set(labels, TEST_LABEL, g_label_value);
}

/* ---- leftovers ------------------------------------------------------------------------------ */

static size_t count_labelled(void)
{
    envmgr_error_t err = {0};
    envmgr_cleanup_json json_t *containers = NULL, *networks = NULL, *volumes = NULL;
    if (envmgr_engine_container_list(g_engine, g_filter, true, &containers, &err) < 0 ||
        envmgr_engine_network_list(g_engine, g_filter, &networks, &err) < 0 ||
        envmgr_engine_volume_list(g_engine, g_filter, &volumes, &err) < 0)
        fail_msg("list by label: %s", err.message);
    return json_array_size(containers) + json_array_size(networks) + json_array_size(volumes);
}

static void assert_nothing_left(void)
{
    assert_int_equal(count_labelled(), 0);
}

/* Teardown: removes whatever a failed test left behind. */
static int sweep_labelled(void **state)
{
    if (!g_engine)
        return 0;
    envmgr_error_t err = {0};
    envmgr_cleanup_json json_t *containers = NULL, *networks = NULL, *volumes = NULL;
    size_t i;
    json_t *item;
    if (envmgr_engine_container_list(g_engine, g_filter, true, &containers, &err) == 0)
        json_array_foreach(containers, i, item)
        {
            envmgr_engine_container_remove(g_engine, json_string_value(json_object_get(item, "Id")),
                                           true, true, &err);
        }
    if (envmgr_engine_network_list(g_engine, g_filter, &networks, &err) == 0)
        json_array_foreach(networks, i, item)
        {
            envmgr_engine_network_remove(g_engine, json_string_value(json_object_get(item, "Id")),
                                         &err);
        }
    if (envmgr_engine_volume_list(g_engine, g_filter, &volumes, &err) == 0)
        json_array_foreach(volumes, i, item)
        {
            envmgr_engine_volume_remove(g_engine, json_string_value(json_object_get(item, "Name")),
                                        true, &err);
        }
    return 0;
}

/* ---- the test image ------------------------------------------------------------------------- */

static const char *source_dir(void)
{
    const char *dir = getenv("ENVTEST_SOURCE_DIR");
    return dir && *dir ? dir : ENVTEST_SOURCE_DIR_DEFAULT;
}

static int copy_file(const char *from, const char *to, int mode, envmgr_error_t *err)
{
    envmgr_cleanup_free char *data = NULL;
    size_t len = 0;
    if (envmgr_read_file(from, &data, &len, err) < 0 || envmgr_write_file(to, data, len, err) < 0)
        return -1;
    if (chmod(to, (mode_t)mode) < 0)
        return envmgr_error_errno(err, errno, "chmod %s", to);
    return 0;
}

static void progress_collect(void *userdata, const char *line)
{
    envmgr_buf_addf(userdata, "%s\n", line);
}

/* Copies tests/images/busybox and /bin/busybox into a temp context and builds TEST_IMAGE. */
static int build_test_image(envmgr_error_t *err)
{
    char dir[] = "/tmp/engine-busybox-XXXXXX";
    if (!mkdtemp(dir))
        return envmgr_error_errno(err, errno, "mkdtemp");
    envmgr_cleanup_free char *df_src =
        envmgr_xasprintf("%s/tests/images/busybox/Dockerfile", source_dir());
    envmgr_cleanup_free char *df = envmgr_xasprintf("%s/Dockerfile", dir);
    envmgr_cleanup_free char *bb = envmgr_xasprintf("%s/busybox", dir);
    int r = copy_file(df_src, df, 0644, err);
    if (r == 0 && (r = copy_file("/bin/busybox", bb, 0755, err)) < 0)
        envmgr_error_hint(err, "install it with `apt-get install busybox-static`");
    if (r == 0) {
        envmgr_kvlist_t labels = {0};
        envmgr_kvlist_set(&labels, TEST_LABEL, "engine");
        envmgr_build_options_t opts = {.context_dir = dir, .tag = TEST_IMAGE, .labels = &labels};
        r = envmgr_engine_image_build(g_engine, &opts, progress_collect, &g_build_lines, err);
        envmgr_kvlist_free(&labels);
    }
    unlink(df);
    unlink(bb);
    rmdir(dir);
    return r;
}

static int group_setup(void **state)
{
    snprintf(g_label_value, sizeof(g_label_value), "engine-%d", (int)getpid());
    snprintf(g_filter, sizeof(g_filter), "%s=%s", TEST_LABEL, g_label_value);
    if (envmgr_engine_open(NULL, &g_engine, &g_open_err) < 0)
        return 0;
    g_build_rc = build_test_image(&g_build_err);
    return 0;
}

static int group_teardown(void **state)
{
    envmgr_engine_close(g_engine);
    envmgr_buf_free(&g_build_lines);
    return 0;
}

static void require_image(void)
{
    require_engine();
    if (g_build_rc < 0)
        fail_msg("build %s: %s (%s)", TEST_IMAGE, g_build_err.message, g_build_err.hint);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_version(void **state)
{
    require_engine();
    envmgr_error_t err = {0};
    envmgr_cleanup_json json_t *version = NULL;
    assert_int_equal(envmgr_engine_version(g_engine, &version, &err), 0);
    const char *api = json_string_value(json_object_get(version, "ApiVersion"));
    assert_non_null(api);
    int major = 0, minor = 0;
    assert_int_equal(sscanf(api, "%d.%d", &major, &minor), 2);
    const char *expected = major == 1 && minor < 47 ? api : "1.47";
    assert_string_equal(envmgr_engine_api_version(g_engine), expected);
    assert_int_equal(envmgr_engine_ping(g_engine, &err), 0);
}

static void test_image_build(void **state)
{
    require_image();
    const char *lines = g_build_lines.data ? g_build_lines.data : "";
    assert_non_null(strstr(lines, "Step 1/5 : FROM scratch"));
    assert_non_null(strstr(lines, "Successfully tagged " TEST_IMAGE));
    envmgr_error_t err = {0};
    envmgr_cleanup_json json_t *image = NULL;
    assert_int_equal(envmgr_engine_image_inspect(g_engine, TEST_IMAGE, &image, &err), 0);
    json_t *labels = json_object_get(json_object_get(image, "Config"), "Labels");
    assert_string_equal(json_string_value(json_object_get(labels, TEST_LABEL)), "engine");
    envmgr_cleanup_json json_t *absent = NULL;
    assert_int_equal(
        envmgr_engine_image_inspect(g_engine, "envtest-no-such-image:never", &absent, &err), -1);
    assert_int_equal(err.kind, ENVMGR_E_NOT_FOUND);
    assert_int_equal(err.code, 404);
}

static void test_image_build_error(void **state)
{
    require_image();
    char dir[] = "/tmp/engine-badbuild-XXXXXX";
    assert_non_null(mkdtemp(dir));
    envmgr_cleanup_free char *df = envmgr_xasprintf("%s/Dockerfile", dir);
    const char *text = "FROM " TEST_IMAGE "\nRUN [\"/bin/sh\", \"-c\", \"echo failing; exit 3\"]\n";
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_write_file(df, text, strlen(text), &err), 0);
    envmgr_buf_t lines = ENVMGR_BUF_INIT;
    envmgr_build_options_t opts = {.context_dir = dir};
    int r = envmgr_engine_image_build(g_engine, &opts, progress_collect, &lines, &err);
    unlink(df);
    rmdir(dir);
    assert_int_equal(r, -1);
    assert_int_equal(err.kind, ENVMGR_E_ENV);
    assert_non_null(strstr(err.message, "returned a non-zero code: 3"));
    assert_non_null(strstr(lines.data ? lines.data : "", "failing"));
    envmgr_buf_free(&lines);
    /* the failed build removes the step images it made, never its base (the FROM step's id) */
    envmgr_cleanup_json json_t *base = NULL;
    assert_int_equal(envmgr_engine_image_inspect(g_engine, TEST_IMAGE, &base, &err), 0);
}

static void test_network(void **state)
{
    require_engine();
    envmgr_error_t err = {0};
    envmgr_kvlist_t labels = {0};
    test_labels(&labels);
    envmgr_cleanup_free char *name = unique_name("net");
    envmgr_cleanup_free char *id = NULL;
    assert_int_equal(envmgr_engine_network_create(g_engine, name, &labels, &id, &err), 0);
    envmgr_kvlist_free(&labels);
    assert_int_equal(strlen(id), 64);
    envmgr_cleanup_json json_t *list = NULL;
    assert_int_equal(envmgr_engine_network_list(g_engine, g_filter, &list, &err), 0);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "Name")), name);
    envmgr_cleanup_json json_t *info = NULL;
    assert_int_equal(envmgr_engine_network_inspect(g_engine, name, &info, &err), 0);
    assert_string_equal(json_string_value(json_object_get(info, "Id")), id);
    assert_int_equal(envmgr_engine_network_remove(g_engine, id, &err), 0);
    assert_int_equal(envmgr_engine_network_remove(g_engine, id, &err), -1);
    assert_int_equal(err.kind, ENVMGR_E_NOT_FOUND);
    assert_nothing_left();
}

static void test_volume(void **state)
{
    require_engine();
    envmgr_error_t err = {0};
    envmgr_kvlist_t labels = {0};
    test_labels(&labels);
    envmgr_cleanup_free char *name = unique_name("vol");
    assert_int_equal(envmgr_engine_volume_create(g_engine, name, &labels, &err), 0);
    envmgr_kvlist_free(&labels);
    envmgr_cleanup_json json_t *list = NULL;
    assert_int_equal(envmgr_engine_volume_list(g_engine, g_filter, &list, &err), 0);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "Name")), name);
    assert_int_equal(envmgr_engine_volume_remove(g_engine, name, false, &err), 0);
    assert_int_equal(envmgr_engine_volume_remove(g_engine, name, false, &err), -1);
    assert_int_equal(err.kind, ENVMGR_E_NOT_FOUND);
    assert_nothing_left();
}

/* ---- containers ----------------------------------------------------------------------------- */

typedef struct output {
    envmgr_buf_t out, err;
} output_t;

static int output_collect(void *userdata, enum envmgr_stream stream, const char *data, size_t len)
{
    output_t *o = userdata;
    envmgr_buf_add(stream == ENVMGR_STREAM_STDERR ? &o->err : &o->out, data, len);
    return 0;
}

static void output_free(output_t *o)
{
    envmgr_buf_free(&o->out);
    envmgr_buf_free(&o->err);
}

static const char *text(const envmgr_buf_t *b)
{
    return b->data ? b->data : "";
}

static json_t *container_config(const char *network)
{
    return json_pack(
        "{s:s, s:[s,s,s], s:{s:s}, s:{s:{}}, s:{s:s, s:{s:[{s:s, s:s}]}}, s:{s:{s:{s:[s]}}}}",
        "Image", TEST_IMAGE, "Cmd", "sh", "-c",
        /* stdout and stderr reach the log through separate pipes: their relative order is
         * only certain with a pause between them */
        "trap 'exit 0' TERM; echo line1; sleep 0.2; echo line2 >&2; sleep 0.2; echo line3; "
        "echo line4; "
        "while :; do sleep 1 & wait $!; done",
        "Labels", TEST_LABEL, g_label_value, "ExposedPorts", "8080/tcp", "HostConfig",
        "NetworkMode", network, "PortBindings", "8080/tcp", "HostIp", "127.0.0.1", "HostPort", "",
        "NetworkingConfig", "EndpointsConfig", network, "Aliases", "svc");
}

static int published_port(json_t *info)
{
    json_t *ports = json_object_get(json_object_get(info, "NetworkSettings"), "Ports");
    json_t *binding = json_array_get(json_object_get(ports, "8080/tcp"), 0);
    assert_string_equal(json_string_value(json_object_get(binding, "HostIp")), "127.0.0.1");
    const char *port = json_string_value(json_object_get(binding, "HostPort"));
    assert_non_null(port);
    return atoi(port);
}

static bool port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
    close(fd);
    return ok;
}

static void check_exec(const char *id)
{
    envmgr_error_t err = {0};
    output_t o = {0};
    int code = -1;
    const char *echo[] = {"echo", "hi", NULL};
    assert_int_equal(
        envmgr_engine_exec(g_engine, id, echo, NULL, 10000, output_collect, &o, &code, &err), 0);
    assert_string_equal(text(&o.out), "hi\n");
    assert_string_equal(text(&o.err), "");
    assert_int_equal(code, 0);
    const char *exit7[] = {"sh", "-c", "echo to-stderr >&2; exit 7", NULL};
    const char *env[] = {"ENVTEST_X=1", NULL};
    assert_int_equal(
        envmgr_engine_exec(g_engine, id, exit7, env, 10000, output_collect, &o, &code, &err), 0);
    assert_int_equal(code, 7);
    assert_string_equal(text(&o.err), "to-stderr\n");
    output_free(&o);
    const char *slow[] = {"sleep", "5", NULL};
    int64_t start = envmgr_now_ms();
    assert_int_equal(envmgr_engine_exec(g_engine, id, slow, NULL, 300, NULL, NULL, &code, &err),
                     -1);
    assert_int_equal(err.kind, ENVMGR_E_ENV);
    assert_non_null(strstr(err.message, "timed out after 300 ms"));
    assert_true(envmgr_now_ms() - start < 3000);
}

static void check_logs(const char *id)
{
    envmgr_error_t err = {0};
    output_t all = {0};
    for (int i = 0; i < 100 && !strstr(text(&all.out), "line4"); i++) {
        output_free(&all);
        assert_int_equal(envmgr_engine_container_logs(g_engine, id, -1, false, false,
                                                      output_collect, &all, &err),
                         0);
        if (!strstr(text(&all.out), "line4"))
            envmgr_sleep_ms(50);
    }
    assert_string_equal(text(&all.out), "line1\nline3\nline4\n");
    assert_string_equal(text(&all.err), "line2\n");
    output_free(&all);
    output_t tail = {0};
    assert_int_equal(
        envmgr_engine_container_logs(g_engine, id, 2, false, false, output_collect, &tail, &err),
        0);
    assert_string_equal(text(&tail.out), "line3\nline4\n");
    assert_string_equal(text(&tail.err), "");
    output_free(&tail);
    output_t three = {0};
    assert_int_equal(
        envmgr_engine_container_logs(g_engine, id, 3, false, false, output_collect, &three, &err),
        0);
    assert_string_equal(text(&three.out), "line3\nline4\n");
    assert_string_equal(text(&three.err), "line2\n");
    output_free(&three);
}

static int stop_after_first(void *userdata, enum envmgr_stream stream, const char *data, size_t len)
{
    envmgr_buf_add(userdata, data, len);
    return 1;
}

static void check_logs_follow_stops(const char *id)
{
    envmgr_error_t err = {0};
    envmgr_buf_t first = ENVMGR_BUF_INIT;
    int64_t start = envmgr_now_ms();
    assert_int_equal(
        envmgr_engine_container_logs(g_engine, id, -1, true, false, stop_after_first, &first, &err),
        0);
    assert_true(envmgr_now_ms() - start < 5000);
    assert_string_equal(text(&first), "line1\n");
    envmgr_buf_free(&first);
}

static void *make_tar(const char *name, const char *content, size_t *len)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    size_t cap = 16384, used = 0;
    void *mem = envmgr_xcalloc(1, cap);
    assert_int_equal(archive_write_open_memory(a, mem, cap, &used), ARCHIVE_OK);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)strlen(content));
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    assert_int_equal(archive_write_data(a, content, strlen(content)), (la_ssize_t)strlen(content));
    archive_entry_free(e);
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    *len = used;
    return mem;
}

static void check_put_archive(const char *id)
{
    envmgr_error_t err = {0};
    size_t len = 0;
    envmgr_cleanup_free void *tar = make_tar("hello.txt", "hello from envtest\n", &len);
    assert_int_equal(envmgr_engine_container_put_archive(g_engine, id, "/tmp", tar, len, &err), 0);
    output_t o = {0};
    int code = -1;
    const char *cat[] = {"cat", "/tmp/hello.txt", NULL};
    assert_int_equal(
        envmgr_engine_exec(g_engine, id, cat, NULL, 10000, output_collect, &o, &code, &err), 0);
    assert_int_equal(code, 0);
    assert_string_equal(text(&o.out), "hello from envtest\n");
    output_free(&o);
    assert_int_equal(
        envmgr_engine_container_put_archive(g_engine, id, "/no/such/dir", tar, len, &err), -1);
    assert_int_equal(err.kind, ENVMGR_E_NOT_FOUND);
}

static void test_container_lifecycle(void **state)
{
    require_image();
    envmgr_error_t err = {0};
    envmgr_kvlist_t labels = {0};
    test_labels(&labels);
    envmgr_cleanup_free char *net_name = unique_name("net");
    envmgr_cleanup_free char *net_id = NULL;
    assert_int_equal(envmgr_engine_network_create(g_engine, net_name, &labels, &net_id, &err), 0);
    envmgr_kvlist_free(&labels);

    envmgr_cleanup_free char *name = unique_name("ctr");
    envmgr_cleanup_json json_t *config = container_config(net_name);
    envmgr_cleanup_free char *id = NULL;
    if (envmgr_engine_container_create(g_engine, name, config, &id, &err) < 0)
        fail_msg("%s", err.message);
    assert_int_equal(envmgr_engine_container_start(g_engine, id, &err), 0);
    assert_int_equal(envmgr_engine_container_start(g_engine, id, &err), 0); /* 304: no error */

    envmgr_cleanup_json json_t *info = NULL;
    assert_int_equal(envmgr_engine_container_inspect(g_engine, id, &info, &err), 0);
    assert_true(json_is_true(json_object_get(json_object_get(info, "State"), "Running")));
    int port = published_port(info);
    assert_true(port > 0 && port < 65536);
    assert_true(port_accepts(port));
    envmgr_cleanup_json json_t *list = NULL;
    assert_int_equal(envmgr_engine_container_list(g_engine, g_filter, false, &list, &err), 0);
    assert_int_equal(json_array_size(list), 1);

    check_exec(id);
    check_logs(id);
    check_logs_follow_stops(id);
    check_put_archive(id);

    assert_int_equal(envmgr_engine_container_stop(g_engine, id, 5, &err), 0);
    int64_t code = -1;
    assert_int_equal(envmgr_engine_container_wait(g_engine, id, &code, &err), 0);
    assert_int_equal(code, 0);
    assert_int_equal(envmgr_engine_container_remove(g_engine, id, true, true, &err), 0);
    assert_int_equal(envmgr_engine_container_remove(g_engine, id, true, true, &err), -1);
    assert_int_equal(err.kind, ENVMGR_E_NOT_FOUND);
    assert_int_equal(envmgr_engine_network_remove(g_engine, net_id, &err), 0);
    assert_nothing_left();
}

static void test_create_missing_image(void **state)
{
    require_engine();
    envmgr_error_t err = {0};
    envmgr_cleanup_free char *name = unique_name("noimage");
    envmgr_cleanup_json json_t *config =
        json_pack("{s:s, s:{s:s}}", "Image", "envtest-no-such-image:never", "Labels", TEST_LABEL,
                  g_label_value);
    char *id = NULL;
    assert_int_equal(envmgr_engine_container_create(g_engine, name, config, &id, &err), -1);
    assert_null(id);
    assert_int_equal(err.kind, ENVMGR_E_NOT_FOUND);
    assert_int_equal(err.code, 404);
    assert_non_null(strstr(err.message, "No such image: envtest-no-such-image:never"));
    assert_nothing_left();
}

/* Several threads, each with its own handle from envmgr_engine_dup, as the lifecycle uses them. */
static void *thread_pings(void *arg)
{
    envmgr_engine_t *e = arg;
    envmgr_error_t err = {0};
    for (int i = 0; i < 20; i++) {
        envmgr_cleanup_json json_t *list = NULL;
        if (envmgr_engine_ping(e, &err) < 0 ||
            envmgr_engine_container_list(e, g_filter, true, &list, &err) < 0)
            return (void *)1;
    }
    return NULL;
}

static void test_dup_in_threads(void **state)
{
    require_engine();
    envmgr_error_t err = {0};
    envmgr_engine_t *handles[4];
    pthread_t threads[4];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(envmgr_engine_dup(g_engine, &handles[i], &err), 0);
        assert_int_equal(pthread_create(&threads[i], NULL, thread_pings, handles[i]), 0);
    }
    int failures = 0;
    for (int i = 0; i < 4; i++) {
        void *result;
        pthread_join(threads[i], &result);
        failures += result != NULL;
        envmgr_engine_close(handles[i]);
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_version, sweep_labelled),
        cmocka_unit_test_teardown(test_image_build, sweep_labelled),
        cmocka_unit_test_teardown(test_image_build_error, sweep_labelled),
        cmocka_unit_test_teardown(test_network, sweep_labelled),
        cmocka_unit_test_teardown(test_volume, sweep_labelled),
        cmocka_unit_test_teardown(test_container_lifecycle, sweep_labelled),
        cmocka_unit_test_teardown(test_create_missing_image, sweep_labelled),
        cmocka_unit_test_teardown(test_dup_in_threads, sweep_labelled),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
