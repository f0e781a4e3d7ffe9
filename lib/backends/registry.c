#include <string.h>

#include "backends/registry.h"
#include "util/util.h"

typedef int (*backend_open_fn)(crm_backend **out, const char *location, const crm_db_options *opts);

/* Adding a backend is one line here: its URI scheme and its open function.
 * A URI without a scheme (a path, or ":memory:") goes to the first entry. */
static const struct {
    const char *scheme;
    backend_open_fn open;
} backends[] = {
    { "sqlite", crm_sqlite_backend_open },
};

int crm__backend_open_uri(crm_backend **out, const char *uri, const crm_db_options *opts)
{
    const char *colon = strchr(uri, ':');
    /* "scheme:rest" with a scheme of letters only; ":memory:" and paths with
     * a colon later on (C:\x, ./a:b) are paths. */
    if (colon && colon != uri) {
        size_t n = (size_t)(colon - uri);
        bool letters = true;
        for (size_t i = 0; i < n; i++)
            letters = letters && ((uri[i] >= 'a' && uri[i] <= 'z') || (uri[i] >= '0' && uri[i] <= '9'));
        if (letters && n > 1) {
            for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
                if (strlen(backends[i].scheme) == n && memcmp(backends[i].scheme, uri, n) == 0) {
                    const char *rest = colon + 1;
                    if (strncmp(rest, "//", 2) == 0)
                        rest += 2;
                    return backends[i].open(out, rest, opts);
                }
            }
            if (strncmp(colon, "://", 3) == 0)
                return crm_error_set(CRM_EINVALID, "uri: unknown storage scheme '%.*s'", (int)n, uri);
        }
    }
    return backends[0].open(out, uri, opts);
}
