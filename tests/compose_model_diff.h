/* Two Compose models compared field by field, for tests/test_compose_property.c: mappings as sets,
 * a network's name as the engine will know it, its driver as it will be made. */
#ifndef ENVTEST_COMPOSE_MODEL_DIFF_H
#define ENVTEST_COMPOSE_MODEL_DIFF_H

#include <stdbool.h>
#include <stddef.h>

#include <envmgr/compose.h>

/* True when they differ: where then names the first difference (e.g.
 * "services.web.healthcheck.interval_ms"). */
bool compose_model_diff(const envmgr_project_t *a, const envmgr_project_t *b, char *where,
                        size_t size);

#endif
