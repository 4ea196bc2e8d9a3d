/* libFuzzer target for the streaming TAP parser. The input is fed twice: in chunks of random sizes
 * (1 to 64 bytes, from a generator seeded by the first two bytes; a chunk may end anywhere: inside
 * a line, a CRLF, a YAML block, a subtest), and whole; then finished. Checks:
 *  - counts are never negative and add up: passed + failed + skipped + todo == ran, and every test
 *    that ran is either recorded or counted as not recorded; bytes == what was fed;
 *  - the verdict follows the plan: ok exactly when there is a plan, it matches the tests run, no
 *    test failed and the suite did not bail out; a plan mismatch says "planned P, ran R";
 *  - memory stays bounded (at most 2 x ENVMGR_TAP_MAX_RECORDED records);
 *  - the result does not depend on the chunking (counts, verdict, every recorded test). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <envmgr/tap.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t still_clock(void)
{
    return 0; /* durations do not depend on when the chunks arrive */
}

static envmgr_tap_parser_t *parse(const uint8_t *data, size_t size, uint32_t seed)
{
    envmgr_tap_parser_t *p = envmgr_tap_parser_new(still_clock);
    uint32_t x = seed | 1;
    for (size_t off = 0; off < size;) {
        size_t chunk = size - off;
        if (seed != 0) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5; /* xorshift32 */
            chunk = (size_t)(x % 64) + 1;
            chunk = chunk < size - off ? chunk : size - off;
        }
        envmgr_tap_parser_feed(p, data + off, chunk);
        off += chunk;
    }
    envmgr_tap_parser_finish(p);
    return p;
}

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static void check(const envmgr_tap_result_t *r, size_t size)
{
    if (r->ran < 0 || r->passed < 0 || r->failed < 0 || r->skipped < 0 || r->todo < 0 ||
        r->planned < 0 || r->garbage_lines < 0 || r->truncated_lines < 0 || r->out_of_order < 0 ||
        r->tests_not_recorded < 0)
        abort();
    if (r->passed + r->failed + r->skipped + r->todo != r->ran)
        abort();
    if ((int64_t)r->n_tests + r->tests_not_recorded != r->ran)
        abort();
    if (r->bytes != (int64_t)size)
        abort();
    if (r->n_tests > 2 * ENVMGR_TAP_MAX_RECORDED)
        abort();
    if (r->ok != (r->verdict == NULL))
        abort();
    bool should_pass = r->has_plan && r->planned == r->ran && r->failed == 0 && !r->bailed_out;
    if (r->ok != should_pass)
        abort();
    if (r->has_plan && !r->bailed_out && r->planned != r->ran) {
        char want[64];
        snprintf(want, sizeof(want), "planned %d, ran %d", r->planned, r->ran);
        if (!strstr(r->verdict, want))
            abort();
    }
    if (r->skip_all && (!r->has_plan || r->planned != 0))
        abort();
}

static void compare(const envmgr_tap_result_t *a, const envmgr_tap_result_t *b)
{
    if (a->version != b->version || a->has_plan != b->has_plan || a->planned != b->planned ||
        a->ran != b->ran || a->passed != b->passed || a->failed != b->failed ||
        a->skipped != b->skipped || a->todo != b->todo || a->bailed_out != b->bailed_out ||
        a->garbage_lines != b->garbage_lines || a->truncated_lines != b->truncated_lines ||
        a->out_of_order != b->out_of_order || a->skip_all != b->skip_all ||
        a->n_tests != b->n_tests || !same_str(a->verdict, b->verdict) ||
        !same_str(a->bail_reason, b->bail_reason) || !same_str(a->first_garbage, b->first_garbage))
        abort();
    for (size_t i = 0; i < a->n_tests; i++) {
        const envmgr_tap_test_t *x = &a->tests[i], *y = &b->tests[i];
        if (x->number != y->number || x->status != y->status || x->line != y->line ||
            !same_str(x->description, y->description) || !same_str(x->reason, y->reason) ||
            !same_str(x->message, y->message) || !same_str(x->file, y->file) ||
            !same_str(x->severity, y->severity))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t seed = size >= 2 ? (uint32_t)data[0] << 8 | data[1] : 1;
    envmgr_tap_parser_t *chunked = parse(data, size, seed ? seed : 1);
    envmgr_tap_parser_t *whole = parse(data, size, 0);
    check(envmgr_tap_parser_result(chunked), size);
    check(envmgr_tap_parser_result(whole), size);
    compare(envmgr_tap_parser_result(chunked), envmgr_tap_parser_result(whole));
    envmgr_tap_parser_free(chunked);
    envmgr_tap_parser_free(whole);
    return 0;
}
