/*
 * The conversion funnel: stream the leads in scope and their stages once,
 * accumulate per group, then derive conversions and averages.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define NONE_GROUP "(none)"

static const char *const by_names[] = { "all", "channel", "campaign", "dealer", "model", "month" };
#define BY_COUNT (sizeof by_names / sizeof by_names[0])

typedef struct group_acc {
    char *key;
    crm_funnel_row row; /* row.group points at key once finished */
    double stage_sum[CRM_FUNNEL_STAGES];
    int64_t stage_n[CRM_FUNNEL_STAGES];
    double response_sum;
} group_acc;

struct crm_funnel {
    crm_funnel_by by;
    group_acc *g;
    size_t n, cap;
    uint32_t *table; /* index + 1 by key hash; 0 is empty */
    size_t mask;
};

const char *crm_funnel_by_name(crm_funnel_by by)
{
    return (unsigned)by < BY_COUNT ? by_names[by] : NULL;
}

int crm_funnel_by_parse(crm_funnel_by *out, const char *name)
{
    if (!out || !name)
        return crm_error_set(CRM_EINVALID, "by: required");
    for (size_t i = 0; i < BY_COUNT; i++) {
        if (strcmp(name, by_names[i]) == 0) {
            *out = (crm_funnel_by)i;
            return 0;
        }
    }
    return crm_error_set(CRM_EINVALID,
                         "by: unknown grouping '%.32s' (expected all, channel, campaign, dealer, model or month)", name);
}

void crm_funnel_free(crm_funnel *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        free(f->g[i].key);
    free(f->g);
    free(f->table);
    free(f);
}

static int grow_table(crm_funnel *f)
{
    size_t cap = f->mask ? (f->mask + 1) * 2 : 64;
    uint32_t *t = calloc(cap, sizeof *t);
    if (!t)
        return crm__error_nomem();
    for (size_t i = 0; i < f->n; i++) {
        size_t j = crm__hash_text(f->g[i].key) & (cap - 1);
        while (t[j])
            j = (j + 1) & (cap - 1);
        t[j] = (uint32_t)(i + 1);
    }
    free(f->table);
    f->table = t;
    f->mask = cap - 1;
    return 0;
}

/* The accumulator of a group, made when new. */
static int group_of(group_acc **out, crm_funnel *f, const char *key)
{
    if ((f->n + 1) * 2 > f->mask + 1) {
        int rc = grow_table(f);
        if (rc)
            return rc;
    }
    size_t j = crm__hash_text(key) & f->mask;
    for (; f->table[j]; j = (j + 1) & f->mask) {
        if (strcmp(f->g[f->table[j] - 1].key, key) == 0) {
            *out = &f->g[f->table[j] - 1];
            return 0;
        }
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        group_acc *p = realloc(f->g, cap * sizeof *p);
        if (!p)
            return crm__error_nomem();
        f->g = p;
        f->cap = cap;
    }
    group_acc *a = &f->g[f->n];
    memset(a, 0, sizeof *a);
    if (!(a->key = crm__strdup(key)))
        return crm__error_nomem();
    f->table[j] = (uint32_t)(f->n + 1);
    f->n++;
    *out = a;
    return 0;
}

static void group_key(char *out, size_t size, const crm_lead *l, const crm_funnel_options *o)
{
    const char *v = NULL;
    switch (o->by) {
    case CRM_FUNNEL_ALL:
        v = "all";
        break;
    case CRM_FUNNEL_CHANNEL:
        v = l->channel;
        break;
    case CRM_FUNNEL_CAMPAIGN:
        v = l->campaign;
        break;
    case CRM_FUNNEL_DEALER:
        v = l->dealer_id;
        break;
    case CRM_FUNNEL_MODEL:
        v = l->model;
        break;
    case CRM_FUNNEL_MONTH: {
        char iso[CRM_ISO_TIME_LEN + 1];
        crm__time_format(l->created_at + (int64_t)o->tz_offset_minutes * 60000, iso);
        snprintf(out, size, "%.7s", iso);
        return;
    }
    }
    snprintf(out, size, "%s", v && v[0] ? v : NONE_GROUP);
}

/* One lead's stages into its group. */
static int add_lead(crm_db *db, group_acc *a, const char *id, int64_t created_at, crm_lead_status status)
{
    crm_backend_iter *it;
    int rc = db->backend->stage_scan(db->backend, &db->scope, id, &it);
    if (rc)
        return rc;
    crm_stage_record r;
    int64_t prev_at = created_at, assigned_at = -1;
    crm_lead_status prev = CRM_LEAD_NEW;
    int top = CRM_LEAD_NEW;
    bool responded = false;
    while ((rc = it->next(it, &r)) == 0) {
        if ((int)prev < CRM_FUNNEL_STAGES) {
            a->stage_sum[prev] += (double)(r.entered_at - prev_at);
            a->stage_n[prev]++;
        }
        if ((int)r.status < CRM_FUNNEL_STAGES && (int)r.status > top)
            top = (int)r.status;
        /* A lead recycled and assigned again is timed from its latest
         * assignment: that owner is the one who responded. */
        if (r.status == CRM_LEAD_ASSIGNED && !responded) {
            assigned_at = r.entered_at;
        } else if (assigned_at >= 0 && !responded && r.status >= CRM_LEAD_CONTACTED &&
                   r.status <= CRM_LEAD_DELIVERED) {
            responded = true;
            a->row.responded++;
            a->response_sum += (double)(r.entered_at - assigned_at);
        }
        prev_at = r.entered_at;
        prev = r.status;
    }
    it->free(it);
    if (rc != CRM_ITEROVER)
        return rc;
    /* A status set without a recorded stage (data from before the
     * lifecycle, or an import) still counts as reached. */
    if ((int)status < CRM_FUNNEL_STAGES && (int)status > top)
        top = (int)status;
    for (int s = 0; s <= top; s++)
        a->row.reached[s]++;
    if (status == CRM_LEAD_LOST)
        a->row.lost++;
    else if (status == CRM_LEAD_INVALID)
        a->row.invalid++;
    return 0;
}

static int cmp_group(const void *x, const void *y)
{
    return strcmp(((const group_acc *)x)->key, ((const group_acc *)y)->key);
}

int crm_funnel_compute(crm_funnel **out, crm_db *db, const crm_funnel_options *opts)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: required");
    *out = NULL;
    if (!db)
        return crm_error_set(CRM_EINVALID, "db: required");
    crm_funnel_options defaults = CRM_FUNNEL_OPTIONS_INIT;
    const crm_funnel_options *o = opts ? opts : &defaults;
    if (o->version != CRM_FUNNEL_OPTIONS_VERSION)
        return crm_error_set(CRM_EINVALID, "options.version: expected %d, got %u", CRM_FUNNEL_OPTIONS_VERSION,
                             o->version);
    if ((unsigned)o->by >= BY_COUNT)
        return crm_error_set(CRM_EINVALID, "options.by: %d is not a grouping", (int)o->by);
    if (o->tz_offset_minutes < -14 * 60 || o->tz_offset_minutes > 14 * 60)
        return crm_error_set(CRM_EINVALID, "options.tz_offset_minutes: expected -840 to 840");
    if (db->backend->version < CRM_BACKEND_VERSION_SCORING)
        return crm_error_set(CRM_ESTORAGE, "backend %s: does not support lead stages", db->backend->name);
    crm_funnel *f = calloc(1, sizeof *f);
    if (!f)
        return crm__error_nomem();
    f->by = o->by;
    crm_lead_filter filter = CRM_LEAD_FILTER_INIT;
    filter.created_from = o->created_from;
    filter.created_to = o->created_to;
    crm_iter *it = NULL;
    int rc = crm_lead_iter_new(&it, db, &filter);
    const crm_lead *l;
    while (rc == 0 && (rc = crm_lead_next(&l, it)) == 0) {
        /* The lead is borrowed from the listing: keep what the stages'
         * scan needs before it runs. */
        char key[160], id[CRM_ID_LEN + 1];
        group_key(key, sizeof key, l, o);
        snprintf(id, sizeof id, "%s", l->id);
        int64_t created_at = l->created_at;
        crm_lead_status status = l->status;
        group_acc *a = NULL;
        rc = group_of(&a, f, key);
        if (rc == 0)
            rc = add_lead(db, a, id, created_at, status);
    }
    crm_iter_free(it);
    if (rc != CRM_ITEROVER) {
        crm_funnel_free(f);
        return rc;
    }
    if (f->n)
        qsort(f->g, f->n, sizeof *f->g, cmp_group);
    for (size_t i = 0; i < f->n; i++) {
        group_acc *a = &f->g[i];
        crm_funnel_row *row = &a->row;
        row->group = a->key;
        row->conversion[0] = 1;
        for (int s = 1; s < CRM_FUNNEL_STAGES; s++)
            row->conversion[s] = row->reached[s - 1] ? (double)row->reached[s] / (double)row->reached[s - 1] : 0;
        for (int s = 0; s < CRM_FUNNEL_STAGES; s++)
            row->avg_stage_ms[s] = a->stage_n[s] ? a->stage_sum[s] / (double)a->stage_n[s] : -1;
        row->avg_response_ms = row->responded ? a->response_sum / (double)row->responded : -1;
    }
    /* the hash table indexed the unsorted order; lookups are over */
    free(f->table);
    f->table = NULL;
    f->mask = 0;
    *out = f;
    return 0;
}

size_t crm_funnel_row_count(const crm_funnel *f)
{
    return f ? f->n : 0;
}

const crm_funnel_row *crm_funnel_row_at(const crm_funnel *f, size_t i)
{
    return f && i < f->n ? &f->g[i].row : NULL;
}

static bool add_hours(cJSON *o, const char *name, double ms)
{
    return ms < 0 ? cJSON_AddNullToObject(o, name) != NULL : cJSON_AddNumberToObject(o, name, ms / 3600000.0) != NULL;
}

int crm_funnel_to_json(char **out, const crm_funnel *f)
{
    if (!out || !f)
        return crm_error_set(CRM_EINVALID, "%s: required", out ? "funnel" : "out");
    *out = NULL;
    cJSON *doc = cJSON_CreateObject(), *stages = NULL, *rows = NULL;
    bool ok = doc && cJSON_AddStringToObject(doc, "by", crm_funnel_by_name(f->by)) &&
              (stages = cJSON_AddArrayToObject(doc, "stages")) != NULL &&
              (rows = cJSON_AddArrayToObject(doc, "rows")) != NULL;
    for (int s = 0; ok && s < CRM_FUNNEL_STAGES; s++) {
        cJSON *name = cJSON_CreateString(crm_lead_status_name((crm_lead_status)s));
        ok = name && cJSON_AddItemToArray(stages, name);
        if (!ok)
            cJSON_Delete(name);
    }
    for (size_t i = 0; ok && i < f->n; i++) {
        const crm_funnel_row *r = &f->g[i].row;
        cJSON *o = cJSON_CreateObject(), *reached = NULL, *conv = NULL, *times = NULL;
        ok = o && cJSON_AddItemToArray(rows, o);
        if (!ok) {
            cJSON_Delete(o);
            break;
        }
        ok = cJSON_AddStringToObject(o, "group", r->group) && (reached = cJSON_AddObjectToObject(o, "reached")) &&
             (conv = cJSON_AddObjectToObject(o, "conversion")) &&
             (times = cJSON_AddObjectToObject(o, "avg_stage_hours"));
        for (int s = 0; ok && s < CRM_FUNNEL_STAGES; s++) {
            const char *name = crm_lead_status_name((crm_lead_status)s);
            ok = cJSON_AddNumberToObject(reached, name, (double)r->reached[s]) &&
                 cJSON_AddNumberToObject(conv, name, r->conversion[s]) && add_hours(times, name, r->avg_stage_ms[s]);
        }
        ok = ok && cJSON_AddNumberToObject(o, "lost", (double)r->lost) &&
             cJSON_AddNumberToObject(o, "invalid", (double)r->invalid) &&
             cJSON_AddNumberToObject(o, "responded", (double)r->responded) &&
             add_hours(o, "avg_response_hours", r->avg_response_ms);
    }
    char *text = ok ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    if (!text)
        return crm__error_nomem();
    *out = text;
    return 0;
}

static void csv_field(crm_buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        crm__buf_puts(b, s);
        return;
    }
    crm__buf_puts(b, "\"");
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            crm__buf_puts(b, "\"\"");
        else
            crm__buf_append(b, p, 1);
    }
    crm__buf_puts(b, "\"");
}

int crm_funnel_to_csv(char **out, const crm_funnel *f)
{
    if (!out || !f)
        return crm_error_set(CRM_EINVALID, "%s: required", out ? "funnel" : "out");
    *out = NULL;
    crm_buf b = CRM_BUF_INIT;
    char num[64];
    crm__buf_puts(&b, "group");
    for (int s = 0; s < CRM_FUNNEL_STAGES; s++) {
        crm__buf_puts(&b, ",");
        crm__buf_puts(&b, crm_lead_status_name((crm_lead_status)s));
    }
    for (int s = 1; s < CRM_FUNNEL_STAGES; s++) {
        crm__buf_puts(&b, ",conv_");
        crm__buf_puts(&b, crm_lead_status_name((crm_lead_status)s));
    }
    crm__buf_puts(&b, ",lost,invalid,responded,avg_response_hours\r\n");
    for (size_t i = 0; i < f->n; i++) {
        const crm_funnel_row *r = &f->g[i].row;
        csv_field(&b, r->group);
        for (int s = 0; s < CRM_FUNNEL_STAGES; s++) {
            snprintf(num, sizeof num, ",%lld", (long long)r->reached[s]);
            crm__buf_puts(&b, num);
        }
        for (int s = 1; s < CRM_FUNNEL_STAGES; s++) {
            snprintf(num, sizeof num, ",%.4f", r->conversion[s]);
            crm__buf_puts(&b, num);
        }
        snprintf(num, sizeof num, ",%lld,%lld,%lld,", (long long)r->lost, (long long)r->invalid,
                 (long long)r->responded);
        crm__buf_puts(&b, num);
        if (r->avg_response_ms >= 0) {
            snprintf(num, sizeof num, "%.3f", r->avg_response_ms / 3600000.0);
            crm__buf_puts(&b, num);
        }
        crm__buf_puts(&b, "\r\n");
    }
    if (b.failed || !b.data) {
        crm__buf_free(&b);
        return crm__error_nomem();
    }
    *out = b.data;
    return 0;
}
