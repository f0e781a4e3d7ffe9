/*
 * Online matching: as a lead is ingested, candidates come from the storage
 * by the matcher's blocking keys (stored with the backend's key_put under
 * kinds "match:<key>"), are compared with the lead, and the best decides.
 */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/match_internal.h"

/* Candidates compared per lead, at most: a common name in a big city must
 * not make one ingest read hundreds of leads. */
#define CANDIDATES_MAX 32

static const struct {
    const char *name;
    size_t offset;
} lead_columns[] = {
    {"channel", offsetof(crm_lead, channel)},
    {"campaign", offsetof(crm_lead, campaign)},
    {"name", offsetof(crm_lead, name)},
    {"phone", offsetof(crm_lead, phone)},
    {"email", offsetof(crm_lead, email)},
    {"wechat_openid", offsetof(crm_lead, wechat_openid)},
    {"wechat_unionid", offsetof(crm_lead, wechat_unionid)},
    {"province", offsetof(crm_lead, province)},
    {"city", offsetof(crm_lead, city)},
    {"dealer_id", offsetof(crm_lead, dealer_id)},
    {"owner_id", offsetof(crm_lead, owner_id)},
    {"model", offsetof(crm_lead, model)},
};
#define LEAD_COLUMN_COUNT (sizeof lead_columns / sizeof lead_columns[0])

static const char *column_value(const crm_lead *l, size_t c)
{
    /* memcpy: the offset came from offsetof, but the compiler cannot know
     * the char pointer arithmetic keeps the member's alignment. */
    const char *v;
    memcpy(&v, (const char *)l + lead_columns[c].offset, sizeof v);
    return v;
}

/* Every field must read a text field of a lead; online, every field needs
 * its m and u (one lead is no sample to estimate them from). */
static int check_lead_columns(const crm_matcher *m, bool online)
{
    for (size_t f = 0; f < m->nfields; f++) {
        size_t c = 0;
        while (c < LEAD_COLUMN_COUNT && strcmp(lead_columns[c].name, m->fields[f].column) != 0)
            c++;
        if (c == LEAD_COLUMN_COUNT)
            return crm_error_set(CRM_EINVALID, "fields[%zu].column: '%.64s' is not a text field of a lead", f,
                                 m->fields[f].column);
        if (online && !m->fields[f].fixed)
            return crm_error_set(CRM_EINVALID,
                                 "fields[%zu]: online matching needs m and u (estimate them in a batch run)", f);
    }
    return 0;
}

static const char *const *lead_column_names(void)
{
    static const char *names[LEAD_COLUMN_COUNT];
    for (size_t c = 0; c < LEAD_COLUMN_COUNT; c++)
        names[c] = lead_columns[c].name;
    return names;
}

void crm__lead_match_free(crm_db *db)
{
    crm_dedupe_free(db->match_scratch);
    crm_matcher_free(db->matcher);
    for (size_t k = 0; k < db->match_nkinds; k++)
        free(db->match_kinds[k]);
    free(db->match_kinds);
    db->match_scratch = NULL;
    db->matcher = NULL;
    db->match_kinds = NULL;
    db->match_nkinds = 0;
}

void crm_match_disable(crm_db *db)
{
    if (db)
        crm__lead_match_free(db);
}

int crm_match_enable(crm_db *db, const char *json)
{
    if (!db)
        return crm_error_set(CRM_EINVALID, "db: required");
    crm_matcher *m = NULL;
    int rc = crm_matcher_new(&m, json);
    if (rc != 0)
        return rc;
    if ((rc = check_lead_columns(m, true)) != 0) {
        crm_matcher_free(m);
        return rc;
    }
    crm_dedupe *scratch = NULL;
    char **kinds = calloc(m->nkeys, sizeof *kinds);
    if (!kinds || (rc = crm_dedupe_new(&scratch, m, lead_column_names(), LEAD_COLUMN_COUNT)) != 0) {
        free(kinds);
        crm_matcher_free(m);
        return rc ? rc : crm__error_nomem();
    }
    /* The key kind names the key's parts, so a changed configuration
     * does not read keys written under another meaning. */
    for (size_t k = 0; k < m->nkeys && rc == 0; k++) {
        /* The phone alone is the key every lead already has (lead.c):
         * sharing its kind saves a second copy of each phone. */
        if (m->keys[k].nparts == 1 && m->keys[k].parts[0].transform == KEY_VALUE &&
            strcmp(m->fields[m->keys[k].parts[0].field].column, "phone") == 0) {
            if (!(kinds[k] = crm__strdup(CRM__KEY_PHONE)))
                rc = crm__error_nomem();
            continue;
        }
        crm_buf b = CRM_BUF_INIT;
        crm__buf_puts(&b, "match:");
        for (size_t i = 0; i < m->keys[k].nparts; i++) {
            const mkey_part *kp = &m->keys[k].parts[i];
            char part[200];
            snprintf(part, sizeof part, "%s%.128s%s", i ? "+" : "", m->fields[kp->field].name,
                     kp->transform == KEY_PINYIN ? ":key" : "");
            if (kp->transform == KEY_PREFIX || kp->transform == KEY_SUFFIX)
                snprintf(part + strlen(part), sizeof part - strlen(part), ":%s:%ld",
                         kp->transform == KEY_PREFIX ? "prefix" : "suffix", kp->n);
            crm__buf_puts(&b, part);
        }
        if (b.failed)
            rc = crm__error_nomem();
        kinds[k] = b.data;
    }
    if (rc != 0) {
        for (size_t k = 0; k < m->nkeys; k++)
            free(kinds[k]);
        free(kinds);
        crm_dedupe_free(scratch);
        crm_matcher_free(m);
        return rc;
    }
    crm__lead_match_free(db);
    db->matcher = m;
    db->match_scratch = scratch;
    db->match_kinds = kinds;
    db->match_nkinds = m->nkeys;
    return 0;
}

static int add_lead(crm_dedupe *d, const crm_lead *l, const char *id)
{
    const char *values[LEAD_COLUMN_COUNT];
    for (size_t c = 0; c < LEAD_COLUMN_COUNT; c++)
        values[c] = column_value(l, c);
    return crm_dedupe_add(d, id, values);
}

typedef struct candidates {
    char ids[CANDIDATES_MAX][CRM_ID_LEN + 1];
    size_t n;
} candidates;

static int collect(const char *id, void *payload)
{
    candidates *c = payload;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->ids[i], id) == 0)
            return 0;
    if (c->n == CANDIDATES_MAX)
        return 1;
    snprintf(c->ids[c->n++], CRM_ID_LEN + 1, "%s", id);
    return 0;
}

int crm__lead_match_find(crm_db *db, const crm_lead *lead, crm__match_best *best)
{
    crm_dedupe *d = db->match_scratch;
    crm_backend *b = db->backend;
    memset(best, 0, sizeof *best);
    crm__dedupe_reset(d);
    int rc = add_lead(d, lead, "");
    if (rc != 0)
        return rc;
    candidates c;
    c.n = 0;
    crm_buf key = CRM_BUF_INIT;
    for (size_t k = 0; rc == 0 && k < db->match_nkinds && c.n < CANDIDATES_MAX; k++)
        if (crm__dedupe_block_key(d, k, 0, &key))
            rc = b->key_find(b, db->match_kinds[k], key.data, collect, &c);
    if (key.failed && rc == 0)
        rc = crm__error_nomem();
    crm__buf_free(&key);
    uint32_t best_rec = 0, added = 1;
    for (size_t i = 0; rc == 0 && i < c.n; i++) {
        crm_lead seen;
        int g = b->lead_get(b, &db->scope, c.ids[i], &seen);
        if (g == CRM_ENOTFOUND)
            continue; /* another dealer's lead: not visible, not a duplicate */
        if (g != 0 || (g = add_lead(d, &seen, c.ids[i])) != 0) {
            rc = g;
            break;
        }
        uint32_t r = added++;
        double p = crm__dedupe_probability(d, 0, r);
        if (p > best->probability) {
            best->probability = p;
            best_rec = r;
            snprintf(best->id, sizeof best->id, "%s", c.ids[i]);
            best->has_dealer = seen.dealer_id != NULL;
            if (seen.dealer_id)
                snprintf(best->dealer_id, sizeof best->dealer_id, "%s", seen.dealer_id);
        }
    }
    if (rc == 0 && best_rec) {
        best->decision = best->probability >= db->matcher->merge    ? CRM_MATCH_MERGE
                         : best->probability >= db->matcher->review ? CRM_MATCH_REVIEW
                                                                    : CRM_MATCH_DISTINCT;
        /* Evidence is kept only with a decision a person may question:
         * a distinct lead stores none, so it is not built. */
        if (best->decision != CRM_MATCH_DISTINCT && !(best->evidence = crm__dedupe_evidence_json(d, 0, best_rec)))
            rc = crm__error_nomem();
    }
    return rc;
}

int crm__lead_match_keys_put(crm_db *db, const char *id, const char *phone)
{
    crm_dedupe *d = db->match_scratch;
    crm_backend *b = db->backend;
    crm_buf key = CRM_BUF_INIT;
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < db->match_nkinds; k++)
        if (crm__dedupe_block_key(d, k, 0, &key) &&
            !(phone && strcmp(db->match_kinds[k], CRM__KEY_PHONE) == 0 && strcmp(key.data, phone) == 0))
            rc = b->key_put(b, db->match_kinds[k], key.data, id);
    if (key.failed && rc == 0)
        rc = crm__error_nomem();
    crm__buf_free(&key);
    return rc;
}

/* ---- keys of leads stored before matching was on --------------------- */

static int index_leads(crm_db *db, size_t *indexed)
{
    crm_iter *it = NULL;
    int rc = crm_lead_iter_new(&it, db, NULL);
    const crm_lead *l;
    /* Keys are written while the listing streams: they go to another table. */
    while (rc == 0 && (rc = crm_lead_next(&l, it)) == 0) {
        crm__dedupe_reset(db->match_scratch);
        if ((rc = add_lead(db->match_scratch, l, "")) == 0 &&
            (rc = crm__lead_match_keys_put(db, l->id, l->phone)) == 0)
            (*indexed)++;
    }
    crm_iter_free(it);
    return rc == CRM_ITEROVER ? 0 : rc;
}

int crm_match_index(size_t *indexed, crm_db *db)
{
    size_t count = 0;
    if (indexed)
        *indexed = 0;
    if (!db)
        return crm_error_set(CRM_EINVALID, "db: required");
    if (!db->matcher)
        return crm_error_set(CRM_EINVALID, "matching: not enabled on this handle (crm_match_enable first)");
    int rc = crm__tx_begin(db);
    if (rc == 0)
        rc = crm__tx_end(db, index_leads(db, &count));
    if (rc == 0 && indexed)
        *indexed = count;
    return rc;
}

/* ---- batch deduplication of the stored leads ------------------------- */

/* Merge every lead into the first (oldest) lead of its cluster; the merge
 * ids go to the array. */
static int merge_clusters(crm_db *db, crm_dedupe *d, size_t n, cJSON *merges)
{
    int rc = 0;
    for (size_t r = 0; rc == 0 && r < n; r++) {
        size_t root = crm__dedupe_root(d, r);
        if (root == r)
            continue;
        char *merge_id = NULL;
        rc = crm_lead_merge(&merge_id, db, crm_dedupe_record_id(d, root), crm_dedupe_record_id(d, r), NULL);
        if (rc == 0 && !cJSON_AddItemToArray(merges, cJSON_CreateString(merge_id)))
            rc = crm__error_nomem();
        crm_free(merge_id);
    }
    return rc;
}

static int dedupe_stored(char **out, crm_db *db, crm_matcher *m, int apply)
{
    crm_dedupe *d = NULL;
    int rc = crm_dedupe_new(&d, m, lead_column_names(), LEAD_COLUMN_COUNT);
    crm_iter *it = NULL;
    if (rc == 0)
        rc = crm_lead_iter_new(&it, db, NULL);
    /* Oldest first, so a cluster's first record (its survivor) is its
     * oldest lead. Leads merged away already are not listed. */
    const crm_lead *l;
    while (rc == 0 && (rc = crm_lead_next(&l, it)) == 0)
        rc = add_lead(d, l, l->id);
    if (rc == CRM_ITEROVER)
        rc = 0;
    crm_iter_free(it);
    crm_dedupe_stats st;
    if (rc == 0)
        rc = crm_dedupe_run(&st, d);
    char *text = NULL;
    if (rc == 0)
        rc = crm__dedupe_results_json(&text, d, m, &st, true);
    if (rc == 0 && apply) {
        cJSON *o = cJSON_Parse(text), *merges = cJSON_CreateArray();
        crm_free(text);
        text = NULL;
        if (!o || !merges || !cJSON_AddItemToObject(o, "merges", merges)) {
            cJSON_Delete(merges);
            rc = crm__error_nomem();
        }
        if (rc == 0 && (rc = crm__tx_begin(db)) == 0)
            rc = crm__tx_end(db, merge_clusters(db, d, st.records, merges));
        if (rc == 0 && !(text = cJSON_PrintUnformatted(o)))
            rc = crm__error_nomem();
        cJSON_Delete(o);
    }
    crm_dedupe_free(d);
    if (rc == 0)
        *out = text;
    else
        crm_free(text);
    return rc;
}

int crm_lead_dedupe_json(char **out, crm_db *db, const char *config, int apply)
{
    if (!out || !db)
        return crm_error_set(CRM_EINVALID, "%s: required", out ? "db" : "out");
    *out = NULL;
    crm_matcher *m = NULL;
    int rc = crm_matcher_new(&m, config);
    if (rc == 0 && (rc = check_lead_columns(m, false)) == 0)
        rc = dedupe_stored(out, db, m, apply);
    crm_matcher_free(m);
    return rc;
}
