/* The environment suite: envtest's own environment (MySQL and the fixture, mock-llm, mock-vector)
 * checked before anyone trusts ADR-009's 32 tests of the service on top of it. Each check's name
 * says which part it comes from (database, etl, llm, openai, qdrant, workflow, ...).
 * Reads only environment variables; prints TAP 13. */
#include <stdlib.h>
#include <string.h>

#include "environment.h"

int main(void)
{
    const struct {
        const tap_test_t *tests;
        size_t n;
    } parts[] = {{env_component_tests, env_component_count},
                 {env_data_tests, env_data_count},
                 {env_api_tests, env_api_count},
                 {env_e2e_tests, env_e2e_count}};
    size_t total = 0;
    for (size_t i = 0; i < TAP_COUNT(parts); i++)
        total += parts[i].n;
    tap_test_t *all = calloc(total, sizeof(*all));
    if (!all)
        return 2;
    size_t k = 0;
    for (size_t i = 0; i < TAP_COUNT(parts); i++)
        for (size_t j = 0; j < parts[i].n; j++)
            all[k++] = parts[i].tests[j];
    env_ctx_t ctx = {0};
    int rc = 1;
    if (envconn_load(&ctx.env, ENVCONN_NEED_MYSQL | ENVCONN_NEED_LLM | ENVCONN_NEED_VECTOR) == 0) {
        rc = tap_run(all, total, &ctx);
        envconn_free(&ctx.env);
    }
    if (ctx.db)
        mysql_close(ctx.db);
    free(all);
    return rc;
}
