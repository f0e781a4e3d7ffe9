/*
 * crmcore — tags, segments and marketing consent.
 *
 * A tag labels customers. A manual tag is assigned to one customer at a
 * time, with a source and a time. A rule tag is computed for every
 * customer from a rule in a small, safe expression language over the
 * customer's attributes:
 *
 *     tier in ("gold", "black") and balance >= 1000
 *     leads > 0 and last_lead_at >= now - 30d and not (channel = "dcc")
 *
 * Fields: dealer_id, name (text), created_at (time), member (true/false),
 * tier (text), balance (number), enrolled_at (time), leads (number of
 * leads), model, channel (of the latest lead; text), last_lead_at (time),
 * vehicles (number of vehicles the customer owns or drives now). Values:
 * numbers, "text", true/false, times as "YYYY-MM-DD" or ISO-8601 text, and
 * now, now - 30d, now + 12h (d, h, w units). Operators: = != < <= > >=,
 * in (...), not in (...), and, or, not, parentheses. A field a customer
 * lacks (tier of a non-member) makes its comparison false. Errors give the
 * column (`rule: column 17: unknown field 'tierr'`).
 *
 * A segment is a boolean expression over tag names (`suv_intent and (gold
 * or black) and not churned`), evaluated with compressed bitmaps (CRoaring)
 * to a set of customers: count it, export it, or take it as a campaign
 * audience, which keeps only customers who consented to the channel.
 *
 * Tags and segments span the whole customer base (the OEM's view): a
 * dealer-scoped handle gets CRM_EPERM.
 */
#ifndef CRM_TAG_H
#define CRM_TAG_H

#include "common.h"
#include "db.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How a tag gets its customers. */
typedef enum crm_tag_kind {
    CRM_TAG_MANUAL = 0, /**< assigned one customer at a time */
    CRM_TAG_RULE = 1    /**< computed from a rule over every customer */
} crm_tag_kind;

/**
 * Assign a manual tag to a customer (again: refreshes source and time).
 *
 * @param[in] tag    1 to 64 lower-case ASCII letters, digits, '_' or '-', starting with a letter
 * @param[in] source who or what assigned it ("dcc", "campaign:2026双11", ...), 1 to 64 bytes
 * @return 0, CRM_ENOTFOUND (customer), CRM_ECONFLICT (a rule tag of that name), CRM_EINVALID, CRM_EPERM
 */
CRM_EXTERN(int) crm_tag_assign(crm_db *db, const char *customer_id, const char *tag, const char *source);

/**
 * Remove a manual tag from a customer. Removing a tag it does not have is not an error.
 */
CRM_EXTERN(int) crm_tag_remove(crm_db *db, const char *customer_id, const char *tag);

/**
 * Define (or redefine) a rule tag and compute it over every customer now.
 *
 * @param[out] count the number of customers that have the tag; may be NULL
 * @param[in]  rule  the expression
 * @return 0, CRM_EINVALID (the message gives the column), CRM_ECONFLICT (a
 *         manual tag of that name), CRM_EPERM
 */
CRM_EXTERN(int) crm_tag_rule_define(size_t *count, crm_db *db, const char *tag, const char *rule);

/** Compute every rule tag again (relative dates move with the clock). */
CRM_EXTERN(int) crm_tag_rules_refresh(size_t *tags, crm_db *db);

/**
 * Check a rule without running it.
 *
 * @return 0 or CRM_EINVALID with the column
 */
CRM_EXTERN(int) crm_tag_rule_check(const char *rule);

/**
 * The tags of a customer as a JSON array: [{"tag", "kind", "source",
 * "assigned_at"}]; rule tags carry the time they were computed.
 *
 * @param[out] out NUL-terminated JSON, owned by the caller; free with crm_free()
 */
CRM_EXTERN(int) crm_customer_tags_json(char **out, crm_db *db, const char *customer_id);

/**
 * Record a customer's marketing consent for a channel ("sms", "wechat",
 * "email", "call", ... : 1 to 32 lower-case letters, digits or '_').
 *
 * @param[in] granted 1 to grant, 0 to withdraw
 */
CRM_EXTERN(int) crm_customer_set_consent(crm_db *db, const char *customer_id, const char *channel, int granted);

/**
 * Count the customers of a segment.
 *
 * @param[out] count the number of customers
 * @param[in]  expr  tag names with and, or, not and parentheses
 * @return 0, CRM_EINVALID (the message gives the column; unknown tags are errors), CRM_EPERM
 */
CRM_EXTERN(int) crm_segment_count(size_t *count, crm_db *db, const char *expr);

/**
 * Export a segment as a JSON array of customer ids, in customer order; with
 * a consent channel, only the customers who granted it (a campaign audience).
 *
 * @param[out] out     NUL-terminated JSON, owned by the caller; free with crm_free()
 * @param[out] count   the number exported; may be NULL
 * @param[in]  expr    the segment
 * @param[in]  consent a channel, or NULL for the whole segment
 * @param[in]  limit   at most this many; 0 means no limit
 */
CRM_EXTERN(int) crm_segment_export_json(char **out, size_t *count, crm_db *db, const char *expr,
                                        const char *consent, size_t limit);

#ifdef __cplusplus
}
#endif

#endif /* CRM_TAG_H */
