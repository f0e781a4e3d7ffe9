/*
 * The lead lifecycle: the state machine, transitions with their stage
 * record and audit event, and a lead's stages read back.
 */
#include <cjson/cJSON.h>
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

/* Text a caller gives: 1..max bytes of UTF-8 without control characters. */
static int check_text(const char *field, const char *v, size_t max)
{
    size_t len = strlen(v);
    if (len == 0 || len > max)
        return crm_error_set(CRM_EINVALID, "%s: expected 1 to %zu bytes, got %zu", field, max, len);
    if (!crm__utf8_valid(v, len))
        return crm_error_set(CRM_EINVALID, "%s: invalid UTF-8", field);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7F)
            return crm_error_set(CRM_EINVALID, "%s: control character at byte %zu", field, i);
    return 0;
}

static int check_transition(crm_db *db, const crm_lead *l, crm_lead_status to, const crm_transition *o)
{
    if ((unsigned)to >= CRM_LEAD_STATUS_COUNT)
        return crm_error_set(CRM_EINVALID, "to: %d is not a lead status", (int)to);
    if (!crm_lead_transition_allowed(l->status, to))
        return crm_error_set(CRM_ECONFLICT, "lead status: cannot go from %s to %s%s", crm_lead_status_name(l->status),
                             crm_lead_status_name(to),
                             is_open(l->status) ? "" : " (the lead is closed)");
    int rc = 0;
    if (o->reason)
        rc = check_text("transition.reason", o->reason, REASON_MAX);
    else if (to == CRM_LEAD_LOST)
        rc = crm_error_set(CRM_EINVALID, "transition.reason: required to mark a lead lost");
    if (rc == 0 && (o->dealer_id || o->owner_id) && to != CRM_LEAD_ASSIGNED)
        rc = crm_error_set(CRM_EINVALID, "transition.%s: only given on assignment",
                           o->dealer_id ? "dealer_id" : "owner_id");
    if (rc == 0 && o->dealer_id)
        rc = check_text("transition.dealer_id", o->dealer_id, LABEL_MAX);
    if (rc == 0 && o->owner_id)
        rc = check_text("transition.owner_id", o->owner_id, LABEL_MAX);
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
    if (db->backend->version < 2)
        return crm_error_set(CRM_ESTORAGE, "backend %s: does not support lead stages", db->backend->name);
    return 0;
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
    crm_lead_status from = l->status;
    if ((rc = check_transition(db, l, to, o))) {
        crm_lead_free(l);
        return rc;
    }
    /* The lead is an owned copy: point its fields at the caller's values for
     * the update, and back before freeing it. */
    const char *dealer = l->dealer_id, *owner = l->owner_id;
    int64_t now = crm_db_now(db);
    char *data = NULL;
    rc = crm__tx_begin(db);
    if (rc == 0) {
        int seq = 0;
        rc = count_stages(db, l->id, &seq);
        if (rc == 0) {
            l->status = to;
            l->updated_at = now;
            if (o->dealer_id)
                l->dealer_id = o->dealer_id;
            if (o->owner_id)
                l->owner_id = o->owner_id;
            rc = db->backend->lead_update(db->backend, l);
        }
        if (rc == 0) {
            crm_stage_record st = {
                .lead_id = l->id,
                .seq = seq + 1,
                .status = to,
                .entered_at = now,
                .dealer_id = l->dealer_id,
                .actor = db->actor,
                .reason = o->reason,
            };
            rc = db->backend->stage_append(db->backend, &st);
        }
        if (rc == 0) {
            cJSON *ev = cJSON_CreateObject();
            if (ev && cJSON_AddStringToObject(ev, "from", crm_lead_status_name(from)) &&
                cJSON_AddStringToObject(ev, "to", crm_lead_status_name(to)) &&
                (!o->reason || cJSON_AddStringToObject(ev, "reason", o->reason)) &&
                (!o->dealer_id || cJSON_AddStringToObject(ev, "dealer_id", o->dealer_id)) &&
                (!o->owner_id || cJSON_AddStringToObject(ev, "owner_id", o->owner_id)))
                data = cJSON_PrintUnformatted(ev);
            cJSON_Delete(ev);
            rc = data ? crm__event_append(db, "lead.status", "lead", l->id, l->dealer_id, data) : crm__error_nomem();
        }
        rc = crm__tx_end(db, rc);
    }
    cJSON_free(data);
    l->dealer_id = dealer;
    l->owner_id = owner;
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
