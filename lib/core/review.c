/*
 * The review queue: possible duplicates from online matching, listed and
 * decided by a person. Every decision is stored with its audit event in one
 * transaction.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define REVIEW_LIST_MAX 10000

static const char *const status_names[] = {"pending", "accepted", "rejected"};

static int need_queue(const crm_db *db)
{
    return db->backend->version >= CRM_BACKEND_VERSION_MATCHING
               ? 0
               : crm_error_set(CRM_ESTORAGE, "backend %s: no review queue (version %u < %d)", db->backend->name,
                               db->backend->version, CRM_BACKEND_VERSION_MATCHING);
}

int crm__review_add(crm_db *db, const char *lead_id, const char *candidate_id, const char *dealer_id,
                    double probability, const char *evidence)
{
    if (db->backend->version < CRM_BACKEND_VERSION_MATCHING)
        return 0; /* an older backend keeps only the event on the lead */
    char id[CRM_ID_LEN + 1];
    int64_t now = crm_db_now(db);
    crm__idgen_next(&db->idgen, now, id);
    crm_match_review r = {id, lead_id, candidate_id, dealer_id, probability, evidence,
                          CRM_REVIEW_PENDING, now, 0, NULL, NULL};
    return db->backend->review_insert(db->backend, &r);
}

typedef struct list_state {
    cJSON *arr;
    int rc;
} list_state;

static int add_item(const crm_match_review *r, void *payload)
{
    list_state *ls = payload;
    char created[CRM_ISO_TIME_LEN + 1], decided[CRM_ISO_TIME_LEN + 1];
    crm__time_format(r->created_at, created);
    if (r->decided_at)
        crm__time_format(r->decided_at, decided);
    cJSON *o = cJSON_CreateObject();
    cJSON *ev = r->evidence ? cJSON_Parse(r->evidence) : NULL;
    bool ok = o && (ev ? cJSON_AddItemToObject(o, "evidence", ev) : cJSON_AddNullToObject(o, "evidence") != NULL);
    if (!ok)
        cJSON_Delete(ev); /* not attached */
    ok = ok && cJSON_AddStringToObject(o, "id", r->id) && cJSON_AddStringToObject(o, "lead_id", r->lead_id) &&
         cJSON_AddStringToObject(o, "candidate_id", r->candidate_id) &&
         (r->dealer_id ? cJSON_AddStringToObject(o, "dealer_id", r->dealer_id)
                       : cJSON_AddNullToObject(o, "dealer_id")) &&
         cJSON_AddNumberToObject(o, "probability", r->probability) &&
         cJSON_AddStringToObject(o, "status", (unsigned)r->status < 3 ? status_names[r->status] : "unknown") &&
         cJSON_AddStringToObject(o, "created_at", created) &&
         (r->decided_at ? cJSON_AddStringToObject(o, "decided_at", decided)
                        : cJSON_AddNullToObject(o, "decided_at")) &&
         (r->decided_by ? cJSON_AddStringToObject(o, "decided_by", r->decided_by)
                        : cJSON_AddNullToObject(o, "decided_by")) &&
         (r->merge_id ? cJSON_AddStringToObject(o, "merge_id", r->merge_id) : cJSON_AddNullToObject(o, "merge_id")) &&
         cJSON_AddItemToArray(ls->arr, o);
    if (!ok) {
        cJSON_Delete(o);
        ls->rc = crm__error_nomem();
        return 1;
    }
    return 0;
}

int crm_review_list_json(char **out, crm_db *db, const char *status, int limit)
{
    if (!out || !db)
        return crm_error_set(CRM_EINVALID, "%s: required", out ? "db" : "out");
    *out = NULL;
    int st = -1;
    if (status) {
        for (int i = 0; i < 3; i++)
            if (strcmp(status, status_names[i]) == 0)
                st = i;
        if (st < 0)
            return crm_error_set(CRM_EINVALID, "status: expected pending, accepted or rejected");
    }
    if (limit < 1 || limit > REVIEW_LIST_MAX)
        return crm_error_set(CRM_EINVALID, "limit: expected 1 to %d", REVIEW_LIST_MAX);
    int rc = need_queue(db);
    if (rc)
        return rc;
    list_state ls = {cJSON_CreateArray(), 0};
    if (!ls.arr)
        return crm__error_nomem();
    rc = db->backend->review_list(db->backend, &db->scope, st, limit, add_item, &ls);
    if (rc == 0)
        rc = ls.rc;
    if (rc == 0 && !(*out = cJSON_PrintUnformatted(ls.arr)))
        rc = crm__error_nomem();
    cJSON_Delete(ls.arr);
    return rc;
}

/* An accept merges the new lead into the candidate, each standing for the
 * lead it was merged into since the item was queued; *merge_id stays ""
 * when both stand for one lead already. */
static int accept_merge(crm_db *db, const crm_match_review *before, const char *lead_id, const char *cand,
                        char merge_id[CRM_ID_LEN + 1])
{
    char other[CRM_ID_LEN + 1], survivor[CRM_ID_LEN + 1];
    snprintf(other, sizeof other, "%s", lead_id);
    snprintf(survivor, sizeof survivor, "%s", cand);
    int rc = crm__lead_merged_survivor(db, other);
    if (rc == 0)
        rc = crm__lead_merged_survivor(db, survivor);
    if (rc == 0 && strcmp(other, survivor) != 0)
        rc = crm__lead_merge(db, survivor, other, NULL, before, merge_id);
    return rc;
}

int crm_review_decide(crm_db *db, const char *id, int accept)
{
    if (!db || !id)
        return crm_error_set(CRM_EINVALID, "%s: required", db ? "id" : "db");
    if (!crm__id_valid(id))
        return crm_error_set(CRM_EINVALID, "id: expected a UUID");
    int rc = need_queue(db);
    if (rc)
        return rc;
    rc = crm__tx_begin(db);
    if (rc)
        return rc;
    crm_match_review r;
    rc = db->backend->review_get(db->backend, &db->scope, id, &r);
    char lead_id[CRM_ID_LEN + 1] = "", cand[CRM_ID_LEN + 1] = "", dealer[72] = "", merge_id[CRM_ID_LEN + 1] = "";
    bool has_dealer = false;
    if (rc == 0 && r.status != CRM_REVIEW_PENDING)
        rc = crm_error_set(CRM_ECONFLICT, "review %s: already %s", id, status_names[r.status % 3]);
    if (rc == 0) {
        snprintf(lead_id, sizeof lead_id, "%s", r.lead_id);
        snprintf(cand, sizeof cand, "%s", r.candidate_id);
        has_dealer = r.dealer_id != NULL;
        if (has_dealer)
            snprintf(dealer, sizeof dealer, "%s", r.dealer_id);
    }
    /* A pending item has no decision and no merge: that is what an unmerge
     * of the accept's merge puts back. */
    crm_match_review pending = {.id = id, .status = CRM_REVIEW_PENDING};
    if (rc == 0 && accept && db->backend->version >= CRM_BACKEND_VERSION_MERGE)
        rc = accept_merge(db, &pending, lead_id, cand, merge_id);
    /* The merge's reads reused the backend's row: read the item again. */
    if (rc == 0)
        rc = db->backend->review_get(db->backend, &db->scope, id, &r);
    if (rc == 0) {
        r.status = accept ? CRM_REVIEW_ACCEPTED : CRM_REVIEW_REJECTED;
        r.decided_at = crm_db_now(db);
        r.decided_by = db->actor;
        r.merge_id = merge_id[0] ? merge_id : NULL;
        rc = db->backend->review_update(db->backend, &r);
    }
    if (rc == 0) {
        char data[224];
        snprintf(data, sizeof data, "{\"review\":\"%s\",\"candidate\":\"%s\"%s%s%s}", id, cand,
                 merge_id[0] ? ",\"merge\":\"" : "", merge_id, merge_id[0] ? "\"" : "");
        rc = crm__event_append(db, accept ? "lead.duplicate_confirmed" : "lead.duplicate_rejected", "lead",
                               lead_id, has_dealer ? dealer : NULL, data);
    }
    return crm__tx_end(db, rc);
}
