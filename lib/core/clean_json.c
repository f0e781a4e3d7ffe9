/*
 * Cleaning in JSON: one value by cleaner name, or a whole lead document,
 * for the CLI (`crm clean`) and the bindings.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clean_internal.h"
#include "util/util.h"

typedef int (*cleaner_fn)(crm_clean_result *, const char *);

static const struct {
    const char *kind;
    cleaner_fn fn;
} cleaners[] = {
    {"phone", crm_clean_phone}, {"name", crm_clean_name},       {"email", crm_clean_email},
    {"region", crm_clean_region}, {"id_card", crm_clean_id_card}, {"vin", crm_clean_vin},
};
#define CLEANER_COUNT (sizeof cleaners / sizeof cleaners[0])

static const char *const flag_names[] = {
    "changed", "empty", "invalid", "placeholder", "test", "virtual", "landline", "partial",
};

/* The result as a JSON object; NULL when out of memory. */
static cJSON *result_json(const crm_clean_result *r)
{
    cJSON *o = cJSON_CreateObject(), *flags = cJSON_AddArrayToObject(o, "flags"),
          *reasons = cJSON_AddArrayToObject(o, "reasons");
    if (!o || !flags || !reasons) {
        cJSON_Delete(o);
        return NULL;
    }
    bool ok = r->value ? cJSON_AddStringToObject(o, "value", r->value) != NULL
                       : cJSON_AddNullToObject(o, "value") != NULL;
    for (size_t i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++)
        if (r->flags & (1u << i))
            ok = ok && cJSON_AddItemToArray(flags, cJSON_CreateString(flag_names[i]));
    for (const char *p = r->reasons; ok && p && *p;) {
        size_t n = strcspn(p, ",");
        char *code = crm__strndup(p, n);
        ok = code && cJSON_AddItemToArray(reasons, cJSON_CreateString(code));
        free(code);
        p += n + (p[n] == ',');
    }
    const struct {
        const char *name, *value;
    } extra[] = {{"salutation", r->salutation}, {"key", r->key}, {"province", r->province}, {"city", r->city}};
    for (size_t i = 0; ok && i < sizeof extra / sizeof extra[0]; i++)
        if (extra[i].value)
            ok = cJSON_AddStringToObject(o, extra[i].name, extra[i].value) != NULL;
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int crm_clean_json(char **out, const char *kind, const char *raw)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: NULL");
    *out = NULL;
    cleaner_fn fn = NULL;
    for (size_t i = 0; kind && i < CLEANER_COUNT; i++)
        if (strcmp(kind, cleaners[i].kind) == 0)
            fn = cleaners[i].fn;
    if (!fn)
        return crm_error_set(CRM_EINVALID,
                             "kind: unknown cleaner '%.32s' (expected phone, name, email, region, "
                             "id_card or vin)",
                             kind ? kind : "(null)");
    crm_clean_result r = CRM_CLEAN_RESULT_INIT;
    int rc = fn(&r, raw);
    if (rc != 0)
        return rc;
    cJSON *o = result_json(&r);
    crm_clean_result_clear(&r);
    *out = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return *out ? 0 : crm__error_nomem();
}

/* A string member of the document, NULL when absent or null; -1 (error
 * set) when it is something else. */
static int string_field(const char **out, cJSON *doc, const char *name)
{
    cJSON *it = cJSON_GetObjectItemCaseSensitive(doc, name);
    *out = NULL;
    if (!it || cJSON_IsNull(it))
        return 0;
    if (!cJSON_IsString(it))
        return crm_error_set(CRM_EINVALID, "%s: expected a string", name);
    *out = it->valuestring;
    return 0;
}

void crm__quality_fold(crm__quality *q, const char *field, const crm_clean_result *r)
{
    bool contact_field = strcmp(field, "phone") == 0 || strcmp(field, "email") == 0;
    if (contact_field && r->value && !(r->flags & CRM_CLEAN_TEST))
        q->contact = true;
    if (strcmp(field, "phone") == 0 && (r->flags & CRM_CLEAN_TEST))
        q->level = CRM_LEAD_QUALITY_JUNK;
    else if ((r->flags & CRM__QUALITY_FLAGS) && q->level < CRM_LEAD_QUALITY_SUSPECT)
        q->level = CRM_LEAD_QUALITY_SUSPECT;
}

int crm__quality_end(crm__quality *q, bool has_wechat)
{
    if (has_wechat)
        q->contact = true;
    if (!q->contact)
        q->level = CRM_LEAD_QUALITY_JUNK;
    return q->level;
}

int crm_clean_lead_json(char **out, const char *json)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: NULL");
    *out = NULL;
    if (!json)
        return crm_error_set(CRM_EINVALID, "lead: required");
    cJSON *doc = cJSON_Parse(json);
    if (!doc || !cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        return crm_error_set(CRM_EINVALID, "lead: expected a JSON object");
    }
    int rc = 0;
    crm__quality quality = {0};
    cJSON *report = cJSON_CreateObject();
    if (!report)
        rc = crm__error_nomem();
    const char *const fields[] = {"phone", "name", "email", "region", "id_card", "vin"};
    for (size_t i = 0; rc == 0 && i < sizeof fields / sizeof fields[0]; i++) {
        const char *field = fields[i], *raw = NULL;
        char joined[2 * CRM_CLEAN_INPUT_MAX + 2];
        if ((rc = string_field(&raw, doc, field)) != 0)
            break;
        if (strcmp(field, "region") == 0 && !raw) {
            /* No free-text region: the province and city fields together. */
            const char *pv = NULL, *ct = NULL;
            if ((rc = string_field(&pv, doc, "province")) != 0 ||
                (rc = string_field(&ct, doc, "city")) != 0)
                break;
            if (!pv && !ct)
                continue;
            snprintf(joined, sizeof joined, "%s%s%s", pv ? pv : "", pv && ct ? " " : "", ct ? ct : "");
            raw = joined;
        }
        if (!raw)
            continue;
        crm_clean_result r = CRM_CLEAN_RESULT_INIT;
        if ((rc = cleaners[i].fn(&r, raw)) != 0)
            break;
        cJSON *res = result_json(&r);
        if (!res || !cJSON_AddItemToObject(report, field, res)) {
            cJSON_Delete(res);
            crm_clean_result_clear(&r);
            rc = crm__error_nomem();
            break;
        }
        if (strcmp(field, "region") == 0) {
            cJSON_DeleteItemFromObjectCaseSensitive(doc, "region");
            cJSON_DeleteItemFromObjectCaseSensitive(doc, "province");
            cJSON_DeleteItemFromObjectCaseSensitive(doc, "city");
            if ((r.province && !cJSON_AddStringToObject(doc, "province", r.province)) ||
                (r.city && !cJSON_AddStringToObject(doc, "city", r.city)))
                rc = crm__error_nomem();
        } else if (r.value) {
            if (!cJSON_ReplaceItemInObjectCaseSensitive(doc, field, cJSON_CreateString(r.value)))
                rc = crm__error_nomem();
        } else {
            cJSON_DeleteItemFromObjectCaseSensitive(doc, field);
        }
        crm__quality_fold(&quality, field, &r);
        crm_clean_result_clear(&r);
    }
    if (rc == 0) {
        const char *openid = NULL, *unionid = NULL;
        if ((rc = string_field(&openid, doc, "wechat_openid")) == 0 &&
            (rc = string_field(&unionid, doc, "wechat_unionid")) == 0) {
            int level = crm__quality_end(&quality, openid || unionid);
            if (!cJSON_AddStringToObject(report, "quality", crm_lead_quality_name((crm_lead_quality)level)) ||
                !cJSON_AddItemToObject(doc, "clean", report))
                rc = crm__error_nomem();
            else
                report = NULL;
        }
    }
    if (rc == 0 && !(*out = cJSON_PrintUnformatted(doc)))
        rc = crm__error_nomem();
    cJSON_Delete(report);
    cJSON_Delete(doc);
    return rc;
}
