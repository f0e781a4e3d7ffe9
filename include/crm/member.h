/*
 * crmcore — members, tiers and the points ledger.
 *
 * A customer enrols as a member with a member number. The loyalty rules (a
 * JSON document, crm_loyalty_rules) define the tiers: the qualifying points
 * a member must have earned within a rolling window, and each tier's
 * benefits as data. A member moves up a tier as soon as an accrual
 * qualifies them, and down only at the anniversary of their enrolment.
 *
 * Points live in a ledger of transactions. An accrual is a batch with its
 * own expiry; a redemption consumes the batches that expire first; a
 * reversal undoes an accrual or a redemption; the expiry run takes what is
 * left of expired batches. The member's balance is always the sum of the
 * ledger and never goes negative unless the rules allow it. Every
 * transaction carries an idempotency key: a retried call returns the first
 * call's transaction and changes nothing.
 */
#ifndef CRM_MEMBER_H
#define CRM_MEMBER_H

#include "common.h"
#include "db.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A member as stored. Owned copies come from crm_member_get() and are freed with crm_member_free(). */
typedef struct crm_member {
    const char *customer_id; /**< the customer (also the member's key) */
    const char *member_no;   /**< the member number, unique */
    const char *tier;        /**< the current tier's name, or NULL without tiers */
    int64_t tier_since;      /**< when the member reached the current tier, Unix ms */
    int64_t enrolled_at;     /**< Unix ms; the anniversaries count from here */
    int64_t balance;         /**< points; the sum of the ledger */
    int64_t updated_at;      /**< Unix ms */
} crm_member;

/** The kinds of points transaction. */
typedef enum crm_points_kind {
    CRM_POINTS_ACCRUAL = 0,    /**< points earned: a batch with its own expiry */
    CRM_POINTS_REDEMPTION = 1, /**< points spent, earliest-expiring batches first */
    CRM_POINTS_REVERSAL = 2,   /**< undoes an accrual or a redemption */
    CRM_POINTS_EXPIRY = 3      /**< what was left of an expired batch */
} crm_points_kind;

/** One ledger transaction. Borrowed from storage, or part of a ledger listing. */
typedef struct crm_points_txn {
    const char *id;              /**< UUID (time-ordered) */
    const char *customer_id;
    crm_points_kind kind;
    int64_t points;              /**< signed: what it added to the balance */
    int64_t remaining;           /**< accruals: points of the batch not yet used or expired; else 0 */
    int64_t expires_at;          /**< accruals: when the batch expires (Unix ms), 0 never; else 0 */
    const char *idempotency_key; /**< unique across the ledger */
    const char *reverses;        /**< reversals: the transaction undone; else NULL */
    const char *reversed_by;     /**< the reversal that undid this transaction, or NULL */
    const char *reason;          /**< free text, or NULL */
    int64_t created_at;          /**< Unix ms */
} crm_points_txn;

/** The loyalty rules: tiers, window, negative balances. Opaque and immutable. */
typedef struct crm_loyalty_rules crm_loyalty_rules;

/**
 * Load loyalty rules from JSON:
 * `{"window_days": 365, "allow_negative": false, "tiers": [
 *   {"name": "silver", "min_points": 0, "benefits": {}},
 *   {"name": "gold", "min_points": 5000, "benefits": {"free_wash": 4}}]}`.
 * Tiers are listed from the lowest; min_points strictly increase and the
 * first is 0. Errors name the JSON path (`loyalty.tiers[1].min_points: ...`).
 *
 * @param[out] out the rules, owned by the caller; free with crm_loyalty_rules_free()
 * @return 0 or CRM_EINVALID
 */
CRM_EXTERN(int) crm_loyalty_rules_load(crm_loyalty_rules **out, const char *json);

/** Free loyalty rules. NULL is a no-op. */
CRM_EXTERN(void) crm_loyalty_rules_free(crm_loyalty_rules *rules);

/**
 * Enrol a customer as a member, in the lowest tier of the rules.
 *
 * @param[in] db          the handle
 * @param[in] customer_id a customer in scope
 * @param[in] member_no   the member number: 1 to 32 ASCII letters, digits or '-'
 * @param[in] rules       loyalty rules, or NULL (no tiers)
 * @return 0, CRM_ENOTFOUND (no such customer), CRM_EEXISTS (already a member,
 *         or the number is taken), CRM_EINVALID
 */
CRM_EXTERN(int) crm_member_enrol(crm_db *db, const char *customer_id, const char *member_no,
                                 const crm_loyalty_rules *rules);

/**
 * Get a member.
 *
 * @param[out] out the member, owned by the caller; free with crm_member_free()
 * @return 0, CRM_ENOTFOUND (not a member, or outside the scope)
 */
CRM_EXTERN(int) crm_member_get(crm_member **out, crm_db *db, const char *customer_id);

/** Free a member from crm_member_get(). NULL is a no-op. */
CRM_EXTERN(void) crm_member_free(crm_member *member);

/**
 * A member as JSON, with the current tier's benefits when rules are given
 * and qualifying_points (earned within the rules' window).
 *
 * @param[out] out NUL-terminated JSON, owned by the caller; free with crm_free()
 */
CRM_EXTERN(int) crm_member_get_json(char **out, crm_db *db, const char *customer_id,
                                    const crm_loyalty_rules *rules);

/**
 * Re-evaluate a member's tier now: up at once when the qualifying points
 * reach a higher tier; down only when an anniversary of the enrolment has
 * passed since the member reached the current tier.
 *
 * @param[out] changed 1 when the tier changed, else 0; may be NULL
 * @return 0, CRM_ENOTFOUND, CRM_EINVALID (rules required)
 */
CRM_EXTERN(int) crm_member_evaluate_tier(int *changed, crm_db *db, const char *customer_id,
                                         const crm_loyalty_rules *rules);

/** What a points call did. Plain data. */
typedef struct crm_points_result {
    char txn_id[CRM_ID_LEN + 1]; /**< the transaction (the first call's, on a retry) */
    int64_t balance;             /**< the member's balance after it */
    int replayed;                /**< 1 when the key had been used: nothing changed */
} crm_points_result;

/**
 * Accrue points: a new batch that expires at expires_at (in the future, or
 * 0: never). With
 * rules, an upgrade the accrual qualifies for happens at once.
 *
 * @param[out] result what happened; may be NULL
 * @param[in]  points positive
 * @param[in]  idempotency_key 1 to 128 bytes; a retry with the same key and
 *             the same request returns the first result; a different
 *             request with a used key is CRM_ECONFLICT
 * @param[in]  reason free text, or NULL
 * @param[in]  rules  loyalty rules, or NULL
 */
CRM_EXTERN(int) crm_points_accrue(crm_points_result *result, crm_db *db, const char *customer_id, int64_t points,
                                  int64_t expires_at, const char *idempotency_key, const char *reason,
                                  const crm_loyalty_rules *rules);

/**
 * Redeem points, consuming unexpired batches in order of expiry (batches
 * that never expire last).
 *
 * @return 0, or CRM_ECONFLICT when the balance is short and the rules do not
 *         allow a negative balance (nothing changes)
 */
CRM_EXTERN(int) crm_points_redeem(crm_points_result *result, crm_db *db, const char *customer_id, int64_t points,
                                  const char *idempotency_key, const char *reason, const crm_loyalty_rules *rules);

/**
 * Reverse an accrual or a redemption (once). Reversing a redemption gives
 * the points back to the batches it used; reversing an accrual takes back
 * what is left of its batch and, when some was spent, the rest from the
 * other batches.
 *
 * @return 0, CRM_ENOTFOUND, CRM_ECONFLICT (already reversed, not reversible,
 *         or the balance would go negative)
 */
CRM_EXTERN(int) crm_points_reverse(crm_points_result *result, crm_db *db, const char *txn_id,
                                   const char *idempotency_key, const char *reason, const crm_loyalty_rules *rules);

/**
 * The expiry run: every batch that expired by now loses what is left of
 * it, with an expiry transaction each (keyed "expiry:<batch id>", so a run
 * that is repeated or overlaps another changes nothing twice).
 *
 * @param[out] expired how many batches expired; may be NULL
 */
CRM_EXTERN(int) crm_points_expire(size_t *expired, crm_db *db);

/**
 * The ledger of a member as a JSON array of transactions, oldest first.
 *
 * @param[out] out NUL-terminated JSON, owned by the caller; free with crm_free()
 */
CRM_EXTERN(int) crm_points_ledger_json(char **out, crm_db *db, const char *customer_id);

/** The name of a points kind ("accrual", ...), or NULL when out of range. */
CRM_EXTERN(const char *) crm_points_kind_name(crm_points_kind kind);

#ifdef __cplusplus
}
#endif

#endif /* CRM_MEMBER_H */
