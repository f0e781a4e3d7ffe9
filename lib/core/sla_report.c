/* SLA analytics: compliance, mean and 90th percentile of business time to
 * first response and to resolution, backlog by age; per queue, dealer,
 * type or month. Streams the work orders once; keeps per group only the
 * durations that the percentile needs. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define DAY_MS 86400000LL
#define CN_OFFSET_MS (8 * 3600000LL)

typedef struct durations {
    int64_t *ms;
    size_t n, cap;
    size_t met, breached;
} durations;

typedef struct group {
    char *key;
    size_t count, open;
    durations response, resolution;
    size_t age[4];
} group;

static const char *const age_names[4] = { "0-1d", "1-3d", "3-7d", "7d+" };
static const char *const group_names[] = { "none", "queue", "dealer", "type", "month" };

static int push(durations *d, int64_t ms)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        int64_t *p = realloc(d->ms, cap * sizeof *p);
        if (!p)
            return crm__error_nomem();
        d->ms = p;
        d->cap = cap;
    }
    d->ms[d->n++] = ms;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int add_state(durations *d, crm_sla_state state, int64_t ms, bool done)
{
    if (state == CRM_SLA_MET)
        d->met++;
    else if (state == CRM_SLA_BREACHED)
        d->breached++;
    return done && state != CRM_SLA_NONE ? push(d, ms) : 0;
}

static cJSON *durations_json(durations *d)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    size_t decided = d->met + d->breached;
    bool ok = cJSON_AddNumberToObject(o, "met", (double)d->met) &&
              cJSON_AddNumberToObject(o, "breached", (double)d->breached);
    ok = ok && (decided ? cJSON_AddNumberToObject(o, "compliance", round((double)d->met / (double)decided * 1000) / 1000)
                        : cJSON_AddNullToObject(o, "compliance"));
    if (ok && d->n) {
        qsort(d->ms, d->n, sizeof *d->ms, cmp_i64);
        double sum = 0;
        for (size_t i = 0; i < d->n; i++)
            sum += (double)d->ms[i];
        size_t rank = (size_t)ceil(0.9 * (double)d->n); /* nearest rank, 1-based */
        ok = cJSON_AddNumberToObject(o, "mean_minutes", round(sum / (double)d->n / 60000.0 * 10) / 10) &&
             cJSON_AddNumberToObject(o, "p90_minutes", round((double)d->ms[rank - 1] / 60000.0 * 10) / 10);
    } else if (ok) {
        ok = cJSON_AddNullToObject(o, "mean_minutes") && cJSON_AddNullToObject(o, "p90_minutes");
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int cmp_group(const void *a, const void *b)
{
    return strcmp(((const group *)a)->key, ((const group *)b)->key);
}

static void key_of(char *out, size_t cap, const crm_workorder *w, crm_sla_group by)
{
    const char *v = NULL;
    switch (by) {
    case CRM_SLA_GROUP_NONE:
        v = "all";
        break;
    case CRM_SLA_GROUP_QUEUE:
        v = w->queue;
        break;
    case CRM_SLA_GROUP_DEALER:
        v = w->dealer_id;
        break;
    case CRM_SLA_GROUP_TYPE:
        v = w->type;
        break;
    case CRM_SLA_GROUP_MONTH: {
        char iso[CRM_ISO_TIME_LEN + 1];
        crm__time_format(w->created_at + CN_OFFSET_MS, iso);
        snprintf(out, cap, "%.7s", iso);
        return;
    }
    }
    snprintf(out, cap, "%s", v ? v : "");
}

static int account(group *g, const crm_sla_policy *policy, const crm_workorder *w, int64_t as_of)
{
    crm_sla_status st;
    int rc = crm_sla_evaluate(&st, policy, w, as_of);
    if (rc)
        return rc;
    g->count++;
    /* Open as of then: not resolved yet (a close keeps the resolution time). */
    bool open = !w->resolved_at || w->resolved_at > as_of;
    if (open) {
        g->open++;
        int64_t age = as_of - w->created_at;
        g->age[age < DAY_MS ? 0 : age < 3 * DAY_MS ? 1 : age < 7 * DAY_MS ? 2 : 3]++;
    }
    rc = add_state(&g->response, st.response, st.response_ms, w->first_response_at && w->first_response_at <= as_of);
    if (rc == 0)
        rc = add_state(&g->resolution, st.resolution, st.resolution_ms, w->resolved_at && w->resolved_at <= as_of);
    return rc;
}

int crm_sla_report(char **out, crm_db *db, const crm_sla_policy *policy, const crm_sla_report_options *opts)
{
    if (!out || !db || !policy)
        return crm_error_set(CRM_EINVALID, "%s: required", !out ? "out" : !db ? "db" : "policy");
    *out = NULL;
    crm_sla_report_options o = CRM_SLA_REPORT_OPTIONS_INIT;
    if (opts) {
        if (opts->version < 1 || opts->version > CRM_SLA_REPORT_OPTIONS_VERSION)
            return crm_error_set(CRM_EINVALID, "options.version: %u is not supported", opts->version);
        if ((unsigned)opts->group_by > CRM_SLA_GROUP_MONTH)
            return crm_error_set(CRM_EINVALID, "options.group_by: %d is not a grouping", (int)opts->group_by);
        o = *opts;
    }
    if (!o.as_of)
        o.as_of = crm_db_now(db);
    int rc = crm__workorder_supported(db);
    if (rc)
        return rc;
    crm_workorder_filter f = CRM_WORKORDER_FILTER_INIT;
    f.created_from = o.created_from;
    f.created_to = o.created_to;
    crm_backend_iter *it;
    if ((rc = db->backend->workorder_scan(db->backend, &db->scope, &f, &it)))
        return rc;
    group *groups = NULL;
    size_t n = 0, cap = 0;
    crm_workorder w;
    while ((rc = it->next(it, &w)) == 0) {
        if (w.created_at > o.as_of)
            continue;
        char key[160];
        key_of(key, sizeof key, &w, o.group_by);
        size_t i = 0;
        while (i < n && strcmp(groups[i].key, key) != 0)
            i++;
        if (i == n) {
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 8;
                group *p = realloc(groups, ncap * sizeof *p);
                if (!p) {
                    rc = crm__error_nomem();
                    break;
                }
                groups = p;
                cap = ncap;
            }
            memset(&groups[n], 0, sizeof groups[n]);
            if (!(groups[n].key = crm__strdup(key))) {
                rc = crm__error_nomem();
                break;
            }
            n++;
        }
        if ((rc = account(&groups[i], policy, &w, o.as_of)))
            break;
    }
    it->free(it);
    if (rc == CRM_ITEROVER)
        rc = 0;
    cJSON *doc = NULL;
    if (rc == 0) {
        if (n > 1)
            qsort(groups, n, sizeof *groups, cmp_group);
        char at[CRM_ISO_TIME_LEN + 1];
        crm__time_format(o.as_of, at);
        doc = cJSON_CreateObject();
        cJSON *arr = doc ? cJSON_AddArrayToObject(doc, "groups") : NULL;
        bool ok = arr && cJSON_AddStringToObject(doc, "as_of", at) &&
                  cJSON_AddStringToObject(doc, "group_by", group_names[o.group_by]);
        for (size_t i = 0; ok && i < n; i++) {
            group *g = &groups[i];
            cJSON *go = cJSON_CreateObject(), *ages = NULL;
            ok = go && cJSON_AddItemToArray(arr, go);
            if (!ok) {
                cJSON_Delete(go);
                break;
            }
            cJSON *resp = durations_json(&g->response), *res = durations_json(&g->resolution);
            ok = cJSON_AddStringToObject(go, "key", g->key) && cJSON_AddNumberToObject(go, "count", (double)g->count) &&
                 cJSON_AddNumberToObject(go, "open", (double)g->open) && resp &&
                 cJSON_AddItemToObject(go, "first_response", resp);
            if (!ok) {
                cJSON_Delete(resp);
                cJSON_Delete(res);
                break;
            }
            ok = res && cJSON_AddItemToObject(go, "resolution", res);
            if (!ok) {
                cJSON_Delete(res);
                break;
            }
            ages = cJSON_AddObjectToObject(go, "backlog_by_age");
            for (int a = 0; ok && a < 4; a++)
                ok = ages && cJSON_AddNumberToObject(ages, age_names[a], (double)g->age[a]);
        }
        char *text = ok ? cJSON_PrintUnformatted(doc) : NULL;
        if (!text)
            rc = crm__error_nomem();
        *out = text;
    }
    cJSON_Delete(doc);
    for (size_t i = 0; i < n; i++) {
        free(groups[i].key);
        free(groups[i].response.ms);
        free(groups[i].resolution.ms);
    }
    free(groups);
    return rc;
}
