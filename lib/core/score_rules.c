/*
 * Rule models: points a person can read and change, from a JSON document.
 *
 * The document is parsed once into flat tables so that scoring a lead is a
 * few comparisons and no allocation. The reasons point into these tables
 * (or at static names), so they live as long as the model.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/score_internal.h"

#define RULE_KEYS_MAX 64 /* channels per group */
/* Engagement kinds: one reason each, and with a channel, nine fields,
 * four intents, recency, quality and five caps they stay within
 * CRM_SCORE_MAX_REASONS (33 of 40), so every contribution is a reason. */
#define ENGAGEMENT_KINDS_MAX 12
#define MS_PER_DAY 86400000.0

enum { G_CHANNEL, G_COMPLETENESS, G_INTENT, G_ENGAGEMENT, G_RECENCY, G_QUALITY, G_COUNT };
static const char *const group_names[G_COUNT] = { "channel", "completeness", "intent", "engagement", "recency",
                                                  "quality" };

typedef struct keyed_points {
    char *key;
    double points;
} keyed_points;

typedef struct completeness_field {
    const char *name; /* static */
    size_t offset;    /* of the const char * member in crm_lead */
    double points;
} completeness_field;

#define LEAD_TEXT(member) { #member, offsetof(crm_lead, member), 0 }
static const completeness_field completeness_fields[] = {
    LEAD_TEXT(name),     LEAD_TEXT(phone),    LEAD_TEXT(email), LEAD_TEXT(wechat_openid), LEAD_TEXT(wechat_unionid),
    LEAD_TEXT(province), LEAD_TEXT(city),     LEAD_TEXT(model), LEAD_TEXT(campaign),
};
#define COMPLETENESS_COUNT (sizeof completeness_fields / sizeof completeness_fields[0])

#define TIMELINES 5

struct rule_model {
    cJSON *doc; /* the document as given, for crm_model_to_json */
    bool has_cap[G_COUNT];
    double cap[G_COUNT];
    /* channel */
    keyed_points *channels;
    size_t n_channels;
    bool has_channel_default;
    double channel_default;
    /* completeness */
    completeness_field complete[COMPLETENESS_COUNT];
    size_t n_complete;
    /* intent */
    double intent_model, intent_test_drive, intent_budget;
    double timeline[TIMELINES];
    /* engagement */
    keyed_points *engagements;
    size_t n_engagements;
    double engagement_half_life_ms; /* 0: no decay */
    /* recency */
    double recency_points, recency_half_life_ms;
    /* quality: points per crm_lead_quality (ok, suspect, junk) */
    double quality[CRM_LEAD_QUALITY_COUNT];
};

void crm__rules_free(rule_model *r)
{
    if (!r)
        return;
    cJSON_Delete(r->doc);
    for (size_t i = 0; i < r->n_channels; i++)
        free(r->channels[i].key);
    for (size_t i = 0; i < r->n_engagements; i++)
        free(r->engagements[i].key);
    free(r->channels);
    free(r->engagements);
    free(r);
}

/* ---- parsing ------------------------------------------------------------ */

static int points_of(double *out, const cJSON *v, const char *group, const char *path)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || fabs(v->valuedouble) > 100)
        return crm_error_set(CRM_EINVALID, "groups.%s.%s: expected a number from -100 to 100", group, path);
    *out = v->valuedouble;
    return 0;
}

static int half_life_of(double *out_ms, const cJSON *v, const char *group)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble > 0) || v->valuedouble > 3650)
        return crm_error_set(CRM_EINVALID, "groups.%s.half_life_days: expected a positive number of days (at most 3650)",
                             group);
    *out_ms = v->valuedouble * MS_PER_DAY;
    return 0;
}

/* {"key": points, ...} into a table; "*" goes to *dflt when dflt is given. */
static int parse_keyed(keyed_points **out, size_t *n_out, const cJSON *obj, const char *group, const char *member,
                       size_t max, bool *has_dflt, double *dflt)
{
    if (!cJSON_IsObject(obj))
        return crm_error_set(CRM_EINVALID, "groups.%s.%s: expected an object of name: points", group, member);
    size_t n = (size_t)cJSON_GetArraySize(obj);
    if (n > max)
        return crm_error_set(CRM_EINVALID, "groups.%s.%s: at most %zu names", group, member, max);
    keyed_points *t = calloc(n ? n : 1, sizeof *t);
    if (!t)
        return crm__error_nomem();
    *out = t;
    *n_out = 0;
    char path[160];
    for (const cJSON *it = obj->child; it; it = it->next) {
        snprintf(path, sizeof path, "%s.%.64s", member, it->string);
        if (!it->string[0] || !crm__utf8_valid(it->string, strlen(it->string)))
            return crm_error_set(CRM_EINVALID, "groups.%s.%s: expected non-empty UTF-8 names", group, member);
        double p = 0;
        int rc = points_of(&p, it, group, path);
        if (rc)
            return rc;
        if (dflt && strcmp(it->string, "*") == 0) {
            *has_dflt = true;
            *dflt = p;
            continue;
        }
        if (!(t[*n_out].key = crm__strdup(it->string)))
            return crm__error_nomem();
        t[(*n_out)++].points = p;
    }
    return 0;
}

/* {"suspect": -20, "junk": -60}: points by quality name. */
static int parse_quality(rule_model *r, const cJSON *obj)
{
    if (!cJSON_IsObject(obj))
        return crm_error_set(CRM_EINVALID, "groups.quality.points: expected an object of quality: points");
    for (const cJSON *it = obj->child; it; it = it->next) {
        crm_lead_quality q;
        if (crm_lead_quality_parse(&q, it->string) != 0)
            return crm_error_set(CRM_EINVALID, "groups.quality.points.%.32s: unknown quality (expected ok, suspect, junk)",
                                 it->string);
        char path[64];
        snprintf(path, sizeof path, "points.%s", it->string);
        int rc = points_of(&r->quality[q], it, "quality", path);
        if (rc)
            return rc;
    }
    return 0;
}

static int unknown_member(const char *group, const char *member, const char *expected)
{
    return crm_error_set(CRM_EINVALID, "groups.%s.%.64s: unknown member (expected %s)", group, member, expected);
}

static int parse_group(rule_model *r, int g, const cJSON *o)
{
    const char *gn = group_names[g];
    if (!cJSON_IsObject(o))
        return crm_error_set(CRM_EINVALID, "groups.%s: expected an object", gn);
    static const char *const expected[G_COUNT] = {
        "cap, points",
        "cap, fields",
        "cap, model, test_drive, budget, purchase_timeline",
        "cap, half_life_days, points",
        "cap, points, half_life_days",
        "cap, points",
    };
    bool has_recency_points = false;
    for (const cJSON *it = o->child; it; it = it->next) {
        const char *k = it->string;
        int rc = 0;
        if (strcmp(k, "cap") == 0) {
            if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0 && it->valuedouble <= 100))
                return crm_error_set(CRM_EINVALID, "groups.%s.cap: expected a number from 0 to 100", gn);
            r->has_cap[g] = true;
            r->cap[g] = it->valuedouble;
        } else if (g == G_CHANNEL && strcmp(k, "points") == 0) {
            rc = parse_keyed(&r->channels, &r->n_channels, it, gn, k, RULE_KEYS_MAX, &r->has_channel_default, &r->channel_default);
        } else if (g == G_ENGAGEMENT && strcmp(k, "points") == 0) {
            rc = parse_keyed(&r->engagements, &r->n_engagements, it, gn, k, ENGAGEMENT_KINDS_MAX, NULL, NULL);
        } else if ((g == G_ENGAGEMENT || g == G_RECENCY) && strcmp(k, "half_life_days") == 0) {
            rc = half_life_of(g == G_ENGAGEMENT ? &r->engagement_half_life_ms : &r->recency_half_life_ms, it, gn);
        } else if (g == G_QUALITY && strcmp(k, "points") == 0) {
            rc = parse_quality(r, it);
        } else if (g == G_RECENCY && strcmp(k, "points") == 0) {
            rc = points_of(&r->recency_points, it, gn, k);
            has_recency_points = true;
        } else if (g == G_COMPLETENESS && strcmp(k, "fields") == 0) {
            if (!cJSON_IsObject(it))
                return crm_error_set(CRM_EINVALID, "groups.completeness.fields: expected an object of field: points");
            for (const cJSON *f = it->child; f; f = f->next) {
                size_t i = 0;
                while (i < COMPLETENESS_COUNT && strcmp(completeness_fields[i].name, f->string) != 0)
                    i++;
                if (i == COMPLETENESS_COUNT)
                    return crm_error_set(CRM_EINVALID,
                                         "groups.completeness.fields.%.64s: not a lead field (expected name, phone, "
                                         "email, wechat_openid, wechat_unionid, province, city, model or campaign)",
                                         f->string);
                for (size_t j = 0; j < r->n_complete; j++)
                    if (r->complete[j].offset == completeness_fields[i].offset)
                        return crm_error_set(CRM_EINVALID, "groups.completeness.fields.%s: given twice", f->string);
                char path[96];
                snprintf(path, sizeof path, "fields.%s", f->string);
                completeness_field c = completeness_fields[i];
                if ((rc = points_of(&c.points, f, gn, path)))
                    return rc;
                r->complete[r->n_complete++] = c;
            }
        } else if (g == G_INTENT && strcmp(k, "model") == 0) {
            rc = points_of(&r->intent_model, it, gn, k);
        } else if (g == G_INTENT && strcmp(k, "test_drive") == 0) {
            rc = points_of(&r->intent_test_drive, it, gn, k);
        } else if (g == G_INTENT && strcmp(k, "budget") == 0) {
            rc = points_of(&r->intent_budget, it, gn, k);
        } else if (g == G_INTENT && strcmp(k, "purchase_timeline") == 0) {
            if (!cJSON_IsObject(it))
                return crm_error_set(CRM_EINVALID, "groups.intent.purchase_timeline: expected an object of timeline: points");
            for (const cJSON *t = it->child; t; t = t->next) {
                int i = 1;
                while (i < TIMELINES && strcmp(crm_purchase_timeline_name((crm_purchase_timeline)i), t->string) != 0)
                    i++;
                if (i == TIMELINES)
                    return crm_error_set(CRM_EINVALID,
                                         "groups.intent.purchase_timeline.%.32s: unknown timeline (expected "
                                         "within_1m, 1_3m, 3_6m or over_6m)",
                                         t->string);
                char path[96];
                snprintf(path, sizeof path, "purchase_timeline.%s", t->string);
                if ((rc = points_of(&r->timeline[i], t, gn, path)))
                    return rc;
            }
        } else {
            return unknown_member(gn, k, expected[g]);
        }
        if (rc)
            return rc;
    }
    if (g == G_RECENCY && has_recency_points && r->recency_half_life_ms == 0)
        return crm_error_set(CRM_EINVALID, "groups.recency.half_life_days: required with points");
    return 0;
}

int crm__rules_parse(crm_model *m, const cJSON *doc)
{
    rule_model *r = calloc(1, sizeof *r);
    if (!r)
        return crm__error_nomem();
    m->rules = r;
    for (const cJSON *it = doc->child; it; it = it->next) {
        static const char *const top[] = { "type", "name", "version", "grades", "groups" };
        size_t i = 0;
        while (i < sizeof top / sizeof top[0] && strcmp(top[i], it->string) != 0)
            i++;
        if (i == sizeof top / sizeof top[0])
            return crm_error_set(CRM_EINVALID, "%.64s: unknown member (expected type, name, version, grades, groups)",
                                 it->string);
    }
    const cJSON *groups = cJSON_GetObjectItemCaseSensitive(doc, "groups");
    if (!cJSON_IsObject(groups))
        return crm_error_set(CRM_EINVALID, "groups: expected an object");
    for (const cJSON *it = groups->child; it; it = it->next) {
        int g = 0;
        while (g < G_COUNT && strcmp(group_names[g], it->string) != 0)
            g++;
        if (g == G_COUNT)
            return crm_error_set(CRM_EINVALID,
                                 "groups.%.64s: unknown group (expected channel, completeness, intent, engagement, "
                                 "recency or quality)",
                                 it->string);
        int rc = parse_group(r, g, it);
        if (rc)
            return rc;
    }
    if (!(r->doc = cJSON_Duplicate(doc, true)))
        return crm__error_nomem();
    return 0;
}

cJSON *crm__rules_to_cjson(const crm_model *m)
{
    cJSON *doc = cJSON_Duplicate(m->rules->doc, true);
    if (!doc)
        return NULL;
    /* name, version and grades as the model has them now (a save sets the
     * version), in a fixed order ahead of the groups. */
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "type");
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "name");
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "version");
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "grades");
    cJSON *head = cJSON_CreateObject();
    bool ok = head && cJSON_AddStringToObject(head, "type", "rules") &&
              cJSON_AddStringToObject(head, "name", crm_model_name(m)) &&
              cJSON_AddNumberToObject(head, "version", m->version) && crm__add_grades(head, m->bands);
    while (ok && doc->child) {
        cJSON *it = cJSON_DetachItemViaPointer(doc, doc->child);
        cJSON_AddItemToObject(head, it->string, it);
    }
    cJSON_Delete(doc);
    if (!ok) {
        cJSON_Delete(head);
        return NULL;
    }
    return head;
}

/* ---- scoring ------------------------------------------------------------ */

static double decayed(double points, int64_t now, int64_t at, double half_life_ms)
{
    if (half_life_ms <= 0 || at >= now)
        return points;
    return points * exp2(-(double)(now - at) / half_life_ms);
}

static const char *text_at(const crm_lead *l, size_t offset)
{
    const char *v;
    memcpy(&v, (const char *)l + offset, sizeof v);
    return v;
}

/* Append a reason; group totals are kept for the caps. */
static void add(crm_score *out, double *total, const char *group, const char *item, double points)
{
    /* A contribution that rounds to nothing (a long-decayed engagement) is
     * no reason. */
    if (fabs(points) < 5e-4 || out->n_reasons == CRM_SCORE_MAX_REASONS)
        return;
    out->reasons[out->n_reasons++] = (crm_score_reason){ group, item, points };
    *total += points;
}

void crm__rules_score(crm_score *out, const crm_model *m, const crm_lead *lead, const crm_lead_signals *sig,
                      int64_t now)
{
    const rule_model *r = m->rules;
    double total[G_COUNT] = { 0 };
    out->n_reasons = 0;

    if (lead->channel) {
        size_t i = 0;
        while (i < r->n_channels && strcmp(r->channels[i].key, lead->channel) != 0)
            i++;
        if (i < r->n_channels)
            add(out, &total[G_CHANNEL], "channel", r->channels[i].key, r->channels[i].points);
        else if (r->has_channel_default)
            add(out, &total[G_CHANNEL], "channel", "*", r->channel_default);
    }
    for (size_t i = 0; i < r->n_complete; i++) {
        const char *v = text_at(lead, r->complete[i].offset);
        if (v && v[0])
            add(out, &total[G_COMPLETENESS], "completeness", r->complete[i].name, r->complete[i].points);
    }
    if (lead->model && lead->model[0])
        add(out, &total[G_INTENT], "intent", "model", r->intent_model);
    if (lead->test_drive == CRM_YES)
        add(out, &total[G_INTENT], "intent", "test_drive", r->intent_test_drive);
    if ((unsigned)lead->purchase_timeline < TIMELINES && lead->purchase_timeline != CRM_TIMELINE_UNKNOWN)
        add(out, &total[G_INTENT], "intent", crm_purchase_timeline_name(lead->purchase_timeline),
            r->timeline[lead->purchase_timeline]);
    if (sig && sig->budget > 0)
        add(out, &total[G_INTENT], "intent", "budget", r->intent_budget);
    if (sig && sig->n_engagements && r->n_engagements) {
        /* One reason per kind: the decayed points of all its engagements. */
        double sum[ENGAGEMENT_KINDS_MAX] = { 0 };
        for (size_t e = 0; e < sig->n_engagements; e++) {
            const crm_engagement *en = &sig->engagements[e];
            if (!en->kind)
                continue;
            for (size_t i = 0; i < r->n_engagements; i++) {
                if (strcmp(r->engagements[i].key, en->kind) == 0) {
                    sum[i] += decayed(r->engagements[i].points, now, en->at, r->engagement_half_life_ms);
                    break;
                }
            }
        }
        for (size_t i = 0; i < r->n_engagements; i++)
            add(out, &total[G_ENGAGEMENT], "engagement", r->engagements[i].key, sum[i]);
    }
    if (r->recency_points != 0)
        add(out, &total[G_RECENCY], "recency", "created_at",
            decayed(r->recency_points, now, lead->created_at, r->recency_half_life_ms));
    if ((unsigned)lead->quality < CRM_LEAD_QUALITY_COUNT)
        add(out, &total[G_QUALITY], "quality", crm_lead_quality_name(lead->quality), r->quality[lead->quality]);

    double score = 0;
    for (int g = 0; g < G_COUNT; g++) {
        if (r->has_cap[g] && total[g] > r->cap[g]) {
            double cut = 0; /* the cap's reason is not part of a group total */
            add(out, &cut, group_names[g], "cap", r->cap[g] - total[g]);
            total[g] = r->cap[g];
        }
        score += total[g];
    }
    /* Largest first (insertion sort: a handful of reasons). */
    for (size_t i = 1; i < out->n_reasons; i++) {
        crm_score_reason t = out->reasons[i];
        size_t j = i;
        for (; j > 0 && out->reasons[j - 1].points < t.points; j--)
            out->reasons[j] = out->reasons[j - 1];
        out->reasons[j] = t;
    }
    double rounded = floor(score + 0.5);
    out->score = rounded < 0 ? 0 : rounded > 100 ? 100 : (int)rounded;
    out->probability = out->score / 100.0;
    crm__grade(out->grade, m->bands, out->score);
}
