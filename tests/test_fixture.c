/* envmgr_fixture unit tests (no services): manifest parsing and its errors, the streaming CSV
 * reader, archive safety (traversal, links, devices, size and ratio limits, manifest problems),
 * pack/digest stability, zip and tar.zst archives, and the SQL statement splitter. */
#include <archive.h>
#include <archive_entry.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "corpus.h"
#include "csv_differential.h"
#include "fixture_internal.h"

/* ---- helpers -----------------------------------------------------------------------------------
 */
static char tmpdir[256];

static int setup_tmp(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/envtest-fixture-test-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int teardown_tmp(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

typedef struct entry {
    const char *path;
    mode_t type; /* AE_IFREG (0 = regular), AE_IFLNK, AE_IFDIR, AE_IFCHR, AE_IFIFO */
    const char *data;
    size_t len;       /* 0: strlen(data) */
    const char *link; /* symlink target or hard link source */
    bool hardlink;
} entry_t;

enum { FMT_TAR_GZ, FMT_TAR, FMT_ZIP, FMT_TAR_ZST };

static char *write_archive_fmt(const char *name, int fmt, const entry_t *entries, size_t n)
{
    char *path = envmgr_xasprintf("%s/%s", tmpdir, name);
    struct archive *a = archive_write_new();
    if (fmt == FMT_ZIP) {
        archive_write_set_format_zip(a);
    } else {
        archive_write_set_format_pax_restricted(a);
        if (fmt == FMT_TAR_GZ)
            archive_write_add_filter_gzip(a);
        if (fmt == FMT_TAR_ZST)
            assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
    }
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        size_t len =
            entries[i].data ? (entries[i].len ? entries[i].len : strlen(entries[i].data)) : 0;
        archive_entry_set_pathname(e, entries[i].path);
        archive_entry_set_filetype(e, entries[i].type ? entries[i].type : AE_IFREG);
        archive_entry_set_perm(e, 0644);
        if (entries[i].hardlink) {
            archive_entry_set_hardlink(e, entries[i].link);
            len = 0;
        } else if (entries[i].type == AE_IFLNK) {
            archive_entry_set_symlink(e, entries[i].link);
        }
        archive_entry_set_size(e, (la_int64_t)len);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (len)
            assert_int_equal(archive_write_data(a, entries[i].data, len), (la_ssize_t)len);
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    return path;
}

static char *write_archive(const char *name, const entry_t *entries, size_t n)
{
    return write_archive_fmt(name, FMT_TAR_GZ, entries, n);
}

static const char *MANIFEST_OK = "name: t\n"
                                 "version: \"1\"\n"
                                 "steps:\n"
                                 "  - type: mysql\n"
                                 "    scripts: [schema.sql]\n"
                                 "    tables:\n"
                                 "      - table: t1\n"
                                 "        file: data/t1.csv\n";

static void assert_contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) == NULL)
        fail_msg("expected \"%s\" in \"%s\"", needle, haystack);
}

/* Opens path expecting failure; checks the message has every needle. */
static void expect_open_error(const char *path, const envmgr_fixture_limits_t *lim, ...)
{
    envmgr_error_t err = {0};
    envmgr_fixture_t *f = NULL;
    assert_int_equal(envmgr_fixture_open(path, lim, &f, &err), -1);
    assert_null(f);
    assert_int_equal(err.kind, ENVMGR_E_CONFIG);
    va_list ap;
    va_start(ap, lim);
    for (const char *n; (n = va_arg(ap, const char *)) != NULL;)
        assert_contains(err.message, n);
    va_end(ap);
}

/* ---- manifest ----------------------------------------------------------------------------------
 */
static void test_manifest_yaml(void **state)
{
    const char *y = "name: seoul\nversion: \"1.0\"\nsteps:\n"
                    "  - type: mysql\n    scripts: [a.sql]\n    tables:\n"
                    "      - {table: t, file: t.tsv, null: NULL, empty: null,\n"
                    "         columns: {id: int unsigned not null, name: varchar(3), d: date,\n"
                    "                   x: 'decimal(5,2)'}}\n"
                    "  - type: http\n    service: mock-llm\n    path: /__admin/cassette\n"
                    "    body: c.json\n"
                    "  - type: documents\n    file: d.jsonl\n    embeddings: mock-llm\n"
                    "    vectors: mock-vector\n    collection: docs\n"
                    "  - type: copy\n    service: mysql\n    files: [{src: a.sql, dest: /tmp}]\n";
    fx_manifest_t *m = NULL;
    envmgr_error_t err = {0};
    assert_int_equal(fx_manifest_parse(y, strlen(y), true, "a:m", &m, &err), 0);
    assert_string_equal(m->name, "seoul");
    assert_int_equal(m->n_steps, 4);
    assert_int_equal(m->steps[0].type, FX_STEP_MYSQL);
    fx_table_t *t = &m->steps[0].tables[0];
    assert_int_equal(t->delimiter, '\t');
    assert_string_equal(t->null_token, "NULL");
    assert_int_equal(t->empty, FX_EMPTY_NULL);
    assert_int_equal(t->n_columns, 4);
    assert_int_equal(t->columns[0].type, FX_COL_INT);
    assert_int_equal(t->columns[0].min, 0);
    assert_int_equal(t->columns[0].max, 4294967295LL);
    assert_true(t->columns[0].not_null);
    assert_int_equal(t->columns[1].length, 3);
    assert_int_equal(t->columns[3].precision, 5);
    assert_string_equal(m->steps[1].method, "PUT"); /* default with a body */
    assert_int_equal(m->steps[1].expect_status, 200);
    assert_int_equal(m->steps[2].dimensions, 384);
    assert_string_equal(m->steps[2].distance, "Cosine");
    assert_string_equal(m->steps[3].files[0].dest, "/tmp");
    fx_manifest_free(m);
}

static void test_manifest_json(void **state)
{
    const char *j = "{\"name\":\"n\",\"version\":\"2\",\"steps\":[{\"type\":\"http\","
                    "\"service\":\"s\",\"method\":\"POST\",\"path\":\"/x\",\"expect\":201}]}";
    fx_manifest_t *m = NULL;
    envmgr_error_t err = {0};
    assert_int_equal(fx_manifest_parse(j, strlen(j), false, "a:m", &m, &err), 0);
    assert_int_equal(m->steps[0].expect_status, 201);
    assert_string_equal(m->steps[0].method, "POST");
    fx_manifest_free(m);
}

static void expect_manifest_error(const char *text, bool yaml, const char *n1, const char *n2)
{
    fx_manifest_t *m = NULL;
    envmgr_error_t err = {0};
    assert_int_equal(
        fx_manifest_parse(text, strlen(text), yaml, "f.tar:envtest-fixture.yaml", &m, &err), -1);
    assert_null(m);
    assert_contains(err.message, "f.tar:envtest-fixture.yaml");
    assert_contains(err.message, n1);
    if (n2)
        assert_contains(err.message, n2);
}

static void test_manifest_errors(void **state)
{
    expect_manifest_error("name: a\nversion: 1\nsteps:\n  - type: ftp\n", true,
                          ":4:", "unknown step type `ftp`");
    expect_manifest_error("name: a\nversion: 1\nsteps: [\n", true, "malformed YAML", NULL);
    expect_manifest_error("version: 1\nsteps:\n  - type: http\n", true, "missing required key",
                          "manifest.name");
    expect_manifest_error("name: a\nversion: 1\nstep: []\n", true, ":3:", "manifest.step");
    expect_manifest_error("name: a\nversion: 1\nsteps:\n  - type: mysql\n    scripts: [../x.sql]\n",
                          true, ":5:", "may not contain `..`");
    expect_manifest_error("name: a\nversion: 1\nsteps:\n  - type: mysql\n    tables:\n"
                          "      - {table: 'a;drop', file: a.csv}\n",
                          true, "plain identifier", NULL);
    expect_manifest_error("name: a\nversion: 1\nsteps:\n  - type: mysql\n    tables:\n"
                          "      - {table: a, file: a.csv, columns: {x: blob}}\n",
                          true, "column `x`", NULL);
    expect_manifest_error("name: a\nversion: 1\nsteps:\n  - type: http\n    service: s\n"
                          "    path: /x\n    expect: 999\n",
                          true, "steps[0].expect", "100..599");
    expect_manifest_error("{\"name\":\"a\",\"version\":\"1\",\"steps\":[{\"type\":\"nope\"}]}",
                          false, "unknown step type `nope`", NULL);
    expect_manifest_error("{\"name\":", false, "malformed JSON", NULL);
    expect_manifest_error("name: \"\xff\"\n", true, "not valid UTF-8", NULL);
}

/* ---- CSV ----------------------------------------------------------------------------------------
 */
static fx_table_t csv_table(char delim)
{
    fx_table_t t = {.table = "t",
                    .file = "t.csv",
                    .delimiter = delim,
                    .header = true,
                    .null_token = "\\N",
                    .empty = FX_EMPTY_STRING};
    return t;
}

/* Feeds input in chunks of `step` bytes; returns 0/-1, out gets the re-encoded rows. */
static int csv_run(const fx_table_t *t, const char *in, size_t step, envmgr_buf_t *out,
                   envmgr_error_t *err, char **cols)
{
    return csv_read_pieces(t, "a.tar.gz:t.csv", in, strlen(in), step, out, err, cols);
}

/* The input read in pieces of 1, 2, 3, 6 and 7 bytes and whole gives want (and, when want_cols is
 * not NULL, that column list): rows whole in one input take the whole-line path, rows cut by a
 * piece the general one, and state is carried across feeds. */
static void expect_csv_rows(const fx_table_t *t, const char *in, const char *want,
                            const char *want_cols)
{
    const size_t steps[] = {1, 2, 3, 6, 7, 4096};
    for (size_t i = 0; i < ENVMGR_ARRAY_SIZE(steps); i++) {
        envmgr_buf_t out = ENVMGR_BUF_INIT;
        envmgr_error_t err = {0};
        char *cols = NULL;
        assert_int_equal(csv_run(t, in, steps[i], &out, &err, &cols), 0);
        assert_string_equal(out.data, want);
        if (want_cols)
            assert_string_equal(cols, want_cols);
        free(cols);
        envmgr_buf_free(&out);
    }
}

/* Quotes, "" escapes, CRLF, a blank line, multi-line fields, bytes to escape, \\N; and rows of the
 * common shape (whole-line path) beside ones that are not. */
static void test_csv_encoding(void **state)
{
    const struct {
        const char *in, *want, *cols;
    } cases[] = {
        {"id,name,note\r\n"
         "1,\"강남구, 역삼동\",\"say \"\"hi\"\"\"\r\n"
         "2,\"multi\nline\",a\\b\ttab\n"
         "\n"
         "3,\\N,\"\"\n"
         "4,,last",
         "1\t강남구, 역삼동\tsay \"hi\"\n"
         "2\tmulti\\nline\ta\\\\b\\ttab\n"
         "3\t\\N\t\n"
         "4\t\tlast\n",
         "(`id`,`name`,`note`)"},
        {"a,b,c\n"
         "1,\"서울 강남구\",x\n"
         "2,,\"\"\n"
         "3,say \"hi\",z\n"
         "4,\"q\"\"q\",w\n"
         "5,\"a,b\",\n"
         "6,tab\there,\\N\n",
         "1\t서울 강남구\tx\n"
         "2\t\t\n"
         "3\tsay \"hi\"\tz\n"
         "4\tq\"q\tw\n"
         "5\ta,b\t\n"
         "6\ttab\\there\t\\N\n",
         "(`a`,`b`,`c`)"},
    };
    fx_table_t t = csv_table(',');
    for (size_t i = 0; i < ENVMGR_ARRAY_SIZE(cases); i++)
        expect_csv_rows(&t, cases[i].in, cases[i].want, cases[i].cols);
    t.empty = FX_EMPTY_NULL; /* an unquoted empty field is NULL, a quoted one a string */
    expect_csv_rows(&t, "a,b,c\n2,,\"\"\n7,\"x\",y\n", "2\t\\N\t\n7\tx\ty\n", NULL);
}

static void test_csv_null_and_empty(void **state)
{
    fx_table_t t = csv_table(',');
    t.null_token = "NULL";
    t.empty = FX_EMPTY_NULL;
    envmgr_buf_t out = ENVMGR_BUF_INIT;
    envmgr_error_t err = {0};
    assert_int_equal(csv_run(&t, "a,b,c\nNULL,,\"NULL\"\n\"\",x,y\n", 4096, &out, &err, NULL), 0);
    /* unquoted NULL and empty are NULL; quoted "NULL" and "" are strings */
    assert_string_equal(out.data, "\\N\t\\N\tNULL\n\tx\ty\n");
    envmgr_buf_free(&out);

    fx_table_t tsv = csv_table('\t');
    assert_int_equal(csv_run(&tsv, "a\tb\n\"q\"\t\\N\n", 4096, &out, &err, NULL), 0);
    assert_string_equal(out.data, "\"q\"\t\\N\n"); /* TSV: quotes are data */
    envmgr_buf_free(&out);
}

static void replay_csv(void *ud, const char *path, const char *file)
{
    (void)ud;
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static uint8_t data[1 << 20];
    size_t n = fread(data, 1, sizeof(data), f);
    fclose(f);
    char why[4096] = "";
    if (csv_differential(data, n, why, sizeof(why)) < 0)
        fail_msg("%s: %s", file, why);
}

/* The CSV fuzz corpus (tests/fuzz/corpus/csv), replayed through the fuzz target's check: each file
 * read in pieces and in one piece gives the same rows or the same error. */
static void test_csv_corpus_differential(void **state)
{
    long files = corpus_each("csv", replay_csv, NULL);
    if (files == -2)
        skip();
    assert_true(files >= 100);
}

/* Each error is expected the same through both paths (rows cut by 5-byte inputs, rows whole). */
static void expect_csv_error(const fx_table_t *t, const char *in, const char *n1, const char *n2)
{
    const size_t steps[] = {5, 4096};
    for (size_t i = 0; i < ENVMGR_ARRAY_SIZE(steps); i++) {
        envmgr_buf_t out = ENVMGR_BUF_INIT;
        envmgr_error_t err = {0};
        assert_int_equal(csv_run(t, in, steps[i], &out, &err, NULL), -1);
        assert_contains(err.message, "a.tar.gz:t.csv:");
        assert_contains(err.message, n1);
        if (n2)
            assert_contains(err.message, n2);
        envmgr_buf_free(&out);
    }
}

static void test_csv_errors(void **state)
{
    fx_table_t t = csv_table(',');
    expect_csv_error(&t, "a,b\n1,2\n3\n", ":3:", "row has 1 columns, expected 2");
    expect_csv_error(&t, "a,b\n1,2\n3,4,5\n", ":3:", "expected 2");
    expect_csv_error(&t, "a,b\n1,2\n\"x\n\ny\",2\n3,\"\xc3\x28\"\n", ":6:", "invalid UTF-8");
    expect_csv_error(&t, "a,b\n1,\"open\n", "ends inside a quoted field", NULL);
    expect_csv_error(&t, "a,b\n1,\"x\"y\n", ":2:", "after a closing quote");
    expect_csv_error(&t, "a,a\n1,2\n", "header names column `a` twice", NULL);
    expect_csv_error(&t, "", "no header row", NULL);

    fx_column_t cols[] = {
        {.name = "n", .type = FX_COL_INT, .min = 0, .max = 255},
        {.name = "s", .type = FX_COL_VARCHAR, .length = 3},
        {.name = "d", .type = FX_COL_DATE},
        {.name = "x", .type = FX_COL_DECIMAL, .precision = 5, .scale = 2},
        {.name = "k", .type = FX_COL_ANY, .not_null = true},
    };
    t.columns = cols;
    t.n_columns = ENVMGR_ARRAY_SIZE(cols);
    envmgr_buf_t out = ENVMGR_BUF_INIT;
    envmgr_error_t err = {0};
    assert_int_equal(
        csv_run(&t, "k,n,s,d,x\n1,255,강남구,2024-02-29,-123.45\n", 3, &out, &err, NULL), 0);
    envmgr_buf_free(&out);
    expect_csv_error(&t, "n,s,d,x,k\n1,a,2024-01-01,1,1\n256,a,2024-01-01,1,1\n",
                     ":3:", "column `n`: value `256` does not fit its type (an integer in 0..255)");
    expect_csv_error(&t, "n,s,d,x,k\n1,강남구청,2024-01-01,1,1\n", "column `s`",
                     "longer than the 3 characters");
    expect_csv_error(&t, "n,s,d,x,k\n1,a,2023-02-30,1,1\n", "column `d`", "not a date");
    expect_csv_error(&t, "n,s,d,x,k\n1,a,2023-02-03,1234.5,1\n", "column `x`", "decimal(5,2)");
    expect_csv_error(&t, "n,s,d,x,k\n1,a,2023-02-03,,1\n", "column `x`", "decimal(5,2)");
    expect_csv_error(&t, "n,s,d,x,k\n1,a,2023-02-03,-.,1\n", "column `x`", "decimal(5,2)");
    expect_csv_error(&t, "n,s,d,x,k\n1,a,2023-02-03,1.5,\\N\n", "column `k` is declared not null",
                     NULL);
    expect_csv_error(&t, "n,s,d,x\n1,a,2023-02-03,1\n", "declares column `k`", NULL);
    expect_csv_error(&t, "n,s,d,x,k\nabc,a,2023-02-03,1,1\n", "value `abc`", NULL);
}

static void test_utf8(void **state)
{
    assert_true(fx_utf8_valid((const unsigned char *)"서울 ok", strlen("서울 ok")));
    assert_false(fx_utf8_valid((const unsigned char *)"\xed\xa0\x80", 3)); /* surrogate */
    assert_false(fx_utf8_valid((const unsigned char *)"\xc0\xaf", 2));     /* overlong */
    assert_false(fx_utf8_valid((const unsigned char *)"\xe2\x82", 2));     /* truncated */
    assert_true(fx_utf8_valid((const unsigned char *)"\xf0\x9f\x98\x80", 4));
}

/* ---- archives -----------------------------------------------------------------------------------
 */
static const entry_t base_entries[] = {
    {.path = "envtest-fixture.yaml", .data = NULL},
    {.path = "schema.sql", .data = "CREATE TABLE t1 (a INT);"},
    {.path = "data/t1.csv", .data = "a\n1\n"},
};

static void test_open_inspect(void **state)
{
    entry_t e[3];
    memcpy(e, base_entries, sizeof(e));
    e[0].data = MANIFEST_OK;
    envmgr_cleanup_free char *path = write_archive("ok.tar.gz", e, 3);
    envmgr_error_t err = {0};
    envmgr_fixture_t *f = NULL;
    assert_int_equal(envmgr_fixture_open(path, NULL, &f, &err), 0);
    assert_string_equal(envmgr_fixture_name(f), "t");
    assert_int_equal(strlen(envmgr_fixture_digest(f)), 64);
    json_t *j = NULL;
    assert_int_equal(envmgr_fixture_inspect(f, &j, &err), 0);
    assert_int_equal(json_array_size(json_object_get(j, "members")), 3);
    json_t *step = json_array_get(json_object_get(j, "steps"), 0);
    assert_string_equal(json_string_value(json_object_get(step, "type")), "mysql");
    assert_string_equal(json_string_value(json_object_get(step, "summary")),
                        "1 script(s), 1 table(s)");
    json_t *m2 = json_array_get(json_object_get(j, "members"), 2);
    assert_string_equal(json_string_value(json_object_get(m2, "path")), "data/t1.csv");
    char want[65];
    envmgr_sha256_hex("a\n1\n", 4, want);
    assert_string_equal(json_string_value(json_object_get(m2, "sha256")), want);
    json_decref(j);
    char *data = NULL;
    size_t len;
    assert_int_equal(fx_read_member(f, "data/t1.csv", 100, &data, &len, &err), 0);
    assert_string_equal(data, "a\n1\n");
    free(data);
    envmgr_fixture_free(f);
}

static void test_formats(void **state)
{
    entry_t e[3];
    memcpy(e, base_entries, sizeof(e));
    e[0].data = MANIFEST_OK;
    const struct {
        int fmt;
        const char *name;
    } formats[] = {{FMT_TAR, "f.tar"}, {FMT_ZIP, "f.zip"}, {FMT_TAR_ZST, "f.tar.zst"}};
    for (size_t i = 0; i < ENVMGR_ARRAY_SIZE(formats); i++) {
        envmgr_cleanup_free char *path = write_archive_fmt(formats[i].name, formats[i].fmt, e, 3);
        envmgr_error_t err = {0};
        envmgr_fixture_t *f = NULL;
        assert_int_equal(envmgr_fixture_open(path, NULL, &f, &err), 0);
        char *data = NULL;
        size_t len;
        assert_int_equal(fx_read_member(f, "schema.sql", 100, &data, &len, &err), 0);
        assert_string_equal(data, "CREATE TABLE t1 (a INT);");
        free(data);
        envmgr_fixture_free(f);
    }
}

static void test_refuse_paths_and_links(void **state)
{
    entry_t e[4];
    memcpy(e, base_entries, sizeof(base_entries));
    e[0].data = MANIFEST_OK;
    const struct {
        entry_t bad;
        const char *n1, *n2;
    } cases[] = {
        {{.path = "../evil", .data = "x"}, "bad.tar.gz:../evil", "path traversal"},
        {{.path = "data/../../evil", .data = "x"}, "data/../../evil", "path traversal"},
        {{.path = "/etc/passwd", .data = "x"}, "bad.tar.gz:/etc/passwd", "absolute"},
        {{.path = "link", .type = AE_IFLNK, .link = "/etc/shadow"},
         "bad.tar.gz:link",
         "symbolic link to `/etc/shadow` refused"},
        {{.path = "inner", .type = AE_IFLNK, .link = "schema.sql"},
         "bad.tar.gz:inner",
         "symbolic link"},
        {{.path = "hard", .hardlink = true, .link = "schema.sql"}, "bad.tar.gz:hard", "hard link"},
        {{.path = "dev", .type = AE_IFCHR}, "bad.tar.gz:dev", "character device refused"},
        {{.path = "pipe", .type = AE_IFIFO}, "bad.tar.gz:pipe", "fifo refused"},
        {{.path = "schema.sql", .data = "again"}, "bad.tar.gz:schema.sql", "appears twice"},
    };
    for (size_t i = 0; i < ENVMGR_ARRAY_SIZE(cases); i++) {
        e[3] = cases[i].bad;
        envmgr_cleanup_free char *path = write_archive("bad.tar.gz", e, 4);
        expect_open_error(path, NULL, cases[i].n1, cases[i].n2, NULL);
    }
}

static void test_refuse_size_and_ratio(void **state)
{
    entry_t e[4];
    memcpy(e, base_entries, sizeof(base_entries));
    e[0].data = MANIFEST_OK;
    size_t big = 32u << 20; /* ~32 KiB compressed: 1000:1 */
    char *zeros = envmgr_xcalloc(1, big);
    e[3] = (entry_t){.path = "bomb.bin", .data = zeros, .len = big};
    envmgr_cleanup_free char *path = write_archive("bomb.tar.gz", e, 4);
    expect_open_error(path, NULL, "bomb.tar.gz:bomb.bin", "compression ratio over 200:1", NULL);
    /* the same member is fine with a looser ratio limit, refused by a size limit */
    envmgr_fixture_limits_t lim = {.max_ratio = 100000};
    envmgr_error_t err = {0};
    envmgr_fixture_t *f = NULL;
    assert_int_equal(envmgr_fixture_open(path, &lim, &f, &err), 0);
    envmgr_fixture_free(f);
    lim.max_member_bytes = 1 << 20;
    expect_open_error(path, &lim, "bomb.tar.gz:bomb.bin", "over the size limit of 1048576 bytes",
                      NULL);
    free(zeros);
}

static void test_refuse_manifest_problems(void **state)
{
    entry_t e[3];
    memcpy(e, base_entries, sizeof(e));
    envmgr_cleanup_free char *none = write_archive("none.tar.gz", e + 1, 2);
    expect_open_error(none, NULL, "none.tar.gz", "no manifest", NULL);

    e[0].data = "name: x\nversion: 1\nsteps:\n  - type: teleport\n";
    envmgr_cleanup_free char *unknown = write_archive("unknown.tar.gz", e, 3);
    expect_open_error(unknown, NULL,
                      "unknown.tar.gz:envtest-fixture.yaml:4:", "unknown step type `teleport`",
                      NULL);

    e[0].data = "name: x\nversion: 1\nsteps:\n  - type: mysql\n    tables:\n"
                "      - {table: t, file: data/missing.csv}\n";
    envmgr_cleanup_free char *missing = write_archive("missing.tar.gz", e, 3);
    expect_open_error(missing, NULL, "missing.tar.gz", "data/missing.csv",
                      "which the archive lacks", NULL);

    e[0].data = "name: [x\n";
    envmgr_cleanup_free char *bad = write_archive("bad.tar.gz", e, 3);
    expect_open_error(bad, NULL, "bad.tar.gz:envtest-fixture.yaml:", "malformed YAML", NULL);

    FILE *junk = fopen("/tmp/envtest-fixture-junk.tar.gz", "w");
    fputs("this is not an archive", junk);
    fclose(junk);
    expect_open_error("/tmp/envtest-fixture-junk.tar.gz", NULL, "envtest-fixture-junk.tar.gz",
                      NULL);
    unlink("/tmp/envtest-fixture-junk.tar.gz");
}

/* ---- pack and digests ---------------------------------------------------------------------------
 */
static void write_text(const char *dir, const char *rel, const char *text)
{
    envmgr_cleanup_free char *path = envmgr_xasprintf("%s/%s", dir, rel);
    envmgr_error_t err = {0};
    envmgr_cleanup_free char *parent = envmgr_xstrdup(path);
    *strrchr(parent, '/') = '\0';
    assert_int_equal(envmgr_mkdir_p(parent, 0755, &err), 0);
    assert_int_equal(envmgr_write_file(path, text, strlen(text), &err), 0);
}

static void digest_of(const char *path, char out[65])
{
    envmgr_error_t err = {0};
    envmgr_fixture_t *f = NULL;
    if (envmgr_fixture_open(path, NULL, &f, &err) < 0)
        fail_msg("open %s: %s", path, err.message);
    strcpy(out, envmgr_fixture_digest(f));
    envmgr_fixture_free(f);
}

static void test_pack_digest_stable(void **state)
{
    envmgr_cleanup_free char *dir = envmgr_xasprintf("%s/src", tmpdir);
    write_text(dir, "envtest-fixture.yaml", MANIFEST_OK);
    write_text(dir, "schema.sql", "CREATE TABLE t1 (a INT);");
    write_text(dir, "data/t1.csv", "a\n1\n");
    envmgr_cleanup_free char *a = envmgr_xasprintf("%s/a.tar.gz", tmpdir);
    envmgr_cleanup_free char *b = envmgr_xasprintf("%s/b.tar.gz", tmpdir);
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_fixture_pack(dir, a, &err), 0);
    sleep(1); /* a different mtime must not change the digest */
    envmgr_cleanup_free char *touch = envmgr_xasprintf("touch '%s/schema.sql'", dir);
    assert_int_equal(system(touch), 0);
    assert_int_equal(envmgr_fixture_pack(dir, b, &err), 0);
    char da[65], db[65];
    digest_of(a, da);
    digest_of(b, db);
    assert_string_equal(da, db);
    write_text(dir, "data/t1.csv", "a\n2\n");
    assert_int_equal(envmgr_fixture_pack(dir, b, &err), 0);
    digest_of(b, db);
    assert_string_not_equal(da, db);

    /* pack validates the manifest and the members it names */
    write_text(dir, "envtest-fixture.yaml",
               "name: t\nversion: 1\nsteps:\n  - type: mysql\n    scripts: [nope.sql]\n");
    assert_int_equal(envmgr_fixture_pack(dir, b, &err), -1);
    assert_contains(err.message, "`nope.sql`, which is not in the directory");
    write_text(dir, "envtest-fixture.yaml", MANIFEST_OK);
    envmgr_cleanup_free char *link = envmgr_xasprintf("%s/escape", dir);
    assert_int_equal(symlink("/etc/passwd", link), 0);
    assert_int_equal(envmgr_fixture_pack(dir, b, &err), -1);
    assert_contains(err.message, "not a regular file");
}

/* ---- streamed open: the load checks what lies past the manifest ---------------------------------
 */
static void test_streamed_open(void **state)
{
    entry_t e[4];
    memcpy(e, base_entries, sizeof(base_entries));
    e[0].data = MANIFEST_OK;
    e[3] = (entry_t){.path = "data/../../evil", .data = "x"};
    envmgr_cleanup_free char *path = write_archive("late.tar.gz", e, 4);
    expect_open_error(path, NULL, "late.tar.gz:data/../../evil", "path traversal", NULL);
    envmgr_error_t err = {0};
    envmgr_fixture_t *f = NULL;
    assert_int_equal(envmgr_fixture_open_streamed(path, NULL, &f, &err), 0);
    char *data = NULL;
    size_t len;
    assert_int_equal(fx_read_member(f, "data/t1.csv", 100, &data, &len, &err), 0);
    assert_string_equal(data, "a\n1\n");
    free(data);
    assert_int_equal(fx_fixture_check_all(f, &err), -1);
    assert_int_equal(err.kind, ENVMGR_E_CONFIG);
    assert_contains(err.message, "late.tar.gz:data/../../evil");
    assert_contains(err.message, "path traversal");
    envmgr_fixture_free(f);

    /* a load refuses the archive before a step that cannot be undone (here an http step) */
    e[0].data = "name: t\nversion: 1\nsteps:\n  - type: http\n    service: api\n    method: GET\n"
                "    path: /\n    expect: 200\n";
    e[3] = (entry_t){.path = "link", .type = AE_IFLNK, .link = "/etc/shadow"};
    envmgr_cleanup_free char *http = write_archive("http.tar.gz", e, 4);
    assert_int_equal(envmgr_fixture_open_streamed(http, NULL, &f, &err), 0);
    envmgr_fixture_service_t api = {.name = "api", .base_url = "http://127.0.0.1:9"};
    envmgr_fixture_targets_t targets = {.services = &api, .n_services = 1};
    assert_int_equal(envmgr_fixture_load(f, &targets, NULL, NULL, &err), -1);
    assert_contains(err.message, "http.tar.gz:link: symbolic link to `/etc/shadow` refused");
    envmgr_fixture_free(f);

    /* a bomb and a missing member past the manifest */
    size_t big = 32u << 20;
    char *zeros = envmgr_xcalloc(1, big);
    e[0].data = MANIFEST_OK;
    e[3] = (entry_t){.path = "bomb.bin", .data = zeros, .len = big};
    envmgr_cleanup_free char *bomb = write_archive("bomb.tar.gz", e, 4);
    free(zeros);
    assert_int_equal(envmgr_fixture_open_streamed(bomb, NULL, &f, &err), 0);
    assert_int_equal(fx_fixture_check_all(f, &err), -1);
    assert_contains(err.message, "bomb.tar.gz:bomb.bin: compression ratio over 200:1");
    envmgr_fixture_free(f);
    envmgr_cleanup_free char *missing = write_archive("missing.tar.gz", e, 2);
    assert_int_equal(envmgr_fixture_open_streamed(missing, NULL, &f, &err), 0);
    assert_int_equal(fx_fixture_check_all(f, &err), -1);
    assert_contains(err.message, "names member `data/t1.csv`, which the archive lacks");
    envmgr_fixture_free(f);

    /* a good archive: checked once, then inspect lists every member */
    envmgr_cleanup_free char *good = write_archive("good.tar.gz", e, 3);
    assert_int_equal(envmgr_fixture_open_streamed(good, NULL, &f, &err), 0);
    /* a member ahead of the last reader, then one behind it (a second pass) */
    assert_int_equal(fx_read_member(f, "data/t1.csv", 100, &data, &len, &err), 0);
    assert_string_equal(data, "a\n1\n");
    free(data);
    assert_int_equal(fx_read_member(f, "schema.sql", 100, &data, &len, &err), 0);
    assert_string_equal(data, "CREATE TABLE t1 (a INT);");
    free(data);
    assert_int_equal(fx_fixture_check_all(f, &err), 0);
    json_t *j = NULL;
    assert_int_equal(envmgr_fixture_inspect(f, &j, &err), 0);
    assert_int_equal(json_array_size(json_object_get(j, "members")), 3);
    json_decref(j);
    envmgr_fixture_free(f);
}

static void test_pack_order(void **state)
{
    envmgr_cleanup_free char *dir = envmgr_xasprintf("%s/order", tmpdir);
    write_text(dir, "envtest-fixture.yaml", MANIFEST_OK);
    write_text(dir, "schema.sql", "CREATE TABLE t1 (a INT);");
    write_text(dir, "data/t1.csv", "a\n1\n");
    write_text(dir, "aaa.txt", "not named by the manifest");
    envmgr_cleanup_free char *out = envmgr_xasprintf("%s/order.tar.gz", tmpdir);
    envmgr_error_t err = {0};
    assert_int_equal(envmgr_fixture_pack(dir, out, &err), 0);
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_filename(a, out, 4096), ARCHIVE_OK);
    envmgr_buf_t order = ENVMGR_BUF_INIT;
    struct archive_entry *e;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK)
        envmgr_buf_addf(&order, "%s;", archive_entry_pathname(e));
    archive_read_free(a);
    /* the manifest, the members in the order the steps use them, then the rest */
    assert_string_equal(order.data, "envtest-fixture.yaml;schema.sql;data/t1.csv;aaa.txt;");
    envmgr_buf_free(&order);
}

/* ---- SQL splitting ------------------------------------------------------------------------------
 */

static int collect_stmt(void *ud, const char *sql, size_t len, int line, envmgr_error_t *err)
{
    envmgr_buf_t *b = ud;
    envmgr_buf_addf(b, "%d:[%.*s]", line, (int)len, sql);
    return 0;
}

static void test_sql_split(void **state)
{
    const char *sql = "-- comment; not a statement\n"
                      "CREATE TABLE a (s VARCHAR(9) DEFAULT ';');\n"
                      "/* block; comment */ INSERT INTO a VALUES ('it''s; ok'), (\"x;\\\"y\");\n"
                      "# hash comment;\n"
                      "\n"
                      "INSERT INTO `we;ird` VALUES ('한국어;');;\n"
                      "SELECT 1";
    envmgr_buf_t b = ENVMGR_BUF_INIT;
    envmgr_error_t err = {0};
    assert_int_equal(fx_sql_split_for_tests(sql, strlen(sql), collect_stmt, &b, &err), 0);
    assert_string_equal(b.data, "2:[CREATE TABLE a (s VARCHAR(9) DEFAULT ';')]"
                                "3:[INSERT INTO a VALUES ('it''s; ok'), (\"x;\\\"y\")]"
                                "6:[INSERT INTO `we;ird` VALUES ('한국어;')]"
                                "7:[SELECT 1]");
    envmgr_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest_yaml),
        cmocka_unit_test(test_manifest_json),
        cmocka_unit_test(test_manifest_errors),
        cmocka_unit_test(test_csv_encoding),
        cmocka_unit_test(test_csv_null_and_empty),
        cmocka_unit_test(test_csv_errors),
        cmocka_unit_test(test_csv_corpus_differential),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test_setup_teardown(test_open_inspect, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_formats, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_refuse_paths_and_links, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_refuse_size_and_ratio, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_refuse_manifest_problems, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_pack_digest_stable, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_streamed_open, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_pack_order, setup_tmp, teardown_tmp),
        cmocka_unit_test(test_sql_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
