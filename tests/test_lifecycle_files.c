/* up against the fake engine (fake_engine.h): a service's platform reaches the engine's create
 * (and a refusal names the service and the platform); a secret whose long form gives uid, gid and
 * mode is copied into the created container as a tar whose header carries them, not bind-mounted.
 * tests/compose/files/run.sh checks the same inside real containers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h */

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_engine.h"
#include <envmgr/compose.h>
#include <envmgr/engine.h>
#include <envmgr/lifecycle.h>
#include <envmgr/util.h>

static const char yaml[] =
    "name: lf\n"
    "services:\n"
    "  app:\n"
    "    image: fakeapp:1\n"
    "    platform: linux/arm64\n"
    "    secrets:\n"
    "      - plain\n"
    "      - {source: key, target: /etc/app/key, uid: \"1000\", gid: \"1001\","
    " mode: 0400}\n"
    "secrets:\n"
    "  plain: {environment: LF_PLAIN}\n"
    "  key: {environment: LF_KEY}\n";

struct env {
    fake_engine_t *fake;
    envmgr_engine_t *engine;
    envmgr_project_t *project;
    char runtime_dir[64];
};

static int setup(void **state)
{
    struct env *e = envmgr_xcalloc(1, sizeof(*e));
    snprintf(e->runtime_dir, sizeof(e->runtime_dir), "/tmp/envtest-lf-XXXXXX");
    assert_non_null(mkdtemp(e->runtime_dir));
    setenv("XDG_RUNTIME_DIR", e->runtime_dir, 1);
    setenv("LF_PLAIN", "plain-bytes", 1);
    setenv("LF_KEY", "key-bytes-0123", 1);
    e->fake = fake_engine_start();
    fake_engine_add_image(e->fake, "fakeapp:1", NULL);
    envmgr_error_t err = {0};
    if (envmgr_engine_open(fake_engine_host(e->fake), &e->engine, &err) < 0)
        fail_msg("open: %s", err.message);
    if (envmgr_compose_load_string(yaml, strlen(yaml), "/tmp/lf/compose.yaml", NULL, &e->project,
                                   &err) < 0)
        fail_msg("compose: %s", err.message);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    envmgr_engine_close(e->engine);
    envmgr_project_free(e->project);
    fake_engine_free(e->fake);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->runtime_dir);
    assert_int_equal(system(cmd), 0);
    free(e);
    return 0;
}

/* The index of the first request whose line starts with prefix and contains part, or -1. */
static long find_request(fake_engine_t *f, const char *prefix, const char *part)
{
    for (size_t i = 0; i < fake_engine_requests(f); i++) {
        const char *line = fake_engine_request(f, i);
        if (line && !strncmp(line, prefix, strlen(prefix)) && (!part || strstr(line, part)))
            return (long)i;
    }
    return -1;
}

static void test_platform_and_owned_secret(void **state)
{
    struct env *e = *state;
    envmgr_error_t err = {0};
    if (envmgr_up(e->engine, e->project, NULL, &err) < 0)
        fail_msg("up: %s", err.message);

    long create = find_request(e->fake, "POST /v1.41/containers/create", "platform=linux%2Farm64");
    assert_true(create >= 0);
    /* the short-form secret is bind-mounted, the owned one is not */
    envmgr_cleanup_json json_t *body =
        json_loads(fake_engine_request_body(e->fake, (size_t)create), 0, NULL);
    assert_non_null(body);
    envmgr_cleanup_free char *mounts =
        json_dumps(json_object_get(json_object_get(body, "HostConfig"), "Mounts"), 0);
    assert_non_null(strstr(mounts, "/run/secrets/plain"));
    assert_null(strstr(mounts, "/etc/app/key"));

    /* the owned one: a tar at / with etc/app/key, 1000:1001, 0400, its bytes; before the start */
    long put = find_request(e->fake, "PUT /v1.41/containers/", "/archive?path=%2F");
    long start = find_request(e->fake, "POST /v1.41/containers/", "/start");
    assert_true(put > create);
    assert_true(start > put);
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_memory(a, fake_engine_request_body(e->fake, (size_t)put),
                                              fake_engine_request_body_len(e->fake, (size_t)put)),
                     ARCHIVE_OK);
    struct archive_entry *entry;
    assert_int_equal(archive_read_next_header(a, &entry), ARCHIVE_OK);
    assert_string_equal(archive_entry_pathname(entry), "etc/app/key");
    assert_int_equal(archive_entry_uid(entry), 1000);
    assert_int_equal(archive_entry_gid(entry), 1001);
    assert_int_equal(archive_entry_perm(entry), 0400);
    char data[64] = {0};
    assert_int_equal(archive_read_data(a, data, sizeof(data) - 1), strlen("key-bytes-0123"));
    assert_string_equal(data, "key-bytes-0123");
    assert_int_equal(archive_read_next_header(a, &entry), ARCHIVE_EOF);
    archive_read_free(a);
}

static void test_platform_refused(void **state)
{
    struct env *e = *state;
    fake_fault_t refusal = {.status = 404,
                            .body = "{\"message\":\"image with reference fakeapp:1 was found but "
                                    "does not match the specified platform: wanted linux/arm64, "
                                    "actual: linux/amd64\"}"};
    fake_engine_fault(e->fake, "POST /containers/create", &refusal);
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_up(e->engine, e->project, NULL, &err), -1);
    assert_non_null(strstr(err.message, "service app: the engine refused platform linux/arm64"));
    assert_non_null(strstr(err.message, "does not match the specified platform"));
    assert_non_null(strstr(err.hint, "use an image built for linux/arm64"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_platform_and_owned_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(test_platform_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
