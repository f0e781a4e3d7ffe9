/*
 * Members, tiers and the points ledger. The balance on the member row is
 * kept equal to the sum of the ledger: every transaction changes both in
 * one storage transaction. Batches (accruals) carry what is left of them,
 * and redemptions record which batches they drew on, so a reversal puts
 * points back where they came from.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define TIERS_MAX 16
#define TIER_NAME_MAX 32
#define MEMBER_NO_MAX 32
#define KEY_MAX 128
#define REASON_MAX 256
#define DAY_MS 86400000LL
/* Points beyond this are a typo, and sums of them stay far from overflow. */
#define POINTS_MAX 1000000000LL

static const char *const points_kind_names[] = { "accrual", "redemption", "reversal", "expiry" };

const char *crm_points_kind_name(crm_points_kind kind)
{
    return (unsigned)kind < 4 ? points_kind_names[kind] : NULL;
}

/* ---- rules ------------------------------------------------------------ */

typedef struct tier {
    char name[TIER_NAME_MAX + 1];
    int64_t min_points;
    char *benefits; /* JSON object text */
} tier;

struct crm_loyalty_rules {
    int64_t window_ms;
    bool allow_negative;
    size_t n;
    tier tiers[TIERS_MAX];
};

void crm_loyalty_rules_free(crm_loyalty_rules *rules)
{
    if (!rules)
        return;
    for (size_t i = 0; i < rules->n; i++)
        cJSON_free(rules->tiers[i].benefits);
    free(rules);
}

static bool json_int(const cJSON *item, int64_t *out)
{
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble) || item->valuedouble != floor(item->valuedouble) ||
        fabs(item->valuedouble) > 9e15)
        return false;
    *out = (int64_t)item->valuedouble;
    return true;
}

static int load_tier(tier *t, const cJSON *o, size_t i)
{
    if (!cJSON_IsObject(o))
        return crm_error_set(CRM_EINVALID, "loyalty.tiers[%zu]: expected an object", i);
    bool has_name = false, has_min = false;
    for (const cJSON *f = o->child; f; f = f->next) {
        if (strcmp(f->string, "name") == 0) {
            size_t len = cJSON_IsString(f) ? strlen(f->valuestring) : 0;
            bool ok = len > 0 && len <= TIER_NAME_MAX;
            for (size_t k = 0; ok && k < len; k++) {
                char c = f->valuestring[k];
                ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
            }
            if (!ok)
                return crm_error_set(CRM_EINVALID,
                                     "loyalty.tiers[%zu].name: expected 1 to %d lower-case letters, digits, '_' or '-'",
                                     i, TIER_NAME_MAX);
            memcpy(t->name, f->valuestring, len + 1);
            has_name = true;
        } else if (strcmp(f->string, "min_points") == 0) {
            if (!json_int(f, &t->min_points) || t->min_points < 0)
                return crm_error_set(CRM_EINVALID, "loyalty.tiers[%zu].min_points: expected a non-negative integer", i);
            has_min = true;
        } else if (strcmp(f->string, "benefits") == 0) {
            if (!cJSON_IsObject(f))
                return crm_error_set(CRM_EINVALID, "loyalty.tiers[%zu].benefits: expected an object", i);
            if (!(t->benefits = cJSON_PrintUnformatted(f)))
                return crm__error_nomem();
        } else {
            return crm_error_set(CRM_EINVALID, "loyalty.tiers[%zu].%.32s: unknown member", i, f->string);
        }
    }
    if (!has_name)
        return crm_error_set(CRM_EINVALID, "loyalty.tiers[%zu].name: required", i);
    if (!has_min)
        return crm_error_set(CRM_EINVALID, "loyalty.tiers[%zu].min_points: required", i);
    return 0;
}

static int load_rules(crm_loyalty_rules *r, const cJSON *doc)
{
    if (!cJSON_IsObject(doc))
        return crm_error_set(CRM_EINVALID, "loyalty: expected a JSON object");
    r->window_ms = 365 * DAY_MS;
    for (const cJSON *f = doc->child; f; f = f->next) {
        if (strcmp(f->string, "window_days") == 0) {
            int64_t days;
            if (!json_int(f, &days) || days <= 0 || days > 3660)
                return crm_error_set(CRM_EINVALID, "loyalty.window_days: expected an integer from 1 to 3660");
            r->window_ms = days * DAY_MS;
        } else if (strcmp(f->string, "allow_negative") == 0) {
            if (!cJSON_IsBool(f))
                return crm_error_set(CRM_EINVALID, "loyalty.allow_negative: expected true or false");
            r->allow_negative = cJSON_IsTrue(f);
        } else if (strcmp(f->string, "tiers") == 0) {
            if (!cJSON_IsArray(f))
                return crm_error_set(CRM_EINVALID, "loyalty.tiers: expected an array");
            for (const cJSON *o = f->child; o; o = o->next) {
                if (r->n == TIERS_MAX)
                    return crm_error_set(CRM_EINVALID, "loyalty.tiers: at most %d tiers", TIERS_MAX);
                tier *t = &r->tiers[r->n++];
                int rc = load_tier(t, o, r->n - 1);
                if (rc)
                    return rc;
                size_t i = r->n - 1;
                if (i == 0 && t->min_points != 0)
                    return crm_error_set(CRM_EINVALID, "loyalty.tiers[0].min_points: the lowest tier starts at 0");
                if (i > 0 && t->min_points <= r->tiers[i - 1].min_points)
                    return crm_error_set(CRM_EINVALID,
                                         "loyalty.tiers[%zu].min_points: must be above the tier before (%lld)", i,
                                         (long long)r->tiers[i - 1].min_points);
                for (size_t k = 0; k < i; k++)
                    if (strcmp(r->tiers[k].name, t->name) == 0)
                        return crm_error_set(CRM_EINVALID, "loyalty.tiers[%zu].name: '%s' is used twice", i, t->name);
            }
        } else {
            return crm_error_set(CRM_EINVALID, "loyalty.%.32s: unknown member", f->string);
        }
    }
    return 0;
}

int crm_loyalty_rules_load(crm_loyalty_rules **out, const char *json)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: required");
    *out = NULL;
    if (!json)
        return crm_error_set(CRM_EINVALID, "loyalty: required");
    cJSON *doc = cJSON_Parse(json);
    if (!doc)
        return crm_error_set(CRM_EINVALID, "loyalty: malformed JSON");
    crm_loyalty_rules *r = calloc(1, sizeof *r);
    int rc = r ? load_rules(r, doc) : crm__error_nomem();
    cJSON_Delete(doc);
    if (rc) {
        crm_loyalty_rules_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

static int tier_index(const crm_loyalty_rules *r, const char *name)
{
    for (size_t i = 0; name && i < r->n; i++)
        if (strcmp(r->tiers[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* ---- members ---------------------------------------------------------- */

/* A member copied out of the backend's borrowed row. */
typedef struct member_buf {
    crm_member m;
    char customer_id[CRM_ID_LEN + 1];
    char member_no[MEMBER_NO_MAX + 1];
    char tier[TIER_NAME_MAX + 1];
} member_buf;

static int check_id(const char *field, const char *id)
{
    if (!id)
        return crm_error_set(CRM_EINVALID, "%s: required", field);
    if (!crm__id_valid(id))
        return crm_error_set(CRM_EINVALID, "%s: expected a UUID", field);
    return 0;
}

static int need_v2(crm_db *db)
{
    if (!db)
        return crm_error_set(CRM_EINVALID, "db: required");
    if (db->backend->version < CRM_BACKEND_VERSION_CUSTOMERS)
        return crm_error_set(CRM_ESTORAGE, "backend %s does not support members", db->backend->name);
    return 0;
}

static int load_member(crm_db *db, const char *customer_id, member_buf *mb)
{
    crm_member m;
    int rc = db->backend->member_get(db->backend, &db->scope, customer_id, &m);
    if (rc == CRM_ENOTFOUND)
        return crm_error_set(CRM_ENOTFOUND, "customer %s: not a member", customer_id);
    if (rc)
        return rc;
    mb->m = m;
    snprintf(mb->customer_id, sizeof mb->customer_id, "%s", m.customer_id);
    snprintf(mb->member_no, sizeof mb->member_no, "%s", m.member_no);
    snprintf(mb->tier, sizeof mb->tier, "%s", m.tier ? m.tier : "");
    mb->m.customer_id = mb->customer_id;
    mb->m.member_no = mb->member_no;
    mb->m.tier = m.tier ? mb->tier : NULL;
    return 0;
}

static int member_event(crm_db *db, const char *kind, const char *customer_id, const char *data)
{
    /* Loyalty is the brand's programme, not a dealer's: no dealer on the event. */
    return crm__event_append(db, kind, "member", customer_id, NULL, data);
}

int crm_member_enrol(crm_db *db, const char *customer_id, const char *member_no, const crm_loyalty_rules *rules)
{
    int rc = need_v2(db);
    if (rc == 0)
        rc = check_id("customer_id", customer_id);
    if (rc)
        return rc;
    size_t len = member_no ? strlen(member_no) : 0;
    bool ok = len > 0 && len <= MEMBER_NO_MAX;
    for (size_t i = 0; ok && i < len; i++) {
        char c = member_no[i];
        ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    }
    if (!ok)
        return crm_error_set(CRM_EINVALID, "member_no: expected 1 to %d ASCII letters, digits or '-'", MEMBER_NO_MAX);
    crm_backend *b = db->backend;
    rc = crm__tx_begin(db);
    if (rc)
        return rc;
    crm_customer c;
    rc = b->customer_get(b, &db->scope, customer_id, &c);
    if (rc == 0 && c.merged_into)
        rc = crm_error_set(CRM_ECONFLICT, "customer %s: merged into %s; enrol that customer", customer_id,
                           c.merged_into);
    crm_member existing;
    if (rc == 0 && b->member_get(b, NULL, customer_id, &existing) == 0)
        rc = crm_error_set(CRM_EEXISTS, "customer %s: already a member (%s)", customer_id, existing.member_no);
    int64_t now = crm_db_now(db);
    if (rc == 0) {
        crm_member m = {
            .customer_id = customer_id,
            .member_no = member_no,
            .tier = rules && rules->n ? rules->tiers[0].name : NULL,
            .tier_since = now,
            .enrolled_at = now,
            .balance = 0,
            .updated_at = now,
        };
        rc = b->member_insert(b, &m);
        if (rc == CRM_EEXISTS)
            rc = crm_error_set(CRM_EEXISTS, "member_no: %s is taken", member_no);
    }
    if (rc == 0) {
        char data[96];
        snprintf(data, sizeof data, "{\"member_no\":\"%s\"}", member_no);
        rc = member_event(db, "member.enrolled", customer_id, data);
    }
    return crm__tx_end(db, rc);
}

int crm_member_get(crm_member **out, crm_db *db, const char *customer_id)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: required");
    *out = NULL;
    int rc = need_v2(db);
    if (rc == 0)
        rc = check_id("customer_id", customer_id);
    member_buf *mb = rc ? NULL : malloc(sizeof *mb);
    if (rc == 0 && !mb)
        rc = crm__error_nomem();
    if (rc == 0)
        rc = load_member(db, customer_id, mb);
    if (rc) {
        free(mb);
        return rc;
    }
    /* The struct is the first member: crm_member_free() frees the buffer. */
    *out = &mb->m;
    return 0;
}

void crm_member_free(crm_member *member)
{
    free(member);
}

/* Points earned within the window that were not reversed. */
static int qualifying_points(crm_db *db, const char *customer_id, const crm_loyalty_rules *rules, int64_t *out)
{
    *out = 0;
    crm_backend_iter *it;
    int rc = db->backend->points_scan(db->backend, customer_id, &it);
    if (rc)
        return rc;
    int64_t from = crm_db_now(db) - rules->window_ms;
    crm_points_txn t;
    while ((rc = it->next(it, &t)) == 0)
        if (t.kind == CRM_POINTS_ACCRUAL && !t.reversed_by && t.created_at > from)
            *out += t.points;
    it->free(it);
    return rc == CRM_ITEROVER ? 0 : rc;
}

/* The last anniversary of enrolment at or before now (or enrolment itself). */
static int64_t last_anniversary(int64_t enrolled, int64_t now)
{
    int64_t last = enrolled;
    for (int k = 1; k < 200; k++) {
        int64_t a = crm__time_add_years(enrolled, k);
        if (a > now)
            break;
        last = a;
    }
    return last;
}

/* Move the member (loaded in mb) to the tier its qualifying points earn:
 * up at once; down only when allow_down and an anniversary passed since
 * the member reached the current tier. Saves nothing; sets *changed. */
static int retier(crm_db *db, member_buf *mb, const crm_loyalty_rules *rules, bool allow_down, bool *changed)
{
    *changed = false;
    if (!rules || rules->n == 0)
        return 0;
    int64_t q;
    int rc = qualifying_points(db, mb->customer_id, rules, &q);
    if (rc)
        return rc;
    int target = 0;
    for (size_t i = 0; i < rules->n; i++)
        if (rules->tiers[i].min_points <= q)
            target = (int)i;
    int cur = tier_index(rules, mb->m.tier);
    int64_t now = crm_db_now(db);
    bool down_ok = allow_down && last_anniversary(mb->m.enrolled_at, now) > mb->m.tier_since;
    if (cur < 0 || target > cur || (target < cur && down_ok)) {
        char data[128];
        snprintf(data, sizeof data, "{\"from\":%s%s%s,\"to\":\"%s\",\"qualifying_points\":%lld}", cur < 0 ? "" : "\"",
                 cur < 0 ? "null" : rules->tiers[cur].name, cur < 0 ? "" : "\"", rules->tiers[target].name,
                 (long long)q);
        snprintf(mb->tier, sizeof mb->tier, "%s", rules->tiers[target].name);
        mb->m.tier = mb->tier;
        mb->m.tier_since = now;
        *changed = true;
        rc = member_event(db, "member.tier_changed", mb->customer_id, data);
    }
    return rc;
}

int crm_member_evaluate_tier(int *changed, crm_db *db, const char *customer_id, const crm_loyalty_rules *rules)
{
    if (changed)
        *changed = 0;
    int rc = need_v2(db);
    if (rc == 0)
        rc = check_id("customer_id", customer_id);
    if (rc == 0 && (!rules || rules->n == 0))
        rc = crm_error_set(CRM_EINVALID, "rules: loyalty rules with tiers required");
    if (rc)
        return rc;
    rc = crm__tx_begin(db);
    if (rc)
        return rc;
    member_buf mb;
    bool moved = false;
    rc = load_member(db, customer_id, &mb);
    if (rc == 0)
        rc = retier(db, &mb, rules, true, &moved);
    if (rc == 0 && moved) {
        mb.m.updated_at = crm_db_now(db);
        rc = db->backend->member_update(db->backend, &mb.m);
    }
    rc = crm__tx_end(db, rc);
    if (rc == 0 && changed)
        *changed = moved;
    return rc;
}

static bool add_time(cJSON *o, const char *name, int64_t t)
{
    char iso[CRM_ISO_TIME_LEN + 1];
    crm__time_format(t, iso);
    return cJSON_AddStringToObject(o, name, iso) != NULL;
}

int crm_member_get_json(char **out, crm_db *db, const char *customer_id, const crm_loyalty_rules *rules)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: required");
    *out = NULL;
    int rc = need_v2(db);
    if (rc == 0)
        rc = check_id("customer_id", customer_id);
    member_buf mb;
    if (rc == 0)
        rc = load_member(db, customer_id, &mb);
    int64_t q = 0;
    if (rc == 0 && rules)
        rc = qualifying_points(db, customer_id, rules, &q);
    if (rc)
        return rc;
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddStringToObject(o, "customer_id", mb.customer_id) &&
              cJSON_AddStringToObject(o, "member_no", mb.member_no) &&
              (mb.m.tier ? cJSON_AddStringToObject(o, "tier", mb.m.tier) : cJSON_AddNullToObject(o, "tier")) &&
              add_time(o, "tier_since", mb.m.tier_since) && add_time(o, "enrolled_at", mb.m.enrolled_at) &&
              cJSON_AddNumberToObject(o, "balance", (double)mb.m.balance) && add_time(o, "updated_at", mb.m.updated_at);
    if (ok && rules) {
        int t = tier_index(rules, mb.m.tier);
        cJSON *benefits = t >= 0 && rules->tiers[t].benefits ? cJSON_Parse(rules->tiers[t].benefits) : cJSON_CreateObject();
        ok = cJSON_AddNumberToObject(o, "qualifying_points", (double)q) && benefits &&
             cJSON_AddItemToObject(o, "benefits", benefits);
        if (!ok)
            cJSON_Delete(benefits);
    }
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text)
        return crm__error_nomem();
    *out = text;
    return 0;
}

/* ---- the ledger ------------------------------------------------------- */

/* A transaction copied out of the backend's borrowed row. */
typedef struct txn_buf {
    crm_points_txn t;
    char id[CRM_ID_LEN + 1], customer_id[CRM_ID_LEN + 1], reverses[CRM_ID_LEN + 1], reversed_by[CRM_ID_LEN + 1];
} txn_buf;

static void txn_copy(txn_buf *tb, const crm_points_txn *t)
{
    tb->t = *t;
    snprintf(tb->id, sizeof tb->id, "%s", t->id);
    snprintf(tb->customer_id, sizeof tb->customer_id, "%s", t->customer_id);
    snprintf(tb->reverses, sizeof tb->reverses, "%s", t->reverses ? t->reverses : "");
    snprintf(tb->reversed_by, sizeof tb->reversed_by, "%s", t->reversed_by ? t->reversed_by : "");
    tb->t.id = tb->id;
    tb->t.customer_id = tb->customer_id;
    tb->t.reverses = t->reverses ? tb->reverses : NULL;
    tb->t.reversed_by = t->reversed_by ? tb->reversed_by : NULL;
    /* Not needed after the copy, and the row they point into is reused. */
    tb->t.idempotency_key = NULL;
    tb->t.reason = NULL;
}

/* Read batches from a scan into an array, so that the storage can be
 * written while we walk them. */
static int collect_batches(crm_backend_iter *it, txn_buf **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    crm_points_txn t;
    int rc;
    while ((rc = it->next(it, &t)) == 0) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            void *p = realloc(*out, cap * sizeof **out);
            if (!p) {
                rc = crm__error_nomem();
                break;
            }
            *out = p;
        }
        txn_copy(&(*out)[(*n)++], &t);
    }
    it->free(it);
    if (rc != CRM_ITEROVER) {
        free(*out);
        *out = NULL;
        return rc;
    }
    /* realloc moved the buffers: point each record at its own copies again. */
    for (size_t i = 0; i < *n; i++) {
        txn_buf *tb = &(*out)[i];
        tb->t.id = tb->id;
        tb->t.customer_id = tb->customer_id;
        tb->t.reverses = tb->t.reverses ? tb->reverses : NULL;
        tb->t.reversed_by = tb->t.reversed_by ? tb->reversed_by : NULL;
    }
    return 0;
}

/* Draw up to `amount` from the member's live batches, earliest expiry
 * first, recording each draw for txn_id. *taken gets what was drawn. */
static int draw(crm_db *db, const char *txn_id, const char *customer_id, int64_t amount, const char *skip,
                int64_t *taken)
{
    *taken = 0;
    crm_backend *b = db->backend;
    crm_backend_iter *it;
    int rc = b->points_batch_scan(b, customer_id, crm_db_now(db), 0, &it);
    txn_buf *batches = NULL;
    size_t n = 0;
    if (rc == 0)
        rc = collect_batches(it, &batches, &n);
    for (size_t i = 0; rc == 0 && i < n && *taken < amount; i++) {
        txn_buf *bt = &batches[i];
        if (skip && strcmp(bt->id, skip) == 0)
            continue;
        int64_t take = bt->t.remaining < amount - *taken ? bt->t.remaining : amount - *taken;
        bt->t.remaining -= take;
        rc = b->points_update(b, &bt->t);
        crm_points_use u = { txn_id, bt->id, take };
        if (rc == 0)
            rc = b->points_use_insert(b, &u);
        *taken += take;
    }
    free(batches);
    return rc;
}

/* Give a redemption's points back to the batches it drew on. */
static int give_back(crm_db *db, const char *txn_id)
{
    crm_backend *b = db->backend;
    crm_backend_iter *it;
    int rc = b->points_use_scan(b, txn_id, &it);
    if (rc)
        return rc;
    /* Read the draws first: the batches are written below. */
    struct draw_rec {
        char batch[CRM_ID_LEN + 1];
        int64_t points;
    } *draws = NULL;
    size_t n = 0, cap = 0;
    crm_points_use u;
    while ((rc = it->next(it, &u)) == 0) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            void *p = realloc(draws, cap * sizeof *draws);
            if (!p) {
                rc = crm__error_nomem();
                break;
            }
            draws = p;
        }
        snprintf(draws[n].batch, sizeof draws[n].batch, "%s", u.batch_id);
        draws[n++].points = u.points;
    }
    it->free(it);
    rc = rc == CRM_ITEROVER ? 0 : rc;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        crm_points_txn batch;
        rc = b->points_get(b, draws[i].batch, &batch);
        if (rc == 0) {
            txn_buf bb;
            txn_copy(&bb, &batch);
            bb.t.remaining += draws[i].points;
            rc = b->points_update(b, &bb.t);
        }
    }
    free(draws);
    return rc;
}

typedef struct points_req {
    crm_points_kind kind;
    const char *customer_id; /* NULL for a reversal until its target is read */
    int64_t points;          /* signed, as it changes the balance; 0 for a reversal until known */
    int64_t expires_at;
    const char *key;
    const char *reason;
    const char *reverses;
} points_req;

static int check_request(const points_req *r)
{
    size_t len = r->key ? strlen(r->key) : 0;
    if (len == 0 || len > KEY_MAX)
        return crm_error_set(CRM_EINVALID, "idempotency_key: expected 1 to %d bytes", KEY_MAX);
    if (!crm__utf8_valid(r->key, len))
        return crm_error_set(CRM_EINVALID, "idempotency_key: invalid UTF-8");
    if (r->reason && (strlen(r->reason) > REASON_MAX || !crm__utf8_valid(r->reason, strlen(r->reason))))
        return crm_error_set(CRM_EINVALID, "reason: expected UTF-8 text of at most %d bytes", REASON_MAX);
    return 0;
}

/* A used key: the same request again is a replay; anything else conflicts. */
static int replay(crm_db *db, const points_req *r, crm_points_txn *prior, crm_points_result *res)
{
    bool same = prior->kind == r->kind &&
                (r->kind == CRM_POINTS_REVERSAL ? prior->reverses && strcmp(prior->reverses, r->reverses) == 0
                                                : strcmp(prior->customer_id, r->customer_id) == 0 &&
                                                      prior->points == r->points &&
                                                      (r->kind != CRM_POINTS_ACCRUAL || prior->expires_at == r->expires_at));
    if (!same)
        return crm_error_set(CRM_ECONFLICT, "idempotency_key: already used by transaction %s, a different request",
                             prior->id);
    snprintf(res->txn_id, sizeof res->txn_id, "%s", prior->id);
    char customer[CRM_ID_LEN + 1];
    snprintf(customer, sizeof customer, "%s", prior->customer_id);
    member_buf mb;
    int rc = load_member(db, customer, &mb);
    if (rc == 0) {
        res->balance = mb.m.balance;
        res->replayed = 1;
    }
    return rc;
}

static int expire_batches(crm_db *db, const char *customer_id, size_t *count);

/* Everything one points call does, inside its storage transaction. */
static int points_tx(crm_points_result *res, crm_db *db, points_req *r, const crm_loyalty_rules *rules)
{
    crm_backend *b = db->backend;
    crm_points_txn prior;
    int rc = b->points_find_key(b, r->key, &prior);
    if (rc == 0)
        return replay(db, r, &prior, res);
    if (rc != CRM_ENOTFOUND)
        return rc;

    txn_buf target;
    if (r->kind == CRM_POINTS_REVERSAL) {
        rc = b->points_get(b, r->reverses, &prior);
        if (rc == CRM_ENOTFOUND)
            return crm_error_set(CRM_ENOTFOUND, "txn_id: no transaction %s", r->reverses);
        if (rc)
            return rc;
        txn_copy(&target, &prior);
        r->customer_id = target.customer_id;
        if (target.t.kind != CRM_POINTS_ACCRUAL && target.t.kind != CRM_POINTS_REDEMPTION)
            return crm_error_set(CRM_ECONFLICT, "txn_id: %s is an %s; only accruals and redemptions reverse",
                                 target.id, points_kind_names[target.t.kind]);
        if (target.t.reversed_by)
            return crm_error_set(CRM_ECONFLICT, "txn_id: %s was reversed already by %s", target.id,
                                 target.t.reversed_by);
        if (target.t.kind == CRM_POINTS_ACCRUAL && target.t.expires_at && target.t.expires_at <= crm_db_now(db))
            return crm_error_set(CRM_ECONFLICT, "txn_id: the batch of accrual %s has expired", target.id);
        r->points = -target.t.points;
    }

    /* Points that expired by now are not there to spend, whether or not
     * the expiry run has come by: expire them first. */
    size_t expired = 0;
    rc = expire_batches(db, r->customer_id, &expired);
    if (rc)
        return rc;
    member_buf mb;
    rc = load_member(db, r->customer_id, &mb);
    if (rc)
        return rc;
    bool allow_negative = rules && rules->allow_negative;
    if (r->points < 0 && mb.m.balance + r->points < 0 && !allow_negative)
        return crm_error_set(CRM_ECONFLICT, "points: the balance is %lld; %lld would make it negative",
                             (long long)mb.m.balance, (long long)-r->points);

    int64_t now = crm_db_now(db);
    char id[CRM_ID_LEN + 1];
    crm__idgen_next(&db->idgen, now, id);
    /* An accrual first pays off a negative balance; the rest is its batch. */
    int64_t debt = mb.m.balance < 0 ? -mb.m.balance : 0;
    crm_points_txn t = {
        .id = id,
        .customer_id = r->customer_id,
        .kind = r->kind,
        .points = r->points,
        .remaining = r->kind == CRM_POINTS_ACCRUAL ? (r->points > debt ? r->points - debt : 0) : 0,
        .expires_at = r->kind == CRM_POINTS_ACCRUAL ? r->expires_at : 0,
        .idempotency_key = r->key,
        .reverses = r->reverses,
        .reason = r->reason,
        .created_at = now,
    };
    rc = b->points_insert(b, &t);
    if (rc)
        return rc;

    int64_t taken;
    if (r->kind == CRM_POINTS_REDEMPTION) {
        rc = draw(db, id, r->customer_id, -r->points, NULL, &taken);
    } else if (r->kind == CRM_POINTS_REVERSAL && target.t.kind == CRM_POINTS_ACCRUAL) {
        /* Take back what is left of the batch, the spent rest from others. */
        int64_t from_batch = target.t.remaining < target.t.points ? target.t.remaining : target.t.points;
        target.t.remaining -= from_batch;
        if (from_batch > 0) {
            crm_points_use u = { id, target.id, from_batch };
            rc = b->points_use_insert(b, &u);
        }
        if (rc == 0)
            rc = draw(db, id, r->customer_id, target.t.points - from_batch, target.id, &taken);
    } else if (r->kind == CRM_POINTS_REVERSAL) {
        rc = give_back(db, target.id);
    }
    if (rc == 0 && r->kind == CRM_POINTS_REVERSAL) {
        target.t.reversed_by = id;
        rc = b->points_update(b, &target.t);
    }

    mb.m.balance += r->points;
    mb.m.updated_at = now;
    bool moved = false;
    if (rc == 0 && r->kind == CRM_POINTS_ACCRUAL)
        rc = retier(db, &mb, rules, false, &moved);
    if (rc == 0)
        rc = b->member_update(b, &mb.m);
    if (rc == 0) {
        static const char *const event_kinds[] = { "points.accrued", "points.redeemed", "points.reversed", "points.expired" };
        char data[160];
        snprintf(data, sizeof data, "{\"txn\":\"%s\",\"points\":%lld,\"balance\":%lld}", id, (long long)r->points,
                 (long long)mb.m.balance);
        rc = member_event(db, event_kinds[r->kind], r->customer_id, data);
    }
    if (rc == 0) {
        snprintf(res->txn_id, sizeof res->txn_id, "%s", id);
        res->balance = mb.m.balance;
        res->replayed = 0;
    }
    return rc;
}

static int points_call(crm_points_result *result, crm_db *db, points_req *r, const crm_loyalty_rules *rules)
{
    crm_points_result scratch;
    crm_points_result *res = result ? result : &scratch;
    memset(res, 0, sizeof *res);
    int rc = need_v2(db);
    if (rc == 0)
        rc = r->kind == CRM_POINTS_REVERSAL ? check_id("txn_id", r->reverses) : check_id("customer_id", r->customer_id);
    if (rc == 0 && r->kind != CRM_POINTS_REVERSAL && (r->points == 0 || llabs(r->points) > POINTS_MAX))
        rc = crm_error_set(CRM_EINVALID, "points: expected a positive integer up to %lld", POINTS_MAX);
    if (rc == 0)
        rc = check_request(r);
    if (rc == 0)
        rc = crm__tx_begin(db);
    if (rc == 0)
        rc = crm__tx_end(db, points_tx(res, db, r, rules));
    if (rc)
        memset(res, 0, sizeof *res);
    return rc;
}

int crm_points_accrue(crm_points_result *result, crm_db *db, const char *customer_id, int64_t points,
                      int64_t expires_at, const char *idempotency_key, const char *reason,
                      const crm_loyalty_rules *rules)
{
    if (points < 0)
        return crm_error_set(CRM_EINVALID, "points: expected a positive integer up to %lld", POINTS_MAX);
    if (expires_at < 0 || (expires_at && db && expires_at <= crm_db_now(db)))
        return crm_error_set(CRM_EINVALID, "expires_at: must be in the future (0: never)");
    points_req r = { CRM_POINTS_ACCRUAL, customer_id, points, expires_at, idempotency_key, reason, NULL };
    return points_call(result, db, &r, rules);
}

int crm_points_redeem(crm_points_result *result, crm_db *db, const char *customer_id, int64_t points,
                      const char *idempotency_key, const char *reason, const crm_loyalty_rules *rules)
{
    if (points < 0)
        return crm_error_set(CRM_EINVALID, "points: expected a positive integer up to %lld", POINTS_MAX);
    points_req r = { CRM_POINTS_REDEMPTION, customer_id, -points, 0, idempotency_key, reason, NULL };
    return points_call(result, db, &r, rules);
}

int crm_points_reverse(crm_points_result *result, crm_db *db, const char *txn_id, const char *idempotency_key,
                       const char *reason, const crm_loyalty_rules *rules)
{
    points_req r = { CRM_POINTS_REVERSAL, NULL, 0, 0, idempotency_key, reason, txn_id };
    return points_call(result, db, &r, rules);
}

/* Expire what is left of the batches that expired by now: one member's
 * (customer_id) or everyone's (NULL). Adds the number expired to *count. */
static int expire_batches(crm_db *db, const char *customer_id, size_t *count)
{
    crm_backend *b = db->backend;
    int64_t now = crm_db_now(db);
    crm_backend_iter *it;
    int rc = b->points_batch_scan(b, customer_id, now, 1, &it);
    txn_buf *batches = NULL;
    size_t n = 0;
    if (rc == 0)
        rc = collect_batches(it, &batches, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        txn_buf *bt = &batches[i];
        char id[CRM_ID_LEN + 1], key[CRM_ID_LEN + 16];
        crm__idgen_next(&db->idgen, now, id);
        snprintf(key, sizeof key, "expiry:%s", id);
        crm_points_txn t = {
            .id = id,
            .customer_id = bt->customer_id,
            .kind = CRM_POINTS_EXPIRY,
            .points = -bt->t.remaining,
            .idempotency_key = key,
            .reverses = NULL,
            .reason = NULL,
            .created_at = now,
        };
        rc = b->points_insert(b, &t);
        crm_points_use u = { id, bt->id, bt->t.remaining };
        if (rc == 0)
            rc = b->points_use_insert(b, &u);
        member_buf mb;
        if (rc == 0)
            rc = load_member(db, bt->customer_id, &mb);
        if (rc == 0) {
            mb.m.balance += t.points;
            mb.m.updated_at = now;
            rc = b->member_update(b, &mb.m);
        }
        if (rc == 0) {
            bt->t.remaining = 0;
            rc = b->points_update(b, &bt->t);
        }
        if (rc == 0) {
            char data[200];
            snprintf(data, sizeof data, "{\"txn\":\"%s\",\"batch\":\"%s\",\"points\":%lld,\"balance\":%lld}", id,
                     bt->id, (long long)t.points, (long long)mb.m.balance);
            rc = member_event(db, "points.expired", bt->customer_id, data);
        }
        if (rc == 0)
            (*count)++;
    }
    free(batches);
    return rc;
}

int crm_points_expire(size_t *expired, crm_db *db)
{
    size_t count = 0;
    if (expired)
        *expired = 0;
    int rc = need_v2(db);
    if (rc == 0)
        rc = crm__tx_begin(db);
    if (rc == 0)
        rc = crm__tx_end(db, expire_batches(db, NULL, &count));
    if (rc == 0 && expired)
        *expired = count;
    return rc;
}

int crm_points_ledger_json(char **out, crm_db *db, const char *customer_id)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: required");
    *out = NULL;
    int rc = need_v2(db);
    if (rc == 0)
        rc = check_id("customer_id", customer_id);
    member_buf mb;
    if (rc == 0)
        rc = load_member(db, customer_id, &mb); /* checks the scope too */
    crm_backend_iter *it = NULL;
    if (rc == 0)
        rc = db->backend->points_scan(db->backend, customer_id, &it);
    if (rc)
        return rc;
    cJSON *arr = cJSON_CreateArray();
    crm_points_txn t;
    bool ok = arr != NULL;
    while (ok && (rc = it->next(it, &t)) == 0) {
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(arr, o) && cJSON_AddStringToObject(o, "id", t.id) &&
             cJSON_AddStringToObject(o, "kind", points_kind_names[t.kind]) &&
             cJSON_AddNumberToObject(o, "points", (double)t.points) &&
             cJSON_AddStringToObject(o, "idempotency_key", t.idempotency_key) && add_time(o, "at", t.created_at) &&
             (t.kind != CRM_POINTS_ACCRUAL ||
              (cJSON_AddNumberToObject(o, "remaining", (double)t.remaining) &&
               (t.expires_at ? add_time(o, "expires_at", t.expires_at) : cJSON_AddNullToObject(o, "expires_at") != NULL))) &&
             (!t.reverses || cJSON_AddStringToObject(o, "reverses", t.reverses)) &&
             (!t.reversed_by || cJSON_AddStringToObject(o, "reversed_by", t.reversed_by)) &&
             (!t.reason || cJSON_AddStringToObject(o, "reason", t.reason));
    }
    it->free(it);
    if (!ok) {
        cJSON_Delete(arr);
        return crm__error_nomem();
    }
    if (rc != CRM_ITEROVER) {
        cJSON_Delete(arr);
        return rc;
    }
    char *text = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    if (!text)
        return crm__error_nomem();
    *out = text;
    return 0;
}
