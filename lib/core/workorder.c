/* Work orders: creation from JSON, the state machine, assignment,
 * comments, listing. Every write runs in a transaction with its audit
 * event; the audit trail is the work order's history. */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define SHORT_MAX 128    /* ids, labels, queue names */
#define SUBJECT_MAX 512
#define TEXT_MAX 65536   /* description, comment body */

static const char *const status_names[CRM_WO_STATUS_COUNT] = {
    "new", "assigned", "in_progress", "waiting_customer", "resolved", "closed",
};

const char *crm_wo_status_name(crm_wo_status status)
{
    return (unsigned)status < CRM_WO_STATUS_COUNT ? status_names[status] : NULL;
}

int crm_wo_status_parse(crm_wo_status *out, const char *name)
{
    if (!out || !name)
        return crm_error_set(CRM_EINVALID, "%s: required", out ? "name" : "out");
    for (int i = 0; i < CRM_WO_STATUS_COUNT; i++) {
        if (strcmp(name, status_names[i]) == 0) {
            *out = (crm_wo_status)i;
            return 0;
        }
    }
    return crm_error_set(CRM_EINVALID,
                         "status: unknown \"%s\" (expected new, assigned, in_progress, waiting_customer, "
                         "resolved or closed)",
                         name);
}

int crm__workorder_supported(crm_db *db)
{
    if (db->backend->version < CRM_BACKEND_VERSION_WORKORDERS)
        return crm_error_set(CRM_ESTORAGE, "backend %s: does not support work orders (interface version %u)",
                             db->backend->name, db->backend->version);
    return 0;
}

/* Text a caller gives: valid UTF-8, 1..max bytes; single-line fields also
 * without control characters. */
static int check_text(const char *field, const char *v, size_t max, bool multiline)
{
    size_t len = strlen(v);
    if (len == 0 || len > max)
        return crm_error_set(CRM_EINVALID, "%s: expected 1 to %zu bytes, got %zu", field, max, len);
    if (!crm__utf8_valid(v, len))
        return crm_error_set(CRM_EINVALID, "%s: invalid UTF-8", field);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c < 0x20 && !(multiline && (c == '\n' || c == '\t' || c == '\r'))) || c == 0x7F)
            return crm_error_set(CRM_EINVALID, "%s: control character at byte %zu", field, i);
    }
    return 0;
}

/* A VIN: 17 of 0-9 and A-Z without I, O and Q (ISO 3779). */
static int check_vin(const char *v)
{
    if (strlen(v) != 17)
        return crm_error_set(CRM_EINVALID, "vin: expected 17 characters, got %zu", strlen(v));
    for (int i = 0; i < 17; i++) {
        char c = v[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z' && c != 'I' && c != 'O' && c != 'Q');
        if (!ok)
            return crm_error_set(CRM_EINVALID, "vin: character %d is not allowed (0-9, A-Z without I, O, Q)", i + 1);
    }
    return 0;
}

/* ---- copies and JSON ---------------------------------------------------- */

#define WO_STRING_FIELDS(w)                                                                         \
    &(w)->id, &(w)->type, &(w)->category, &(w)->channel, &(w)->customer_id, &(w)->lead_id, &(w)->vin, \
        &(w)->dealer_id, &(w)->queue, &(w)->assignee, &(w)->subject, &(w)->description,             \
        &(w)->attributes, &(w)->pauses

/* A caller-owned copy in one allocation: the struct, then its strings. */
crm_workorder *crm__workorder_dup(const crm_workorder *src)
{
    const char *const *fields[] = { WO_STRING_FIELDS(src) };
    return crm__record_dup(src, sizeof *src, fields, sizeof fields / sizeof fields[0]);
}

void crm_workorder_free(crm_workorder *wo)
{
    free(wo);
}

static bool add_str(cJSON *o, const char *name, const char *v)
{
    return v ? cJSON_AddStringToObject(o, name, v) != NULL : cJSON_AddNullToObject(o, name) != NULL;
}

static bool add_time(cJSON *o, const char *name, int64_t t)
{
    if (!t)
        return cJSON_AddNullToObject(o, name) != NULL;
    char text[CRM_ISO_TIME_LEN + 1];
    crm__time_format(t, text);
    return cJSON_AddStringToObject(o, name, text) != NULL;
}

static bool add_raw_json(cJSON *o, const char *name, const char *json)
{
    cJSON *v = json ? cJSON_Parse(json) : cJSON_CreateNull();
    if (v && cJSON_AddItemToObject(o, name, v))
        return true;
    cJSON_Delete(v);
    return false;
}

int crm_workorder_to_json(char **out, const crm_workorder *w)
{
    if (!out || !w)
        return crm_error_set(CRM_EINVALID, "%s: required", out ? "workorder" : "out");
    *out = NULL;
    cJSON *o = cJSON_CreateObject();
    bool ok = o && add_str(o, "id", w->id) && add_str(o, "type", w->type) && add_str(o, "category", w->category) &&
              cJSON_AddNumberToObject(o, "priority", w->priority) && add_str(o, "channel", w->channel) &&
              add_str(o, "customer_id", w->customer_id) && add_str(o, "lead_id", w->lead_id) &&
              add_str(o, "vin", w->vin) && add_str(o, "dealer_id", w->dealer_id) && add_str(o, "queue", w->queue) &&
              add_str(o, "assignee", w->assignee) && add_str(o, "subject", w->subject) &&
              add_str(o, "description", w->description) && add_raw_json(o, "attributes", w->attributes) &&
              add_str(o, "status", crm_wo_status_name(w->status)) && add_time(o, "created_at", w->created_at) &&
              add_time(o, "updated_at", w->updated_at) && add_time(o, "first_response_at", w->first_response_at) &&
              add_time(o, "resolved_at", w->resolved_at) && add_time(o, "closed_at", w->closed_at) &&
              add_time(o, "paused_since", w->paused_since);
    if (ok) {
        /* Pauses as ISO-8601 pairs, like every other time in JSON. */
        cJSON *pauses = cJSON_AddArrayToObject(o, "pauses");
        crm_interval *iv = NULL;
        size_t n = 0;
        ok = pauses && crm__workorder_pauses(&iv, &n, w, 0) == 0;
        for (size_t i = 0; ok && i < n; i++) {
            cJSON *pair = cJSON_CreateArray();
            ok = pair && cJSON_AddItemToArray(pauses, pair) && add_time(pair, "from", iv[i].from) &&
                 add_time(pair, "to", iv[i].to);
        }
        free(iv);
    }
    ok = ok && cJSON_AddNumberToObject(o, "sla_flags", w->sla_flags) &&
         cJSON_AddNumberToObject(o, "escalation_level", w->escalation_level);
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text)
        return crm__error_nomem();
    *out = text;
    return 0;
}

/* ---- pauses ----------------------------------------------------------- */

int crm__workorder_pauses(crm_interval **out, size_t *n, const crm_workorder *w, int64_t open_until)
{
    *out = NULL;
    *n = 0;
    cJSON *doc = w->pauses ? cJSON_Parse(w->pauses) : NULL;
    if (w->pauses && !cJSON_IsArray(doc)) {
        cJSON_Delete(doc);
        return crm_error_set(CRM_ESTORAGE, "work order %s: pauses: not a JSON array", w->id);
    }
    size_t count = (size_t)cJSON_GetArraySize(doc) + (w->paused_since ? 1 : 0);
    crm_interval *iv = count ? calloc(count, sizeof *iv) : NULL;
    if (count && !iv) {
        cJSON_Delete(doc);
        return crm__error_nomem();
    }
    size_t k = 0;
    for (const cJSON *p = doc ? doc->child : NULL; p; p = p->next) {
        const cJSON *a = cJSON_GetArrayItem(p, 0), *b = cJSON_GetArrayItem(p, 1);
        if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b)) {
            free(iv);
            cJSON_Delete(doc);
            return crm_error_set(CRM_ESTORAGE, "work order %s: pauses[%zu]: expected [from, to]", w->id, k);
        }
        iv[k++] = (crm_interval){ (int64_t)a->valuedouble, (int64_t)b->valuedouble };
    }
    cJSON_Delete(doc);
    if (w->paused_since)
        iv[k++] = (crm_interval){ w->paused_since, open_until };
    *out = iv;
    *n = k;
    return 0;
}

/* The finished pauses with [from, to) appended, as JSON text (malloc'ed). */
static char *pauses_append(const char *pauses, int64_t from, int64_t to)
{
    char pair[64];
    snprintf(pair, sizeof pair, "[%lld,%lld]", (long long)from, (long long)to);
    crm_buf b = CRM_BUF_INIT;
    if (pauses && strlen(pauses) > 2) {
        crm__buf_append(&b, pauses, strlen(pauses) - 1); /* without the closing ']' */
        crm__buf_puts(&b, ",");
    } else {
        crm__buf_puts(&b, "[");
    }
    crm__buf_puts(&b, pair);
    crm__buf_puts(&b, "]");
    if (b.failed) {
        crm__buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* ---- reads ------------------------------------------------------------ */

static int get_borrowed(crm_db *db, const char *id, crm_workorder *out)
{
    if (!db || !id)
        return crm_error_set(CRM_EINVALID, "%s: required", db ? "id" : "db");
    int rc = crm__workorder_supported(db);
    if (rc)
        return rc;
    if (!crm__id_valid(id))
        return crm_error_set(CRM_EINVALID, "id: expected a UUID");
    return db->backend->workorder_get(db->backend, &db->scope, id, out);
}

int crm_workorder_get(crm_workorder **out, crm_db *db, const char *id)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: required");
    *out = NULL;
    crm_workorder w;
    int rc = get_borrowed(db, id, &w);
    if (rc)
        return rc;
    if (!(*out = crm__workorder_dup(&w)))
        return crm__error_nomem();
    return 0;
}

int crm_workorder_get_json(char **out, crm_db *db, const char *id)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: required");
    *out = NULL;
    crm_workorder w;
    int rc = get_borrowed(db, id, &w);
    return rc ? rc : crm_workorder_to_json(out, &w);
}

/* ---- create ----------------------------------------------------------- */

typedef struct wo_field {
    const char *name;
    size_t offset;
    size_t max;
    bool multiline;
} wo_field;

static const wo_field wo_fields[] = {
    { "type", offsetof(crm_workorder, type), SHORT_MAX, false },
    { "category", offsetof(crm_workorder, category), SHORT_MAX, false },
    { "channel", offsetof(crm_workorder, channel), SHORT_MAX, false },
    { "customer_id", offsetof(crm_workorder, customer_id), SHORT_MAX, false },
    { "lead_id", offsetof(crm_workorder, lead_id), SHORT_MAX, false },
    { "vin", offsetof(crm_workorder, vin), 17, false },
    { "dealer_id", offsetof(crm_workorder, dealer_id), 64, false },
    { "queue", offsetof(crm_workorder, queue), SHORT_MAX, false },
    { "assignee", offsetof(crm_workorder, assignee), SHORT_MAX, false },
    { "subject", offsetof(crm_workorder, subject), SUBJECT_MAX, false },
    { "description", offsetof(crm_workorder, description), TEXT_MAX, true },
};

static int parse_create(crm_workorder *w, cJSON *doc, char **attributes)
{
    if (!cJSON_IsObject(doc))
        return crm_error_set(CRM_EINVALID, "workorder: expected a JSON object");
    for (const cJSON *e = doc->child; e; e = e->next) {
        const char *k = e->string;
        const wo_field *f = NULL;
        for (size_t i = 0; i < sizeof wo_fields / sizeof wo_fields[0]; i++)
            if (strcmp(k, wo_fields[i].name) == 0)
                f = &wo_fields[i];
        if (f) {
            if (cJSON_IsNull(e))
                continue;
            const char *v = cJSON_GetStringValue(e);
            if (!v)
                return crm_error_set(CRM_EINVALID, "%s: expected a string", k);
            int rc = check_text(k, v, f->max, f->multiline);
            if (rc)
                return rc;
            memcpy((char *)w + f->offset, &v, sizeof v);
        } else if (strcmp(k, "priority") == 0) {
            double p = cJSON_IsNumber(e) ? e->valuedouble : 0;
            if (p != 1 && p != 2 && p != 3 && p != 4)
                return crm_error_set(CRM_EINVALID, "priority: expected 1 (urgent) to 4 (low)");
            w->priority = (int)p;
        } else if (strcmp(k, "attributes") == 0) {
            if (cJSON_IsNull(e))
                continue;
            if (!cJSON_IsObject(e))
                return crm_error_set(CRM_EINVALID, "attributes: expected an object");
            if (!(*attributes = cJSON_PrintUnformatted(e)))
                return crm__error_nomem();
            w->attributes = *attributes;
        } else if (strcmp(k, "created_at") == 0) {
            const char *v = cJSON_GetStringValue(e);
            if (!v || crm__time_parse(v, &w->created_at) != 0)
                return crm_error_set(CRM_EINVALID, "created_at: expected an ISO-8601 time");
        } else {
            return crm_error_set(CRM_EINVALID, "%s: unknown field", k);
        }
    }
    if (!w->type)
        return crm_error_set(CRM_EINVALID, "type: required");
    if (!w->subject)
        return crm_error_set(CRM_EINVALID, "subject: required");
    if (w->vin)
        return check_vin(w->vin);
    return 0;
}

int crm_workorder_create(char *out_id, crm_db *db, const char *json)
{
    if (out_id)
        out_id[0] = '\0';
    if (!db || !json)
        return crm_error_set(CRM_EINVALID, "%s: required", db ? "json" : "db");
    int rc = crm__workorder_supported(db);
    if (rc)
        return rc;
    cJSON *doc = cJSON_Parse(json);
    if (!doc)
        return crm_error_set(CRM_EINVALID, "workorder: not valid JSON");
    int64_t now = crm_db_now(db);
    crm_workorder w = { .priority = 3 };
    char *attributes = NULL;
    rc = parse_create(&w, doc, &attributes);
    if (rc == 0 && !w.dealer_id)
        w.dealer_id = db->scope.dealer_id;
    else if (rc == 0 && db->scope.dealer_id && strcmp(w.dealer_id, db->scope.dealer_id) != 0)
        rc = crm_error_set(CRM_EPERM, "dealer_id: outside this handle's scope (dealer %s)", db->scope.dealer_id);
    char id[CRM_ID_LEN + 1];
    if (rc == 0) {
        crm__idgen_next(&db->idgen, now, id);
        w.id = id;
        if (!w.created_at)
            w.created_at = now;
        w.updated_at = now;
        w.status = w.assignee ? CRM_WO_ASSIGNED : CRM_WO_NEW;
        char data[256];
        snprintf(data, sizeof data, "{\"status\":\"%s\",\"priority\":%d}", crm_wo_status_name(w.status), w.priority);
        rc = crm__tx_begin(db);
        if (rc == 0) {
            rc = db->backend->workorder_insert(db->backend, &w);
            if (rc == 0)
                rc = crm__event_append(db, "workorder.created", "workorder", id, w.dealer_id, data);
            rc = crm__tx_end(db, rc);
        }
    }
    if (rc == 0 && out_id)
        memcpy(out_id, id, CRM_ID_LEN + 1);
    cJSON_free(attributes);
    cJSON_Delete(doc);
    return rc;
}

/* ---- changes ---------------------------------------------------------- */

/* Read a work order inside the open transaction as a copy the caller may change. */
static int load_for_change(crm_workorder **out, crm_db *db, const char *id)
{
    crm_workorder w;
    int rc = get_borrowed(db, id, &w);
    if (rc)
        return rc;
    if (!(*out = crm__workorder_dup(&w)))
        return crm__error_nomem();
    return 0;
}

/* An event's data: {"key":"value",...} from pairs; NULL values are skipped. */
static char *event_data(const char *const *pairs, size_t n)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && i + 1 < n; i += 2)
        if (pairs[i + 1] && !cJSON_AddStringToObject(o, pairs[i], pairs[i + 1])) {
            cJSON_Delete(o);
            return NULL;
        }
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}

int crm__workorder_save(crm_db *db, const crm_workorder *w, const char *kind, const char *data)
{
    int rc = db->backend->workorder_update(db->backend, w);
    if (rc == 0)
        rc = crm__event_append(db, kind, "workorder", w->id, w->dealer_id, data);
    return rc;
}

int crm_workorder_assign(crm_db *db, const char *id, const char *assignee, const char *queue)
{
    if (!db || !id || !assignee)
        return crm_error_set(CRM_EINVALID, "%s: required", !db ? "db" : !id ? "id" : "assignee");
    int rc = check_text("assignee", assignee, SHORT_MAX, false);
    if (rc == 0 && queue)
        rc = check_text("queue", queue, SHORT_MAX, false);
    if (rc)
        return rc;
    if ((rc = crm__tx_begin(db)))
        return rc;
    crm_workorder *w = NULL;
    char *data = NULL;
    rc = load_for_change(&w, db, id);
    if (rc == 0 && (w->status == CRM_WO_RESOLVED || w->status == CRM_WO_CLOSED))
        rc = crm_error_set(CRM_ECONFLICT, "work order %s: cannot assign a %s work order (reopen it first)", id,
                           crm_wo_status_name(w->status));
    if (rc == 0) {
        const char *from_status = crm_wo_status_name(w->status);
        const char *pairs[] = { "assignee", assignee, "from_assignee", w->assignee, "queue", queue,
                                "from_queue", queue ? w->queue : NULL, "from", from_status,
                                "to", w->status == CRM_WO_NEW ? "assigned" : NULL };
        data = event_data(pairs, sizeof pairs / sizeof pairs[0]);
        if (!data)
            rc = crm__error_nomem();
        w->assignee = assignee;
        if (queue)
            w->queue = queue;
        if (w->status == CRM_WO_NEW)
            w->status = CRM_WO_ASSIGNED;
        w->updated_at = crm_db_now(db);
    }
    if (rc == 0)
        rc = crm__workorder_save(db, w, "workorder.assigned", data);
    free(data);
    free(w);
    return crm__tx_end(db, rc);
}

static bool move_allowed(crm_wo_status from, crm_wo_status to)
{
    switch (from) {
    case CRM_WO_NEW:
        return to == CRM_WO_ASSIGNED;
    case CRM_WO_ASSIGNED:
        return to == CRM_WO_IN_PROGRESS;
    case CRM_WO_IN_PROGRESS:
        return to == CRM_WO_WAITING_CUSTOMER || to == CRM_WO_RESOLVED;
    case CRM_WO_WAITING_CUSTOMER:
        return to == CRM_WO_IN_PROGRESS || to == CRM_WO_RESOLVED;
    case CRM_WO_RESOLVED:
        return to == CRM_WO_CLOSED || to == CRM_WO_IN_PROGRESS;
    case CRM_WO_CLOSED:
        return to == CRM_WO_IN_PROGRESS;
    }
    return false;
}

int crm_workorder_move(crm_db *db, const char *id, crm_wo_status to, const char *note)
{
    if (!db || !id)
        return crm_error_set(CRM_EINVALID, "%s: required", db ? "id" : "db");
    if (!crm_wo_status_name(to))
        return crm_error_set(CRM_EINVALID, "to: %d is not a status", (int)to);
    int rc = note ? check_text("note", note, TEXT_MAX, true) : 0;
    if (rc || (rc = crm__tx_begin(db)))
        return rc;
    crm_workorder *w = NULL;
    char *pauses = NULL, *data = NULL;
    rc = load_for_change(&w, db, id);
    if (rc == 0 && !move_allowed(w->status, to))
        rc = crm_error_set(CRM_ECONFLICT, "work order %s: cannot move from %s to %s", id,
                           crm_wo_status_name(w->status), crm_wo_status_name(to));
    if (rc == 0 && to == CRM_WO_ASSIGNED && !w->assignee)
        rc = crm_error_set(CRM_ECONFLICT, "work order %s: cannot move from new to assigned without an assignee "
                                          "(use crm_workorder_assign)", id);
    if (rc == 0) {
        int64_t now = crm_db_now(db);
        crm_wo_status from = w->status;
        bool reopen = (from == CRM_WO_RESOLVED || from == CRM_WO_CLOSED) && to == CRM_WO_IN_PROGRESS;
        /* Leaving the wait for the customer ends a pause of the SLA clock. */
        if (from == CRM_WO_WAITING_CUSTOMER) {
            if (!(pauses = pauses_append(w->pauses, w->paused_since, now)))
                rc = crm__error_nomem();
            w->pauses = pauses;
            w->paused_since = 0;
        }
        if (to == CRM_WO_WAITING_CUSTOMER)
            w->paused_since = now;
        if (to == CRM_WO_IN_PROGRESS && !w->first_response_at)
            w->first_response_at = now;
        if (to == CRM_WO_RESOLVED)
            w->resolved_at = now;
        if (to == CRM_WO_CLOSED)
            w->closed_at = now;
        /* The time it stayed resolved does not count against the SLA of
         * the reopened order: it becomes a pause. */
        if (reopen && w->resolved_at) {
            if (!(pauses = pauses_append(w->pauses, w->resolved_at, now)))
                rc = crm__error_nomem();
            w->pauses = pauses;
        }
        if (reopen)
            w->resolved_at = w->closed_at = 0;
        w->status = to;
        w->updated_at = now;
        const char *pairs[] = { "from", crm_wo_status_name(from), "to", crm_wo_status_name(to), "note", note };
        if (rc == 0 && !(data = event_data(pairs, sizeof pairs / sizeof pairs[0])))
            rc = crm__error_nomem();
        if (rc == 0)
            rc = crm__workorder_save(db, w, reopen ? "workorder.reopened" : "workorder.moved", data);
    }
    free(data);
    free(pauses);
    free(w);
    return crm__tx_end(db, rc);
}

int crm_workorder_comment(char *out_id, crm_db *db, const char *id, const char *body, crm_wo_visibility visibility)
{
    if (out_id)
        out_id[0] = '\0';
    if (!db || !id || !body)
        return crm_error_set(CRM_EINVALID, "%s: required", !db ? "db" : !id ? "id" : "body");
    if (visibility != CRM_WO_INTERNAL && visibility != CRM_WO_PUBLIC)
        return crm_error_set(CRM_EINVALID, "visibility: expected internal (0) or public (1)");
    int rc = check_text("body", body, TEXT_MAX, true);
    if (rc || (rc = crm__tx_begin(db)))
        return rc;
    crm_workorder *w = NULL;
    rc = load_for_change(&w, db, id);
    char cid[CRM_ID_LEN + 1];
    if (rc == 0) {
        int64_t now = crm_db_now(db);
        crm__idgen_next(&db->idgen, now, cid);
        crm_wo_comment c = { cid, w->id, w->dealer_id, now, db->actor, visibility, body };
        rc = db->backend->wo_comment_insert(db->backend, &c);
        /* The first answer the customer sees is the first response. */
        if (visibility == CRM_WO_PUBLIC && !w->first_response_at)
            w->first_response_at = now;
        w->updated_at = now;
        char data[128];
        snprintf(data, sizeof data, "{\"comment_id\":\"%s\",\"visibility\":\"%s\"}", cid,
                 visibility == CRM_WO_PUBLIC ? "public" : "internal");
        if (rc == 0)
            rc = crm__workorder_save(db, w, "workorder.commented", data);
    }
    free(w);
    rc = crm__tx_end(db, rc);
    if (rc == 0 && out_id)
        memcpy(out_id, cid, CRM_ID_LEN + 1);
    return rc;
}

/* ---- lists ------------------------------------------------------------ */

int crm_workorder_iter_new(crm_iter **out, crm_db *db, const crm_workorder_filter *filter)
{
    if (!out || !db)
        return crm_error_set(CRM_EINVALID, "%s: required", out ? "db" : "out");
    *out = NULL;
    int rc = crm__workorder_supported(db);
    if (rc)
        return rc;
    if (filter && (filter->version < 1 || filter->version > CRM_WORKORDER_FILTER_VERSION))
        return crm_error_set(CRM_EINVALID, "filter.version: %u is not supported", filter->version);
    if (filter && filter->statuses >> CRM_WO_STATUS_COUNT)
        return crm_error_set(CRM_EINVALID, "filter.statuses: unknown status bits 0x%x", filter->statuses);
    crm_backend_iter *cursor;
    rc = db->backend->workorder_scan(db->backend, &db->scope, filter, &cursor);
    return rc ? rc : crm__iter_new(out, db, CRM_ITER_WORKORDER, cursor);
}

int crm_workorder_next(const crm_workorder **out, crm_iter *iter)
{
    if (!out || !iter)
        return crm_error_set(CRM_EINVALID, "%s: required", out ? "iter" : "out");
    int rc = crm__iter_step(iter, CRM_ITER_WORKORDER, &iter->current.workorder);
    *out = rc == 0 ? &iter->current.workorder : NULL;
    return rc;
}

int crm_wo_comment_iter_new(crm_iter **out, crm_db *db, const char *workorder_id)
{
    if (!out || !db || !workorder_id)
        return crm_error_set(CRM_EINVALID, "%s: required", !out ? "out" : !db ? "db" : "workorder_id");
    *out = NULL;
    int rc = crm__workorder_supported(db);
    if (rc)
        return rc;
    if (!crm__id_valid(workorder_id))
        return crm_error_set(CRM_EINVALID, "workorder_id: expected a UUID");
    crm_backend_iter *cursor;
    rc = db->backend->wo_comment_scan(db->backend, &db->scope, workorder_id, &cursor);
    return rc ? rc : crm__iter_new(out, db, CRM_ITER_WO_COMMENT, cursor);
}

int crm_wo_comment_next(const crm_wo_comment **out, crm_iter *iter)
{
    if (!out || !iter)
        return crm_error_set(CRM_EINVALID, "%s: required", out ? "iter" : "out");
    int rc = crm__iter_step(iter, CRM_ITER_WO_COMMENT, &iter->current.wo_comment);
    *out = rc == 0 ? &iter->current.wo_comment : NULL;
    return rc;
}

int crm_workorder_events_iter_new(crm_iter **out, crm_db *db, const char *kind, int64_t since)
{
    if (!out || !db || !kind)
        return crm_error_set(CRM_EINVALID, "%s: required", !out ? "out" : !db ? "db" : "kind");
    *out = NULL;
    int rc = crm__workorder_supported(db);
    if (rc || (rc = check_text("kind", kind, SHORT_MAX, false)))
        return rc;
    crm_backend_iter *cursor;
    rc = db->backend->event_scan_kind(db->backend, &db->scope, kind, since, &cursor);
    return rc ? rc : crm__iter_new(out, db, CRM_ITER_EVENT, cursor);
}
