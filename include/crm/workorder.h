/*
 * crmcore — work orders (工单): complaints, enquiries, repair and test-drive
 * requests, worked by the call centre, the dealers and customer care.
 *
 * A work order moves through a state machine:
 *
 *     new → assigned → in_progress ⇄ waiting_customer
 *                         ↓              ↓
 *                      resolved ← ───────┘
 *                         ↓  ↑ reopen (→ in_progress)
 *                       closed ─┘
 *
 * Waiting for the customer pauses the SLA clock, and so does the time a
 * reopened order had spent resolved. Every change (creation,
 * assignment, move, comment, escalation) appends an audit event in the same
 * transaction: crm_event_iter_new() on the work order's id is its history,
 * with who, when and what.
 */
#ifndef CRM_WORKORDER_H
#define CRM_WORKORDER_H

#include "common.h"
#include "db.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Where a work order is in its life. */
typedef enum crm_wo_status {
    CRM_WO_NEW = 0,
    CRM_WO_ASSIGNED = 1,
    CRM_WO_IN_PROGRESS = 2,
    CRM_WO_WAITING_CUSTOMER = 3, /**< the SLA clock is paused */
    CRM_WO_RESOLVED = 4,
    CRM_WO_CLOSED = 5
} crm_wo_status;

#define CRM_WO_STATUS_COUNT 6
/** The statuses in which a work order is open (its SLA clock may run). */
#define CRM_WO_OPEN_STATUSES                                                                      \
    ((1u << CRM_WO_NEW) | (1u << CRM_WO_ASSIGNED) | (1u << CRM_WO_IN_PROGRESS) |                  \
     (1u << CRM_WO_WAITING_CUSTOMER))

/** Bits of crm_workorder.sla_flags: which SLA events were already raised. */
enum {
    CRM_WO_SLA_RESPONSE_WARNED = 1,
    CRM_WO_SLA_RESPONSE_BREACHED = 2,
    CRM_WO_SLA_RESOLUTION_WARNED = 4,
    CRM_WO_SLA_RESOLUTION_BREACHED = 8
};

/**
 * A work order as stored. Strings are UTF-8 and NULL when absent. One that
 * the caller owns (crm_workorder_get) is freed with crm_workorder_free();
 * one borrowed from an iterator lives until the next call on the iterator.
 */
typedef struct crm_workorder {
    const char *id;          /**< UUID (time-ordered) */
    const char *type;        /**< complaint, enquiry, repair, test_drive, ... */
    const char *category;    /**< free classification, e.g. "after_sales/noise" */
    int priority;            /**< 1 (urgent) .. 4 (low) */
    const char *channel;     /**< where it came in: dcc, wechat_mp, app, walk_in, ... */
    const char *customer_id;
    const char *lead_id;
    const char *vin;         /**< 17 characters, upper case */
    const char *dealer_id;
    const char *queue;
    const char *assignee;
    const char *subject;
    const char *description;
    const char *attributes;  /**< free-form JSON object as text, or NULL */
    crm_wo_status status;
    int64_t created_at;      /**< Unix ms UTC */
    int64_t updated_at;
    int64_t first_response_at; /**< first move to in_progress or first customer-visible comment; 0: none yet */
    int64_t resolved_at;     /**< last resolution; 0 when not resolved */
    int64_t closed_at;       /**< 0 when not closed */
    int64_t paused_since;    /**< start of the current wait for the customer; 0 when not waiting */
    const char *pauses;      /**< finished pauses as JSON [[from_ms, to_ms], ...], or NULL */
    int sla_flags;           /**< CRM_WO_SLA_* bits raised so far */
    int escalation_level;    /**< escalation levels applied so far (0: none) */
} crm_workorder;

/** Who may see a comment. */
typedef enum crm_wo_visibility {
    CRM_WO_INTERNAL = 0, /**< staff only */
    CRM_WO_PUBLIC = 1    /**< visible to the customer; the first one counts as the first response */
} crm_wo_visibility;

/** A comment on a work order. Borrowed from an iterator until its next call. */
typedef struct crm_wo_comment {
    const char *id;           /**< UUID */
    const char *workorder_id;
    const char *dealer_id;    /**< the work order's dealer (for scoping) */
    int64_t at;               /**< Unix ms UTC */
    const char *author;       /**< the handle's actor */
    crm_wo_visibility visibility;
    const char *body;
} crm_wo_comment;

/**
 * Create a work order from a JSON object.
 *
 * Fields: type and subject (required); category, priority (1..4, default
 * 3), channel, customer_id, lead_id, vin (17 characters, no I, O or Q),
 * dealer_id (defaults to the handle's scope), queue, assignee (the order
 * starts "assigned" when given), description, attributes (object),
 * created_at (ISO-8601, for imports). Unknown fields are refused.
 *
 * @param[out] out_id the new id, CRM_ID_LEN + 1 bytes; may be NULL
 * @param[in]  db     the handle
 * @param[in]  json   the document
 * @return 0, CRM_EINVALID (naming the field), CRM_EPERM (dealer outside the scope), ...
 */
CRM_EXTERN(int) crm_workorder_create(char *out_id, crm_db *db, const char *json);

/**
 * Get one work order within the handle's scope.
 *
 * @param[out] out the work order, owned by the caller; free with crm_workorder_free()
 * @return 0, CRM_ENOTFOUND (also for another dealer's), CRM_EINVALID
 */
CRM_EXTERN(int) crm_workorder_get(crm_workorder **out, crm_db *db, const char *id);

/**
 * Get one work order as a JSON object (times as ISO-8601).
 *
 * @param[out] out NUL-terminated JSON, owned by the caller; free with crm_free()
 */
CRM_EXTERN(int) crm_workorder_get_json(char **out, crm_db *db, const char *id);

/**
 * Render a work order as a JSON object.
 *
 * @param[out] out NUL-terminated JSON, owned by the caller; free with crm_free()
 */
CRM_EXTERN(int) crm_workorder_to_json(char **out, const crm_workorder *wo);

/** Free a work order from crm_workorder_get(). NULL is a no-op. */
CRM_EXTERN(void) crm_workorder_free(crm_workorder *wo);

/**
 * Assign a work order: a new one becomes "assigned"; an open one keeps its
 * status and changes hands (reassignment).
 *
 * @param[in] db       the handle
 * @param[in] id       the work order
 * @param[in] assignee who works it (required)
 * @param[in] queue    the queue, or NULL to keep the current one
 * @return 0, CRM_ENOTFOUND, CRM_EINVALID, CRM_ECONFLICT (resolved or closed)
 */
CRM_EXTERN(int) crm_workorder_assign(crm_db *db, const char *id, const char *assignee, const char *queue);

/**
 * Move a work order to another status. Legal moves: new → assigned (with
 * an assignee), assigned → in_progress, in_progress → waiting_customer,
 * waiting_customer → in_progress, in_progress | waiting_customer →
 * resolved, resolved → closed, and reopen: resolved | closed → in_progress.
 *
 * @param[in] db   the handle
 * @param[in] id   the work order
 * @param[in] to   the new status
 * @param[in] note why, kept in the history; may be NULL
 * @return 0, CRM_ENOTFOUND, CRM_EINVALID, CRM_ECONFLICT for an illegal move
 *         ("work order ...: cannot move from new to resolved")
 */
CRM_EXTERN(int) crm_workorder_move(crm_db *db, const char *id, crm_wo_status to, const char *note);

/**
 * Add a comment.
 *
 * @param[out] out_id     the comment's id, CRM_ID_LEN + 1 bytes; may be NULL
 * @param[in]  db         the handle (its actor is the author)
 * @param[in]  id         the work order
 * @param[in]  body       the text, 1..65536 bytes of UTF-8
 * @param[in]  visibility internal or visible to the customer
 */
CRM_EXTERN(int) crm_workorder_comment(char *out_id, crm_db *db, const char *id, const char *body,
                                      crm_wo_visibility visibility);

/** Which work orders a list returns. Initialise with CRM_WORKORDER_FILTER_INIT. */
typedef struct crm_workorder_filter {
    unsigned int version;  /**< CRM_WORKORDER_FILTER_VERSION */
    unsigned int statuses; /**< bit (1u << status) per status wanted; 0 means all */
    const char *dealer_id; /**< only this dealer's, or NULL */
    const char *queue;     /**< only this queue, or NULL */
    const char *assignee;  /**< only this assignee's, or NULL */
    const char *type;      /**< only this type, or NULL */
    int64_t created_from;  /**< created_at >= this; 0: no bound */
    int64_t created_to;    /**< created_at < this; 0: no bound */
    size_t limit;          /**< at most this many; 0: no limit */
} crm_workorder_filter;

#define CRM_WORKORDER_FILTER_VERSION 1
#define CRM_WORKORDER_FILTER_INIT { CRM_WORKORDER_FILTER_VERSION, 0, NULL, NULL, NULL, NULL, 0, 0, 0 }

/**
 * List work orders, oldest first (created_at, then id), within the scope.
 *
 * @param[out] out    the iterator, owned by the caller; free with crm_iter_free()
 * @param[in]  db     the handle; must outlive the iterator
 * @param[in]  filter the filter (read during the call), or NULL for all
 */
CRM_EXTERN(int) crm_workorder_iter_new(crm_iter **out, crm_db *db, const crm_workorder_filter *filter);

/**
 * The next work order of a listing.
 *
 * @param[out] out borrowed until the next call on the iterator
 * @return 0, CRM_ITEROVER at the end, or an error
 */
CRM_EXTERN(int) crm_workorder_next(const crm_workorder **out, crm_iter *iter);

/**
 * List the comments of a work order, oldest first.
 *
 * @param[out] out the iterator, owned by the caller; free with crm_iter_free()
 */
CRM_EXTERN(int) crm_wo_comment_iter_new(crm_iter **out, crm_db *db, const char *workorder_id);

/**
 * The next comment.
 *
 * @param[out] out borrowed until the next call on the iterator
 * @return 0, CRM_ITEROVER, or an error
 */
CRM_EXTERN(int) crm_wo_comment_next(const crm_wo_comment **out, crm_iter *iter);

/**
 * List the events of one kind across work orders, since a time, in the
 * order they were appended, within the handle's scope: how a host consumes
 * escalation notifications ("workorder.sla_notify"), breaches
 * ("workorder.sla_breach") and the like. Poll with the time of the last
 * event seen (events at that very time come again; skip ids already seen).
 *
 * @param[out] out   the iterator, owned by the caller; free with crm_iter_free();
 *                   advance it with crm_event_next()
 * @param[in]  db    the handle; must outlive the iterator
 * @param[in]  kind  the event kind, e.g. "workorder.sla_notify"
 * @param[in]  since Unix ms; events at or after it
 */
CRM_EXTERN(int) crm_workorder_events_iter_new(crm_iter **out, crm_db *db, const char *kind, int64_t since);

/** The name of a status ("new", "waiting_customer", ...), or NULL when out of range. */
CRM_EXTERN(const char *) crm_wo_status_name(crm_wo_status status);

/**
 * Parse a status name.
 *
 * @param[out] out the status
 * @return 0, or CRM_EINVALID for an unknown name
 */
CRM_EXTERN(int) crm_wo_status_parse(crm_wo_status *out, const char *name);

#ifdef __cplusplus
}
#endif

#endif /* CRM_WORKORDER_H */
