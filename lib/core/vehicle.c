/* Vehicles by VIN and person–vehicle relations. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/vehicle_view.h"

#define VIN_LEN 17
#define MODEL_MAX 64

static const char *const role_names[] = { "owner", "driver" };

const char *crm_vehicle_role_name(crm_vehicle_role role)
{
    return (unsigned)role < 2 ? role_names[role] : NULL;
}

int crm_vehicle_role_parse(crm_vehicle_role *out, const char *name)
{
    if (!out || !name)
        return crm_error_set(CRM_EINVALID, "role: required");
    for (int i = 0; i < 2; i++) {
        if (strcmp(name, role_names[i]) == 0) {
            *out = (crm_vehicle_role)i;
            return 0;
        }
    }
    return crm_error_set(CRM_EINVALID, "role: unknown role '%.32s' (expected owner or driver)", name);
}

/* ISO 3779 transliteration of a VIN character, or -1 for one a VIN never has. */
static int vin_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    static const char letters[] = "ABCDEFGHJKLMNPRSTUVWXYZ";
    static const int values[] = { 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9 };
    const char *p = c ? strchr(letters, c) : NULL;
    return p ? values[p - letters] : -1;
}

/* Upper-case a VIN into out (VIN_LEN + 1 bytes) and check it. */
static int vin_normalise(const char *vin, char out[VIN_LEN + 1])
{
    if (!vin)
        return crm_error_set(CRM_EINVALID, "vin: required");
    size_t len = strlen(vin);
    if (len != VIN_LEN)
        return crm_error_set(CRM_EINVALID, "vin: expected 17 characters, got %zu", len);
    static const int weights[VIN_LEN] = { 8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2 };
    int sum = 0;
    for (size_t i = 0; i < VIN_LEN; i++) {
        char c = vin[i] >= 'a' && vin[i] <= 'z' ? (char)(vin[i] - 'a' + 'A') : vin[i];
        int v = vin_value(c);
        if (v < 0)
            return crm_error_set(CRM_EINVALID, "vin: character %zu ('%c') is not allowed (0-9, A-Z without I, O, Q)",
                                 i + 1, (unsigned char)vin[i] >= 0x20 && (unsigned char)vin[i] < 0x7F ? vin[i] : '?');
        out[i] = c;
        sum += v * weights[i];
    }
    out[VIN_LEN] = '\0';
    char check = sum % 11 == 10 ? 'X' : (char)('0' + sum % 11);
    if (out[8] != check)
        return crm_error_set(CRM_EINVALID, "vin: check digit is %c, expected %c", out[8], check);
    return 0;
}

int crm_vin_check(const char *vin)
{
    char v[VIN_LEN + 1];
    return vin_normalise(vin, v);
}

static int need_v2(crm_db *db)
{
    if (!db)
        return crm_error_set(CRM_EINVALID, "db: required");
    if (db->backend->version < CRM_BACKEND_VERSION_CUSTOMERS)
        return crm_error_set(CRM_ESTORAGE, "backend %s does not support vehicles", db->backend->name);
    return 0;
}

static bool add_time_or_null(cJSON *o, const char *name, int64_t t)
{
    if (!t)
        return cJSON_AddNullToObject(o, name) != NULL;
    char iso[CRM_ISO_TIME_LEN + 1];
    crm__time_format(t, iso);
    return cJSON_AddStringToObject(o, name, iso) != NULL;
}

int crm_vehicle_put(crm_db *db, const char *vin, const char *model, int year, int64_t purchased_at,
                    int64_t serviced_at)
{
    char v[VIN_LEN + 1];
    int rc = need_v2(db);
    if (rc == 0)
        rc = vin_normalise(vin, v);
    if (rc)
        return rc;
    size_t len = model ? strlen(model) : 0;
    if (len == 0 || len > MODEL_MAX || !crm__utf8_valid(model, len))
        return crm_error_set(CRM_EINVALID, "model: expected 1 to %d bytes of UTF-8", MODEL_MAX);
    if (year < 1980 || year > 2100)
        return crm_error_set(CRM_EINVALID, "year: expected 1980 to 2100, got %d", year);
    if (purchased_at < 0 || serviced_at < 0)
        return crm_error_set(CRM_EINVALID, "%s: must not be negative (0: unknown)",
                             purchased_at < 0 ? "purchased_at" : "serviced_at");
    rc = crm__tx_begin(db);
    if (rc)
        return rc;
    int64_t now = crm_db_now(db);
    crm_vehicle old;
    int grc = db->backend->vehicle_get(db->backend, v, &old);
    crm_vehicle rec = { v, model, year, purchased_at, serviced_at, grc == 0 ? old.created_at : now, now };
    rc = grc == 0 || grc == CRM_ENOTFOUND ? db->backend->vehicle_put(db->backend, &rec) : grc;
    if (rc == 0) {
        cJSON *o = cJSON_CreateObject();
        char *data = NULL;
        if (o && cJSON_AddStringToObject(o, "vin", v) && cJSON_AddStringToObject(o, "model", model) &&
            cJSON_AddNumberToObject(o, "year", year))
            data = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        /* Vehicles have no UUID: their events hang on the VIN. */
        rc = data ? crm__event_append(db, grc == 0 ? "vehicle.updated" : "vehicle.registered", "vehicle", v, NULL, data)
                  : crm__error_nomem();
        cJSON_free(data);
    }
    return crm__tx_end(db, rc);
}

int crm_vehicle_relate(crm_db *db, const char *vin, const char *customer_id, crm_vehicle_role role, int64_t since,
                       int64_t until)
{
    char v[VIN_LEN + 1];
    int rc = need_v2(db);
    if (rc == 0)
        rc = vin_normalise(vin, v);
    if (rc == 0 && (!customer_id || !crm__id_valid(customer_id)))
        rc = crm_error_set(CRM_EINVALID, "customer_id: expected a UUID");
    if (rc == 0 && (unsigned)role > CRM_VEHICLE_DRIVER)
        rc = crm_error_set(CRM_EINVALID, "role: expected owner or driver");
    if (rc)
        return rc;
    if (since == 0)
        since = crm_db_now(db);
    if (since < 0 || until < 0 || (until && until <= since))
        return crm_error_set(CRM_EINVALID, "until: must be after since (0: still)");
    rc = crm__tx_begin(db);
    if (rc)
        return rc;
    crm_vehicle veh;
    crm_customer c;
    rc = db->backend->vehicle_get(db->backend, v, &veh);
    if (rc == 0)
        rc = db->backend->customer_get(db->backend, &db->scope, customer_id, &c);
    if (rc == 0 && c.merged_into)
        rc = crm_error_set(CRM_ECONFLICT, "customer %s: merged into %s", customer_id, c.merged_into);
    char dealer[72] = "";
    if (rc == 0 && c.dealer_id)
        snprintf(dealer, sizeof dealer, "%s", c.dealer_id);
    crm_vehicle_person r = { v, customer_id, role, since, until };
    if (rc == 0)
        rc = db->backend->vehicle_person_put(db->backend, &r);
    if (rc == 0) {
        char data[160];
        snprintf(data, sizeof data, "{\"vin\":\"%s\",\"role\":\"%s\",\"until\":%s}", v, role_names[role],
                 until ? "\"set\"" : "null");
        rc = crm__event_append(db, "customer.vehicle", "customer", customer_id, dealer[0] ? dealer : NULL, data);
    }
    return crm__tx_end(db, rc);
}

/* Stream relations into a JSON array, with the vehicle inline (by customer)
 * or the person (by vehicle). */
static int relations(crm_db *db, const char *vin, const char *customer_id, cJSON *arr)
{
    crm_backend_iter *it;
    int rc = db->backend->vehicle_person_scan(db->backend, vin, customer_id, &it);
    if (rc)
        return rc;
    crm_vehicle_person r;
    cJSON *rows = cJSON_CreateArray();
    while (rows && (rc = it->next(it, &r)) == 0) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(rows, o) || !cJSON_AddStringToObject(o, "vin", r.vin) ||
            !cJSON_AddStringToObject(o, "customer_id", r.customer_id) ||
            !cJSON_AddStringToObject(o, "role", role_names[r.role]) || !add_time_or_null(o, "since", r.since) ||
            !add_time_or_null(o, "until", r.until)) {
            rc = crm__error_nomem();
            break;
        }
    }
    it->free(it);
    if (!rows)
        return crm__error_nomem();
    rc = rc == CRM_ITEROVER ? 0 : rc;
    /* Dealer scope: a person outside it is left out; vehicles join in. */
    cJSON *o;
    while (rc == 0 && (o = cJSON_DetachItemFromArray(rows, 0)) != NULL) {
        const char *cid = cJSON_GetObjectItem(o, "customer_id")->valuestring;
        crm_customer c;
        int grc = db->backend->customer_get(db->backend, &db->scope, cid, &c);
        if (grc == CRM_ENOTFOUND) {
            cJSON_Delete(o);
            continue;
        }
        rc = grc;
        if (rc == 0 && customer_id) {
            crm_vehicle v;
            rc = db->backend->vehicle_get(db->backend, cJSON_GetObjectItem(o, "vin")->valuestring, &v);
            if (rc == 0 && (!cJSON_AddStringToObject(o, "model", v.model) || !cJSON_AddNumberToObject(o, "year", v.year) ||
                            !add_time_or_null(o, "purchased_at", v.purchased_at) ||
                            !add_time_or_null(o, "serviced_at", v.serviced_at)))
                rc = crm__error_nomem();
            cJSON_DeleteItemFromObject(o, "customer_id");
        } else if (rc == 0) {
            cJSON_DeleteItemFromObject(o, "vin");
        }
        cJSON_AddItemToArray(arr, o);
    }
    cJSON_Delete(rows);
    return rc;
}

int crm__customer_vehicles(crm_db *db, const char *customer_id, cJSON *arr)
{
    return relations(db, NULL, customer_id, arr);
}

static int print(char **out, cJSON *o, int rc)
{
    char *text = rc == 0 && o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (rc == 0 && !text)
        rc = crm__error_nomem();
    *out = text;
    return rc;
}

int crm_vehicle_get_json(char **out, crm_db *db, const char *vin)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: required");
    *out = NULL;
    char v[VIN_LEN + 1];
    int rc = need_v2(db);
    if (rc == 0)
        rc = vin_normalise(vin, v);
    crm_vehicle veh;
    if (rc == 0)
        rc = db->backend->vehicle_get(db->backend, v, &veh);
    if (rc)
        return rc;
    cJSON *o = cJSON_CreateObject();
    cJSON *people = cJSON_CreateArray();
    bool ok = o && people && cJSON_AddStringToObject(o, "vin", veh.vin) &&
              cJSON_AddStringToObject(o, "model", veh.model) && cJSON_AddNumberToObject(o, "year", veh.year) &&
              add_time_or_null(o, "purchased_at", veh.purchased_at) &&
              add_time_or_null(o, "serviced_at", veh.serviced_at) && cJSON_AddItemToObject(o, "people", people);
    if (!ok) {
        cJSON_Delete(people);
        cJSON_Delete(o);
        return crm__error_nomem();
    }
    return print(out, o, relations(db, v, NULL, people));
}

int crm_customer_vehicles_json(char **out, crm_db *db, const char *customer_id)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: required");
    *out = NULL;
    int rc = need_v2(db);
    if (rc == 0 && (!customer_id || !crm__id_valid(customer_id)))
        rc = crm_error_set(CRM_EINVALID, "customer_id: expected a UUID");
    crm_customer c;
    if (rc == 0)
        rc = db->backend->customer_get(db->backend, &db->scope, customer_id, &c);
    if (rc)
        return rc;
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return crm__error_nomem();
    return print(out, arr, crm__customer_vehicles(db, customer_id, arr));
}
