/* Plain HTTP to a service's published port (libcurl): the mocks' admin APIs and the Qdrant API,
 * for snapshots and repro bundles. */
#ifndef ENVMGR_HTTP_H
#define ENVMGR_HTTP_H

#include <stddef.h>

#include <envmgr/error.h>
#include <envmgr/util.h>

/* One request (body: JSON, or NULL for none) within timeout_ms (5 s to connect); *status the HTTP
 * status (0 when nothing answered), reply the body. 0 unless the transfer failed (ENVMGR_E_ENV
 * "METHOD URL: why"); any status is a success here. */
int envmgr_http_request(const char *method, const char *url, const char *body, size_t body_len,
                        long timeout_ms, envmgr_buf_t *reply, long *status, envmgr_error_t *err);

#endif
