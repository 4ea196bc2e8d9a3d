/* libFuzzer target for the streaming TAP parser: the input is fed in chunks whose size comes from
 * its first byte, then finished; the result must be self-consistent. */
#include <stdint.h>
#include <stdlib.h>

#include <envmgr/tap.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t chunk = size > 0 ? (size_t)data[0] % 17 + 1 : 1;
    envmgr_tap_parser_t *p = envmgr_tap_parser_new(NULL);
    for (size_t off = 0; off < size; off += chunk)
        envmgr_tap_parser_feed(p, data + off, size - off < chunk ? size - off : chunk);
    envmgr_tap_parser_finish(p);
    const envmgr_tap_result_t *r = envmgr_tap_parser_result(p);
    if (r->passed + r->failed + r->skipped + r->todo != r->ran)
        abort();
    if (r->ok != (r->verdict == NULL))
        abort();
    if (r->n_tests > 2 * ENVMGR_TAP_MAX_RECORDED)
        abort();
    envmgr_tap_parser_free(p);
    return 0;
}
