/* envmgr_fixture against real services (CTest label docker):
 *   MySQL   ENVTEST_TEST_MYSQL_HOST/PORT/USER/PASSWORD/DB, or else a container this test starts
 * from $ENVTEST_MYSQL_IMAGE (default envtest/mysql-offline:10.11) and removes at the end; mocks the
 * real mock-llm and mock-vector binaries of this build, started on loopback. Covers every step
 * type, the Seoul fixture (ADR-009's question answered through the cassette), Korean round trips,
 * atomicity (bad rows, MySQL refusals, later failing steps), verify, digests. */
#include <errno.h>
#include <mysql.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture_internal.h"
#include <envmgr/engine.h>

static struct {
    envmgr_engine_t *engine;
    char *container; /* ours, removed at the end */
    char host[64], user[64], password[64], db[64];
    unsigned port;
    pid_t llm_pid, vec_pid;
    char llm_url[64], vec_url[64];
    char dir[128];
    envmgr_fixture_service_t services[3];
    envmgr_fixture_targets_t targets;
} g;

static void assert_contains(const char *haystack, const char *needle)
{
    if (haystack == NULL || strstr(haystack, needle) == NULL)
        fail_msg("expected \"%s\" in \"%s\"", needle, haystack ? haystack : "(null)");
}

/* ---- services ----------------------------------------------------------------------------------
 */
static int start_mock(const char *name, pid_t *pid, char *url, size_t url_len)
{
    const char *bin = getenv("ENVTEST_BINARY_DIR");
    envmgr_cleanup_free char *exe =
        envmgr_xasprintf("%s/compose/%s/context/%s", bin ? bin : ".", name, name);
    envmgr_cleanup_free char *port_file = envmgr_xasprintf("%s/%s.port", g.dir, name);
    if (access(exe, X_OK) != 0) {
        fprintf(stderr, "# %s not built (%s): build the %s target\n", name, exe, name);
        return -1;
    }
    *pid = fork();
    if (*pid == 0) {
        execl(exe, exe, "--host", "127.0.0.1", "--port", "0", "--port-file", port_file, "--quiet",
              (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        char *text = NULL;
        size_t len;
        envmgr_error_t err = {0};
        if (envmgr_read_file(port_file, &text, &len, &err) == 0 && len > 0) {
            snprintf(url, url_len, "http://127.0.0.1:%d", atoi(text));
            free(text);
            return 0;
        }
        free(text);
        usleep(25000);
    }
    fprintf(stderr, "# %s did not start\n", name);
    return -1;
}

static MYSQL *connect_db(void)
{
    MYSQL *c = mysql_init(NULL);
    mysql_options(c, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (mysql_real_connect(c, g.host, g.user, g.password, g.db, g.port, NULL, 0) == NULL) {
        mysql_close(c);
        return NULL;
    }
    return c;
}

static int start_mysql_container(void)
{
    envmgr_error_t err = {0};
    if (envmgr_engine_open(NULL, &g.engine, &err) < 0) {
        fprintf(stderr, "# engine: %s\n", err.message);
        return -1;
    }
    const char *image = getenv("ENVTEST_MYSQL_IMAGE");
    image = image && *image ? image : "envtest/mysql-offline:10.11";
    snprintf(g.user, sizeof(g.user), "fixture");
    snprintf(g.db, sizeof(g.db), "fixture");
    if (envmgr_random_token(g.password, 20, &err) < 0)
        return -1;
    envmgr_cleanup_free char *pw = envmgr_xasprintf("MYSQL_PASSWORD=%s", g.password);
    envmgr_cleanup_free char *root = envmgr_xasprintf("MYSQL_ROOT_PASSWORD=%s", g.password);
    envmgr_cleanup_json json_t *config = json_pack(
        "{s:s, s:[s,s,s,s], s:{s:s}, s:{s:{}}, s:{s:{s:[{s:s, s:s}]}, s:b}}", "Image", image, "Env",
        pw, root, "MYSQL_DATABASE=fixture", "MYSQL_USER=fixture", "Labels", "io.envtest.test",
        "test_fixture_mysql", "ExposedPorts", "3306/tcp", "HostConfig", "PortBindings", "3306/tcp",
        "HostIp", "127.0.0.1", "HostPort", "", "AutoRemove", 0);
    envmgr_cleanup_free char *name = envmgr_xasprintf("envtest-test-fixture-%d", (int)getpid());
    if (envmgr_engine_container_create(g.engine, name, config, &g.container, &err) < 0 ||
        envmgr_engine_container_start(g.engine, g.container, &err) < 0) {
        fprintf(stderr, "# mysql container from %s: %s\n", image, err.message);
        return -1;
    }
    envmgr_cleanup_json json_t *inspect = NULL;
    if (envmgr_engine_container_inspect(g.engine, g.container, &inspect, &err) < 0)
        return -1;
    json_t *binding = json_array_get(
        json_object_get(json_object_get(json_object_get(inspect, "NetworkSettings"), "Ports"),
                        "3306/tcp"),
        0);
    g.port = (unsigned)atoi(json_string_value(json_object_get(binding, "HostPort")) ?: "0");
    snprintf(g.host, sizeof(g.host), "127.0.0.1");
    for (int i = 0; i < 240; i++) { /* up to 120 s */
        MYSQL *c = connect_db();
        if (c) {
            mysql_close(c);
            return 0;
        }
        usleep(500000);
    }
    fprintf(stderr, "# mysql in %s did not accept connections\n", g.container);
    return -1;
}

static int setup_services(void)
{
    snprintf(g.dir, sizeof(g.dir), "/tmp/envtest-fixture-mysql-XXXXXX");
    if (mkdtemp(g.dir) == NULL)
        return -1;
    const char *host = getenv("ENVTEST_TEST_MYSQL_HOST");
    if (host && *host) {
        snprintf(g.host, sizeof(g.host), "%s", host);
        g.port = (unsigned)atoi(getenv("ENVTEST_TEST_MYSQL_PORT") ?: "3306");
        snprintf(g.user, sizeof(g.user), "%s", getenv("ENVTEST_TEST_MYSQL_USER") ?: "root");
        snprintf(g.password, sizeof(g.password), "%s", getenv("ENVTEST_TEST_MYSQL_PASSWORD") ?: "");
        snprintf(g.db, sizeof(g.db), "%s", getenv("ENVTEST_TEST_MYSQL_DB") ?: "fixture");
        envmgr_error_t err = {0};
        if (envmgr_engine_open(NULL, &g.engine, &err) < 0)
            g.engine = NULL; /* copy test is skipped without an engine */
    } else if (start_mysql_container() < 0) {
        return -1;
    }
    if (start_mock("mock-llm", &g.llm_pid, g.llm_url, sizeof(g.llm_url)) < 0 ||
        start_mock("mock-vector", &g.vec_pid, g.vec_url, sizeof(g.vec_url)) < 0)
        return -1;
    g.services[0] = (envmgr_fixture_service_t){"mock-llm", g.llm_url, NULL, false};
    g.services[1] = (envmgr_fixture_service_t){"mock-vector", g.vec_url, NULL, false};
    g.services[2] = (envmgr_fixture_service_t){"mysql", NULL, g.container, false};
    g.targets.mysql.host = g.host;
    g.targets.mysql.port = g.port;
    g.targets.mysql.user = g.user;
    g.targets.mysql.password = g.password;
    g.targets.mysql.database = g.db;
    g.targets.services = g.services;
    g.targets.n_services = 3;
    g.targets.engine = g.engine;
    return 0;
}

/* Idempotent: also called by group_setup when it fails half-way. */
static int group_teardown(void **state)
{
    envmgr_error_t err = {0};
    if (g.container && g.engine)
        envmgr_engine_container_remove(g.engine, g.container, true, true, &err);
    free(g.container);
    g.container = NULL;
    if (g.engine)
        envmgr_engine_close(g.engine);
    g.engine = NULL;
    pid_t *pids[2] = {&g.llm_pid, &g.vec_pid};
    for (int i = 0; i < 2; i++) {
        if (*pids[i] > 0) {
            kill(*pids[i], SIGTERM);
            waitpid(*pids[i], NULL, 0);
            *pids[i] = 0;
        }
    }
    if (g.dir[0] == '\0')
        return 0;
    envmgr_cleanup_free char *rm = envmgr_xasprintf("rm -rf '%s'", g.dir);
    g.dir[0] = '\0';
    return system(rm) == 0 ? 0 : -1;
}

static int group_setup(void **state)
{
    if (setup_services() == 0)
        return 0;
    group_teardown(state);
    return -1;
}

/* ---- helpers -----------------------------------------------------------------------------------
 */
static char *sql_str(const char *q)
{
    MYSQL *c = connect_db();
    assert_non_null(c);
    if (mysql_query(c, q) != 0)
        fail_msg("%s: %s", q, mysql_error(c));
    MYSQL_RES *res = mysql_store_result(c);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    char *v = row && row[0] ? envmgr_xstrdup(row[0]) : NULL;
    if (res)
        mysql_free_result(res);
    mysql_close(c);
    return v;
}

static long long sql_int(const char *q)
{
    envmgr_cleanup_free char *v = sql_str(q);
    return v ? atoll(v) : -1;
}

static void sql_do(const char *q)
{
    MYSQL *c = connect_db();
    assert_non_null(c);
    if (mysql_query(c, q) != 0)
        fail_msg("%s: %s", q, mysql_error(c));
    mysql_close(c);
}

static void write_text(const char *dir, const char *rel, const char *text)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/%s", dir, rel);
    envmgr_cleanup_free char *parent = envmgr_xstrdup(path);
    *strrchr(parent, '/') = '\0';
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_mkdir_p(parent, 0755, &err), 0);
    assert_int_equal(envmgr_write_file(path, text, strlen(text), &err), 0);
}

/* Packs files (rel, text, rel, text, ..., NULL) into g.dir/<name>.tar.gz and opens it. */
static envmgr_fixture_t *make_fixture(const char *name, ...)
{
    envmgr_cleanup_free char *src = envmgr_xasprintf("%s/%s.d", g.dir, name);
    envmgr_cleanup_free char *out = envmgr_xasprintf("%s/%s.tar.gz", g.dir, name);
    envmgr_cleanup_free char *rm = envmgr_xasprintf("rm -rf '%s'", src);
    assert_int_equal(system(rm), 0);
    va_list ap;
    va_start(ap, name);
    for (const char *rel; (rel = va_arg(ap, const char *)) != NULL;)
        write_text(src, rel, va_arg(ap, const char *));
    va_end(ap);
    envmgr_error_t err = {0};
    if (envmgr_fixture_pack(src, out, &err) < 0)
        fail_msg("pack %s: %s", name, err.message);
    envmgr_fixture_t *f = NULL;
    /* as `envtest fixture load` opens it: the load checks the entries past the manifest */
    if (envmgr_fixture_open_streamed(out, NULL, &f, &err) < 0)
        fail_msg("open %s: %s", name, err.message);
    return f;
}

static json_t *http_json(const char *method, const char *url, json_t *body, long *status)
{
    envmgr_cleanup_free char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    envmgr_cleanup_free char *reply = NULL;
    envmgr_error_t err = {0};
    if (fx_http_request(method, url, "application/json", text, text ? strlen(text) : 0, status,
                        &reply, &err) < 0)
        fail_msg("%s %s: %s", method, url, err.message);
    return json_loads(reply ? reply : "", 0, NULL);
}

static long long staging_tables(void)
{
    return sql_int("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() "
                   "AND table_name LIKE '\\_envtest\\_%' AND table_name <> '_envtest_fixture'");
}

/* ---- the Seoul fixture --------------------------------------------------------------------------
 */
static void test_seoul_small(void **state)
{
    const char *bin = getenv("ENVTEST_BINARY_DIR");
    envmgr_cleanup_free char *path =
        envmgr_xasprintf("%s/fixtures/seoul-small.tar.gz", bin ? bin : ".");
    envmgr_error_t err = {0};
    envmgr_fixture_t *f = NULL;
    if (envmgr_fixture_open(path, NULL, &f, &err) < 0)
        fail_msg("%s (build the seoul-small target)", err.message);
    if (envmgr_fixture_load(f, &g.targets, NULL, NULL, &err) < 0)
        fail_msg("load: %s", err.message);
    assert_int_equal(sql_int("SELECT COUNT(*) FROM seoul_sales"), 5000);
    assert_int_equal(sql_int("SELECT COUNT(*) FROM seoul_areas"), 1200);
    assert_int_equal(sql_int("SELECT COUNT(*) FROM seoul_industries"), 36);
    assert_int_equal(sql_int("SELECT COUNT(DISTINCT district) FROM seoul_areas"), 25);
    assert_int_equal(staging_tables(), 0);
    /* Korean text round-trips byte for byte */
    envmgr_cleanup_free char *zone =
        sql_str("SELECT area_name FROM seoul_areas WHERE area_code = 3110002");
    assert_string_equal(zone, "명동·남대문·북창 관광특구");
    envmgr_cleanup_free char *hex =
        sql_str("SELECT HEX(district) FROM seoul_areas WHERE area_code = 3110006");
    assert_string_equal(hex, "EAB095EB82A8EAB5AC"); /* 강남구 in UTF-8 */

    /* ADR-009: the cassette gives SQL for the question; the data gives a well-defined answer */
    envmgr_cleanup_free char *chat_url = envmgr_xasprintf("%s/v1/chat/completions", g.llm_url);
    envmgr_cleanup_json json_t *req =
        json_pack("{s:s, s:[{s:s, s:s}]}", "model", "gpt-4o-mini", "messages", "role", "user",
                  "content", "강남구에서 매출이 가장 높은 업종은 무엇인가요?");
    long status = 0;
    envmgr_cleanup_json json_t *reply = http_json("POST", chat_url, req, &status);
    assert_int_equal(status, 200);
    const char *answer = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(reply, "choices"), 0), "message"),
        "content"));
    assert_contains(answer, "```sql\nSELECT");
    const char *sql_start = strstr(answer, "SELECT");
    envmgr_cleanup_free char *sql =
        envmgr_xstrndup(sql_start, (size_t)(strstr(sql_start, ";") - sql_start));
    envmgr_cleanup_free char *top = sql_str(sql);
    assert_string_equal(top, "한식음식점");

    /* documents: every passage is a point, and the startup question finds the startup policy */
    envmgr_cleanup_free char *count_url =
        envmgr_xasprintf("%s/collections/seoul_documents/points/count", g.vec_url);
    envmgr_cleanup_json json_t *exact = json_pack("{s:b}", "exact", 1);
    envmgr_cleanup_json json_t *count = http_json("POST", count_url, exact, &status);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(count, "result"), "count")),
                     24);
    envmgr_cleanup_free char *embed_url = envmgr_xasprintf("%s/v1/embeddings", g.llm_url);
    envmgr_cleanup_json json_t *ereq = json_pack("{s:s, s:s}", "model", "text-embedding-3-small",
                                                 "input", "스타트업 지원 정책은 무엇인가요?");
    envmgr_cleanup_json json_t *emb = http_json("POST", embed_url, ereq, &status);
    json_t *vec = json_object_get(json_array_get(json_object_get(emb, "data"), 0), "embedding");
    envmgr_cleanup_free char *search_url =
        envmgr_xasprintf("%s/collections/seoul_documents/points/search", g.vec_url);
    envmgr_cleanup_json json_t *sreq =
        json_pack("{s:O, s:i, s:b}", "vector", vec, "limit", 1, "with_payload", 1);
    envmgr_cleanup_json json_t *hits = http_json("POST", search_url, sreq, &status);
    json_t *payload =
        json_object_get(json_array_get(json_object_get(hits, "result"), 0), "payload");
    assert_string_equal(json_string_value(json_object_get(payload, "source")),
                        "startup_policy.pdf");
    assert_int_equal(json_integer_value(json_object_get(payload, "page")), 1);

    /* verify passes, then notices a change */
    json_t *report = NULL;
    if (envmgr_fixture_verify(f, &g.targets, &report, &err) < 0)
        fail_msg("verify: %s", err.message);
    assert_true(json_is_true(json_object_get(report, "ok")));
    assert_int_equal(json_array_size(json_object_get(report, "checks")), 10);
    json_decref(report);
    sql_do("UPDATE seoul_sales SET sales_amount = sales_amount + 1 ORDER BY quarter_code LIMIT 1");
    assert_int_equal(envmgr_fixture_verify(f, &g.targets, NULL, &err), -1);
    assert_int_equal(err.kind, ENVMGR_E_ENV);
    assert_contains(err.message, "table `seoul_sales` changed since the fixture loaded it");

    /* a reload of the same archive has the same digest and restores the data */
    char digest[65];
    strcpy(digest, envmgr_fixture_digest(f));
    envmgr_fixture_free(f);
    assert_int_equal(envmgr_fixture_open(path, NULL, &f, &err), 0);
    assert_string_equal(envmgr_fixture_digest(f), digest);
    assert_int_equal(envmgr_fixture_load(f, &g.targets, NULL, NULL, &err), 0);
    assert_int_equal(envmgr_fixture_verify(f, &g.targets, NULL, &err), 0);
    envmgr_cleanup_free char *stored =
        sql_str("SELECT digest FROM _envtest_fixture WHERE fixture = 'seoul' AND table_name = "
                "'seoul_sales'");
    assert_string_equal(stored, digest);
    envmgr_fixture_free(f);
}

/* ---- atomicity ----------------------------------------------------------------------------------
 */
static const char *ATOM_SCHEMA = "CREATE TABLE IF NOT EXISTS atom (id INT PRIMARY KEY, "
                                 "name VARCHAR(8) NOT NULL) DEFAULT CHARSET=utf8mb4;";
static const char *ATOM_MANIFEST = "name: atom\nversion: \"1\"\nsteps:\n  - type: mysql\n"
                                   "    scripts: [schema.sql]\n    tables:\n"
                                   "      - {table: atom, file: data/atom.csv,\n"
                                   "         columns: {id: int not null}}\n";

static char *rows_csv(int n, int bad_row, const char *bad_line)
{
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    envmgr_buf_adds(&b, "id,name\n");
    for (int i = 1; i <= n; i++) {
        if (i == bad_row)
            envmgr_buf_addf(&b, "%s\n", bad_line);
        else
            envmgr_buf_addf(&b, "%d,행%d\n", i, i % 1000);
    }
    return envmgr_buf_detach(&b);
}

static void expect_load_fails(envmgr_fixture_t *f, const char *n1, const char *n2)
{
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_fixture_load(f, &g.targets, NULL, NULL, &err), -1);
    assert_contains(err.message, n1);
    if (n2)
        assert_contains(err.message, n2);
    envmgr_fixture_free(f);
}

static void test_atomic_bad_rows(void **state)
{
    sql_do("DROP TABLE IF EXISTS atom");
    envmgr_cleanup_free char *good = rows_csv(3, 0, NULL);
    envmgr_fixture_t *f = make_fixture("atom-good", "envtest-fixture.yaml", ATOM_MANIFEST,
                                       "schema.sql", ATOM_SCHEMA, "data/atom.csv", good, NULL);
    envmgr_error_t err = {0};
    if (envmgr_fixture_load(f, &g.targets, NULL, NULL, &err) < 0)
        fail_msg("%s", err.message);
    envmgr_fixture_free(f);
    assert_int_equal(sql_int("SELECT COUNT(*) FROM atom"), 3);

    /* 20,000 rows, row 12,000 (line 12,001) bad: nothing of the load stays */
    const struct {
        const char *line, *n1, *n2;
    } cases[] = {
        {"12000,a,extra", "atom-bad.tar.gz:data/atom.csv:12001:", "row has more than 2 columns"},
        {"12000,\"\xff\xfe\"", "atom-bad.tar.gz:data/atom.csv:12001:", "invalid UTF-8"},
        {"x12000,a", "atom-bad.tar.gz:data/atom.csv:12001:", "column `id`: value `x12000`"},
        /* not declared in the manifest: MySQL itself refuses it (too long for VARCHAR(8)) */
        {"12000,아홉글자가넘는긴이름입니다", "atom-bad.tar.gz:data/atom.csv:12001: data row 12000:",
         "MySQL refused a value: Data truncated for column 'name'"},
        {"1,dup", "atom-bad.tar.gz:data/atom.csv: MySQL refused a value:", "Duplicate entry '1'"},
    };
    for (size_t i = 0; i < ENVMGR_ARRAY_SIZE(cases); i++) {
        envmgr_cleanup_free char *bad = rows_csv(20000, 12000, cases[i].line);
        /* tables only (no script), so the earlier rows must survive */
        f = make_fixture("atom-bad", "envtest-fixture.yaml",
                         "name: atom\nversion: \"2\"\nsteps:\n  - type: mysql\n    tables:\n"
                         "      - {table: atom, file: data/atom.csv, columns: {id: int}}\n",
                         "data/atom.csv", bad, NULL);
        expect_load_fails(f, cases[i].n1, cases[i].n2);
        assert_int_equal(sql_int("SELECT COUNT(*) FROM atom"), 3);
        assert_int_equal(staging_tables(), 0);
    }
}

static long long loads_run(void)
{
    envmgr_cleanup_free char *n =
        sql_str("SELECT VARIABLE_VALUE FROM information_schema.global_status "
                "WHERE VARIABLE_NAME = 'COM_LOAD'");
    return n ? strtoll(n, NULL, 10) : -1;
}

static void test_two_streams_name_lines(void **state)
{
    /* a table is loaded on two connections, chunks of rows alternating between them: a value
     * MySQL refuses is named by its file line wherever it was (chunks hold 10,000 rows or more,
     * so bad rows 10,000 apart fall in both streams), and nothing of the load stays */
    sql_do("DROP TABLE IF EXISTS atom");
    sql_do("CREATE TABLE atom (id INT PRIMARY KEY, name VARCHAR(8) NOT NULL)");
    sql_do("INSERT INTO atom VALUES (7, '원래')");
    const char *manifest = "name: atom\nversion: \"3\"\nsteps:\n  - type: mysql\n    tables:\n"
                           "      - {table: atom, file: data/atom.csv}\n";
    envmgr_cleanup_free char *good = rows_csv(80000, 0, NULL);
    envmgr_fixture_t *f =
        make_fixture("atom-two", "envtest-fixture.yaml", manifest, "data/atom.csv", good, NULL);
    long long loads = loads_run();
    envmgr_error_t err = {0};
    if (envmgr_fixture_load(f, &g.targets, NULL, NULL, &err) < 0)
        fail_msg("%s", err.message);
    envmgr_fixture_free(f);
    assert_int_equal(loads_run() - loads, 2);
    assert_int_equal(sql_int("SELECT COUNT(*) FROM atom"), 80000);
    assert_int_equal(sql_int("SELECT SUM(id) FROM atom"), 80000LL * 80001 / 2);
    for (int bad = 5000; bad <= 75000; bad += 10000) {
        envmgr_cleanup_free char *line = envmgr_xasprintf("%d,아홉글자가넘는긴이름입니다", bad);
        envmgr_cleanup_free char *csv = rows_csv(80000, bad, line);
        envmgr_cleanup_free char *where =
            envmgr_xasprintf("atom-bad2.tar.gz:data/atom.csv:%d: data row %d:", bad + 1, bad);
        f = make_fixture("atom-bad2", "envtest-fixture.yaml", manifest, "data/atom.csv", csv, NULL);
        expect_load_fails(f, where, "Data truncated for column 'name'");
        assert_int_equal(sql_int("SELECT COUNT(*) FROM atom"), 80000);
        assert_int_equal(staging_tables(), 0);
    }
    /* a row over two lines earlier in its chunk: the row, and the lines its chunk spans */
    envmgr_cleanup_free char *csv = rows_csv(80000, 64000, "64000,아홉글자가넘는긴이름입니다");
    char *split = strstr(csv, "\n63999,");
    assert_non_null(split);
    envmgr_cleanup_free char *multi = envmgr_xasprintf(
        "%.*s\n63999,\"여\n러\"%s", (int)(split - csv), csv, strchr(split + 1, '\n'));
    f = make_fixture("atom-bad3", "envtest-fixture.yaml", manifest, "data/atom.csv", multi, NULL);
    expect_load_fails(f, "atom-bad3.tar.gz:data/atom.csv:data row 64000 (lines ",
                      "Data truncated for column 'name'");
    assert_int_equal(sql_int("SELECT COUNT(*) FROM atom"), 80000);
    assert_int_equal(staging_tables(), 0);
}

static void test_atomic_later_step_fails(void **state)
{
    /* mysql loads, documents fill a collection, then an http step fails: everything is undone */
    sql_do("DROP TABLE IF EXISTS atom");
    sql_do("CREATE TABLE atom (id INT PRIMARY KEY, name VARCHAR(8) NOT NULL)");
    sql_do("INSERT INTO atom VALUES (7, '원래')");
    envmgr_cleanup_free char *rows = rows_csv(500, 0, NULL);
    envmgr_fixture_t *f = make_fixture(
        "later", "envtest-fixture.yaml",
        "name: later\nversion: \"1\"\nsteps:\n"
        "  - type: mysql\n    tables: [{table: atom, file: atom.csv}]\n"
        "  - type: documents\n    file: docs.jsonl\n    embeddings: mock-llm\n"
        "    vectors: mock-vector\n    collection: later_docs\n    batch: 2\n"
        "  - type: http\n    service: mock-llm\n    method: PUT\n    path: /__admin/cassette\n"
        "    body: broken.json\n    expect: 200\n",
        "atom.csv", rows, "docs.jsonl",
        "{\"text\": \"첫 번째 문서\", \"source\": \"a.pdf\", \"page\": 1}\n"
        "{\"text\": \"두 번째 문서\", \"source\": \"b.pdf\", \"page\": 2}\n"
        "{\"text\": \"세 번째 문서\", \"source\": \"c.pdf\", \"page\": 3}\n",
        "broken.json", "{\"rules\": 42}", NULL);
    expect_load_fails(f, "step 3 (http", "expected status 200, got 400");
    assert_int_equal(sql_int("SELECT COUNT(*) FROM atom"), 1);
    envmgr_cleanup_free char *name = sql_str("SELECT name FROM atom WHERE id = 7");
    assert_string_equal(name, "원래");
    assert_int_equal(staging_tables(), 0);
    envmgr_cleanup_free char *url = envmgr_xasprintf("%s/collections/later_docs", g.vec_url);
    long status = 0;
    json_decref(http_json("GET", url, NULL, &status));
    assert_int_equal(status, 404);
}

static void test_atomic_bad_member_after_data(void **state)
{
    /* the load streams the table, then finds a compression bomb further on: nothing stays */
    sql_do("DROP TABLE IF EXISTS atom");
    sql_do("CREATE TABLE atom (id INT PRIMARY KEY, name VARCHAR(8) NOT NULL)");
    sql_do("INSERT INTO atom VALUES (7, '원래')");
    envmgr_cleanup_free char *rows = rows_csv(5000, 0, NULL);
    char *zeros = envmgr_xcalloc(1, 32u << 20);
    memset(zeros, ' ', 32u << 20);
    zeros[(32u << 20) - 1] = '\0';
    envmgr_fixture_t *f = make_fixture(
        "bomb", "envtest-fixture.yaml",
        "name: bomb\nversion: \"1\"\nsteps:\n  - type: mysql\n    tables: [{table: atom, "
        "file: atom.csv}]\n",
        "atom.csv", rows, "zz-padding.txt", zeros, NULL);
    free(zeros);
    expect_load_fails(f, "bomb.tar.gz:zz-padding.txt", "compression ratio over 200:1");
    assert_int_equal(sql_int("SELECT COUNT(*) FROM atom"), 1);
    envmgr_cleanup_free char *name = sql_str("SELECT name FROM atom WHERE id = 7");
    assert_string_equal(name, "원래");
    assert_int_equal(staging_tables(), 0);
}

static void test_keys_after_load(void **state)
{
    /* secondary keys are built after the rows are in: the table ends up with the same keys */
    sql_do("DROP TABLE IF EXISTS keyed");
    sql_do("CREATE TABLE keyed (id INT PRIMARY KEY, code CHAR(6) NOT NULL, name VARCHAR(40) NOT "
           "NULL, note TEXT, UNIQUE KEY uq_code (code), KEY `odd``name` (name(10), id DESC), "
           "KEY idx_note (note(20)) COMMENT 'a note') DEFAULT CHARSET=utf8mb4");
    envmgr_cleanup_free char *before = sql_str("SHOW CREATE TABLE keyed");
    envmgr_buf_t csv = ENVMGR_BUF_INIT;
    envmgr_buf_adds(&csv, "id,code,name,note\n");
    for (int i = 1; i <= 3000; i++)
        envmgr_buf_addf(&csv, "%d,c%03d,이름%d,메모 %d\n", i, i, i % 97, i % 13);
    const char *manifest = "name: keyed\nversion: \"1\"\nsteps:\n  - type: mysql\n"
                           "    tables: [{table: keyed, file: keyed.csv}]\n";
    envmgr_fixture_t *f =
        make_fixture("keyed", "envtest-fixture.yaml", manifest, "keyed.csv", csv.data, NULL);
    envmgr_error_t err = {0};
    if (envmgr_fixture_load(f, &g.targets, NULL, NULL, &err) < 0)
        fail_msg("%s", err.message);
    envmgr_cleanup_free char *after = sql_str("SHOW CREATE TABLE keyed");
    assert_string_equal(after, before);
    assert_int_equal(sql_int("SELECT COUNT(*) FROM keyed FORCE INDEX (`odd``name`) WHERE name = "
                             "'이름5'"),
                     31);
    /* verify passes, and notices one changed value */
    assert_int_equal(envmgr_fixture_verify(f, &g.targets, NULL, &err), 0);
    sql_do("UPDATE keyed SET note = '바뀜' WHERE id = 1500");
    assert_int_equal(envmgr_fixture_verify(f, &g.targets, NULL, &err), -1);
    assert_contains(err.message, "table `keyed` changed since the fixture loaded it");
    envmgr_fixture_free(f);

    /* a duplicate of a unique secondary key is refused with its row, and nothing stays */
    envmgr_buf_adds(&csv, "3001,c007,dup,x\n");
    f = make_fixture("keyed-dup", "envtest-fixture.yaml", manifest, "keyed.csv", csv.data, NULL);
    envmgr_buf_free(&csv);
    expect_load_fails(f, "keyed-dup.tar.gz:keyed.csv", "Duplicate entry 'c007'");
    assert_int_equal(sql_int("SELECT COUNT(*) FROM keyed"), 3000);
    assert_int_equal(sql_int("SELECT COUNT(*) FROM keyed WHERE id = 1500 AND note = '바뀜'"), 1);
    assert_int_equal(staging_tables(), 0);
}

/* ---- steps --------------------------------------------------------------------------------------
 */
static void test_korean_roundtrip_and_types(void **state)
{
    sql_do("DROP TABLE IF EXISTS rt");
    const char *csv = "id,txt,note\n"
                      "1,\"서울특별시 강남구 \"\"테헤란로\"\", 역삼동\",😀 이모지\n"
                      "2,\"줄바꿈\n포함\",\"탭\tand\\백슬래시\"\n"
                      "3,,\\N\n";
    envmgr_fixture_t *f =
        make_fixture("rt", "envtest-fixture.yaml",
                     "name: rt\nversion: \"1\"\nsteps:\n  - type: mysql\n    scripts: [s.sql]\n"
                     "    tables: [{table: rt, file: rt.csv, empty: null}]\n",
                     "s.sql",
                     "CREATE TABLE rt (id INT PRIMARY KEY, txt TEXT NULL, note VARCHAR(40) NULL) "
                     "DEFAULT CHARSET=utf8mb4; -- a comment; with a semicolon\n",
                     "rt.csv", csv, NULL);
    envmgr_error_t err = {0};
    if (envmgr_fixture_load(f, &g.targets, NULL, NULL, &err) < 0)
        fail_msg("%s", err.message);
    envmgr_fixture_free(f);
    envmgr_cleanup_free char *a = sql_str("SELECT txt FROM rt WHERE id = 1");
    assert_string_equal(a, "서울특별시 강남구 \"테헤란로\", 역삼동");
    envmgr_cleanup_free char *emoji = sql_str("SELECT note FROM rt WHERE id = 1");
    assert_string_equal(emoji, "😀 이모지");
    envmgr_cleanup_free char *b = sql_str("SELECT txt FROM rt WHERE id = 2");
    assert_string_equal(b, "줄바꿈\n포함");
    envmgr_cleanup_free char *c = sql_str("SELECT note FROM rt WHERE id = 2");
    assert_string_equal(c, "탭\tand\\백슬래시");
    assert_int_equal(
        sql_int("SELECT COUNT(*) FROM rt WHERE id = 3 AND txt IS NULL AND note IS NULL"), 1);
}

static void test_sql_script_error_names_line(void **state)
{
    envmgr_fixture_t *f =
        make_fixture("script", "envtest-fixture.yaml",
                     "name: s\nversion: \"1\"\nsteps:\n  - type: mysql\n    scripts: [bad.sql]\n",
                     "bad.sql", "SELECT 1;\n\n-- fine so far\nSELEC oops;\n", NULL);
    expect_load_fails(f, "script.tar.gz:bad.sql:4:", "MySQL error 1064");
}

static int collect_output(void *userdata, enum envmgr_stream stream, const char *data, size_t len)
{
    if (stream == ENVMGR_STREAM_STDOUT)
        envmgr_buf_add(userdata, data, len);
    return 0;
}

static void test_copy_step(void **state)
{
    if (g.container == NULL)
        skip(); /* MySQL given by ENVTEST_TEST_MYSQL_*: no container of ours to copy into */
    envmgr_fixture_t *f =
        make_fixture("copy", "envtest-fixture.yaml",
                     "name: c\nversion: \"1\"\nsteps:\n  - type: copy\n    service: mysql\n"
                     "    files: [{src: files/hello.txt, dest: /tmp}]\n",
                     "files/hello.txt", "안녕하세요, envtest\n", NULL);
    envmgr_error_t err = {0};
    if (envmgr_fixture_load(f, &g.targets, NULL, NULL, &err) < 0)
        fail_msg("%s", err.message);
    envmgr_fixture_free(f);
    const char *argv[] = {"cat", "/tmp/hello.txt", NULL};
    envmgr_buf_t out = ENVMGR_BUF_INIT;
    int code = -1;
    int r = envmgr_engine_exec(g.engine, g.container, argv, NULL, 20000, collect_output, &out,
                               &code, &err);
    if (r < 0)
        fail_msg("exec: %s", err.message);
    assert_int_equal(code, 0);
    assert_string_equal(out.data, "안녕하세요, envtest\n");
    envmgr_buf_free(&out);
    /* and a missing destination is an error naming the copy */
    f = make_fixture("copy-bad", "envtest-fixture.yaml",
                     "name: c\nversion: \"1\"\nsteps:\n  - type: copy\n    service: mysql\n"
                     "    files: [{src: hello.txt, dest: /no/such/dir}]\n",
                     "hello.txt", "x", NULL);
    expect_load_fails(f, "copy hello.txt into mysql:/no/such/dir", NULL);
}

static void test_missing_targets(void **state)
{
    envmgr_fixture_t *f = make_fixture(
        "http-only", "envtest-fixture.yaml",
        "name: h\nversion: \"1\"\nsteps:\n  - type: http\n    service: nowhere\n    path: /x\n",
        "unused.txt", "x", NULL);
    expect_load_fails(f, "service `nowhere` has no HTTP address", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seoul_small),
        cmocka_unit_test(test_atomic_bad_rows),
        cmocka_unit_test(test_two_streams_name_lines),
        cmocka_unit_test(test_atomic_later_step_fails),
        cmocka_unit_test(test_atomic_bad_member_after_data),
        cmocka_unit_test(test_keys_after_load),
        cmocka_unit_test(test_korean_roundtrip_and_types),
        cmocka_unit_test(test_sql_script_error_names_line),
        cmocka_unit_test(test_copy_step),
        cmocka_unit_test(test_missing_targets),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
