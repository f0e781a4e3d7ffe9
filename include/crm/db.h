/*
 * crmcore — the database handle.
 *
 * A crm_db is one connection to one storage backend. It carries the scope
 * (all dealers, or one dealer's records), the actor written into audit
 * events, and the clock. One handle is used by one thread at a time.
 */
#ifndef CRM_DB_H
#define CRM_DB_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct crm_db crm_db;

/** Options for crm_db_open(). Initialise with CRM_DB_OPTIONS_INIT. */
typedef struct crm_db_options {
    unsigned int version;     /**< CRM_DB_OPTIONS_VERSION */
    int busy_timeout_ms;      /**< how long to wait for a lock held elsewhere; default 5000 */
    int create;               /**< 1 (default): create the database if missing; 0: fail with CRM_ENOTFOUND */
} crm_db_options;

#define CRM_DB_OPTIONS_VERSION 1
#define CRM_DB_OPTIONS_INIT { CRM_DB_OPTIONS_VERSION, 5000, 1 }

/**
 * Open (and if needed create and migrate) a database.
 *
 * The URI selects the backend: a file path or ":memory:" (or "sqlite:PATH")
 * opens the embedded SQLite backend. Missing schema migrations are applied
 * inside one transaction. A database written by a newer version of the
 * library, or a SQLite file that belongs to another application, is refused
 * with CRM_ESTORAGE and left untouched.
 *
 * @param[out] out  the new handle, owned by the caller; close with crm_db_close()
 * @param[in]  uri  where the database is; not kept after the call
 * @param[in]  opts options, or NULL for the defaults
 * @return 0, CRM_EINVALID for a bad URI or options, CRM_ENOTFOUND when the
 *         file is missing and opts->create is 0, CRM_ESTORAGE, CRM_EBUSY, CRM_ENOMEM
 */
CRM_EXTERN(int) crm_db_open(crm_db **out, const char *uri, const crm_db_options *opts);

/**
 * Close a handle, rolling back any transaction still open. Iterators still
 * open on it are ended: their next call returns CRM_ECONFLICT, and they
 * must still be freed with crm_iter_free(). NULL is a no-op.
 */
CRM_EXTERN(void) crm_db_close(crm_db *db);

/**
 * The schema version of the open database (the number of the last
 * migration applied).
 *
 * @param[out] out the version
 * @param[in]  db  the handle
 */
CRM_EXTERN(int) crm_db_schema_version(int *out, crm_db *db);


/**
 * Begin an explicit transaction. Transactions nest: an inner begin opens a
 * savepoint that the matching commit releases or rollback undoes. Every
 * write function runs in its own (nested) transaction, so a failed write
 * changes nothing even inside a caller's transaction; the one exception is
 * lead ingest, whose storage failures roll back the caller's transaction
 * whole (see crm_lead_ingest). CRM_ECONFLICT after such a failure, until
 * every level has been rolled back.
 */
CRM_EXTERN(int) crm_db_begin(crm_db *db);

/** Commit the innermost open transaction. CRM_ECONFLICT when none is open. */
CRM_EXTERN(int) crm_db_commit(crm_db *db);

/** Roll back the innermost open transaction. CRM_ECONFLICT when none is open. */
CRM_EXTERN(int) crm_db_rollback(crm_db *db);

/** How many transactions are open on the handle (0 when none). */
CRM_EXTERN(int) crm_db_transaction_depth(const crm_db *db);

/**
 * Restrict the handle to one dealer's records, or lift the restriction.
 *
 * With a dealer scope, gets and lists see only that dealer's records, a
 * lead ingested without a dealer is given the scope's dealer, and a lead
 * for another dealer is refused with CRM_EPERM.
 *
 * @param[in] db        the handle
 * @param[in] dealer_id the dealer, or NULL for every dealer; copied
 * @return 0, CRM_EINVALID for an empty or overlong dealer id
 */
CRM_EXTERN(int) crm_db_set_scope(crm_db *db, const char *dealer_id);

/** The dealer the handle is scoped to, or NULL for all; borrowed. */
CRM_EXTERN(const char *) crm_db_scope(const crm_db *db);

/**
 * Name who is acting, written into every audit event (a user id, a service
 * name). The default is "system".
 *
 * @param[in] actor 1 to 128 bytes of UTF-8; copied
 */
CRM_EXTERN(int) crm_db_set_actor(crm_db *db, const char *actor);

/** Who the handle acts as ("system" unless set); borrowed. */
CRM_EXTERN(const char *) crm_db_actor(const crm_db *db);

/**
 * Fix the handle's clock at a time (Unix milliseconds, UTC), for tests and
 * replays; 0 returns to the system clock. Every time the library records
 * (created/updated times, ids, events) comes from this clock.
 */
CRM_EXTERN(void) crm_db_set_time(crm_db *db, int64_t unix_ms);

/** The handle's current time in Unix milliseconds, UTC. */
CRM_EXTERN(int64_t) crm_db_now(const crm_db *db);

#ifdef __cplusplus
}
#endif

#endif /* CRM_DB_H */
