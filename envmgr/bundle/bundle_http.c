/* JSON over plain HTTP to a service's published port (<envmgr/http.h>), for the mocks' admin APIs.
 */
#include <string.h>

#include <envmgr/http.h>

#include "bundle_internal.h"

int bun_http_json(const char *method, const char *url, const json_t *body, json_t **out,
                  envmgr_error_t *err)
{
    envmgr_cleanup_free char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    envmgr_buf_t reply = ENVMGR_BUF_INIT;
    long status;
    int r = envmgr_http_request(method, url, text, text ? strlen(text) : 0, 600000, &reply, &status,
                                err);
    if (r == 0 && (status < 200 || status > 299))
        r = envmgr_error_set(err, ENVMGR_E_ENV, (int)status, "%s %s: HTTP %ld: %.300s", method, url,
                             status, reply.data ? reply.data : "");
    if (r == 0 && out) {
        json_error_t je;
        *out = json_loadb(reply.data ? reply.data : "", reply.len, 0, &je);
        if (!*out)
            r = envmgr_error_set(err, ENVMGR_E_ENV, 0, "%s %s: not JSON: %s", method, url, je.text);
    }
    envmgr_buf_free(&reply);
    return r;
}
