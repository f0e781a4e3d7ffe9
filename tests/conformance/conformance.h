/* The backend conformance suite: every backend passes the same tests.
 * A runner provides a factory that opens a fresh, empty backend. */
#ifndef CRM_CONFORMANCE_H
#define CRM_CONFORMANCE_H

#include <crm/sys/backend.h>

typedef int (*crm_conformance_factory)(crm_backend **out, void *ctx);

/* Run every conformance test against backends from the factory; returns
 * the number of failed tests (0 when the backend conforms). */
int crm_conformance_run(const char *name, crm_conformance_factory factory, void *ctx);

#endif
