/*
 * crmcore — merging two leads of one person, and undoing it.
 *
 * A merge folds one lead (the other) into another (the survivor): each
 * field of the survivor takes the value its survivorship rule picks from
 * the two, the other lead is marked merged (crm_lead.merged_into; its
 * status stays) so that listings and the funnel count the person once, and
 * the other lead's match keys move to the survivor so that later ingests
 * of its phone or other keys find the survivor. Everything the merge
 * changed is stored with it, so crm_lead_unmerge() puts every row back
 * exactly as it was. Both write audit events in their transaction.
 *
 * This is its own header, not part of match.h: matching says which leads
 * may be one person; merging changes stored leads, whoever decided it (a
 * person, the review queue, a batch job).
 *
 * Rules (JSON; every member optional, a missing one keeps the default):
 *
 *     {
 *       "fields": {"name": "most_trusted_channel", "phone": "keep_all",
 *                  "email": "most_recent", "city": "longest", "owner_id": "survivor"},
 *       "channel_trust": ["walk_in", "dcc", "auto_show", "app", "wechat_mp", "website"]
 *     }
 *
 * - fields: the fields a rule decides are name, phone, email,
 *   wechat_openid, wechat_unionid, province, city, campaign, owner_id,
 *   model (text) and purchase_timeline, test_drive (an unknown value is
 *   empty). Rules:
 *   - "survivor": the survivor's value unless it is empty, then the other's;
 *   - "most_recent": the non-empty value of the lead created last;
 *   - "most_trusted_channel": the non-empty value of the lead whose channel
 *     comes first in channel_trust (a channel not listed comes after all);
 *   - "longest": the longer non-empty value, in characters (text fields);
 *   - "keep_all" (phone only): the survivor's phone stays the lead's phone
 *     (the other's when the survivor has none), and every other number of
 *     the two leads (the other's phone, and both leads' attributes.phones)
 *     is kept, once, in the survivor's attributes.phones array.
 *   Ties go to the survivor.
 * - channel_trust: channel names, most trusted first.
 *
 * The other fields are not a matter of rules: id, channel, dealer_id,
 * status, score, grade and created_at stay the survivor's; customer_id is
 * the survivor's unless it has none; attributes are the survivor's with
 * the members only the other lead has added.  The merged lead's quality
 * (crm_lead_quality) is judged again from its merged fields.
 */
#ifndef CRM_LEAD_MERGE_H
#define CRM_LEAD_MERGE_H

#include "common.h"
#include "db.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The default rules: name most_trusted_channel, phone keep_all, email,
 * province, city, model, purchase_timeline and test_drive most_recent,
 * the WeChat ids, campaign and owner_id survivor; channels trusted in the
 * order walk_in, dcc, auto_show, app, wechat_mp, website, autohome,
 * dongchedi, douyin, third_party.
 *
 * @return a static JSON string, never NULL
 */
CRM_EXTERN(const char *) crm_lead_merge_default_rules(void);

/**
 * Merge lead other_id into lead survivor_id, both visible in the handle's
 * scope, in one transaction: the survivor's fields by the rules, the other
 * marked merged into the survivor, the other's match keys moved to the
 * survivor, the merge record (with what it changed), and the events
 * "lead.merged" on the survivor and "lead.merged_away" on the other. On
 * any error nothing changes.
 *
 * @param[out] merge_id_out the merge's id, owned by the caller (free with
 *                          crm_free()); may be NULL
 * @param[in]  rules_json   rules, or NULL for crm_lead_merge_default_rules()
 * @return 0, CRM_EINVALID (the message names the JSON path: "rules.fields.name:
 *         unknown rule 'foo'"; or the two ids are one lead), CRM_ENOTFOUND (a
 *         lead missing or outside the scope), CRM_ECONFLICT (a lead was merged
 *         away already), CRM_ESTORAGE (also: a backend older than version 6),
 *         CRM_ENOMEM
 */
CRM_EXTERN(int) crm_lead_merge(char **merge_id_out, crm_db *db, const char *survivor_id, const char *other_id,
                               const char *rules_json);

/**
 * Undo a merge: both leads, the match keys and a review item the merge
 * accepted go back exactly as they were before it, the merge is marked
 * undone (it stays listed), and "lead.unmerged" events are appended on
 * both leads, in one transaction.
 *
 * It refuses (CRM_ECONFLICT, nothing changes) when the merge is undone
 * already, when either lead changed since the merge (an undo would lose
 * the change), or when a later merge in force involves either lead (undo
 * that one first).
 *
 * @return 0, CRM_EINVALID, CRM_ENOTFOUND (no such merge in the scope),
 *         CRM_ECONFLICT, CRM_ESTORAGE, CRM_ENOMEM
 */
CRM_EXTERN(int) crm_lead_unmerge(crm_db *db, const char *merge_id);

/**
 * What a merge did, as JSON: {"id", "survivor_id", "other_id", "dealer_id",
 * "rules" (the rules in force, complete), "fields": [{"field", "rule",
 * "value" (the survivor's value after the merge), "from" ("survivor" or
 * "other"), "lead_id" (where the value came from)}, ...], "phones" (the
 * survivor's attributes.phones after the merge), "keys_moved" (match keys
 * moved to the survivor), "review_id" (the review item the merge accepted,
 * or null), "created_at", "actor", "undone_at" (null while in force),
 * "undone_by"}.
 *
 * @param[out] out JSON, owned by the caller; free with crm_free()
 * @return 0, CRM_EINVALID, CRM_ENOTFOUND (no such merge in the scope), CRM_ESTORAGE, CRM_ENOMEM
 */
CRM_EXTERN(int) crm_lead_merge_get_json(char **out, crm_db *db, const char *merge_id);

/**
 * Merges within the handle's scope, newest first, as a JSON array of the
 * objects crm_lead_merge_get_json() gives.
 *
 * @param[out] out     JSON, owned by the caller; free with crm_free()
 * @param[in]  lead_id only merges with this lead as survivor or other, or NULL for all
 * @param[in]  limit   1..10000 merges at most
 * @return 0, CRM_EINVALID (a bad lead id or limit), CRM_ESTORAGE, CRM_ENOMEM
 */
CRM_EXTERN(int) crm_lead_merge_list_json(char **out, crm_db *db, const char *lead_id, int limit);

#ifdef __cplusplus
}
#endif

#endif /* CRM_LEAD_MERGE_H */
