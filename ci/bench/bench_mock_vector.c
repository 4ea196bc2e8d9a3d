/* Benchmark of mock-vector over loopback HTTP (keep-alive, libcurl): upsert N points of D
 * dimensions in batches, then exact searches (plain and filtered), and the server's resident
 * memory against the raw vector bytes. Prints one "name value unit" line per figure.
 *
 * usage: bench_mock_vector URL SERVER_PID [points] [dim] [batch] [queries] */
#include <curl/curl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct text {
    char *data;
    size_t len, cap;
} text_t;

static void text_addf(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_addf(text_t *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        t->cap = t->cap ? t->cap * 2 : 1 << 20;
        t->data = realloc(t->data, t->cap);
        if (!t->data)
            abort();
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t discard(char *data, size_t size, size_t n, void *user)
{
    text_t *t = user;
    if (t)
        text_addf(t, "%.*s", (int)(size * n), data);
    return size * n;
}

static CURL *curl;
static const char *base;

static long send_request(const char *method, const char *path, const char *body, size_t len,
                         text_t *out)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", base, path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    long status = 0;
    if (curl_easy_perform(curl) != CURLE_OK)
        return -1;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

static long rss_kib(const char *pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%s/status", pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    }
    if (f)
        fclose(f);
    return kib;
}

/* CPU seconds (user + system) the server used so far: less disturbed by other load on the host
 * than wall time. */
static double cpu_seconds(const char *pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%s/stat", pid);
    FILE *f = fopen(path, "r");
    unsigned long utime = 0, stime = 0;
    if (f) {
        /* fields 14 and 15; the command (field 2) has no spaces here */
        if (fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                   &stime) != 2)
            utime = stime = 0;
        fclose(f);
    }
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static const char *server_pid;

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static float frand(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (float)((*seed >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* Runs queries searches, prints median and p95 in ms; returns -1 on an HTTP error. */
static int bench_search(const char *label, int dim, int queries, const char *filter, unsigned *seed)
{
    double *ms = calloc((size_t)queries, sizeof(double));
    double cpu0 = cpu_seconds(server_pid);
    text_t body = {0}, out = {0};
    for (int q = 0; q < queries; q++) {
        body.len = 0;
        text_addf(&body, "{\"limit\":10,\"with_payload\":true%s%s,\"vector\":[",
                  filter ? ",\"filter\":" : "", filter ? filter : "");
        for (int j = 0; j < dim; j++)
            text_addf(&body, "%s%.6f", j ? "," : "", frand(seed) * 0.1);
        text_addf(&body, "]}");
        out.len = 0;
        double t0 = now();
        long status =
            send_request("POST", "/collections/bench/points/search", body.data, body.len, &out);
        ms[q] = (now() - t0) * 1000;
        if (status != 200) {
            fprintf(stderr, "search: HTTP %ld: %.300s\n", status, out.data ? out.data : "");
            return -1;
        }
    }
    double cpu = cpu_seconds(server_pid) - cpu0;
    qsort(ms, (size_t)queries, sizeof(double), compare_double);
    printf("%s_server_cpu_mean %.2f ms\n", label, cpu * 1000 / queries);
    printf("%s_median %.2f ms\n", label, ms[queries / 2]);
    printf("%s_p95 %.2f ms\n", label, ms[(queries * 95) / 100]);
    free(ms);
    free(body.data);
    free(out.data);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s URL SERVER_PID [points] [dim] [batch] [queries]\n", argv[0]);
        return 2;
    }
    base = argv[1];
    const char *pid = argv[2];
    server_pid = pid;
    int points = argc > 3 ? atoi(argv[3]) : 100000;
    int dim = argc > 4 ? atoi(argv[4]) : 384;
    int batch = argc > 5 ? atoi(argv[5]) : 1000;
    int queries = argc > 6 ? atoi(argv[6]) : 50;
    unsigned seed = 42;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    curl = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    /* no "Expect: 100-continue" for big bodies: the server layer does not answer it (curl would
     * wait 1 s per request) */
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

    send_request("DELETE", "/collections/bench", NULL, 0, NULL);
    char create[128];
    snprintf(create, sizeof(create), "{\"vectors\":{\"size\":%d,\"distance\":\"Cosine\"}}", dim);
    if (send_request("PUT", "/collections/bench", create, strlen(create), NULL) != 200) {
        fprintf(stderr, "cannot create the collection at %s\n", base);
        return 1;
    }
    long rss_before = rss_kib(pid);

    /* bodies are generated before the clock starts: the figure is the server's */
    int nbatches = (points + batch - 1) / batch;
    text_t *bodies = calloc((size_t)nbatches, sizeof(text_t));
    size_t total_bytes = 0;
    for (int b = 0; b < nbatches; b++) {
        text_addf(&bodies[b], "{\"points\":[");
        for (int i = b * batch; i < points && i < (b + 1) * batch; i++) {
            text_addf(&bodies[b],
                      "%s{\"id\":%d,\"payload\":{\"group\":%d,\"doc\":\"doc-%d\"},"
                      "\"vector\":[",
                      i == b * batch ? "" : ",", i, i % 10, i);
            for (int j = 0; j < dim; j++)
                text_addf(&bodies[b], "%s%.6f", j ? "," : "", frand(&seed) * 0.1);
            text_addf(&bodies[b], "]}");
        }
        text_addf(&bodies[b], "]}");
        total_bytes += bodies[b].len;
    }
    double t0 = now(), cpu0 = cpu_seconds(pid);
    for (int b = 0; b < nbatches; b++) {
        long status = send_request("PUT", "/collections/bench/points?wait=true", bodies[b].data,
                                   bodies[b].len, NULL);
        if (status != 200) {
            fprintf(stderr, "upsert batch %d: HTTP %ld\n", b, status);
            return 1;
        }
    }
    double upsert_s = now() - t0;
    printf("upsert_points %d points\n", points);
    printf("upsert_dim %d dims\n", dim);
    printf("upsert_json %.1f MB\n", (double)total_bytes / 1e6);
    printf("upsert_total %.2f s\n", upsert_s);
    printf("upsert_server_cpu %.2f s\n", cpu_seconds(pid) - cpu0);
    printf("upsert_rate %.0f points/s\n", points / upsert_s);
    for (int b = 0; b < nbatches; b++)
        free(bodies[b].data);
    free(bodies);

    /* a client checks the count after a load (and the server trims its heap then) */
    text_t info = {0};
    send_request("GET", "/collections/bench", NULL, 0, &info);
    const char *count = info.data ? strstr(info.data, "\"points_count\":") : NULL;
    printf("points_count %ld points\n", count ? strtol(count + 15, NULL, 10) : -1L);
    free(info.data);
    long rss_after = rss_kib(pid);
    double raw = (double)points * dim * 4;
    printf("rss_before %.1f MiB\n", rss_before / 1024.0);
    printf("rss_after %.1f MiB\n", rss_after / 1024.0);
    printf("raw_vectors %.1f MiB\n", raw / 1048576.0);
    printf("rss_over_raw %.3f x\n", (rss_after * 1024.0) / raw);
    printf("growth_over_raw %.3f x\n", ((rss_after - rss_before) * 1024.0) / raw);

    if (bench_search("search", dim, queries, NULL, &seed) < 0 ||
        bench_search("search_filtered", dim, queries,
                     "{\"must\":[{\"key\":\"group\",\"match\":{\"value\":3}}]}", &seed) < 0 ||
        bench_search("search_selective", dim, queries / 5 + 1,
                     "{\"must\":[{\"key\":\"doc\",\"match\":{\"value\":\"doc-7\"}}]}", &seed) < 0)
        return 1;
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    return 0;
}
