/*
 * The lead lifecycle: the state machine, transitions with their stage
 * record and audit event, and a lead's stages read back.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define REASON_MAX 256
#define LABEL_MAX 64

static bool is_open(crm_lead_status s)
{
    return s >= CRM_LEAD_NEW && s <= CRM_LEAD_ORDERED;
}

int crm_lead_transition_allowed(crm_lead_status from, crm_lead_status to)
{
    if (!is_open(from) || from == to || (unsigned)to >= CRM_LEAD_STATUS_COUNT)
        return 0;
    return to == CRM_LEAD_LOST || to == CRM_LEAD_INVALID || (to <= CRM_LEAD_DELIVERED && to > from);
}

static int check_transition(crm_db *db, const crm_lead *l, crm_lead_status to, const crm_transition *o)
{
    if ((unsigned)to >= CRM_LEAD_STATUS_COUNT)
        return crm_error_set(CRM_EINVALID, "to: %d is not a lead status", (int)to);
    /* A merged-away lead's stages would count the person twice; and the
     * change would block undoing the merge. The survivor moves instead. */
    if (l->merged_into)
        return crm_error_set(CRM_ECONFLICT, "lead %s: merged into %s; move that lead instead", l->id,
                             l->merged_into);
    if (!crm_lead_transition_allowed(l->status, to))
        return crm_error_set(CRM_ECONFLICT, "lead status: cannot go from %s to %s%s", crm_lead_status_name(l->status),
                             crm_lead_status_name(to),
                             is_open(l->status) ? "" : " (the lead is closed)");
    int rc = 0;
    if (o->reason)
        rc = crm__check_label("transition.reason", o->reason, REASON_MAX);
    else if (to == CRM_LEAD_LOST)
        rc = crm_error_set(CRM_EINVALID, "transition.reason: required to mark a lead lost");
    if (rc == 0 && (o->dealer_id || o->owner_id) && to != CRM_LEAD_ASSIGNED)
        rc = crm_error_set(CRM_EINVALID, "transition.%s: only given on assignment",
                           o->dealer_id ? "dealer_id" : "owner_id");
    if (rc == 0 && o->dealer_id)
        rc = crm__check_label("transition.dealer_id", o->dealer_id, LABEL_MAX);
    if (rc == 0 && o->owner_id)
        rc = crm__check_label("transition.owner_id", o->owner_id, LABEL_MAX);
    if (rc == 0 && o->dealer_id && db->scope.dealer_id && strcmp(o->dealer_id, db->scope.dealer_id) != 0)
        rc = crm_error_set(CRM_EPERM, "transition.dealer_id: outside this handle's scope (dealer %s)",
                           db->scope.dealer_id);
    return rc;
}

/* How many stages a lead has recorded, whoever recorded them: the next
 * one's seq follows them all. */
static int count_stages(crm_db *db, const char *id, int *out)
{
    static const crm_scope everything = { NULL };
    crm_backend_iter *it;
    int rc = db->backend->stage_scan(db->backend, &everything, id, &it);
    if (rc)
        return rc;
    crm_stage_record r;
    int n = 0;
    while ((rc = it->next(it, &r)) == 0)
        n = r.seq;
    it->free(it);
    *out = n;
    return rc == CRM_ITEROVER ? 0 : rc;
}

static int need_stages(crm_db *db)
{
    if (db->backend->version < CRM_BACKEND_VERSION_SCORING)
        return crm_error_set(CRM_ESTORAGE, "backend %s: does not support lead stages", db->backend->name);
    return 0;
}

/* Write a move inside the caller's transaction: the lead (status, and the
 * dealer and owner when given, or cleared for the recycle pool), its stage
 * and its event. l is an owned copy; its fields are restored. */
static int apply(crm_db *db, crm_lead *l, crm_lead_status to, const char *reason, const char *dealer_id,
                 const char *owner_id, bool to_pool)
{
    const char *dealer = l->dealer_id, *owner = l->owner_id;
    crm_lead_status from = l->status;
    int64_t now = crm_db_now(db);
    char *data = NULL;
    int seq = 0;
    int rc = count_stages(db, l->id, &seq);
    if (rc == 0) {
        l->status = to;
        l->updated_at = now;
        if (dealer_id || to_pool)
            l->dealer_id = dealer_id;
        if (owner_id || to_pool)
            l->owner_id = owner_id;
        rc = db->backend->lead_update(db->backend, l);
    }
    if (rc == 0) {
        crm_stage_record st = {
            .lead_id = l->id,
            .seq = seq + 1,
            .status = to,
            .entered_at = now,
            .dealer_id = l->dealer_id,
            .owner_id = l->owner_id,
            .actor = db->actor,
            .reason = reason,
        };
        rc = db->backend->stage_append(db->backend, &st);
    }
    if (rc == 0) {
        cJSON *ev = cJSON_CreateObject();
        if (ev && cJSON_AddStringToObject(ev, "from", crm_lead_status_name(from)) &&
            cJSON_AddStringToObject(ev, "to", crm_lead_status_name(to)) &&
            (!reason || cJSON_AddStringToObject(ev, "reason", reason)) &&
            (!dealer || !to_pool || cJSON_AddStringToObject(ev, "from_dealer_id", dealer)) &&
            (!dealer_id || cJSON_AddStringToObject(ev, "dealer_id", dealer_id)) &&
            (!owner_id || cJSON_AddStringToObject(ev, "owner_id", owner_id)))
            data = cJSON_PrintUnformatted(ev);
        cJSON_Delete(ev);
        /* A recycled lead's event stays visible to the dealer it left. */
        rc = data ? crm__event_append(db, to_pool ? "lead.recycled" : "lead.status", "lead", l->id,
                                      to_pool ? dealer : l->dealer_id, data)
                  : crm__error_nomem();
    }
    cJSON_free(data);
    l->dealer_id = dealer;
    l->owner_id = owner;
    return rc;
}

int crm_lead_transition(crm_db *db, const char *id, crm_lead_status to, const crm_transition *opts)
{
    if (!db || !id)
        return crm_error_set(CRM_EINVALID, "%s: required", db ? "id" : "db");
    crm_transition defaults = CRM_TRANSITION_INIT;
    const crm_transition *o = opts ? opts : &defaults;
    if (o->version != CRM_TRANSITION_VERSION)
        return crm_error_set(CRM_EINVALID, "transition.version: expected %d, got %u", CRM_TRANSITION_VERSION,
                             o->version);
    int rc = need_stages(db);
    if (rc)
        return rc;
    crm_lead *l;
    if ((rc = crm_lead_get(&l, db, id)))
        return rc;
    if ((rc = check_transition(db, l, to, o))) {
        crm_lead_free(l);
        return rc;
    }
    rc = crm__tx_begin(db);
    if (rc == 0)
        rc = crm__tx_end(db, apply(db, l, to, o->reason, o->dealer_id, o->owner_id, false));
    crm_lead_free(l);
    return rc;
}

/* A stage row copied out of the backend before the next call. */
typedef struct stage_copy {
    crm_lead_status status;
    int64_t entered_at;
    char *actor, *reason;
} stage_copy;

int crm_lead_stages(crm_lead_stage **out, size_t *count, crm_db *db, const char *id)
{
    if (!out || !count)
        return crm_error_set(CRM_EINVALID, "%s: required", out ? "count" : "out");
    *out = NULL;
    *count = 0;
    if (!db || !id)
        return crm_error_set(CRM_EINVALID, "%s: required", db ? "id" : "db");
    int rc = need_stages(db);
    if (rc)
        return rc;
    crm_lead *l;
    if ((rc = crm_lead_get(&l, db, id)))
        return rc;
    crm_backend_iter *it;
    stage_copy *rows = NULL;
    size_t n = 0, cap = 0, text = 0;
    rc = db->backend->stage_scan(db->backend, &db->scope, l->id, &it);
    if (rc == 0) {
        crm_stage_record r;
        while ((rc = it->next(it, &r)) == 0) {
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                stage_copy *p = realloc(rows, cap * sizeof *p);
                if (!p) {
                    rc = crm__error_nomem();
                    break;
                }
                rows = p;
            }
            stage_copy *c = &rows[n++];
            c->status = r.status;
            c->entered_at = r.entered_at;
            c->actor = crm__strdup(r.actor ? r.actor : "");
            c->reason = r.reason ? crm__strdup(r.reason) : NULL;
            if (!c->actor || (r.reason && !c->reason)) {
                rc = crm__error_nomem();
                break;
            }
            text += strlen(c->actor) + 1 + (c->reason ? strlen(c->reason) + 1 : 0);
        }
        it->free(it);
        if (rc == CRM_ITEROVER)
            rc = 0;
    }
    /* One block: the stages, then their strings. */
    static const char system_actor[] = "system";
    size_t total = n + 1;
    crm_lead_stage *a = NULL;
    if (rc == 0) {
        a = malloc(total * sizeof *a + text + sizeof system_actor);
        if (!a)
            rc = crm__error_nomem();
    }
    if (rc == 0) {
        char *w = (char *)(a + total);
        memcpy(w, system_actor, sizeof system_actor);
        a[0] = (crm_lead_stage){ CRM_LEAD_NEW, l->created_at, 0, w, NULL };
        w += sizeof system_actor;
        for (size_t i = 0; i < n; i++) {
            size_t len = strlen(rows[i].actor) + 1;
            memcpy(w, rows[i].actor, len);
            a[i + 1] = (crm_lead_stage){ rows[i].status, rows[i].entered_at, 0, w, NULL };
            w += len;
            if (rows[i].reason) {
                len = strlen(rows[i].reason) + 1;
                memcpy(w, rows[i].reason, len);
                a[i + 1].reason = w;
                w += len;
            }
            a[i].left_at = rows[i].entered_at;
        }
        *out = a;
        *count = total;
    }
    for (size_t i = 0; i < n; i++) {
        free(rows[i].actor);
        free(rows[i].reason);
    }
    free(rows);
    crm_lead_free(l);
    return rc;
}

/* When the lead's latest assignment began, or -1. */
static int last_assigned_at(crm_db *db, const char *id, int64_t *out)
{
    static const crm_scope everything = { NULL };
    crm_backend_iter *it;
    int rc = db->backend->stage_scan(db->backend, &everything, id, &it);
    if (rc)
        return rc;
    crm_stage_record r;
    *out = -1;
    while ((rc = it->next(it, &r)) == 0)
        if (r.status == CRM_LEAD_ASSIGNED)
            *out = r.entered_at;
    it->free(it);
    return rc == CRM_ITEROVER ? 0 : rc;
}

int crm_lead_recycle_overdue(size_t *recycled, crm_db *db, int64_t follow_up_ms)
{
    if (recycled)
        *recycled = 0;
    if (!db)
        return crm_error_set(CRM_EINVALID, "db: required");
    if (follow_up_ms <= 0)
        return crm_error_set(CRM_EINVALID, "follow_up_ms: expected a positive number of milliseconds");
    int rc = need_stages(db);
    if (rc)
        return rc;
    int64_t now = crm_db_now(db);
    /* Find them first (the listing's rows are borrowed), then move them. */
    crm_id_list due = {0};
    crm_lead_filter f = CRM_LEAD_FILTER_INIT;
    f.statuses = 1u << CRM_LEAD_ASSIGNED;
    crm_iter *it = NULL;
    rc = crm_lead_iter_new(&it, db, &f);
    const crm_lead *l;
    while (rc == 0 && (rc = crm_lead_next(&l, it)) == 0) {
        char id[CRM_ID_LEN + 1];
        snprintf(id, sizeof id, "%s", l->id);
        int64_t at;
        if ((rc = last_assigned_at(db, id, &at)))
            break;
        if (at < 0 || now - at < follow_up_ms)
            continue;
        rc = crm__id_list_push(&due, id);
    }
    crm_iter_free(it);
    if (rc == CRM_ITEROVER)
        rc = 0;
    if (rc == 0 && due.n) {
        char reason[96];
        snprintf(reason, sizeof reason, "recycled: not contacted within %lld minutes of assignment",
                 (long long)(follow_up_ms / 60000));
        rc = crm__tx_begin(db);
        if (rc == 0) {
            for (size_t i = 0; rc == 0 && i < due.n; i++) {
                crm_lead *own;
                if ((rc = crm_lead_get(&own, db, due.ids[i])))
                    break;
                rc = apply(db, own, CRM_LEAD_NEW, reason, NULL, NULL, true);
                crm_lead_free(own);
            }
            rc = crm__tx_end(db, rc);
        }
    }
    free(due.ids);
    if (rc == 0 && recycled)
        *recycled = due.n;
    return rc;
}
