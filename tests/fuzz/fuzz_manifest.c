/* libFuzzer target: the fixture manifest reader (YAML and JSON). The first byte picks the syntax.
 * Build with -DENVTEST_FUZZ=ON (clang); corpus in tests/fuzz/corpus/manifest/. */
#include <stddef.h>
#include <stdint.h>

#include "fixture_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_member(void *ud, const char *member, int line)
{
    (*(size_t *)ud)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    bool yaml = (data[0] & 1) == 0;
    fx_manifest_t *m = NULL;
    envmgr_error_t err = {0};
    if (fx_manifest_parse((const char *)data + 1, size - 1, yaml, "fuzz:envtest-fixture.yaml", &m,
                          &err) == 0) {
        size_t n = 0;
        fx_manifest_members(m, count_member, &n);
        fx_manifest_free(m);
    }
    return 0;
}
