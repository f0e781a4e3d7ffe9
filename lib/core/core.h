/* The core's private view of the handle and iterators. No SQL here. */
#ifndef CRM_CORE_H
#define CRM_CORE_H

#include "crm/crm.h"
#include "crm/sys/backend.h"
#include "util/util.h"

struct crm_db {
    crm_backend *backend;
    crm_scope scope;       /* scope.dealer_id is owned (or NULL) */
    char *actor;           /* owned, never NULL */
    int64_t fixed_time;    /* 0: the system clock */
    int tx_depth;          /* explicit transactions open (crm_db_begin) */
    crm_iter *iters;       /* open iterators, ended by crm_db_close */
    crm_idgen idgen;
};

typedef enum crm_iter_kind { CRM_ITER_LEAD, CRM_ITER_EVENT } crm_iter_kind;

struct crm_iter {
    crm_iter_kind kind;
    crm_db *db;                 /* NULL once the database closed */
    crm_iter *prev, *next;      /* in db->iters */
    crm_backend_iter *cursor;
    union {
        crm_lead lead;
        crm_event event;
    } current;
};

/* Run body-less write steps in a nested transaction: begin, and end with
 * commit on rc == 0 or rollback otherwise (the error of the first failure
 * is what the caller sees). */
int crm__tx_begin(crm_db *db);
int crm__tx_end(crm_db *db, int rc);

/* Check an identifier or text a caller gives: 1..max bytes of UTF-8
 * without control characters; the message names the field. */
int crm__check_label(const char *field, const char *value, size_t max);

/* Append an audit event stamped with the handle's clock and actor. */
int crm__event_append(crm_db *db, const char *kind, const char *entity_type, const char *entity_id,
                      const char *dealer_id, const char *data_json);

/* Make a new iterator over a backend cursor; takes the cursor. */
int crm__iter_new(crm_iter **out, crm_db *db, crm_iter_kind kind, crm_backend_iter *cursor);

/* Advance an iterator's cursor into *record (checks it is still attached). */
int crm__iter_step(crm_iter *iter, crm_iter_kind kind, void *record);

/* End an iterator whose database is closing: free its cursor, unlink it. */
void crm__iter_detach(crm_iter *iter);

#endif
