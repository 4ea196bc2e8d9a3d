/* mock-vector: a Qdrant-compatible REST server (exact search, in memory) on the shared mock HTTP
 * layer (compose/mock-common). The engine is in qdrant.c; this file only glues it to the server. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_http.h"
#include "qdrant.h"

static void handle(mock_request_t *req, void *user)
{
    qdrant_t *q = user;
    const char *path = mock_request_path(req);
    const char *query = mock_request_query(req);
    size_t len = strlen(path) + strlen(query) + 2;
    char *target = mock_xmalloc(len);
    snprintf(target, len, "%s%s%s", path, query[0] ? "?" : "", query);
    qdrant_response_t res;
    qdrant_handle(q, mock_request_method(req), target, mock_request_body(req),
                  mock_request_body_len(req), &res);
    free(target);
    mock_request_set_matched(req, res.status == 404 && strstr(res.body, "no route") ? "no-route"
                                                                                    : "qdrant");
    mock_respond(req, res.status, res.content_type, res.body, res.body_len);
    qdrant_response_clear(&res);
}

/* Errors of the HTTP layer (413, bad HTTP, injected faults) in Qdrant's shape. */
static void respond_error(mock_request_t *req, int status, const char *message, void *user)
{
    json_t *msg = json_string(message);
    if (!msg)
        msg = json_string("invalid request");
    mock_respond_json(req, status, json_pack("{s:{s:o},s:f}", "status", "error", msg, "time", 0.0));
}

static void reset(void *user)
{
    qdrant_reset(user);
}

int main(int argc, char **argv)
{
    qdrant_t *q = qdrant_new();
    mock_app_t app = {
        .name = "mock-vector",
        .default_port = 6333,
        .health_path = "/healthz",
        .usage = "mock-vector: Qdrant REST API (collections, points, search, query) in memory.\n"
                 "POST /__admin/reset also drops every collection.\n",
        .handler = handle,
        .reset = reset,
        .error = respond_error,
        .user = q,
    };
    int rc = mock_main(&app, argc, argv);
    qdrant_free(q);
    return rc;
}
