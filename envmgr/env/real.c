/* Real services instead of mocks (envmgr_project_t.real_services): what status, env and the
 * fixtures see of them. The URL is split with libcurl's URL API. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "project.h"

int envmgr_real_url_parts(const char *url, char **origin, char **host, int *port,
                          envmgr_error_t *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *h = NULL, *p = NULL;
    int ret = 0;
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        ret = envmgr_error_set(err, ENVMGR_E_CONFIG, 0, "real service URL '%s': not a valid URL",
                               url);
    } else {
        *port = atoi(p);
        *host = envmgr_xstrdup(h);
        /* the origin without the path: "https://api.example.com:8443"; a default port omitted */
        bool default_port =
            (!strcmp(scheme, "http") && *port == 80) || (!strcmp(scheme, "https") && *port == 443);
        *origin = default_port ? envmgr_xasprintf("%s://%s", scheme, h)
                               : envmgr_xasprintf("%s://%s:%d", scheme, h, *port);
    }
    curl_free(scheme);
    curl_free(h);
    curl_free(p);
    curl_url_cleanup(u);
    return ret;
}

json_t *envmgr_real_status(const envmgr_project_t *project, const char *service)
{
    return json_pack("{s:s, s:n, s:n, s:s, s:s, s:s, s:[]}", "service", service, "container", "id",
                     "state", "real", "health", "none", "url",
                     envmgr_project_real_url(project, service), "ports");
}

int envmgr_real_env_vars(const envmgr_project_t *project, envmgr_kvlist_t *out, envmgr_error_t *err)
{
    for (size_t i = 0; i < project->real_services.n; i++) {
        const char *service = project->real_services.items[i].key;
        const char *url = project->real_services.items[i].value;
        envmgr_cleanup_free char *origin = NULL, *host = NULL;
        int port = 0;
        if (envmgr_real_url_parts(url, &origin, &host, &port, err) < 0)
            return envmgr_error_wrap(err, "service %s", service);
        envmgr_cleanup_free char *stem = envmgr_project_env_stem(service);
        envmgr_cleanup_free char *k_url = envmgr_xasprintf("ENVTEST_%s_URL", stem);
        envmgr_cleanup_free char *k_host = envmgr_xasprintf("ENVTEST_%s_HOST", stem);
        envmgr_cleanup_free char *k_port = envmgr_xasprintf("ENVTEST_%s_PORT", stem);
        envmgr_cleanup_free char *v_port = envmgr_xasprintf("%d", port);
        envmgr_kvlist_set(out, k_url, url);
        envmgr_kvlist_set(out, k_host, host);
        envmgr_kvlist_set(out, k_port, v_port);
        /* ENVTEST_<SERVICE>_PORT_<container port> as for a container, all the URL's port */
        const envmgr_service_t *s = envmgr_project_service(project, service);
        for (size_t p = 0; s && p < s->n_ports; p++) {
            envmgr_cleanup_free char *k =
                envmgr_xasprintf("ENVTEST_%s_PORT_%d", stem, s->ports[p].container_port);
            envmgr_kvlist_set(out, k, v_port);
        }
    }
    return 0;
}
