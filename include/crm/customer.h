/*
 * crmcore — customers and their identities (OneID).
 *
 * A customer is one person, whichever way they reached the brand: the
 * WeChat mini-program, the app, a dealer, the call centre. Each way leaves
 * an identity (a phone number, an email address, a WeChat openid within its
 * app id, a WeChat unionid, an app account, the hash of an ID-card number),
 * and an identity belongs to at most one customer.
 *
 * Resolution (crm_customer_resolve_json) takes the identities a source
 * knows, and either creates a customer, links the new identities to the one
 * customer that already owns some of them, or, when they tie two or more
 * customers together, merges those into the oldest. Which kinds of identity
 * may tie customers together is configuration (crm_merge_rules). A merge is
 * audited on both customers and can be undone (crm_customer_unmerge).
 */
#ifndef CRM_CUSTOMER_H
#define CRM_CUSTOMER_H

#include "common.h"
#include "db.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The kinds of identity. */
typedef enum crm_identity_kind {
    CRM_IDENTITY_PHONE = 0,          /**< digits only, 5 to 15 of them */
    CRM_IDENTITY_EMAIL = 1,          /**< folded to lower case */
    CRM_IDENTITY_WECHAT_OPENID = 2,  /**< unique within its app id (app_id required) */
    CRM_IDENTITY_WECHAT_UNIONID = 3, /**< unique across the apps of one WeChat open platform account */
    CRM_IDENTITY_APP_ACCOUNT = 4,    /**< the brand app's account id */
    CRM_IDENTITY_ID_CARD_HASH = 5    /**< SHA-256 of the ID-card number, 64 hex digits; never the number */
} crm_identity_kind;

#define CRM_IDENTITY_KIND_COUNT 6

/**
 * One identity as stored. Strings are UTF-8; a borrowed identity lives until
 * the next call on the backend that handed it out.
 */
typedef struct crm_identity {
    crm_identity_kind kind;
    const char *app_id;      /**< the WeChat app id for an openid, else "" */
    const char *value;       /**< the normalised value */
    const char *customer_id; /**< the customer it belongs to now */
    const char *origin_id;   /**< the customer it first belonged to: an unmerge returns it there */
    int64_t created_at;      /**< when it was linked, Unix ms UTC */
} crm_identity;

/**
 * A customer as stored. A crm_customer from crm_customer_get() belongs to
 * the caller and is freed with crm_customer_free().
 */
typedef struct crm_customer {
    const char *id;          /**< UUID (time-ordered) */
    const char *name;        /**< the last name a source gave, or NULL */
    const char *dealer_id;   /**< the dealer that owns the record, or NULL for the OEM */
    const char *merged_into; /**< NULL, or the customer this one was merged into */
    int64_t created_at;      /**< Unix ms, UTC */
    int64_t updated_at;      /**< Unix ms, UTC */
    int64_t num;             /**< a dense number the storage gives each customer (tag bitmaps hold it); ignored on insert */
} crm_customer;

/** The name of an identity kind ("phone", "wechat_openid", ...), or NULL when out of range. */
CRM_EXTERN(const char *) crm_identity_kind_name(crm_identity_kind kind);

/**
 * Parse an identity kind name.
 *
 * @param[out] out the kind
 * @return 0, or CRM_EINVALID for an unknown name
 */
CRM_EXTERN(int) crm_identity_kind_parse(crm_identity_kind *out, const char *name);

/**
 * Which identity kinds may tie two customers together (an opaque, immutable
 * value). Without rules, every kind but email merges: an email address is
 * often shared within a family or an office.
 */
typedef struct crm_merge_rules crm_merge_rules;

/**
 * Load merge rules from JSON:
 * `{"merge_on": ["phone", "wechat_unionid", "id_card_hash"]}`.
 * Unknown members and unknown kinds are refused with the JSON path
 * (`merge_rules.merge_on[1]: unknown identity kind 'fax'`).
 *
 * @param[out] out  the rules, owned by the caller; free with crm_merge_rules_free()
 * @param[in]  json the document, NUL-terminated
 * @return 0 or CRM_EINVALID
 */
CRM_EXTERN(int) crm_merge_rules_load(crm_merge_rules **out, const char *json);

/** Free merge rules. NULL is a no-op. */
CRM_EXTERN(void) crm_merge_rules_free(crm_merge_rules *rules);

/** What a resolution did. */
typedef enum crm_resolve_outcome {
    CRM_RESOLVE_CREATED = 0, /**< no identity was known: a new customer */
    CRM_RESOLVE_LINKED = 1,  /**< one customer owned some identities; the others were added to it */
    CRM_RESOLVE_MERGED = 2   /**< the identities tied several customers: merged into the oldest */
} crm_resolve_outcome;

/** The result of a resolution. Plain data, no ownership. */
typedef struct crm_resolve_result {
    crm_resolve_outcome outcome;
    char customer_id[CRM_ID_LEN + 1]; /**< the customer the identities belong to now */
    size_t identities_added;          /**< identities that were new */
    size_t merged;                    /**< customers merged into customer_id */
} crm_resolve_result;

/**
 * Resolve a set of identities to one customer: create, link or merge.
 *
 * The document: `{"name": "张伟", "dealer_id": "D1", "identities": [
 * {"kind": "phone", "value": "13812345678"},
 * {"kind": "wechat_openid", "app_id": "wx5f1a", "value": "oAbC..."}]}`.
 * name and dealer_id are optional (a dealer-scoped handle implies its
 * dealer). Values are normalised as documented for crm_identity_kind.
 *
 * When the identities belong to several customers, each of them (the
 * oldest, which survives, too) must be reached by an identity of a kind the
 * rules allow to merge; otherwise nothing changes and the call fails with
 * CRM_ECONFLICT naming the identity. A merge moves the identities and the leads of the
 * merged customer to the survivor, marks it merged_into, takes it out of
 * every segment, and records "customer.merged" events on both. Its member
 * record, points, tags and vehicles stay with it (and count again after an
 * unmerge); a merged customer cannot enrol, be tagged or get vehicles.
 *
 * @param[out] result what happened; may be NULL
 * @param[in]  db     the handle
 * @param[in]  json   the document, NUL-terminated
 * @param[in]  rules  merge rules, or NULL for the defaults
 * @return 0, CRM_EINVALID (names the JSON path), CRM_ECONFLICT, CRM_ESTORAGE, ...
 */
CRM_EXTERN(int) crm_customer_resolve_json(crm_resolve_result *result, crm_db *db, const char *json,
                                          const crm_merge_rules *rules);

/**
 * Resolve a stored lead to its customer by the lead's phone, email, WeChat
 * openid (scoped to the app id in attributes.wechat_app_id, or else to the
 * lead's channel) and unionid, then set the lead's customer_id. The lead's
 * name and dealer carry over to a new customer.
 *
 * @param[out] result what happened; may be NULL
 * @param[in]  db     the handle
 * @param[in]  lead_id the lead
 * @param[in]  rules  merge rules, or NULL for the defaults
 * @return 0, CRM_ENOTFOUND (no such lead in scope), CRM_ECONFLICT, ...
 */
CRM_EXTERN(int) crm_customer_resolve_lead(crm_resolve_result *result, crm_db *db, const char *lead_id,
                                          const crm_merge_rules *rules);

/**
 * Undo the merge of a customer: the identities that first belonged to it
 * and the leads that moved with it go back, and merged_into is cleared.
 * Identities and leads that reached the survivor later stay there.
 *
 * @param[in] db          the handle
 * @param[in] customer_id the customer that was merged away
 * @return 0, CRM_ENOTFOUND, CRM_ECONFLICT (not merged, or its survivor was
 *         itself merged since: unmerge that first)
 */
CRM_EXTERN(int) crm_customer_unmerge(crm_db *db, const char *customer_id);

/**
 * Get one customer within the handle's scope.
 *
 * @param[out] out the customer, owned by the caller; free with crm_customer_free()
 * @return 0, CRM_ENOTFOUND, CRM_EINVALID
 */
CRM_EXTERN(int) crm_customer_get(crm_customer **out, crm_db *db, const char *id);

/** Free a customer from crm_customer_get(). NULL is a no-op. */
CRM_EXTERN(void) crm_customer_free(crm_customer *customer);

/**
 * Find the customer an identity belongs to.
 *
 * @param[out] out    the customer id, CRM_ID_LEN + 1 bytes
 * @param[in]  kind   the identity kind
 * @param[in]  app_id the WeChat app id for an openid, else NULL
 * @param[in]  value  the value (normalised as resolution does)
 * @return 0, CRM_ENOTFOUND, CRM_EINVALID
 */
CRM_EXTERN(int) crm_customer_find(char *out, crm_db *db, crm_identity_kind kind, const char *app_id,
                                  const char *value);

/**
 * The customer 360 view as a JSON object: the customer's fields, its
 * identities (kind, app_id, value, linked_at, and merged_from for one that
 * came with a merge), its leads (id, channel, status, model, dealer_id,
 * created_at), "member" (member_no, tier, balance, enrolled_at; null for a
 * non-member), "tags" (as crm_customer_tags_json) and "vehicles" (as
 * crm_customer_vehicles_json).
 *
 * @param[out] out NUL-terminated JSON, owned by the caller; free with crm_free()
 * @return 0, CRM_ENOTFOUND, ...
 */
CRM_EXTERN(int) crm_customer_view_json(char **out, crm_db *db, const char *id);

#ifdef __cplusplus
}
#endif

#endif /* CRM_CUSTOMER_H */
