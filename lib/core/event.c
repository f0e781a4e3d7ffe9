#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

int crm__event_append(crm_db *db, const char *kind, const char *entity_type, const char *entity_id,
                      const char *dealer_id, const char *data_json)
{
    char id[CRM_ID_LEN + 1];
    int64_t now = crm_db_now(db);
    crm__idgen_next(&db->idgen, now, id);
    crm_event e = {
        .id = id,
        .at = now,
        .kind = kind,
        .entity_type = entity_type,
        .entity_id = entity_id,
        .dealer_id = dealer_id,
        .actor = db->actor,
        .data = data_json,
    };
    return db->backend->event_append(db->backend, &e);
}

int crm_event_iter_new(crm_iter **out, crm_db *db, const char *entity_id)
{
    if (!out || !db || !entity_id)
        return crm_error_set(CRM_EINVALID, "%s: required", !out ? "out" : !db ? "db" : "entity_id");
    *out = NULL;
    /* Records are keyed by UUID, but some by a natural key (a tag's name, a
     * vehicle's VIN): any short text names a record. */
    size_t len = strlen(entity_id);
    if (len == 0 || len > 128 || !crm__utf8_valid(entity_id, len))
        return crm_error_set(CRM_EINVALID, "entity_id: expected 1 to 128 bytes of UTF-8");
    crm_backend_iter *cursor;
    int rc = db->backend->event_scan(db->backend, &db->scope, entity_id, &cursor);
    if (rc == 0)
        rc = crm__iter_new(out, db, CRM_ITER_EVENT, cursor);
    return rc;
}

int crm_event_next(const crm_event **out, crm_iter *iter)
{
    if (!out || !iter)
        return crm_error_set(CRM_EINVALID, "%s: required", out ? "iter" : "out");
    int rc = crm__iter_step(iter, CRM_ITER_EVENT, &iter->current.event);
    *out = rc == 0 ? &iter->current.event : NULL;
    return rc;
}

int crm_event_to_json(char **out, const crm_event *e)
{
    if (!out || !e)
        return crm_error_set(CRM_EINVALID, "%s: required", out ? "event" : "out");
    *out = NULL;
    char at[CRM_ISO_TIME_LEN + 1];
    crm__time_format(e->at, at);
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddStringToObject(o, "id", e->id) && cJSON_AddStringToObject(o, "at", at) &&
              cJSON_AddStringToObject(o, "kind", e->kind) &&
              cJSON_AddStringToObject(o, "entity_type", e->entity_type) &&
              cJSON_AddStringToObject(o, "entity_id", e->entity_id) &&
              (e->dealer_id ? cJSON_AddStringToObject(o, "dealer_id", e->dealer_id)
                            : cJSON_AddNullToObject(o, "dealer_id")) &&
              cJSON_AddStringToObject(o, "actor", e->actor);
    if (ok) {
        cJSON *data = e->data ? cJSON_Parse(e->data) : cJSON_CreateNull();
        if (!data && e->data)
            data = cJSON_CreateString(e->data); /* stored text that is not JSON: show it as is */
        ok = data && cJSON_AddItemToObject(o, "data", data);
        if (!ok)
            cJSON_Delete(data);
    }
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text)
        return crm__error_nomem();
    *out = text;
    return 0;
}
