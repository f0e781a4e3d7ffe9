/*
 * Lead merges: survivorship rules per field, the merge with a snapshot of
 * every row it changes, and the unmerge that writes the snapshot back.
 * Every merge and unmerge is one transaction with its audit events.
 */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define MERGE_LIST_MAX 10000
#define TRUST_MAX 64
#define CHANNEL_MAX 32
/* As ingest: attributes are a form's extras, not a document store. */
#define ATTRIBUTES_MAX 16384
/* A merged-away lead points at its survivor, which may have been merged
 * away in turn; a longer chain than this is a damaged store. */
#define MERGE_CHAIN_MAX 64

typedef enum merge_rule { R_SURVIVOR, R_MOST_RECENT, R_TRUSTED, R_LONGEST, R_KEEP_ALL, RULE_COUNT } merge_rule;

static const char *const rule_names[RULE_COUNT] = {"survivor", "most_recent", "most_trusted_channel", "longest",
                                                   "keep_all"};

typedef enum field_type { FT_TEXT, FT_TIMELINE, FT_TRISTATE } field_type;

typedef struct merge_field {
    const char *name;
    field_type type;
    size_t offset; /* of the const char * member, for text fields */
    merge_rule rule; /* the default */
} merge_field;

#define TEXT(member, rule) { #member, FT_TEXT, offsetof(crm_lead, member), rule }

static const merge_field merge_fields[] = {
    TEXT(name, R_TRUSTED),
    TEXT(phone, R_KEEP_ALL),
    TEXT(email, R_MOST_RECENT),
    TEXT(wechat_openid, R_SURVIVOR),
    TEXT(wechat_unionid, R_SURVIVOR),
    TEXT(province, R_MOST_RECENT),
    TEXT(city, R_MOST_RECENT),
    TEXT(campaign, R_SURVIVOR),
    TEXT(owner_id, R_SURVIVOR),
    TEXT(model, R_MOST_RECENT),
    { "purchase_timeline", FT_TIMELINE, 0, R_MOST_RECENT },
    { "test_drive", FT_TRISTATE, 0, R_MOST_RECENT },
};
#define FIELD_COUNT (sizeof merge_fields / sizeof merge_fields[0])
#define PHONE_FIELD 1

static const char *const default_trust[] = {"walk_in", "dcc",      "auto_show", "app",    "wechat_mp",
                                            "website", "autohome", "dongchedi", "douyin", "third_party"};
#define DEFAULT_TRUST_COUNT (sizeof default_trust / sizeof default_trust[0])

/* Kept in step with merge_fields and default_trust (a unit test merges with
 * NULL and with this text and compares the rules stored). */
static const char default_rules_json[] =
    "{\"fields\":{\"name\":\"most_trusted_channel\",\"phone\":\"keep_all\",\"email\":\"most_recent\","
    "\"wechat_openid\":\"survivor\",\"wechat_unionid\":\"survivor\",\"province\":\"most_recent\","
    "\"city\":\"most_recent\",\"campaign\":\"survivor\",\"owner_id\":\"survivor\",\"model\":\"most_recent\","
    "\"purchase_timeline\":\"most_recent\",\"test_drive\":\"most_recent\"},"
    "\"channel_trust\":[\"walk_in\",\"dcc\",\"auto_show\",\"app\",\"wechat_mp\",\"website\",\"autohome\","
    "\"dongchedi\",\"douyin\",\"third_party\"]}";

const char *crm_lead_merge_default_rules(void)
{
    return default_rules_json;
}

typedef struct merge_rules {
    merge_rule rule[FIELD_COUNT];
    char trust[TRUST_MAX][CHANNEL_MAX + 1];
    size_t ntrust;
} merge_rules;

static int need_merge(const crm_db *db)
{
    return db->backend->version >= CRM_BACKEND_VERSION_MERGE
               ? 0
               : crm_error_set(CRM_ESTORAGE, "backend %s: does not support lead merges (version %u < %d)",
                               db->backend->name, db->backend->version, CRM_BACKEND_VERSION_MERGE);
}

/* ---- rules ------------------------------------------------------------ */

static int parse_field_rules(merge_rules *r, const cJSON *fields)
{
    if (!cJSON_IsObject(fields))
        return crm_error_set(CRM_EINVALID, "rules.fields: expected an object of field: rule");
    for (const cJSON *it = fields->child; it; it = it->next) {
        size_t f = 0;
        while (f < FIELD_COUNT && strcmp(merge_fields[f].name, it->string) != 0)
            f++;
        if (f == FIELD_COUNT)
            return crm_error_set(CRM_EINVALID,
                                 "rules.fields.%.64s: not a field a rule decides (name, phone, email, "
                                 "wechat_openid, wechat_unionid, province, city, campaign, owner_id, model, "
                                 "purchase_timeline, test_drive)",
                                 it->string);
        if (!cJSON_IsString(it))
            return crm_error_set(CRM_EINVALID, "rules.fields.%s: expected a rule name", merge_fields[f].name);
        int rule = 0;
        while (rule < RULE_COUNT && strcmp(rule_names[rule], it->valuestring) != 0)
            rule++;
        if (rule == RULE_COUNT)
            return crm_error_set(CRM_EINVALID,
                                 "rules.fields.%s: unknown rule '%.64s' (expected survivor, most_recent, "
                                 "most_trusted_channel, longest or keep_all)",
                                 merge_fields[f].name, it->valuestring);
        if (rule == R_LONGEST && merge_fields[f].type != FT_TEXT)
            return crm_error_set(CRM_EINVALID, "rules.fields.%s: rule 'longest' applies to text fields only",
                                 merge_fields[f].name);
        if (rule == R_KEEP_ALL && f != PHONE_FIELD)
            return crm_error_set(CRM_EINVALID, "rules.fields.%s: rule 'keep_all' applies to phone only",
                                 merge_fields[f].name);
        r->rule[f] = (merge_rule)rule;
    }
    return 0;
}

static int parse_trust(merge_rules *r, const cJSON *list)
{
    if (!cJSON_IsArray(list))
        return crm_error_set(CRM_EINVALID, "rules.channel_trust: expected an array of channel names");
    size_t n = 0;
    for (const cJSON *it = list->child; it; it = it->next, n++) {
        if (n == TRUST_MAX)
            return crm_error_set(CRM_EINVALID, "rules.channel_trust: at most %d channels", TRUST_MAX);
        size_t len = cJSON_IsString(it) ? strlen(it->valuestring) : 0;
        if (len == 0 || len > CHANNEL_MAX || !crm__utf8_valid(it->valuestring, len))
            return crm_error_set(CRM_EINVALID, "rules.channel_trust[%zu]: expected a channel name of 1 to %d bytes",
                                 n, CHANNEL_MAX);
        memcpy(r->trust[n], it->valuestring, len + 1);
    }
    r->ntrust = n;
    return 0;
}

/* The defaults, with what the JSON gives in their place. */
static int rules_parse(merge_rules *r, const char *json)
{
    for (size_t f = 0; f < FIELD_COUNT; f++)
        r->rule[f] = merge_fields[f].rule;
    for (size_t i = 0; i < DEFAULT_TRUST_COUNT; i++)
        snprintf(r->trust[i], sizeof r->trust[i], "%s", default_trust[i]);
    r->ntrust = DEFAULT_TRUST_COUNT;
    if (!json)
        return 0;
    if (!crm__utf8_valid(json, strlen(json)))
        return crm_error_set(CRM_EINVALID, "rules: invalid UTF-8");
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithOpts(json, &end, 1);
    if (!doc)
        return crm_error_set(CRM_EINVALID, "rules: malformed JSON near byte %zu",
                             end && end >= json ? (size_t)(end - json) : 0);
    int rc = cJSON_IsObject(doc) ? 0 : crm_error_set(CRM_EINVALID, "rules: expected an object");
    for (const cJSON *it = rc ? NULL : doc->child; it && rc == 0; it = it->next) {
        if (strcmp(it->string, "fields") == 0)
            rc = parse_field_rules(r, it);
        else if (strcmp(it->string, "channel_trust") == 0)
            rc = parse_trust(r, it);
        else
            rc = crm_error_set(CRM_EINVALID, "rules.%.64s: unknown member (expected fields or channel_trust)",
                               it->string);
    }
    cJSON_Delete(doc);
    return rc;
}

/* The rules in force, complete, as stored with the merge. */
static cJSON *rules_to_cjson(const merge_rules *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *fields = cJSON_AddObjectToObject(o, "fields");
    cJSON *trust = cJSON_AddArrayToObject(o, "channel_trust");
    bool ok = fields && trust;
    for (size_t f = 0; ok && f < FIELD_COUNT; f++)
        ok = cJSON_AddStringToObject(fields, merge_fields[f].name, rule_names[r->rule[f]]) != NULL;
    for (size_t i = 0; ok && i < r->ntrust; i++) {
        cJSON *s = cJSON_CreateString(r->trust[i]);
        ok = s && cJSON_AddItemToArray(trust, s);
        if (!ok)
            cJSON_Delete(s);
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* ---- survivorship ------------------------------------------------------ */

static const char *text_of(const crm_lead *l, size_t offset)
{
    const char *v;
    memcpy(&v, (const char *)l + offset, sizeof v);
    return v;
}

static void set_text(crm_lead *l, size_t offset, const char *v)
{
    memcpy((char *)l + offset, &v, sizeof v);
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static size_t trust_rank(const merge_rules *r, const char *channel)
{
    for (size_t i = 0; channel && i < r->ntrust; i++)
        if (strcmp(r->trust[i], channel) == 0)
            return i;
    return r->ntrust;
}

/* Which lead a field's value comes from: 0 the survivor, 1 the other. */
static int pick(const merge_rules *r, size_t f, const crm_lead *s, const crm_lead *o)
{
    const merge_field *mf = &merge_fields[f];
    bool s_empty, o_empty;
    switch (mf->type) {
    case FT_TEXT:
        s_empty = !text_of(s, mf->offset) || !*text_of(s, mf->offset);
        o_empty = !text_of(o, mf->offset) || !*text_of(o, mf->offset);
        break;
    case FT_TIMELINE:
        s_empty = s->purchase_timeline == CRM_TIMELINE_UNKNOWN;
        o_empty = o->purchase_timeline == CRM_TIMELINE_UNKNOWN;
        break;
    default:
        s_empty = s->test_drive == CRM_UNKNOWN;
        o_empty = o->test_drive == CRM_UNKNOWN;
        break;
    }
    if (s_empty || o_empty)
        return s_empty && !o_empty;
    switch (r->rule[f]) {
    case R_MOST_RECENT:
        return o->created_at > s->created_at;
    case R_TRUSTED:
        return trust_rank(r, o->channel) < trust_rank(r, s->channel);
    case R_LONGEST:
        return utf8_chars(text_of(o, mf->offset)) > utf8_chars(text_of(s, mf->offset));
    default:
        return 0;
    }
}

static bool has_string(const cJSON *arr, const char *s)
{
    for (const cJSON *it = arr ? arr->child : NULL; it; it = it->next)
        if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
            return true;
    return false;
}

/* Append s to phones unless it is the primary or already there. */
static bool keep_phone(cJSON *phones, const char *primary, const char *s, bool *changed)
{
    if (!s || !*s || (primary && strcmp(s, primary) == 0) || has_string(phones, s))
        return true;
    cJSON *item = cJSON_CreateString(s);
    if (!item || !cJSON_AddItemToArray(phones, item)) {
        cJSON_Delete(item);
        return false;
    }
    *changed = true;
    return true;
}

/* The survivor's attributes after the merge: its own members, those only
 * the other has, and with keep_all the phones array. *text is NULL when
 * there are none, the survivor's own text when nothing changed, else a
 * new string to free with cJSON_free (*owned set). *phones_out gets a copy
 * of the phones array (or NULL) for the merge record. */
static int merge_attributes(char **text, bool *owned, cJSON **phones_out, const crm_lead *s, const crm_lead *o,
                            const char *primary, bool keep_all)
{
    *text = (char *)s->attributes;
    *owned = false;
    *phones_out = NULL;
    cJSON *mine = s->attributes ? cJSON_Parse(s->attributes) : cJSON_CreateObject();
    if (s->attributes && !cJSON_IsObject(mine)) {
        /* Stored text that is not an object: left as it is. */
        cJSON_Delete(mine);
        return 0;
    }
    if (!mine)
        return crm__error_nomem();
    cJSON *theirs = o->attributes ? cJSON_Parse(o->attributes) : NULL;
    bool changed = false, ok = true;
    for (const cJSON *it = cJSON_IsObject(theirs) ? theirs->child : NULL; ok && it; it = it->next) {
        if ((keep_all && strcmp(it->string, "phones") == 0) || cJSON_GetObjectItemCaseSensitive(mine, it->string))
            continue;
        cJSON *copy = cJSON_Duplicate(it, 1);
        ok = copy && cJSON_AddItemToObject(mine, it->string, copy);
        if (!ok)
            cJSON_Delete(copy);
        changed = true;
    }
    if (ok && keep_all) {
        cJSON *phones = cJSON_GetObjectItemCaseSensitive(mine, "phones");
        if (phones && !cJSON_IsArray(phones)) {
            phones = NULL; /* not ours to reinterpret: the phones stay on the other lead */
        } else if (!phones) {
            phones = cJSON_CreateArray();
            ok = phones && cJSON_AddItemToObject(mine, "phones", phones);
            if (!ok)
                cJSON_Delete(phones);
        }
        if (ok && phones) {
            bool added = false;
            ok = keep_phone(phones, primary, s->phone, &added) && keep_phone(phones, primary, o->phone, &added);
            const cJSON *other_phones = cJSON_GetObjectItemCaseSensitive(theirs, "phones");
            for (const cJSON *it = cJSON_IsArray(other_phones) ? other_phones->child : NULL; ok && it; it = it->next)
                ok = !cJSON_IsString(it) || keep_phone(phones, primary, it->valuestring, &added);
            if (ok && cJSON_GetArraySize(phones) == 0)
                cJSON_DeleteItemFromObjectCaseSensitive(mine, "phones");
            else if (ok && !(*phones_out = cJSON_Duplicate(phones, 1)))
                ok = false;
            changed = changed || added;
        }
    }
    int rc = ok ? 0 : crm__error_nomem();
    if (rc == 0 && changed) {
        *text = cJSON_PrintUnformatted(mine);
        if (!*text)
            rc = crm__error_nomem();
        else if (strlen(*text) > ATTRIBUTES_MAX)
            rc = crm_error_set(CRM_EINVALID, "merge: the merged attributes would be %zu bytes, over the limit of %d",
                               strlen(*text), ATTRIBUTES_MAX);
        *owned = *text != NULL;
    }
    if (rc) {
        if (*owned)
            cJSON_free(*text);
        *text = NULL;
        *owned = false;
        cJSON_Delete(*phones_out);
        *phones_out = NULL;
    }
    cJSON_Delete(mine);
    cJSON_Delete(theirs);
    return rc;
}

/* ---- snapshots ---------------------------------------------------------- */

static const struct {
    const char *name;
    size_t offset;
} row_text[] = {
#define ROW(m) { #m, offsetof(crm_lead, m) }
    ROW(id),       ROW(channel),     ROW(campaign),    ROW(name),           ROW(phone),
    ROW(email),    ROW(wechat_openid), ROW(wechat_unionid), ROW(province),  ROW(city),
    ROW(dealer_id), ROW(owner_id),   ROW(model),       ROW(grade),          ROW(customer_id),
    ROW(attributes), ROW(merged_into),
#undef ROW
};
#define ROW_TEXT_COUNT (sizeof row_text / sizeof row_text[0])

/* A lead row exactly as stored: every column, numbers as numbers (Unix ms
 * fit a double exactly), so that writing it back restores the row. */
static cJSON *row_to_cjson(const crm_lead *l)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;
    for (size_t i = 0; ok && i < ROW_TEXT_COUNT; i++) {
        const char *v = text_of(l, row_text[i].offset);
        ok = (v ? cJSON_AddStringToObject(o, row_text[i].name, v) : cJSON_AddNullToObject(o, row_text[i].name)) !=
             NULL;
    }
    ok = ok && cJSON_AddNumberToObject(o, "purchase_timeline", l->purchase_timeline) &&
         cJSON_AddNumberToObject(o, "test_drive", l->test_drive) && cJSON_AddNumberToObject(o, "status", l->status) &&
         cJSON_AddNumberToObject(o, "score", l->score) &&
         cJSON_AddNumberToObject(o, "created_at", (double)l->created_at) &&
         cJSON_AddNumberToObject(o, "updated_at", (double)l->updated_at) &&
         cJSON_AddNumberToObject(o, "quality", l->quality);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int damaged(const char *merge_id, const char *what)
{
    return crm_error_set(CRM_ESTORAGE, "merge %s: stored %s is damaged", merge_id, what);
}

/* The row a snapshot holds; strings borrowed from the snapshot. */
static int row_from_cjson(crm_lead *l, const cJSON *o, const char *merge_id)
{
    memset(l, 0, sizeof *l);
    if (!cJSON_IsObject(o))
        return damaged(merge_id, "lead row");
    for (size_t i = 0; i < ROW_TEXT_COUNT; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, row_text[i].name);
        if (cJSON_IsString(v))
            set_text(l, row_text[i].offset, v->valuestring);
        else if (!cJSON_IsNull(v))
            return damaged(merge_id, "lead row");
    }
    const char *nums[] = {"purchase_timeline", "test_drive", "status", "score", "created_at", "updated_at"};
    double got[6];
    for (size_t i = 0; i < 6; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, nums[i]);
        if (!cJSON_IsNumber(v))
            return damaged(merge_id, "lead row");
        got[i] = v->valuedouble;
    }
    l->purchase_timeline = (crm_purchase_timeline)got[0];
    l->test_drive = (crm_tristate)got[1];
    l->status = (crm_lead_status)got[2];
    l->score = (int)got[3];
    l->created_at = (int64_t)got[4];
    l->updated_at = (int64_t)got[5];
    /* Snapshots written before schema 8 have no quality: their leads were
     * all read as ok then. */
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(o, "quality");
    if (q && !(cJSON_IsNumber(q) && q->valuedouble >= 0 && q->valuedouble < CRM_LEAD_QUALITY_COUNT))
        return damaged(merge_id, "lead row");
    l->quality = q ? (crm_lead_quality)q->valuedouble : CRM_LEAD_QUALITY_OK;
    return l->id ? 0 : damaged(merge_id, "lead row");
}

typedef struct key_pair {
    char *kind, *key;
} key_pair;

typedef struct key_list {
    key_pair *items;
    size_t n, cap;
    bool failed;
} key_list;

static int collect_key(const char *kind, const char *key, void *payload)
{
    key_list *kl = payload;
    if (kl->n == kl->cap) {
        size_t cap = kl->cap ? kl->cap * 2 : 8;
        key_pair *p = realloc(kl->items, cap * sizeof *p);
        if (!p) {
            kl->failed = true;
            return 1;
        }
        kl->items = p;
        kl->cap = cap;
    }
    key_pair *k = &kl->items[kl->n];
    k->kind = crm__strdup(kind);
    k->key = crm__strdup(key);
    if (!k->kind || !k->key) {
        free(k->kind);
        free(k->key);
        kl->failed = true;
        return 1;
    }
    kl->n++;
    return 0;
}

static void key_list_free(key_list *kl)
{
    for (size_t i = 0; i < kl->n; i++) {
        free(kl->items[i].kind);
        free(kl->items[i].key);
    }
    free(kl->items);
}

static int scan_keys(crm_db *db, const char *id, key_list *out)
{
    memset(out, 0, sizeof *out);
    int rc = db->backend->key_scan(db->backend, id, collect_key, out);
    if (rc == 0 && out->failed)
        rc = crm__error_nomem();
    return rc;
}

static bool has_key(const key_list *kl, const key_pair *k)
{
    for (size_t i = 0; i < kl->n; i++)
        if (strcmp(kl->items[i].kind, k->kind) == 0 && strcmp(kl->items[i].key, k->key) == 0)
            return true;
    return false;
}

static bool add_key_pair(cJSON *arr, const key_pair *k)
{
    cJSON *pair = cJSON_CreateArray();
    cJSON *kind = cJSON_CreateString(k->kind), *key = cJSON_CreateString(k->key);
    bool ok = pair && kind && key && cJSON_AddItemToArray(pair, kind);
    if (!ok)
        cJSON_Delete(kind);
    ok = ok && cJSON_AddItemToArray(pair, key);
    if (!ok) {
        cJSON_Delete(key);
        cJSON_Delete(pair);
        return false;
    }
    if (cJSON_AddItemToArray(arr, pair))
        return true;
    cJSON_Delete(pair);
    return false;
}

static cJSON *review_to_cjson(const crm_match_review *r)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddStringToObject(o, "id", r->id) && cJSON_AddNumberToObject(o, "status", r->status) &&
              cJSON_AddNumberToObject(o, "decided_at", (double)r->decided_at) &&
              (r->decided_by ? cJSON_AddStringToObject(o, "decided_by", r->decided_by)
                             : cJSON_AddNullToObject(o, "decided_by")) &&
              (r->merge_id ? cJSON_AddStringToObject(o, "merge_id", r->merge_id)
                           : cJSON_AddNullToObject(o, "merge_id"));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* ---- merge -------------------------------------------------------------- */

static cJSON *decision_value(const crm_lead *l, size_t f)
{
    const merge_field *mf = &merge_fields[f];
    if (mf->type == FT_TEXT) {
        const char *v = text_of(l, mf->offset);
        return v ? cJSON_CreateString(v) : cJSON_CreateNull();
    }
    if (mf->type == FT_TIMELINE)
        return cJSON_CreateString(crm_purchase_timeline_name(l->purchase_timeline));
    return l->test_drive == CRM_UNKNOWN ? cJSON_CreateNull() : cJSON_CreateBool(l->test_drive == CRM_YES);
}

/* The merge's record and events, the leads written: everything but the
 * keys, which the caller moved. */
typedef struct merge_work {
    crm_db *db;
    const merge_rules *rules;
    crm_lead *survivor, *other; /* owned copies as they were */
    crm_lead merged, away;      /* as they will be */
    int from[FIELD_COUNT];
    cJSON *phones;
    key_list other_keys, moved;
    const crm_match_review *review;
    char id[CRM_ID_LEN + 1];
    int64_t now;
} merge_work;

static cJSON *decisions_cjson(const merge_work *w, bool with_values)
{
    cJSON *arr = cJSON_CreateArray();
    bool ok = arr != NULL;
    for (size_t f = 0; ok && f < FIELD_COUNT; f++) {
        cJSON *d = cJSON_CreateObject();
        ok = d && cJSON_AddItemToArray(arr, d);
        if (!ok) {
            cJSON_Delete(d);
            break;
        }
        ok = cJSON_AddStringToObject(d, "field", merge_fields[f].name) &&
             cJSON_AddStringToObject(d, "rule", rule_names[w->rules->rule[f]]);
        if (ok && with_values) {
            cJSON *v = decision_value(&w->merged, f);
            ok = v && cJSON_AddItemToObject(d, "value", v);
            if (!ok)
                cJSON_Delete(v);
        }
        ok = ok && cJSON_AddStringToObject(d, "from", w->from[f] ? "other" : "survivor") &&
             cJSON_AddStringToObject(d, "lead_id", w->from[f] ? w->other->id : w->survivor->id);
    }
    if (!ok) {
        cJSON_Delete(arr);
        return NULL;
    }
    return arr;
}

/* Add item to o; on failure item is freed, so callers need not track it. */
static bool attach(cJSON *o, const char *name, cJSON *item)
{
    if (o && item && cJSON_AddItemToObject(o, name, item))
        return true;
    cJSON_Delete(item);
    return false;
}

static char *print_and_free(cJSON *o)
{
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}

/* before: both leads, the other's keys, the keys moved, the review item. */
static char *before_json(const merge_work *w)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = attach(o, "survivor", row_to_cjson(w->survivor)) && attach(o, "other", row_to_cjson(w->other));
    cJSON *keys = ok ? cJSON_AddArrayToObject(o, "keys") : NULL;
    cJSON *moved = keys ? cJSON_AddArrayToObject(o, "moved") : NULL;
    ok = moved != NULL;
    for (size_t i = 0; ok && i < w->other_keys.n; i++)
        ok = add_key_pair(keys, &w->other_keys.items[i]);
    for (size_t i = 0; ok && i < w->moved.n; i++)
        ok = add_key_pair(moved, &w->moved.items[i]);
    if (ok && w->review)
        ok = attach(o, "review", review_to_cjson(w->review));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return print_and_free(o);
}

/* after: both leads as written, the decisions, the phones kept. */
static char *after_json(const merge_work *w)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = attach(o, "survivor", row_to_cjson(&w->merged)) && attach(o, "other", row_to_cjson(&w->away)) &&
              attach(o, "fields", decisions_cjson(w, true)) &&
              attach(o, "phones", w->phones ? cJSON_Duplicate(w->phones, 1) : cJSON_CreateNull());
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return print_and_free(o);
}

static int merge_events(merge_work *w)
{
    cJSON *data = cJSON_CreateObject();
    /* No values: personal data stays in the rows, where erasure reaches it. */
    bool ok = data && cJSON_AddStringToObject(data, "merge", w->id) &&
              cJSON_AddStringToObject(data, "other", w->other->id) &&
              attach(data, "fields", decisions_cjson(w, false)) && cJSON_AddNumberToObject(data, "keys_moved", (double)w->moved.n) &&
         (!w->review || cJSON_AddStringToObject(data, "review", w->review->id));
    char *text = NULL;
    if (ok)
        text = print_and_free(data);
    else
        cJSON_Delete(data);
    if (!text)
        return crm__error_nomem();
    int rc = crm__event_append(w->db, "lead.merged", "lead", w->survivor->id, w->survivor->dealer_id, text);
    cJSON_free(text);
    char away[160];
    snprintf(away, sizeof away, "{\"merge\":\"%s\",\"survivor\":\"%s\"}", w->id, w->survivor->id);
    if (rc == 0)
        rc = crm__event_append(w->db, "lead.merged_away", "lead", w->other->id, w->other->dealer_id, away);
    return rc;
}

static int check_not_merged(const crm_lead *l)
{
    return l->merged_into ? crm_error_set(CRM_ECONFLICT, "lead %s: already merged into %s", l->id, l->merged_into)
                          : 0;
}

/* Move the other's keys: each leaves the other and goes to the survivor
 * unless the survivor has it already. */
static int move_keys(merge_work *w)
{
    crm_backend *b = w->db->backend;
    key_list survivor_keys;
    int rc = scan_keys(w->db, w->survivor->id, &survivor_keys);
    if (rc == 0)
        rc = scan_keys(w->db, w->other->id, &w->other_keys);
    for (size_t i = 0; rc == 0 && i < w->other_keys.n; i++) {
        const key_pair *k = &w->other_keys.items[i];
        rc = b->key_delete(b, k->kind, k->key, w->other->id);
        if (rc == 0 && !has_key(&survivor_keys, k)) {
            rc = b->key_put(b, k->kind, k->key, w->survivor->id);
            if (rc == 0 && collect_key(k->kind, k->key, &w->moved))
                rc = crm__error_nomem();
        }
    }
    key_list_free(&survivor_keys);
    return rc;
}

int crm__lead_merge(crm_db *db, const char *survivor_id, const char *other_id, const char *rules_json,
                    const crm_match_review *review, char merge_id[CRM_ID_LEN + 1])
{
    merge_rules rules;
    int rc = rules_parse(&rules, rules_json);
    if (rc)
        return rc;
    merge_work w = {.db = db, .rules = &rules, .review = review, .now = crm_db_now(db)};
    char *attributes = NULL;
    bool attributes_owned = false;
    char *before = NULL, *after = NULL, *rules_text = NULL;
    if ((rc = crm_lead_get(&w.survivor, db, survivor_id)) == 0 && (rc = crm_lead_get(&w.other, db, other_id)) == 0 &&
        (rc = check_not_merged(w.survivor)) == 0)
        rc = check_not_merged(w.other);
    if (rc == 0) {
        w.merged = *w.survivor;
        for (size_t f = 0; f < FIELD_COUNT; f++) {
            w.from[f] = pick(&rules, f, w.survivor, w.other);
            const crm_lead *src = w.from[f] ? w.other : w.survivor;
            if (merge_fields[f].type == FT_TEXT)
                set_text(&w.merged, merge_fields[f].offset, text_of(src, merge_fields[f].offset));
            else if (merge_fields[f].type == FT_TIMELINE)
                w.merged.purchase_timeline = src->purchase_timeline;
            else
                w.merged.test_drive = src->test_drive;
        }
        if (!w.merged.customer_id)
            w.merged.customer_id = w.other->customer_id;
        rc = merge_attributes(&attributes, &attributes_owned, &w.phones, w.survivor, w.other, w.merged.phone,
                              rules.rule[PHONE_FIELD] == R_KEEP_ALL);
    }
    if (rc == 0) {
        w.merged.attributes = attributes;
        w.merged.updated_at = w.now;
        /* The merged lead has the better data of both: judge it again. */
        rc = crm__lead_judge(&w.merged.quality, NULL, &w.merged);
    }
    if (rc == 0) {
        w.away = *w.other;
        w.away.merged_into = w.survivor->id;
        w.away.updated_at = w.now;
        crm__idgen_next(&db->idgen, w.now, w.id);
        rc = move_keys(&w);
    }
    crm_backend *b = db->backend;
    if (rc == 0 && (rc = b->lead_update(b, &w.merged)) == 0)
        rc = b->lead_update(b, &w.away);
    if (rc == 0) {
        before = before_json(&w);
        after = after_json(&w);
        rules_text = print_and_free(rules_to_cjson(&rules));
        if (!before || !after || !rules_text)
            rc = crm__error_nomem();
    }
    if (rc == 0) {
        crm_lead_merge_record m = {
            .id = w.id,
            .survivor_id = w.survivor->id,
            .other_id = w.other->id,
            .dealer_id = w.survivor->dealer_id,
            .rules = rules_text,
            .before = before,
            .after = after,
            .created_at = w.now,
            .actor = db->actor,
        };
        rc = b->lead_merge_insert(b, &m);
    }
    if (rc == 0)
        rc = merge_events(&w);
    if (rc == 0)
        memcpy(merge_id, w.id, sizeof w.id);
    cJSON_free(before);
    cJSON_free(after);
    cJSON_free(rules_text);
    if (attributes_owned)
        cJSON_free(attributes);
    cJSON_Delete(w.phones);
    key_list_free(&w.other_keys);
    key_list_free(&w.moved);
    crm_lead_free(w.survivor);
    crm_lead_free(w.other);
    return rc;
}

int crm_lead_merge(char **merge_id_out, crm_db *db, const char *survivor_id, const char *other_id,
                   const char *rules_json)
{
    if (merge_id_out)
        *merge_id_out = NULL;
    if (!db || !survivor_id || !other_id)
        return crm_error_set(CRM_EINVALID, "%s: required", !db ? "db" : !survivor_id ? "survivor_id" : "other_id");
    if (!crm__id_valid(survivor_id) || !crm__id_valid(other_id))
        return crm_error_set(CRM_EINVALID, "%s: expected a UUID", crm__id_valid(survivor_id) ? "other_id" : "survivor_id");
    if (strcmp(survivor_id, other_id) == 0)
        return crm_error_set(CRM_EINVALID, "other_id: the same lead as survivor_id");
    int rc = need_merge(db);
    if (rc)
        return rc;
    char id[CRM_ID_LEN + 1];
    rc = crm__tx_begin(db);
    if (rc == 0)
        rc = crm__tx_end(db, crm__lead_merge(db, survivor_id, other_id, rules_json, NULL, id));
    if (rc == 0 && merge_id_out && !(*merge_id_out = crm__strdup(id)))
        rc = crm__error_nomem();
    return rc;
}

/* ---- unmerge ------------------------------------------------------------ */

typedef struct later_merge {
    const char *id;
    char found[CRM_ID_LEN + 1];
} later_merge;

/* Newest first: stop at this merge; a newer one in force is in the way. */
static int find_later(const crm_lead_merge_record *m, void *payload)
{
    later_merge *lm = payload;
    if (strcmp(m->id, lm->id) <= 0)
        return 1;
    if (m->undone_at == 0) {
        snprintf(lm->found, sizeof lm->found, "%s", m->id);
        return 1;
    }
    return 0;
}

static int check_no_later_merge(crm_db *db, const char *merge_id, const char *lead_id)
{
    /* Any dealer's merge counts: the leads' history is one. */
    static const crm_scope everything = {NULL};
    later_merge lm = {merge_id, ""};
    int rc = db->backend->lead_merge_list(db->backend, &everything, lead_id, MERGE_LIST_MAX, find_later, &lm);
    if (rc == 0 && lm.found[0])
        rc = crm_error_set(CRM_ECONFLICT, "merge %s: lead %s was merged again since (merge %s); undo that first",
                           merge_id, lead_id, lm.found);
    return rc;
}

/* The lead as stored now must be the lead as the merge left it. */
static int check_unchanged(crm_db *db, const char *merge_id, const cJSON *after_row)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(after_row, "id");
    if (!cJSON_IsString(id))
        return damaged(merge_id, "lead row");
    crm_lead now;
    int rc = db->backend->lead_get(db->backend, &db->scope, id->valuestring, &now);
    if (rc)
        return rc;
    cJSON *current = row_to_cjson(&now);
    if (!current)
        return crm__error_nomem();
    bool same = cJSON_Compare(current, after_row, 1);
    cJSON_Delete(current);
    return same ? 0
                : crm_error_set(CRM_ECONFLICT,
                                "merge %s: lead %s changed since the merge; undoing it would lose that change",
                                merge_id, id->valuestring);
}

static int restore_keys(crm_db *db, const cJSON *before, const char *merge_id, const char *survivor_id,
                        const char *other_id)
{
    crm_backend *b = db->backend;
    const cJSON *moved = cJSON_GetObjectItemCaseSensitive(before, "moved");
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(before, "keys");
    if (!cJSON_IsArray(moved) || !cJSON_IsArray(keys))
        return damaged(merge_id, "key list");
    int rc = 0;
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        for (const cJSON *k = (pass ? keys : moved)->child; k && rc == 0; k = k->next) {
            const cJSON *kind = cJSON_GetArrayItem(k, 0), *key = cJSON_GetArrayItem(k, 1);
            if (!cJSON_IsString(kind) || !cJSON_IsString(key))
                return damaged(merge_id, "key list");
            rc = pass ? b->key_put(b, kind->valuestring, key->valuestring, other_id)
                      : b->key_delete(b, kind->valuestring, key->valuestring, survivor_id);
        }
    }
    return rc;
}

static int restore_review(crm_db *db, const cJSON *snap, const char *merge_id)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(snap, "id");
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(snap, "status");
    const cJSON *decided_at = cJSON_GetObjectItemCaseSensitive(snap, "decided_at");
    const cJSON *decided_by = cJSON_GetObjectItemCaseSensitive(snap, "decided_by");
    const cJSON *was_merge = cJSON_GetObjectItemCaseSensitive(snap, "merge_id");
    if (!cJSON_IsString(id) || !cJSON_IsNumber(status) || !cJSON_IsNumber(decided_at))
        return damaged(merge_id, "review item");
    crm_match_review r;
    int rc = db->backend->review_get(db->backend, &db->scope, id->valuestring, &r);
    if (rc)
        return rc;
    r.id = id->valuestring;
    r.status = (crm_review_status)status->valueint;
    r.decided_at = (int64_t)decided_at->valuedouble;
    r.decided_by = cJSON_IsString(decided_by) ? decided_by->valuestring : NULL;
    r.merge_id = cJSON_IsString(was_merge) ? was_merge->valuestring : NULL;
    return db->backend->review_update(db->backend, &r);
}

static int unmerge(crm_db *db, const char *merge_id)
{
    crm_backend *b = db->backend;
    crm_lead_merge_record m;
    int rc = b->lead_merge_get(b, &db->scope, merge_id, &m);
    if (rc)
        return rc;
    if (m.undone_at)
        return crm_error_set(CRM_ECONFLICT, "merge %s: already undone", merge_id);
    /* The record's strings are borrowed until the next backend call. */
    char survivor_id[CRM_ID_LEN + 1], other_id[CRM_ID_LEN + 1];
    snprintf(survivor_id, sizeof survivor_id, "%s", m.survivor_id);
    snprintf(other_id, sizeof other_id, "%s", m.other_id);
    cJSON *before = cJSON_Parse(m.before), *after = cJSON_Parse(m.after);
    crm_lead survivor_row, other_row;
    if (!before || !after)
        rc = damaged(merge_id, "snapshot");
    if (rc == 0)
        rc = check_no_later_merge(db, merge_id, survivor_id);
    if (rc == 0)
        rc = check_no_later_merge(db, merge_id, other_id);
    if (rc == 0)
        rc = check_unchanged(db, merge_id, cJSON_GetObjectItemCaseSensitive(after, "survivor"));
    if (rc == 0)
        rc = check_unchanged(db, merge_id, cJSON_GetObjectItemCaseSensitive(after, "other"));
    if (rc == 0)
        rc = row_from_cjson(&survivor_row, cJSON_GetObjectItemCaseSensitive(before, "survivor"), merge_id);
    if (rc == 0)
        rc = row_from_cjson(&other_row, cJSON_GetObjectItemCaseSensitive(before, "other"), merge_id);
    if (rc == 0)
        rc = restore_keys(db, before, merge_id, survivor_id, other_id);
    if (rc == 0 && (rc = b->lead_update(b, &survivor_row)) == 0)
        rc = b->lead_update(b, &other_row);
    const cJSON *review = cJSON_GetObjectItemCaseSensitive(before, "review");
    if (rc == 0 && review)
        rc = restore_review(db, review, merge_id);
    if (rc == 0) {
        rc = b->lead_merge_get(b, &db->scope, merge_id, &m);
        if (rc == 0) {
            m.undone_at = crm_db_now(db);
            m.undone_by = db->actor;
            rc = b->lead_merge_update(b, &m);
        }
    }
    char data[96];
    snprintf(data, sizeof data, "{\"merge\":\"%s\"}", merge_id);
    if (rc == 0)
        rc = crm__event_append(db, "lead.unmerged", "lead", survivor_id, survivor_row.dealer_id, data);
    if (rc == 0)
        rc = crm__event_append(db, "lead.unmerged", "lead", other_id, other_row.dealer_id, data);
    cJSON_Delete(before);
    cJSON_Delete(after);
    return rc;
}

int crm_lead_unmerge(crm_db *db, const char *merge_id)
{
    if (!db || !merge_id)
        return crm_error_set(CRM_EINVALID, "%s: required", db ? "merge_id" : "db");
    if (!crm__id_valid(merge_id))
        return crm_error_set(CRM_EINVALID, "merge_id: expected a UUID");
    int rc = need_merge(db);
    if (rc == 0 && (rc = crm__tx_begin(db)) == 0)
        rc = crm__tx_end(db, unmerge(db, merge_id));
    return rc;
}

/* ---- reading merges ----------------------------------------------------- */

static bool add_time_or_null(cJSON *o, const char *name, int64_t t)
{
    if (!t)
        return cJSON_AddNullToObject(o, name) != NULL;
    char iso[CRM_ISO_TIME_LEN + 1];
    crm__time_format(t, iso);
    return cJSON_AddStringToObject(o, name, iso) != NULL;
}

static bool add_text_or_null(cJSON *o, const char *name, const char *v)
{
    return (v ? cJSON_AddStringToObject(o, name, v) : cJSON_AddNullToObject(o, name)) != NULL;
}

/* Move a member of a parsed snapshot into o (null when missing). */
static bool take(cJSON *o, const char *name, cJSON *from, const char *member)
{
    cJSON *item = from ? cJSON_DetachItemFromObjectCaseSensitive(from, member) : NULL;
    if (!item && !(item = cJSON_CreateNull()))
        return false;
    return attach(o, name, item);
}

static cJSON *merge_to_cjson(const crm_lead_merge_record *m)
{
    cJSON *before = cJSON_Parse(m->before), *after = cJSON_Parse(m->after), *rules = cJSON_Parse(m->rules);
    cJSON *o = cJSON_CreateObject();
    const cJSON *moved = cJSON_GetObjectItemCaseSensitive(before, "moved");
    const cJSON *review = cJSON_GetObjectItemCaseSensitive(before, "review");
    const cJSON *review_id = cJSON_GetObjectItemCaseSensitive(review, "id");
    bool ok = o && add_text_or_null(o, "id", m->id) && add_text_or_null(o, "survivor_id", m->survivor_id) &&
              add_text_or_null(o, "other_id", m->other_id) && add_text_or_null(o, "dealer_id", m->dealer_id);
    if (ok)
        ok = attach(o, "rules", rules ? rules : cJSON_CreateNull());
    else
        cJSON_Delete(rules);
    ok = ok && take(o, "fields", after, "fields") && take(o, "phones", after, "phones") &&
         cJSON_AddNumberToObject(o, "keys_moved", cJSON_GetArraySize(moved)) &&
         add_text_or_null(o, "review_id", cJSON_IsString(review_id) ? review_id->valuestring : NULL) &&
         add_time_or_null(o, "created_at", m->created_at) && add_text_or_null(o, "actor", m->actor) &&
         add_time_or_null(o, "undone_at", m->undone_at) && add_text_or_null(o, "undone_by", m->undone_by);
    cJSON_Delete(before);
    cJSON_Delete(after);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int crm_lead_merge_get_json(char **out, crm_db *db, const char *merge_id)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: required");
    *out = NULL;
    if (!db || !merge_id)
        return crm_error_set(CRM_EINVALID, "%s: required", db ? "merge_id" : "db");
    if (!crm__id_valid(merge_id))
        return crm_error_set(CRM_EINVALID, "merge_id: expected a UUID");
    int rc = need_merge(db);
    crm_lead_merge_record m;
    if (rc == 0)
        rc = db->backend->lead_merge_get(db->backend, &db->scope, merge_id, &m);
    if (rc == 0 && !(*out = print_and_free(merge_to_cjson(&m))))
        rc = crm__error_nomem();
    return rc;
}

typedef struct list_state {
    cJSON *arr;
    int rc;
} list_state;

static int add_merge(const crm_lead_merge_record *m, void *payload)
{
    list_state *ls = payload;
    cJSON *o = merge_to_cjson(m);
    if (!o || !cJSON_AddItemToArray(ls->arr, o)) {
        cJSON_Delete(o);
        ls->rc = crm__error_nomem();
        return 1;
    }
    return 0;
}

int crm_lead_merge_list_json(char **out, crm_db *db, const char *lead_id, int limit)
{
    if (!out || !db)
        return crm_error_set(CRM_EINVALID, "%s: required", out ? "db" : "out");
    *out = NULL;
    if (lead_id && !crm__id_valid(lead_id))
        return crm_error_set(CRM_EINVALID, "lead_id: expected a UUID");
    if (limit < 1 || limit > MERGE_LIST_MAX)
        return crm_error_set(CRM_EINVALID, "limit: expected 1 to %d", MERGE_LIST_MAX);
    int rc = need_merge(db);
    if (rc)
        return rc;
    list_state ls = {cJSON_CreateArray(), 0};
    if (!ls.arr)
        return crm__error_nomem();
    rc = db->backend->lead_merge_list(db->backend, &db->scope, lead_id, limit, add_merge, &ls);
    if (rc == 0)
        rc = ls.rc;
    if (rc == 0 && !(*out = cJSON_PrintUnformatted(ls.arr)))
        rc = crm__error_nomem();
    cJSON_Delete(ls.arr);
    return rc;
}

int crm__lead_merged_survivor(crm_db *db, char id[CRM_ID_LEN + 1])
{
    for (int hop = 0; hop < MERGE_CHAIN_MAX; hop++) {
        crm_lead l;
        int rc = db->backend->lead_get(db->backend, &db->scope, id, &l);
        if (rc || !l.merged_into)
            return rc;
        snprintf(id, CRM_ID_LEN + 1, "%s", l.merged_into);
    }
    return crm_error_set(CRM_ESTORAGE, "lead %s: more than %d merges in a chain", id, MERGE_CHAIN_MAX);
}
