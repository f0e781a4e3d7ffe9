/*
 * Routing: rules from JSON, and the decision for one lead (territory,
 * relationship, working hours, score, capacity, smooth weighted
 * round-robin), with its reason.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define ROUTE_MAX_DEALERS 4096
#define ROUTE_MAX_CONSULTANTS 256
#define ROUTE_MAX_REGIONS 64
#define ID_MAX 64
#define MS_PER_DAY 86400000LL

typedef struct consultant {
    char *id;
    int capacity, weight;
    int count;   /* today */
    int current; /* smooth weighted round-robin */
} consultant;

typedef struct dealer {
    char *id;
    char **regions;
    size_t n_regions;
    bool anywhere; /* region "*" */
    int capacity, weight;
    double conversion;
    int open_min, close_min; /* minutes of the day; open == close: always open */
    consultant *consultants;
    size_t n_consultants;
    int count;
    int current;
} dealer;

struct crm_router {
    dealer *dealers;
    size_t n_dealers;
    int tz_offset_minutes;
    double a_min_conversion; /* < 0: not score-aware */
    bool route_junk;         /* route junk leads too (default: refuse them) */
    int64_t day;             /* the day the counts are for */
    int64_t loaded_day;      /* the day whose stored assignments were counted in */
};

void crm_router_free(crm_router *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_dealers; i++) {
        dealer *d = &r->dealers[i];
        free(d->id);
        for (size_t k = 0; k < d->n_regions; k++)
            free(d->regions[k]);
        free(d->regions);
        for (size_t k = 0; k < d->n_consultants; k++)
            free(d->consultants[k].id);
        free(d->consultants);
    }
    free(r->dealers);
    free(r);
}

/* ---- rules ------------------------------------------------------------ */

static int get_id(char **out, const cJSON *o, const char *path)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "id");
    if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > ID_MAX ||
        !crm__utf8_valid(v->valuestring, strlen(v->valuestring)))
        return crm_error_set(CRM_EINVALID, "%s.id: expected 1 to %d bytes of UTF-8", path, ID_MAX);
    if (!(*out = crm__strdup(v->valuestring)))
        return crm__error_nomem();
    return 0;
}

/* A positive integer member, or dflt when absent. */
static int get_count(int *out, const cJSON *o, const char *name, int dflt, const char *path)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!v) {
        if (dflt < 0)
            return crm_error_set(CRM_EINVALID, "%s.%s: required", path, name);
        *out = dflt;
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < 1 ||
        v->valuedouble > 1000000)
        return crm_error_set(CRM_EINVALID, "%s.%s: expected a positive integer", path, name);
    *out = (int)v->valuedouble;
    return 0;
}

static int parse_clock(int *out, const cJSON *v, const char *path, int i)
{
    int h, m;
    char tail;
    if (!cJSON_IsString(v) || sscanf(v->valuestring, "%2d:%2d%c", &h, &m, &tail) != 2 || h < 0 || h > 24 || m < 0 ||
        m > 59 || (h == 24 && m))
        return crm_error_set(CRM_EINVALID, "%s.hours[%d]: expected \"HH:MM\"", path, i);
    *out = h * 60 + m;
    return 0;
}

static int parse_dealer(dealer *d, const cJSON *o, size_t i)
{
    char path[32];
    snprintf(path, sizeof path, "dealers[%zu]", i);
    if (!cJSON_IsObject(o))
        return crm_error_set(CRM_EINVALID, "%s: expected an object", path);
    int rc = get_id(&d->id, o, path);
    if (rc == 0)
        rc = get_count(&d->capacity, o, "capacity", -1, path);
    if (rc == 0)
        rc = get_count(&d->weight, o, "weight", 1, path);
    if (rc)
        return rc;
    const cJSON *conv = cJSON_GetObjectItemCaseSensitive(o, "conversion");
    if (conv && (!cJSON_IsNumber(conv) || !(conv->valuedouble >= 0 && conv->valuedouble <= 1)))
        return crm_error_set(CRM_EINVALID, "%s.conversion: expected a number from 0 to 1", path);
    d->conversion = conv ? conv->valuedouble : 0;
    const cJSON *regions = cJSON_GetObjectItemCaseSensitive(o, "regions");
    int nr = cJSON_GetArraySize(regions);
    if (!cJSON_IsArray(regions) || nr < 1 || nr > ROUTE_MAX_REGIONS)
        return crm_error_set(CRM_EINVALID, "%s.regions: expected 1 to %d region names or codes", path,
                             ROUTE_MAX_REGIONS);
    if (!(d->regions = calloc((size_t)nr, sizeof *d->regions)))
        return crm__error_nomem();
    for (const cJSON *v = regions->child; v; v = v->next) {
        if (!cJSON_IsString(v) || !v->valuestring[0])
            return crm_error_set(CRM_EINVALID, "%s.regions[%zu]: expected a non-empty string", path, d->n_regions);
        if (strcmp(v->valuestring, "*") == 0)
            d->anywhere = true;
        if (!(d->regions[d->n_regions++] = crm__strdup(v->valuestring)))
            return crm__error_nomem();
    }
    const cJSON *hours = cJSON_GetObjectItemCaseSensitive(o, "hours");
    if (hours) {
        if (!cJSON_IsArray(hours) || cJSON_GetArraySize(hours) != 2)
            return crm_error_set(CRM_EINVALID, "%s.hours: expected [\"HH:MM\", \"HH:MM\"]", path);
        if ((rc = parse_clock(&d->open_min, hours->child, path, 0)) ||
            (rc = parse_clock(&d->close_min, hours->child->next, path, 1)))
            return rc;
    }
    const cJSON *cs = cJSON_GetObjectItemCaseSensitive(o, "consultants");
    if (!cs)
        return 0;
    int nc = cJSON_GetArraySize(cs);
    if (!cJSON_IsArray(cs) || nc > ROUTE_MAX_CONSULTANTS)
        return crm_error_set(CRM_EINVALID, "%s.consultants: expected an array of at most %d", path,
                             ROUTE_MAX_CONSULTANTS);
    if (!(d->consultants = calloc((size_t)(nc ? nc : 1), sizeof *d->consultants)))
        return crm__error_nomem();
    for (const cJSON *c = cs->child; c; c = c->next) {
        char cpath[64];
        snprintf(cpath, sizeof cpath, "%s.consultants[%zu]", path, d->n_consultants);
        consultant *k = &d->consultants[d->n_consultants++];
        if (!cJSON_IsObject(c))
            return crm_error_set(CRM_EINVALID, "%s: expected an object", cpath);
        if ((rc = get_id(&k->id, c, cpath)) || (rc = get_count(&k->capacity, c, "capacity", -1, cpath)) ||
            (rc = get_count(&k->weight, c, "weight", 1, cpath)))
            return rc;
    }
    return 0;
}

int crm_router_new(crm_router **out, const char *json)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: required");
    *out = NULL;
    if (!json)
        return crm_error_set(CRM_EINVALID, "rules: required");
    cJSON *doc = cJSON_Parse(json);
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        return crm_error_set(CRM_EINVALID, "rules: expected a JSON object");
    }
    crm_router *r = calloc(1, sizeof *r);
    int rc = r ? 0 : crm__error_nomem();
    const cJSON *dealers = cJSON_GetObjectItemCaseSensitive(doc, "dealers");
    const cJSON *tz = cJSON_GetObjectItemCaseSensitive(doc, "tz_offset_minutes");
    const cJSON *amin = cJSON_GetObjectItemCaseSensitive(doc, "a_grade_min_conversion");
    const cJSON *junk = cJSON_GetObjectItemCaseSensitive(doc, "route_junk");
    int n = cJSON_GetArraySize(dealers);
    if (rc == 0 && (!cJSON_IsArray(dealers) || n < 1 || n > ROUTE_MAX_DEALERS))
        rc = crm_error_set(CRM_EINVALID, "dealers: expected an array of 1 to %d dealers", ROUTE_MAX_DEALERS);
    if (rc == 0 && tz &&
        (!cJSON_IsNumber(tz) || tz->valuedouble != floor(tz->valuedouble) || fabs(tz->valuedouble) > 840))
        rc = crm_error_set(CRM_EINVALID, "tz_offset_minutes: expected an integer from -840 to 840");
    if (rc == 0 && amin && (!cJSON_IsNumber(amin) || !(amin->valuedouble >= 0 && amin->valuedouble <= 1)))
        rc = crm_error_set(CRM_EINVALID, "a_grade_min_conversion: expected a number from 0 to 1");
    if (rc == 0 && junk && !cJSON_IsBool(junk))
        rc = crm_error_set(CRM_EINVALID, "route_junk: expected true or false");
    for (const cJSON *it = rc == 0 ? doc->child : NULL; it && rc == 0; it = it->next)
        if (strcmp(it->string, "dealers") && strcmp(it->string, "tz_offset_minutes") &&
            strcmp(it->string, "a_grade_min_conversion") && strcmp(it->string, "route_junk"))
            rc = crm_error_set(CRM_EINVALID,
                               "%.64s: unknown member (expected dealers, tz_offset_minutes, a_grade_min_conversion, "
                               "route_junk)",
                               it->string);
    if (rc == 0 && !(r->dealers = calloc((size_t)n, sizeof *r->dealers)))
        rc = crm__error_nomem();
    if (rc == 0) {
        r->tz_offset_minutes = tz ? (int)tz->valuedouble : 0;
        r->a_min_conversion = amin ? amin->valuedouble : -1;
        r->route_junk = cJSON_IsTrue(junk);
        r->day = INT64_MIN;
        r->loaded_day = INT64_MIN;
        for (const cJSON *o = dealers->child; o && rc == 0; o = o->next) {
            rc = parse_dealer(&r->dealers[r->n_dealers], o, r->n_dealers);
            r->n_dealers++;
            for (size_t k = 0; rc == 0 && k + 1 < r->n_dealers; k++)
                if (strcmp(r->dealers[k].id, r->dealers[r->n_dealers - 1].id) == 0)
                    rc = crm_error_set(CRM_EINVALID, "dealers[%zu].id: '%s' repeats dealers[%zu]", r->n_dealers - 1,
                                       r->dealers[k].id, k);
        }
    }
    cJSON_Delete(doc);
    if (rc) {
        crm_router_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* ---- deciding ------------------------------------------------------------ */

static bool in_territory(const dealer *d, const crm_lead *l)
{
    for (size_t k = 0; k < d->n_regions; k++) {
        const char *g = d->regions[k];
        if ((l->province && strcmp(g, l->province) == 0) || (l->city && strcmp(g, l->city) == 0))
            return true;
    }
    return false;
}

static bool is_open_at(const dealer *d, int minute)
{
    if (d->open_min == d->close_min)
        return true;
    if (d->open_min < d->close_min)
        return minute >= d->open_min && minute < d->close_min;
    return minute >= d->open_min || minute < d->close_min; /* open past midnight */
}

/* The consultant of a dealer with room, by smooth weighted round-robin; NULL
 * when none has room. Does not count. */
static consultant *pick_consultant(dealer *d)
{
    consultant *best = NULL;
    int total = 0;
    for (size_t k = 0; k < d->n_consultants; k++) {
        consultant *c = &d->consultants[k];
        if (c->count >= c->capacity)
            continue;
        total += c->weight;
        if (!best || c->current + c->weight > best->current + best->weight)
            best = c;
    }
    if (!best)
        return NULL;
    for (size_t k = 0; k < d->n_consultants; k++) {
        consultant *c = &d->consultants[k];
        if (c->count < c->capacity)
            c->current += c->weight;
    }
    best->current -= total;
    return best;
}

static bool has_room(const dealer *d)
{
    if (d->count >= d->capacity)
        return false;
    if (d->n_consultants == 0)
        return true;
    for (size_t k = 0; k < d->n_consultants; k++)
        if (d->consultants[k].count < d->consultants[k].capacity)
            return true;
    return false;
}

/* Append to the reason, cutting at a character boundary when full. */
static void say(crm_route_result *out, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void say(crm_route_result *out, const char *fmt, ...)
{
    size_t len = strlen(out->reason);
    if (len + 1 >= sizeof out->reason)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reason + len, sizeof out->reason - len, fmt, ap);
    va_end(ap);
    len = strlen(out->reason);
    if (len + 1 == sizeof out->reason) /* cut: do not leave half a character */
        while (len > 0 && ((unsigned char)out->reason[len - 1] & 0xC0) == 0x80)
            out->reason[--len] = '\0';
    if (len > 0 && ((unsigned char)out->reason[len - 1] & 0xC0) == 0xC0)
        out->reason[--len] = '\0';
}

/* The day (in the rules' time zone) of a time, as days since 1970-01-01. */
static int64_t day_of(const crm_router *r, int64_t now)
{
    int64_t local = now + (int64_t)r->tz_offset_minutes * 60000;
    return local >= 0 ? local / MS_PER_DAY : -((-local + MS_PER_DAY - 1) / MS_PER_DAY);
}

static void reset_counts(crm_router *r, int64_t day)
{
    for (size_t i = 0; i < r->n_dealers; i++) {
        r->dealers[i].count = 0;
        for (size_t k = 0; k < r->dealers[i].n_consultants; k++)
            r->dealers[i].consultants[k].count = 0;
    }
    r->day = day;
}

static dealer *find_dealer(crm_router *r, const char *id)
{
    for (size_t i = 0; id && i < r->n_dealers; i++)
        if (strcmp(r->dealers[i].id, id) == 0)
            return &r->dealers[i];
    return NULL;
}

/* Count in the assignments already stored for today (by any process, any
 * router), once per router and day, so that capacity holds across runs. */
static int load_day(crm_router *r, crm_db *db, int64_t now)
{
    static const crm_scope everything = { NULL };
    int64_t day = day_of(r, now);
    if (r->loaded_day == day)
        return 0;
    reset_counts(r, day);
    int64_t from = day * MS_PER_DAY - (int64_t)r->tz_offset_minutes * 60000;
    crm_backend_iter *it;
    int rc = db->backend->stage_scan_entered(db->backend, &everything, CRM_LEAD_ASSIGNED, from, from + MS_PER_DAY,
                                             &it);
    if (rc)
        return rc;
    crm_stage_record st;
    while ((rc = it->next(it, &st)) == 0) {
        dealer *d = find_dealer(r, st.dealer_id);
        if (!d)
            continue; /* assigned by hand, or to a dealer no longer in the rules */
        d->count++;
        for (size_t k = 0; st.owner_id && k < d->n_consultants; k++)
            if (strcmp(d->consultants[k].id, st.owner_id) == 0)
                d->consultants[k].count++;
    }
    it->free(it);
    if (rc != CRM_ITEROVER)
        return rc;
    r->loaded_day = day;
    return 0;
}

/* Dealers a recycled lead left, which a new routing avoids while another
 * dealer of the territory has room. */
typedef struct left_dealers {
    char ids[8][ID_MAX + 1];
    size_t n;
} left_dealers;

static bool has_left(const left_dealers *left, const char *id)
{
    for (size_t i = 0; left && i < left->n; i++)
        if (strcmp(left->ids[i], id) == 0)
            return true;
    return false;
}

static int route(crm_route_result *out, crm_router *r, const crm_lead *l, int64_t now, const left_dealers *left);

int crm_router_route(crm_route_result *out, crm_router *r, const crm_lead *l, int64_t now)
{
    return route(out, r, l, now, NULL);
}

static int route(crm_route_result *out, crm_router *r, const crm_lead *l, int64_t now, const left_dealers *left)
{
    if (!out || !r || !l)
        return crm_error_set(CRM_EINVALID, "%s: required", !out ? "out" : !r ? "router" : "lead");
    memset(out, 0, sizeof *out);
    /* A junk lead (a test number, no usable contact) would spend a dealer's
     * capacity on nobody. */
    if (l->quality == CRM_LEAD_QUALITY_JUNK && !r->route_junk)
        return crm_error_set(CRM_ECONFLICT, "lead: junk (quality), not routed (\"route_junk\": true routes it)");
    int64_t local = now + (int64_t)r->tz_offset_minutes * 60000;
    int64_t day = day_of(r, now);
    int minute = (int)((local - day * MS_PER_DAY) / 60000);
    if (day != r->day) /* a new day: capacities start again */
        reset_counts(r, day);
    /* Candidates: the territory, else the dealers that take any region. */
    dealer *cand[ROUTE_MAX_DEALERS];
    size_t n = 0;
    for (size_t i = 0; i < r->n_dealers; i++)
        if (in_territory(&r->dealers[i], l))
            cand[n++] = &r->dealers[i];
    if (n) {
        say(out, "territory %s:", l->province && l->province[0] ? l->province : l->city);
    } else {
        for (size_t i = 0; i < r->n_dealers; i++)
            if (r->dealers[i].anywhere)
                cand[n++] = &r->dealers[i];
        say(out, "no dealer for the region; any-region dealers:");
    }
    for (size_t i = 0; i < n && i < 6; i++)
        say(out, " %s", cand[i]->id);
    if (n > 6)
        say(out, " (+%zu)", n - 6);
    /* Only those with room today. */
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (has_room(cand[i]))
            cand[m++] = cand[i];
    if (m == 0)
        return crm_error_set(CRM_ECONFLICT, "routing: no dealer with room left today (%s)", out->reason);
    if (left && left->n) {
        size_t k = 0;
        for (size_t i = 0; i < m; i++)
            if (!has_left(left, cand[i]->id))
                cand[k++] = cand[i];
        if (k)
            m = k, say(out, "; recycled before, not back to %s%s", left->ids[0], left->n > 1 ? " and others" : "");
    }
    dealer *chosen = NULL;
    /* Existing relationship: the dealer the lead already names. */
    for (size_t i = 0; l->dealer_id && i < m && !chosen; i++)
        if (strcmp(cand[i]->id, l->dealer_id) == 0) {
            chosen = cand[i];
            say(out, "; existing relationship -> %s", chosen->id);
        }
    if (!chosen) {
        /* Open now first. */
        size_t k = 0;
        for (size_t i = 0; i < m; i++)
            if (is_open_at(cand[i], minute))
                cand[k++] = cand[i];
        if (k)
            m = k, say(out, "; open now");
        else
            say(out, "; all closed now: the next to open will call");
        /* A leads to the dealers that convert best. */
        if (r->a_min_conversion >= 0 && l->grade && strcmp(l->grade, "A") == 0) {
            k = 0;
            for (size_t i = 0; i < m; i++)
                if (cand[i]->conversion >= r->a_min_conversion)
                    cand[k++] = cand[i];
            if (k)
                m = k, say(out, "; grade A: conversion >= %.2f", r->a_min_conversion);
        }
        /* Smooth weighted round-robin among the rest. */
        int total = 0;
        for (size_t i = 0; i < m; i++) {
            total += cand[i]->weight;
            cand[i]->current += cand[i]->weight;
            if (!chosen || cand[i]->current > chosen->current)
                chosen = cand[i];
        }
        chosen->current -= total;
        say(out, "; weighted round-robin -> %s", chosen->id);
    }
    consultant *c = pick_consultant(chosen);
    chosen->count++;
    snprintf(out->dealer_id, sizeof out->dealer_id, "%s", chosen->id);
    say(out, " (%d/%d today)", chosen->count, chosen->capacity);
    if (c) {
        c->count++;
        snprintf(out->owner_id, sizeof out->owner_id, "%s", c->id);
        say(out, "; consultant %s (%d/%d today)", c->id, c->count, c->capacity);
    }
    return 0;
}

int crm_router_count(const crm_router *r, const char *dealer_id, const char *owner_id)
{
    if (!r || !dealer_id)
        return 0;
    for (size_t i = 0; i < r->n_dealers; i++) {
        const dealer *d = &r->dealers[i];
        if (strcmp(d->id, dealer_id) != 0)
            continue;
        if (!owner_id)
            return d->count;
        for (size_t k = 0; k < d->n_consultants; k++)
            if (strcmp(d->consultants[k].id, owner_id) == 0)
                return d->consultants[k].count;
    }
    return 0;
}

/* Take back a decision whose assignment failed. */
static void uncount(crm_router *r, const crm_route_result *res)
{
    for (size_t i = 0; i < r->n_dealers; i++) {
        dealer *d = &r->dealers[i];
        if (strcmp(d->id, res->dealer_id) != 0)
            continue;
        d->count--;
        for (size_t k = 0; k < d->n_consultants; k++)
            if (strcmp(d->consultants[k].id, res->owner_id) == 0)
                d->consultants[k].count--;
    }
}

/* The dealers a lead was assigned to and then recycled from. */
static int dealers_left(crm_db *db, const char *id, left_dealers *left)
{
    static const crm_scope everything = { NULL };
    crm_backend_iter *it;
    int rc = db->backend->stage_scan(db->backend, &everything, id, &it);
    if (rc)
        return rc;
    crm_stage_record st;
    char last[ID_MAX + 1] = "";
    left->n = 0;
    while ((rc = it->next(it, &st)) == 0) {
        if (st.status == CRM_LEAD_ASSIGNED)
            snprintf(last, sizeof last, "%s", st.dealer_id ? st.dealer_id : "");
        else if (st.status == CRM_LEAD_NEW && last[0] && left->n < sizeof left->ids / sizeof left->ids[0]) {
            memcpy(left->ids[left->n++], last, sizeof last);
            last[0] = '\0';
        }
    }
    it->free(it);
    return rc == CRM_ITEROVER ? 0 : rc;
}

int crm_lead_route(crm_route_result *out, crm_db *db, crm_router *r, const char *id)
{
    crm_route_result scratch;
    crm_route_result *res = out ? out : &scratch;
    memset(res, 0, sizeof *res);
    if (!db || !r || !id)
        return crm_error_set(CRM_EINVALID, "%s: required", !db ? "db" : !r ? "router" : "id");
    crm_lead *l;
    int rc = crm_lead_get(&l, db, id);
    if (rc)
        return rc;
    if (l->status != CRM_LEAD_NEW)
        rc = crm_error_set(CRM_ECONFLICT, "lead status: cannot route a lead in %s (only new leads)",
                           crm_lead_status_name(l->status));
    left_dealers left;
    if (rc == 0 && db->backend->version < CRM_BACKEND_VERSION_SCORING)
        rc = crm_error_set(CRM_ESTORAGE, "backend %s: does not support lead stages", db->backend->name);
    if (rc == 0)
        rc = load_day(r, db, crm_db_now(db));
    if (rc == 0)
        rc = dealers_left(db, l->id, &left);
    if (rc == 0)
        rc = route(res, r, l, crm_db_now(db), &left);
    crm_lead_free(l);
    if (rc)
        return rc;
    crm_transition t = CRM_TRANSITION_INIT;
    t.dealer_id = res->dealer_id;
    t.owner_id = res->owner_id[0] ? res->owner_id : NULL;
    t.reason = res->reason;
    rc = crm_lead_transition(db, id, CRM_LEAD_ASSIGNED, &t);
    if (rc) {
        uncount(r, res);
        memset(res, 0, sizeof *res);
    }
    return rc;
}
