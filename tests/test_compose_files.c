/* Compose keys that reach other files or the engine's platform: extends from another file
 * (relative paths rebased onto that file's folder), include's long form (project_directory,
 * env_file), service secrets/configs in long form (target, uid, gid, mode) and platform. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_compose_lib.h"
#include <envmgr/compose.h>

static void make_dir(const char *name)
{
    assert_true(mkdir(name, 0755) == 0);
}

/* tmpdir + "/" + rel (static buffer, one at a time). */
static const char *at(const char *rel)
{
    static char buf[512];
    snprintf(buf, sizeof(buf), "%s/%s", tmpdir, rel);
    return buf;
}

static const envmgr_mount_t *mount_to(const envmgr_service_t *s, const char *target)
{
    for (size_t i = 0; i < s->n_mounts; i++)
        if (!strcmp(s->mounts[i].target, target))
            return &s->mounts[i];
    fail_msg("service %s has no mount at %s", s->name, target);
    return NULL;
}

/* ---- extends: file ----------------------------------------------------------------------------
 */

static void test_extends_file_rebases_paths(void **state)
{
    make_dir("common");
    make_dir("lib");
    write_file("common/base.env", "FROM_BASE=common\n");
    write_file("lib/root.env", "FROM_ROOT=lib\n");
    write_file("base.env", "FROM_BASE=wrong-folder\n");
    write_file("lib/compose.yaml", "services:\n"
                                   "  root:\n"
                                   "    image: busybox\n"
                                   "    env_file: ./root.env\n"
                                   "    volumes: [\"./rootdata:/rootdata\"]\n");
    write_file("common/compose.yaml",
               "services:\n"
               "  base:\n"
               "    extends: {file: ../lib/compose.yaml, service: root}\n"
               "    build: {context: ./app, args: {A: \"1\"}}\n"
               "    env_file: [{path: ./base.env}, {path: ./missing.env, required: false}]\n"
               "    volumes:\n"
               "      - ./data:/data\n"
               "      - {type: bind, source: ./conf, target: /conf}\n"
               "      - named:/named\n"
               "      - /abs:/abs\n"
               "  local:\n"
               "    extends: base\n"
               "    volumes: [\"./local:/local\"]\n");
    envmgr_project_t *p = load("services:\n"
                               "  web:\n"
                               "    extends: {file: common/compose.yaml, service: base}\n"
                               "    volumes: [\"./mine:/mine\"]\n"
                               "  other:\n"
                               "    extends: {file: common/compose.yaml, service: local}\n"
                               "volumes: {named: {}}\n");
    const envmgr_service_t *web = svc(p, "web");
    assert_non_null(web->build);
    assert_string_equal(web->build->context, at("common/app"));
    assert_string_equal(env_of(&web->environment, "FROM_BASE"), "common");
    assert_string_equal(env_of(&web->environment, "FROM_ROOT"), "lib");
    assert_string_equal(mount_to(web, "/data")->source, at("common/data"));
    assert_string_equal(mount_to(web, "/conf")->source, at("common/conf"));
    assert_string_equal(mount_to(web, "/rootdata")->source, at("lib/rootdata"));
    assert_string_equal(mount_to(web, "/mine")->source, at("mine"));
    assert_string_equal(mount_to(web, "/abs")->source, "/abs");
    assert_int_equal(mount_to(web, "/named")->type, ENVMGR_MOUNT_VOLUME);
    assert_string_equal(mount_to(web, "/named")->source, "named");
    /* extends without file: inside the other file resolves in that file's folder too */
    const envmgr_service_t *other = svc(p, "other");
    assert_string_equal(other->build->context, at("common/app"));
    assert_string_equal(mount_to(other, "/local")->source, at("common/local"));
    assert_string_equal(mount_to(other, "/data")->source, at("common/data"));
    envmgr_project_free(p);
}

static void test_extends_same_file_keeps_project_paths(void **state)
{
    make_dir("sub");
    envmgr_project_t *p = load("services:\n"
                               "  base:\n"
                               "    image: busybox\n"
                               "    build: ./ctx\n"
                               "    volumes: [\"./d:/d\"]\n"
                               "  web:\n"
                               "    extends: base\n");
    assert_string_equal(svc(p, "web")->build->context, at("ctx"));
    assert_string_equal(mount_to(svc(p, "web"), "/d")->source, at("d"));
    envmgr_project_free(p);
}

static void test_extends_file_errors(void **state)
{
    make_dir("common");
    write_file("common/compose.yaml", "services:\n  base:\n    image: busybox\n");
    const char *m =
        load_error("services:\n  web:\n    extends: {file: common/compose.yaml, service: nope}\n");
    assert_non_null(strstr(m, "no service 'nope' in"));
    assert_non_null(strstr(m, "common/compose.yaml"));
    m = load_error("services:\n  web:\n    extends: {file: common/absent.yaml, service: base}\n");
    assert_non_null(strstr(m, "compose.yaml:3:"));
    assert_non_null(strstr(m, "absent.yaml"));
    /* an error in the extended service names its own file and line */
    write_file("common/bad.yaml", "services:\n  base:\n    image: busybox\n    mem_limit: lots\n");
    m = load_error("services:\n  web:\n    extends: {file: common/bad.yaml, service: base}\n");
    assert_non_null(strstr(m, "/common/bad.yaml:4:16: services.web.mem_limit: invalid size"));
}

/* ---- include: long form -----------------------------------------------------------------------
 */

static void test_include_project_directory_and_env_file(void **state)
{
    make_dir("sub");
    make_dir("envs");
    write_file("sub/compose.yaml", "services:\n"
                                   "  inc:\n"
                                   "    image: \"busybox:${INC_TAG}\"\n"
                                   "    build: ./ctx\n"
                                   "    environment:\n"
                                   "      FROM_ENV_FILE: \"${INC_VAR}\"\n"
                                   "      OVERRIDDEN: \"${INC_OVER}\"\n"
                                   "      SECOND: \"${INC_SECOND}\"\n"
                                   "    volumes: [\"./data:/data\"]\n");
    write_file("sub/.env", "INC_VAR=sub-dotenv-must-not-be-read\nINC_TAG=wrong\n");
    write_file("envs/one.env", "INC_VAR=from-env-file\nINC_OVER=include\nINC_SECOND=one\n"
                               "INC_TAG=1.36\n");
    write_file("envs/two.env", "INC_SECOND=two\n");
    write_file(".env", "INC_OVER=parent\n");
    envmgr_project_t *p = load("include:\n"
                               "  - path: sub/compose.yaml\n"
                               "    project_directory: .\n"
                               "    env_file: [envs/one.env, envs/two.env]\n"
                               "services:\n"
                               "  app: {image: busybox, depends_on: [inc]}\n");
    const envmgr_service_t *inc = svc(p, "inc");
    assert_string_equal(inc->image, "busybox:1.36");
    /* relative paths against project_directory (the including folder), not sub/ */
    assert_string_equal(inc->build->context, at("ctx"));
    assert_string_equal(mount_to(inc, "/data")->source, at("data"));
    assert_string_equal(env_of(&inc->environment, "FROM_ENV_FILE"), "from-env-file");
    /* the later env_file wins; the including project's .env wins over both */
    assert_string_equal(env_of(&inc->environment, "SECOND"), "two");
    assert_string_equal(env_of(&inc->environment, "OVERRIDDEN"), "parent");
    envmgr_project_free(p);
}

static void test_include_defaults(void **state)
{
    make_dir("sub");
    write_file("sub/compose.yaml", "services:\n"
                                   "  inc:\n"
                                   "    image: busybox\n"
                                   "    build: ./ctx\n"
                                   "    environment: {V: \"${INC_VAR}\"}\n");
    write_file("sub/.env", "INC_VAR=sub-dotenv\n");
    /* short form and long form without options: the included file's own folder and .env */
    envmgr_project_t *p = load("include: [sub/compose.yaml]\nservices: {app: {image: busybox}}\n");
    assert_string_equal(svc(p, "inc")->build->context, at("sub/ctx"));
    assert_string_equal(env_of(&svc(p, "inc")->environment, "V"), "sub-dotenv");
    envmgr_project_free(p);
    p = load("include: [{path: sub/compose.yaml}]\nservices: {app: {image: busybox}}\n");
    assert_string_equal(svc(p, "inc")->build->context, at("sub/ctx"));
    assert_string_equal(env_of(&svc(p, "inc")->environment, "V"), "sub-dotenv");
    envmgr_project_free(p);
    /* project_directory elsewhere: .env is looked up there */
    make_dir("pd");
    write_file("pd/.env", "INC_VAR=pd-dotenv\n");
    p = load("include: [{path: sub/compose.yaml, project_directory: pd}]\n"
             "services: {app: {image: busybox}}\n");
    assert_string_equal(svc(p, "inc")->build->context, at("pd/ctx"));
    assert_string_equal(env_of(&svc(p, "inc")->environment, "V"), "pd-dotenv");
    envmgr_project_free(p);
}

static void test_include_env_file_missing(void **state)
{
    make_dir("sub");
    write_file("sub/compose.yaml", "services: {inc: {image: busybox}}\n");
    const char *m = load_error("include:\n"
                               "  - path: sub/compose.yaml\n"
                               "    env_file: nowhere.env\n"
                               "services: {app: {image: busybox}}\n");
    assert_non_null(strstr(m, "compose.yaml:2:"));
    assert_non_null(strstr(m, "include env_file"));
    assert_non_null(strstr(m, "nowhere.env"));
}

/* ---- secrets and configs: long form -----------------------------------------------------------
 */

static void test_file_refs_long_form(void **state)
{
    write_file("s.txt", "s3cret");
    envmgr_project_t *p =
        load("services:\n"
             "  app:\n"
             "    image: busybox\n"
             "    secrets:\n"
             "      - short\n"
             "      - {source: short, target: renamed, uid: \"1000\", gid: \"1001\","
             " mode: 0440}\n"
             "      - {source: short, target: /etc/abs.key, mode: 288}\n"
             "    configs:\n"
             "      - {source: conf, uid: \"7\", mode: 0o600}\n"
             "      - {source: conf, target: /etc/c.conf}\n"
             "secrets: {short: {file: ./s.txt}}\n"
             "configs: {conf: {content: hello}}\n");
    const envmgr_service_t *app = svc(p, "app");
    assert_int_equal(app->n_secrets, 3);
    assert_string_equal(app->secrets[0].target, "/run/secrets/short");
    assert_int_equal(app->secrets[0].uid, -1);
    assert_int_equal(app->secrets[0].gid, -1);
    assert_int_equal(app->secrets[0].mode, -1);
    assert_string_equal(app->secrets[1].target, "/run/secrets/renamed");
    assert_int_equal(app->secrets[1].uid, 1000);
    assert_int_equal(app->secrets[1].gid, 1001);
    assert_int_equal(app->secrets[1].mode, 0440);
    assert_string_equal(app->secrets[2].target, "/etc/abs.key");
    assert_int_equal(app->secrets[2].mode, 0440); /* 288 decimal */
    assert_int_equal(app->n_configs, 2);
    assert_string_equal(app->configs[0].target, "/conf");
    assert_int_equal(app->configs[0].uid, 7);
    assert_int_equal(app->configs[0].mode, 0600);
    assert_string_equal(app->configs[1].target, "/etc/c.conf");
    envmgr_project_free(p);
    const char *m = load_error("services:\n  app:\n    image: busybox\n"
                               "    secrets: [{source: s, mode: 0999}]\n"
                               "secrets: {s: {file: ./s.txt}}\n");
    assert_non_null(strstr(m, "invalid mode '0999'"));
    m = load_error("services:\n  app:\n    image: busybox\n"
                   "    secrets: [{source: s, uid: -1}]\n"
                   "secrets: {s: {file: ./s.txt}}\n");
    assert_non_null(strstr(m, "services.app.secrets[0].uid"));
}

/* ---- platform ---------------------------------------------------------------------------------
 */

static void test_platform(void **state)
{
    static const char *const good[] = {"linux/amd64", "linux/arm64/v8", "linux", "windows/amd64"};
    static const char *const bad[] = {"linux/", "/amd64", "linux//amd64", "linux/arm64/v8/x",
                                      "linux amd64"};
    char yaml[256];
    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
        snprintf(yaml, sizeof(yaml), "services: {app: {image: busybox, platform: \"%s\"}}\n",
                 good[i]);
        envmgr_project_t *p = load(yaml);
        assert_string_equal(svc(p, "app")->platform, good[i]);
        envmgr_project_free(p);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        snprintf(yaml, sizeof(yaml), "services: {app: {image: busybox, platform: \"%s\"}}\n",
                 bad[i]);
        const char *m = load_error(yaml);
        assert_non_null(strstr(m, "services.app.platform: invalid platform"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_extends_file_rebases_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extends_same_file_keeps_project_paths, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_extends_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_project_directory_and_env_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_include_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_include_env_file_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_refs_long_form, setup, teardown),
        cmocka_unit_test_setup_teardown(test_platform, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
