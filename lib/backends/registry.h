/* Which backend serves a URI. The only place that knows every backend. */
#ifndef CRM_BACKENDS_REGISTRY_H
#define CRM_BACKENDS_REGISTRY_H

#include "crm/sys/backend.h"

/* Open the backend that a crm_db_open() URI names. */
int crm__backend_open_uri(crm_backend **out, const char *uri, const crm_db_options *opts);

#endif
