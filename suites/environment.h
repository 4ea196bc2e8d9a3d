/* The environment suite: the checks of the test environment itself (MySQL with the fixture,
 * mock-llm, mock-vector), from env_component.c, env_data.c, env_api.c and env_e2e.c, run as one
 * TAP program beside ADR-009's 32 tests of the service. */
#ifndef SUITES_ENVIRONMENT_H
#define SUITES_ENVIRONMENT_H

#include <stddef.h>

#include "envconn.h"

/* Every test gets this (its first member: tests taking an envconn_t * work as well). */
typedef struct env_ctx {
    envconn_t env;
    MYSQL *db; /* the data checks' shared connection, made on first use */
} env_ctx_t;

extern const tap_test_t env_component_tests[], env_data_tests[], env_api_tests[], env_e2e_tests[];
extern const size_t env_component_count, env_data_count, env_api_count, env_e2e_count;

#endif
