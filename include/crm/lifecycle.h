/*
 * crmcore — the lead lifecycle.
 *
 * A lead moves forward through
 *
 *     new → assigned → contacted → visited → test_drive → ordered → delivered
 *
 * and may be closed as lost (with a reason) or invalid from any open state
 * (new to ordered). Moves may skip stages forward (a walk-in is visited
 * before anyone calls it); moves backward, out of a closed state (delivered,
 * lost, invalid) or to the same state are refused with an error naming both
 * states. Every stage entered is kept with its time, and every transition
 * is audited ("lead.status"). A lead not contacted in time goes back to the
 * recycle pool (crm_lead_recycle_overdue) as new, with its history kept.
 */
#ifndef CRM_LIFECYCLE_H
#define CRM_LIFECYCLE_H

#include "common.h"
#include "db.h"
#include "lead.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Details of a transition. Initialise with CRM_TRANSITION_INIT. */
typedef struct crm_transition {
    unsigned int version;  /**< CRM_TRANSITION_VERSION */
    const char *reason;    /**< why; required for lost, optional otherwise (at most 256 bytes) */
    const char *dealer_id; /**< on assignment: the dealer, or NULL to keep the lead's */
    const char *owner_id;  /**< on assignment: the consultant, or NULL to keep the lead's */
} crm_transition;

#define CRM_TRANSITION_VERSION 1
#define CRM_TRANSITION_INIT { CRM_TRANSITION_VERSION, NULL, NULL, NULL }

/** True when a lead in state `from` may move to `to`. */
CRM_EXTERN(int) crm_lead_transition_allowed(crm_lead_status from, crm_lead_status to);

/**
 * Move a lead to another state, at crm_db_now(). The lead's status (and on
 * assignment its dealer and owner) change, the stage is recorded, and a
 * "lead.status" event {"from", "to", "reason"} is appended, in one
 * transaction.
 *
 * @param[in] db   the handle; the lead must be in its scope, and a dealer
 *                 given on assignment too
 * @param[in] id   the lead
 * @param[in] to   the new state
 * @param[in] opts reason, dealer and owner, or NULL
 * @return 0, CRM_ENOTFOUND, CRM_ECONFLICT for a transition the state machine
 *         refuses ("lead status: cannot go from delivered to contacted")
 *         or for a lead merged into another (crm_lead_merge: the survivor
 *         moves instead), CRM_EINVALID (lost without a reason, a bad field), CRM_EPERM,
 *         errors of storage; nothing changes on error
 */
CRM_EXTERN(int) crm_lead_transition(crm_db *db, const char *id, crm_lead_status to, const crm_transition *opts);

/** One stage a lead entered. */
typedef struct crm_lead_stage {
    crm_lead_status status;
    int64_t entered_at;  /**< Unix ms */
    int64_t left_at;     /**< when the next stage began, or 0 for the current stage */
    const char *actor;   /**< who moved it ("system" for the implicit new stage) */
    const char *reason;  /**< or NULL */
} crm_lead_stage;

/**
 * The stages of a lead, oldest first; the first is always new (at the
 * lead's created_at).
 *
 * @param[out] out   an array of *count stages, owned by the caller (its
 *                   strings live in the same block): free with crm_free()
 * @param[out] count how many
 * @return 0, CRM_ENOTFOUND, CRM_EINVALID, errors of storage
 */
CRM_EXTERN(int) crm_lead_stages(crm_lead_stage **out, size_t *count, crm_db *db, const char *id);

/**
 * Return to the recycle pool (公海池) every assigned lead in the handle's
 * scope that was not contacted within follow_up_ms of its latest
 * assignment: its status goes back to new, its dealer and consultant are
 * cleared, and the stage ("recycled: not contacted within N minutes of
 * assignment") and a "lead.recycled" event (naming the dealer it left) are
 * recorded, in one transaction. The lead's history stays; crm_lead_route()
 * routes it again.
 *
 * @param[out] recycled how many; may be NULL
 * @param[in]  follow_up_ms the follow-up deadline, > 0
 * @return 0, CRM_EINVALID, errors of storage (nothing changed)
 */
CRM_EXTERN(int) crm_lead_recycle_overdue(size_t *recycled, crm_db *db, int64_t follow_up_ms);

#ifdef __cplusplus
}
#endif

#endif /* CRM_LIFECYCLE_H */
