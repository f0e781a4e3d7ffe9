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
#include "../workorder.h"
#include "../customer.h"
#include "../member.h"
#include "../tag.h"
#include "../vehicle.h"
#include "../match.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The version of struct crm_backend that this header declares. */
#define CRM_BACKEND_VERSION 7

/** The version that added each later part of the struct. */
#define CRM_BACKEND_VERSION_WORKORDERS 2 /**< work orders, comments, events by kind */
#define CRM_BACKEND_VERSION_CUSTOMERS 3  /**< customers, identities, members, points, tags, vehicles */
#define CRM_BACKEND_VERSION_MATCHING 4   /**< the review queue of possible duplicates */
#define CRM_BACKEND_VERSION_SCORING 5    /**< scoring models, lead stages (lifecycle) */
#define CRM_BACKEND_VERSION_MERGE 6      /**< lead merges, match keys per record, merged_into and merge_id */
#define CRM_BACKEND_VERSION_QUALITY 7    /**< crm_lead.quality stored, and lead_scan filters on filter->qualities */

/** What a read or a list may see. */
typedef struct crm_scope {
    const char *dealer_id; /**< NULL: every record; else only this dealer's */
} crm_scope;

/** A streaming cursor handed out by a backend's scan functions. */
typedef struct crm_backend_iter crm_backend_iter;
struct crm_backend_iter {
    /**
     * Fill *record (a crm_lead, crm_event, crm_identity, crm_points_txn,
     * crm_points_use, crm_customer_facts, crm_tag_record,
     * crm_tag_assignment, crm_vehicle_person, crm_customer or crm_stage_record, by the scan
     * that made the
     * iterator) with the next row, borrowed until the next call.
     * @return 0, CRM_ITEROVER, or an error
     */
    int (*next)(crm_backend_iter *iter, void *record);
    /** Release the cursor. */
    void (*free)(crm_backend_iter *iter);
};

/** What one transaction drew from one batch (points_use_scan records). */
typedef struct crm_points_use {
    const char *txn_id;
    const char *batch_id;
    int64_t points;
} crm_points_use;

/** A tag as stored: its definition and its customers as a bitmap. */
typedef struct crm_tag_record {
    const char *name;
    crm_tag_kind kind;
    const char *rule;     /**< the expression of a rule tag, else NULL */
    int64_t updated_at;   /**< Unix ms: last assignment, or when the rule ran */
    const void *bitmap;   /**< customer numbers, CRoaring portable serialisation; opaque to the backend */
    size_t bitmap_len;
} crm_tag_record;

/** One manual assignment of a tag to a customer. */
typedef struct crm_tag_assignment {
    const char *customer_id;
    const char *tag;
    const char *source;
    int64_t assigned_at;
} crm_tag_assignment;

/** What rule tags can see of one customer (customer_facts_scan records). */
typedef struct crm_customer_facts {
    int64_t num;
    const char *id;
    const char *dealer_id;
    const char *name;
    int64_t created_at;
    int member;            /**< 1 when a member */
    const char *tier;      /**< NULL when not a member or no tier */
    int64_t balance;
    int64_t enrolled_at;
    int64_t leads;         /**< number of leads with this customer_id */
    const char *model;     /**< of the latest lead, or NULL */
    const char *channel;   /**< of the latest lead, or NULL */
    int64_t last_lead_at;  /**< created_at of the latest lead, 0 without leads */
    int64_t vehicles;      /**< vehicles owned or driven at `now` */
} crm_customer_facts;

/** Parts of crm_customer_facts beyond the customer row (customer_facts_scan's needs). */
#define CRM_FACTS_MEMBER 1u   /**< member, tier, balance, enrolled_at */
#define CRM_FACTS_LEADS 2u    /**< leads, model, channel, last_lead_at */
#define CRM_FACTS_VEHICLES 4u /**< vehicles */

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

/**
 * A lead merge as stored (issue 3). The core writes before and after; the
 * backend stores them as opaque text.
 */
typedef struct crm_lead_merge_record {
    const char *id;          /**< UUID (time-ordered) */
    const char *survivor_id;
    const char *other_id;
    const char *dealer_id;   /**< the survivor's dealer, for scope; NULL when none */
    const char *rules;       /**< JSON: the rules in force */
    const char *before;      /**< JSON: every row the merge changed, as it was */
    const char *after;       /**< JSON: the two leads as the merge left them, and the decisions */
    int64_t created_at;      /**< Unix ms */
    const char *actor;
    int64_t undone_at;       /**< Unix ms; 0 while the merge is in force */
    const char *undone_by;   /**< NULL while in force */
} crm_lead_merge_record;

/** The kind key_scan reports for a key in a backend's stored form (the
 * SQLite backend's: the key's hash in decimal); never a kind of the core's. */
#define CRM_BACKEND_KEY_STORED "#"

/** Called by key_scan for each key of a record (strings borrowed for the
 * call); return non-zero to stop. It must not call into the backend. */
typedef int (*crm_backend_key_cb)(const char *kind, const char *key, void *payload);

/** Called by lead_merge_list for each merge (strings borrowed for the
 * call); return non-zero to stop. It must not call into the backend. */
typedef int (*crm_backend_merge_cb)(const crm_lead_merge_record *merge, void *payload);

/** Called by key_find for each id that has the key; return non-zero to stop. */
typedef int (*crm_backend_id_cb)(const char *id, void *payload);

/** Called by review_list for each item (strings borrowed for the call);
 * return non-zero to stop. It must not call into the backend. */
typedef int (*crm_backend_review_cb)(const crm_match_review *review, void *payload);

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
    /** Call cb with each id that has the key, in insertion order. A backend
     * may store keys hashed, so an id of another key can come back (rarely):
     * the core compares each record before it believes the key. */
    int (*key_find)(crm_backend *backend, const char *kind, const char *key,
                    crm_backend_id_cb cb, void *payload);

    /* ---- events (audit) ---------------------------------------------- */
    /** Append one event. */
    int (*event_append)(crm_backend *backend, const crm_event *event);
    /** Stream the events of one record, oldest first. */
    int (*event_scan)(crm_backend *backend, const crm_scope *scope, const char *entity_id,
                      crm_backend_iter **out);

    /* Later parts are appended below, each under the version that added
     * it (CRM_BACKEND_VERSION_*), never inserted above. */

    /* ---- work orders (issue 6) ---- */
    /** Store a new work order; CRM_EEXISTS when the id is taken. */
    int (*workorder_insert)(crm_backend *backend, const crm_workorder *wo);
    /** Replace a stored work order (same id); CRM_ENOTFOUND when missing. */
    int (*workorder_update)(crm_backend *backend, const crm_workorder *wo);
    /** Read one work order into *out (borrowed); CRM_ENOTFOUND when missing or outside the scope. */
    int (*workorder_get)(crm_backend *backend, const crm_scope *scope, const char *id, crm_workorder *out);
    /** Stream work orders (crm_workorder records) matching the filter, ordered by (created_at, id). */
    int (*workorder_scan)(crm_backend *backend, const crm_scope *scope, const crm_workorder_filter *filter,
                          crm_backend_iter **out);
    /** Store a comment; CRM_EEXISTS when the id is taken. */
    int (*wo_comment_insert)(crm_backend *backend, const crm_wo_comment *comment);
    /** Stream the comments (crm_wo_comment records) of one work order, oldest first. */
    int (*wo_comment_scan)(crm_backend *backend, const crm_scope *scope, const char *workorder_id,
                           crm_backend_iter **out);
    /** Stream the events (crm_event records) of one kind with at >= since, in append order. */
    int (*event_scan_kind)(crm_backend *backend, const crm_scope *scope, const char *kind, int64_t since,
                           crm_backend_iter **out);
    /* ---- customers and identities (issue 5) --------------------------- */
    /** Store a new customer; CRM_EEXISTS when the id is taken. */
    int (*customer_insert)(crm_backend *backend, const crm_customer *customer);
    /** Replace a stored customer (same id); CRM_ENOTFOUND when missing. */
    int (*customer_update)(crm_backend *backend, const crm_customer *customer);
    /** Read one customer into *out (borrowed); CRM_ENOTFOUND when missing or outside the scope. */
    int (*customer_get)(crm_backend *backend, const crm_scope *scope, const char *id, crm_customer *out);
    /** Store an identity; CRM_EEXISTS when (kind, app_id, value) belongs to a customer already. */
    int (*identity_insert)(crm_backend *backend, const crm_identity *identity);
    /** Read the identity (kind, app_id, value) into *out (borrowed); CRM_ENOTFOUND when unknown. */
    int (*identity_find)(crm_backend *backend, crm_identity_kind kind, const char *app_id, const char *value,
                         crm_identity *out);
    /**
     * Move the identities of customer `from` to customer `to`: all of them
     * when origin_id is NULL, else only those whose origin is origin_id.
     * *moved (may be NULL) receives how many moved.
     */
    int (*identity_move)(crm_backend *backend, const char *from, const char *to, const char *origin_id,
                         size_t *moved);
    /** Stream the identities of one customer (crm_identity records), by kind then value. */
    int (*identity_scan)(crm_backend *backend, const char *customer_id, crm_backend_iter **out);
    /** Call cb with the id of each lead in scope whose customer_id is customer_id, oldest first. */
    int (*lead_find_by_customer)(crm_backend *backend, const crm_scope *scope, const char *customer_id,
                                 crm_backend_id_cb cb, void *payload);
    /** Store a new member; CRM_EEXISTS when the customer is one or the number is taken. */
    int (*member_insert)(crm_backend *backend, const crm_member *member);
    /** Replace a stored member (same customer_id); CRM_ENOTFOUND when missing. */
    int (*member_update)(crm_backend *backend, const crm_member *member);
    /** Read a member (borrowed); CRM_ENOTFOUND when missing or its customer is outside the scope. */
    int (*member_get)(crm_backend *backend, const crm_scope *scope, const char *customer_id, crm_member *out);
    /** Append a ledger transaction; CRM_EEXISTS when the id or idempotency key is taken. */
    int (*points_insert)(crm_backend *backend, const crm_points_txn *txn);
    /** Replace a transaction's remaining and reversed_by (the rest never changes). */
    int (*points_update)(crm_backend *backend, const crm_points_txn *txn);
    /** Read a transaction by id (borrowed); CRM_ENOTFOUND. */
    int (*points_get)(crm_backend *backend, const char *id, crm_points_txn *out);
    /** Read a transaction by idempotency key (borrowed); CRM_ENOTFOUND. */
    int (*points_find_key)(crm_backend *backend, const char *key, crm_points_txn *out);
    /** Stream a member's ledger (crm_points_txn records), in append order. */
    int (*points_scan)(crm_backend *backend, const char *customer_id, crm_backend_iter **out);
    /**
     * Stream batches with points left (crm_points_txn records). expired 0:
     * the member's batches live at `now` (expires_at 0 or after now), by
     * expiry, never-expiring last; expired 1: batches of every member (when
     * customer_id is NULL) that expired by `now`, by expiry.
     */
    int (*points_batch_scan)(crm_backend *backend, const char *customer_id, int64_t now, int expired,
                             crm_backend_iter **out);
    /** Record that a transaction drew points from a batch. */
    int (*points_use_insert)(crm_backend *backend, const crm_points_use *use);
    /** Stream what a transaction drew (crm_points_use records). */
    int (*points_use_scan)(crm_backend *backend, const char *txn_id, crm_backend_iter **out);
    /** Read a customer by its number (borrowed); CRM_ENOTFOUND when missing or outside the scope. */
    int (*customer_get_num)(crm_backend *backend, const crm_scope *scope, int64_t num, crm_customer *out);
    /**
     * Stream the facts of every customer not merged away, by number
     * (crm_customer_facts records). `needs` (CRM_FACTS_* bits) says which
     * parts the caller reads; the others may be left zero/NULL.
     */
    int (*customer_facts_scan)(crm_backend *backend, int64_t now, unsigned needs, crm_backend_iter **out);
    /** Read a tag (borrowed); CRM_ENOTFOUND. */
    int (*tag_get)(crm_backend *backend, const char *name, crm_tag_record *out);
    /** Store a tag, replacing one of the same name. */
    int (*tag_put)(crm_backend *backend, const crm_tag_record *tag);
    /** Stream every tag (crm_tag_record records), by name. */
    int (*tag_scan)(crm_backend *backend, crm_backend_iter **out);
    /** Store an assignment, replacing one of the same customer and tag. */
    int (*tag_assignment_put)(crm_backend *backend, const crm_tag_assignment *assignment);
    /** Delete an assignment; *deleted (may be NULL) is 1 when there was one. */
    int (*tag_assignment_delete)(crm_backend *backend, const char *customer_id, const char *tag, int *deleted);
    /** Stream a customer's assignments (crm_tag_assignment records), by tag. */
    int (*tag_assignment_scan)(crm_backend *backend, const char *customer_id, crm_backend_iter **out);
    /** Store a vehicle, replacing one with the same VIN. */
    int (*vehicle_put)(crm_backend *backend, const crm_vehicle *vehicle);
    /** Read a vehicle (borrowed); CRM_ENOTFOUND. */
    int (*vehicle_get)(crm_backend *backend, const char *vin, crm_vehicle *out);
    /** Store a relation, replacing one with the same VIN, customer and role. */
    int (*vehicle_person_put)(crm_backend *backend, const crm_vehicle_person *relation);
    /**
     * Stream relations (crm_vehicle_person records): of one vehicle (vin set)
     * by since, or of one customer (customer_id set) by VIN.
     */
    int (*vehicle_person_scan)(crm_backend *backend, const char *vin, const char *customer_id,
                               crm_backend_iter **out);
    /** Stream the customers in scope (crm_customer records), by number. */
    int (*customer_scan)(crm_backend *backend, const crm_scope *scope, crm_backend_iter **out);

    /* ---- matching (issue 3) ---- */
    /** Store a new review item (possible duplicate). */
    int (*review_insert)(crm_backend *backend, const crm_match_review *review);
    /** Store a decision: status, decided_at, decided_by of the item with review->id. */
    int (*review_update)(crm_backend *backend, const crm_match_review *review);
    /** One item within the scope; strings borrowed until the next call. CRM_ENOTFOUND when absent. */
    int (*review_get)(crm_backend *backend, const crm_scope *scope, const char *id, crm_match_review *out);
    /** Items within the scope with the status (-1: any), oldest first, at most limit. */
    int (*review_list)(crm_backend *backend, const crm_scope *scope, int status, int limit,
                       crm_backend_review_cb cb, void *payload);

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

    /* ---- lead merges (issue 3, CRM_BACKEND_VERSION_MERGE) ----
     * A version 6 backend also stores crm_lead.merged_into in lead_insert,
     * lead_update, lead_get and lead_scan, and lead_scan skips leads whose
     * merged_into is set; and it stores crm_match_review.merge_id in
     * review_insert, review_update (NULL clears it), review_get and
     * review_list, with review_update storing decided_at 0 as "not decided". */
    /** Call cb with each key of record `id` as a (kind, key) pair that key_put
     * and key_delete take back. A backend that keeps only a hash of kind and
     * key reports kind CRM_BACKEND_KEY_STORED and its stored form as key. */
    int (*key_scan)(crm_backend *backend, const char *id, crm_backend_key_cb cb, void *payload);
    /** Forget that record `id` has key `key` of kind `kind`; no error when it had not. */
    int (*key_delete)(crm_backend *backend, const char *kind, const char *key, const char *id);
    /** Store a new merge; CRM_EEXISTS when the id is taken. */
    int (*lead_merge_insert)(crm_backend *backend, const crm_lead_merge_record *merge);
    /** Store undone_at and undone_by of the merge with merge->id; CRM_ENOTFOUND when missing. */
    int (*lead_merge_update)(crm_backend *backend, const crm_lead_merge_record *merge);
    /** Read one merge within the scope (its dealer_id) into *out (borrowed); CRM_ENOTFOUND. */
    int (*lead_merge_get)(crm_backend *backend, const crm_scope *scope, const char *id,
                          crm_lead_merge_record *out);
    /** Merges within the scope, newest first (by id, which is time-ordered),
     * at most limit; with lead_id set, only those with it as survivor or other. */
    int (*lead_merge_list)(crm_backend *backend, const crm_scope *scope, const char *lead_id, int limit,
                           crm_backend_merge_cb cb, void *payload);
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
