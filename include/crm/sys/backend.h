/*
 * crmcore — the storage interface.
 *
 * A backend is a struct of function pointers that the core calls; the core
 * never writes SQL and a backend never holds a business rule. The struct is
 * versioned: `version` comes first, new members are only ever appended, and
 * crm_db_open_backend() refuses a backend built for a newer interface. A
 * backend written for an older version simply lacks the newer members; the
 * core answers CRM_ESTORAGE ("backend does not support ...") for those.
 *
 * An implementation embeds struct crm_backend as its first member (as
 * libgit2's odb backends do) and casts back in its functions.
 *
 * Conventions every member follows (the conformance suite in
 * tests/conformance/ checks them):
 *  - returns 0 or a negative CRM_E* code, having called crm_error_set();
 *  - records handed to the backend are read during the call and not kept;
 *  - records handed back (gets, iterators) hold pointers borrowed from the
 *    backend, valid until the next call on the backend or the iterator;
 *  - reads and lists take a scope: with scope->dealer_id set, records of
 *    other dealers are invisible (CRM_ENOTFOUND / skipped). The core always
 *    passes the handle's scope, so dealer isolation is enforced in one place;
 *  - transactions nest: begin inside a transaction opens a savepoint.
 */
#ifndef CRM_SYS_BACKEND_H
#define CRM_SYS_BACKEND_H

#include "../common.h"
#include "../db.h"
#include "../lead.h"
#include "../event.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The version of struct crm_backend that this header declares. */
#define CRM_BACKEND_VERSION 2

/** What a read or a list may see. */
typedef struct crm_scope {
    const char *dealer_id; /**< NULL: every record; else only this dealer's */
} crm_scope;

/** A streaming cursor handed out by a backend's scan functions. */
typedef struct crm_backend_iter crm_backend_iter;
struct crm_backend_iter {
    /**
     * Fill *record (a crm_lead, crm_event or crm_stage_record, by the scan that made the
     * iterator) with the next row, borrowed until the next call.
     * @return 0, CRM_ITEROVER, or an error
     */
    int (*next)(crm_backend_iter *iter, void *record);
    /** Release the cursor. */
    void (*free)(crm_backend_iter *iter);
};

/** A stored scoring model (issue 4): one version of a named model. */
typedef struct crm_model_record {
    const char *id;       /**< UUID of this version */
    const char *name;
    int version;          /**< 1, 2, ... per name */
    const char *kind;     /**< "rules", "naive_bayes", "logistic" */
    int64_t trained_at;   /**< Unix ms; 0 for rule models */
    int64_t saved_at;     /**< Unix ms */
    double auc;           /**< held-back AUC, or negative when none */
    const char *features; /**< JSON array of the feature names ("[]" for rules) */
    const char *body;     /**< the model's JSON document */
} crm_model_record;

/** One stage a lead entered (issue 4), as stored. */
typedef struct crm_stage_record {
    const char *lead_id;
    int seq;                /**< 1, 2, ... per lead, in the order entered */
    crm_lead_status status; /**< the stage entered */
    int64_t entered_at;     /**< Unix ms */
    const char *dealer_id;  /**< the lead's dealer after the transition, or NULL */
    const char *owner_id;   /**< the lead's consultant after the transition, or NULL */
    const char *actor;
    const char *reason;     /**< why (required for lost), or NULL */
} crm_stage_record;

/** Called by key_find for each id that has the key; return non-zero to stop. */
typedef int (*crm_backend_id_cb)(const char *id, void *payload);

typedef struct crm_backend crm_backend;
struct crm_backend {
    unsigned int version; /**< CRM_BACKEND_VERSION the backend was built against */
    const char *name;     /**< "sqlite", ... */

    /** Release everything; rolls back an open transaction. */
    void (*free)(crm_backend *backend);

    /* ---- schema ------------------------------------------------------ */
    /** The schema version of the open store. */
    int (*schema_version)(crm_backend *backend, int *out);

    /* ---- transactions ------------------------------------------------ */
    int (*tx_begin)(crm_backend *backend);
    int (*tx_commit)(crm_backend *backend);
    int (*tx_rollback)(crm_backend *backend);

    /* ---- leads ------------------------------------------------------- */
    /** Store a new lead; CRM_EEXISTS when the id is taken. */
    int (*lead_insert)(crm_backend *backend, const crm_lead *lead);
    /** Replace a stored lead (same id); CRM_ENOTFOUND when missing. */
    int (*lead_update)(crm_backend *backend, const crm_lead *lead);
    /** Read one lead into *out (borrowed); CRM_ENOTFOUND when missing or outside the scope. */
    int (*lead_get)(crm_backend *backend, const crm_scope *scope, const char *id, crm_lead *out);
    /** Stream leads matching the filter, ordered by (created_at, id). */
    int (*lead_scan)(crm_backend *backend, const crm_scope *scope,
                     const crm_lead_filter *filter, crm_backend_iter **out);

    /* ---- match keys (opaque to the backend) --------------------------- */
    /** Record that record `id` has key `key` of kind `kind`. Idempotent. */
    int (*key_put)(crm_backend *backend, const char *kind, const char *key, const char *id);
    /** Call cb with each id that has the key, in insertion order. */
    int (*key_find)(crm_backend *backend, const char *kind, const char *key,
                    crm_backend_id_cb cb, void *payload);

    /* ---- events (audit) ---------------------------------------------- */
    /** Append one event. */
    int (*event_append)(crm_backend *backend, const crm_event *event);
    /** Stream the events of one record, oldest first. */
    int (*event_scan)(crm_backend *backend, const crm_scope *scope, const char *entity_id,
                      crm_backend_iter **out);

    /* ---- scoring models (issue 4) ---- */
    /** Store a model version; CRM_EEXISTS when (name, version) is taken. */
    int (*model_put)(crm_backend *backend, const crm_model_record *record);
    /** Read a model into *out (borrowed): version 0 is the newest of the
     * name; CRM_ENOTFOUND when missing. Models are OEM-wide: no scope. */
    int (*model_get)(crm_backend *backend, const char *name, int version, crm_model_record *out);
    /** Append a stage of a lead; CRM_EEXISTS when (lead_id, seq) is taken. */
    int (*stage_append)(crm_backend *backend, const crm_stage_record *record);
    /** Stream the stages of one lead in seq order (crm_stage_record rows);
     * with scope->dealer_id set, only stages recorded under that dealer. */
    int (*stage_scan)(crm_backend *backend, const crm_scope *scope, const char *lead_id,
                      crm_backend_iter **out);
    /** Stream the stages of one status entered in [from, to), any lead, in
     * entered_at order (crm_stage_record rows); scoped like stage_scan. */
    int (*stage_scan_entered)(crm_backend *backend, const crm_scope *scope, crm_lead_status status,
                              int64_t from, int64_t to, crm_backend_iter **out);

    /* Later parts (customers and identities, members and points, tags,
     * vehicles, work orders, aggregations) are appended here, each with a
     * bump of CRM_BACKEND_VERSION. */
};

/**
 * Open a database on a backend the caller built (an out-of-tree backend, or
 * a built-in one with options of its own).
 *
 * @param[out] out     the handle; close with crm_db_close()
 * @param[in]  backend the backend; ownership passes to the handle on success
 *                     (crm_db_close frees it); on failure the caller keeps it
 * @return 0, or CRM_EINVALID when the backend's version is 0, newer than
 *         CRM_BACKEND_VERSION, or a required member is missing
 */
CRM_EXTERN(int) crm_db_open_backend(crm_db **out, crm_backend *backend);

/**
 * Open the embedded SQLite backend on a path or ":memory:".
 *
 * @param[out] out  the backend, owned by the caller until given to crm_db_open_backend()
 * @param[in]  path file path or ":memory:"
 * @param[in]  opts options, or NULL for the defaults
 */
CRM_EXTERN(int) crm_sqlite_backend_open(crm_backend **out, const char *path, const crm_db_options *opts);

/**
 * Record an error for the calling thread (for backend implementations).
 * The message is formatted like printf and truncated to 511 bytes.
 *
 * @return code, so that `return crm_error_set(CRM_EINVALID, ...)` reads well
 */
CRM_EXTERN(int) crm_error_set(int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#ifdef __cplusplus
}
#endif

#endif /* CRM_SYS_BACKEND_H */
