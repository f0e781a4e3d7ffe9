/*
 * Scoring leads: dispatch to the model's kind, models in the database,
 * training on the stored outcomes, and writing scores back to leads.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/score_internal.h"

/* Engagements read from one lead's attributes: more are ignored (the
 * oldest ones weigh least after decay anyway). */
#define SIGNAL_ENGAGEMENTS_MAX 256
#define MODEL_FEATURES_MAX 256

static const char *lead_feature_text(const crm_lead *l, lead_feature f)
{
    switch (f) {
    case LF_CHANNEL:
        return l->channel;
    case LF_CAMPAIGN:
        return l->campaign;
    case LF_PROVINCE:
        return l->province;
    case LF_CITY:
        return l->city;
    case LF_MODEL:
        return l->model;
    case LF_PURCHASE_TIMELINE:
        return l->purchase_timeline == CRM_TIMELINE_UNKNOWN ? NULL : crm_purchase_timeline_name(l->purchase_timeline);
    case LF_TEST_DRIVE:
        return l->test_drive == CRM_UNKNOWN ? NULL : l->test_drive == CRM_YES ? "yes" : "no";
    case LF_NONE:
    case LF_COUNT:
        break;
    }
    return NULL;
}

int crm_model_score_lead(crm_score *out, const crm_model *m, const crm_lead *lead, const crm_lead_signals *signals,
                         int64_t now)
{
    if (!out || !m || !lead)
        return crm_error_set(CRM_EINVALID, "%s: required", !out ? "out" : !m ? "model" : "lead");
    if (signals && signals->version != CRM_LEAD_SIGNALS_VERSION)
        return crm_error_set(CRM_EINVALID, "signals.version: expected %d, got %u", CRM_LEAD_SIGNALS_VERSION,
                             signals->version);
    if (m->kind == CRM_MODEL_RULES) {
        crm__rules_score(out, m, lead, signals, now);
        return 0;
    }
    size_t slots[MODEL_FEATURES_MAX];
    for (size_t k = 0; k < m->n_features; k++) {
        const model_feature *f = &m->features[k];
        /* A lead has no numbers among the fields a model reads: a number
         * feature is missing for it. */
        if (f->is_cross) {
            const model_feature *fa = &m->features[f->cross[0]], *fb = &m->features[f->cross[1]];
            slots[k] = crm__feature_cross_slot(
                f, fa->lead_field == LF_NONE ? NULL : lead_feature_text(lead, fa->lead_field),
                fb->lead_field == LF_NONE ? NULL : lead_feature_text(lead, fb->lead_field));
            continue;
        }
        slots[k] = f->kind == CRM_COLUMN_CATEGORY
                       ? crm__feature_category_slot(f, f->lead_field == LF_NONE ? NULL
                                                                                : lead_feature_text(lead, f->lead_field))
                       : f->n_slots - 1;
    }
    crm__trained_score_slots(out, m, slots);
    return 0;
}

/* ---- models in the database ------------------------------------------------ */

static int need_models(crm_db *db)
{
    if (db->backend->version < CRM_BACKEND_VERSION_SCORING)
        return crm_error_set(CRM_ESTORAGE, "backend %s: does not support scoring models", db->backend->name);
    return 0;
}

static char *features_json(const crm_model *m)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t k = 0; a && k < m->n_features; k++) {
        cJSON *s = cJSON_CreateString(m->features[k].name);
        if (!s || !cJSON_AddItemToArray(a, s)) {
            cJSON_Delete(s);
            cJSON_Delete(a);
            return NULL;
        }
    }
    char *text = a ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    return text;
}

int crm_model_save(crm_db *db, crm_model *m)
{
    if (!db || !m)
        return crm_error_set(CRM_EINVALID, "%s: required", db ? "model" : "db");
    int rc = need_models(db);
    if (rc)
        return rc;
    if (db->scope.dealer_id)
        return crm_error_set(CRM_EPERM, "model: models are OEM-wide; a handle scoped to dealer %s cannot save one",
                             db->scope.dealer_id);
    int old_version = m->version;
    int64_t old_trained = m->trained_at;
    int64_t now = crm_db_now(db);
    char id[CRM_ID_LEN + 1];
    crm__idgen_next(&db->idgen, now, id);
    char *body = NULL, *features = NULL, *data = NULL;
    rc = crm__tx_begin(db);
    if (rc)
        return rc;
    crm_model_record prev;
    rc = db->backend->model_get(db->backend, crm_model_name(m), 0, &prev);
    if (rc == CRM_ENOTFOUND) {
        crm_error_clear();
        prev.version = 0;
        rc = 0;
    }
    if (rc == 0) {
        m->version = prev.version + 1;
        /* A model trained outside a database takes the time it is saved. */
        if (m->kind != CRM_MODEL_RULES && m->trained_at == 0)
            m->trained_at = now;
        rc = crm_model_to_json(&body, m);
    }
    if (rc == 0 && !(features = features_json(m)))
        rc = crm__error_nomem();
    if (rc == 0) {
        crm_model_record rec = {
            .id = id,
            .name = crm_model_name(m),
            .version = m->version,
            .kind = crm_model_kind_name(m->kind),
            .trained_at = m->trained_at,
            .saved_at = now,
            .auc = m->auc,
            .features = features,
            .body = body,
        };
        rc = db->backend->model_put(db->backend, &rec);
    }
    if (rc == 0) {
        cJSON *o = cJSON_CreateObject();
        if (o && cJSON_AddStringToObject(o, "name", crm_model_name(m)) &&
            cJSON_AddNumberToObject(o, "version", m->version) &&
            cJSON_AddStringToObject(o, "kind", crm_model_kind_name(m->kind)) &&
            (m->auc >= 0 ? cJSON_AddNumberToObject(o, "auc", m->auc) != NULL : cJSON_AddNullToObject(o, "auc") != NULL))
            data = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        rc = data ? crm__event_append(db, "model.saved", "model", id, NULL, data) : crm__error_nomem();
    }
    rc = crm__tx_end(db, rc);
    if (rc) {
        m->version = old_version;
        m->trained_at = old_trained;
    }
    free(body);
    cJSON_free(features);
    cJSON_free(data);
    return rc;
}

int crm_model_load(crm_model **out, crm_db *db, const char *name, int version)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: required");
    *out = NULL;
    if (!db || !name)
        return crm_error_set(CRM_EINVALID, "%s: required", db ? "name" : "db");
    if (version < 0)
        return crm_error_set(CRM_EINVALID, "version: expected 0 (the newest) or a positive version");
    int rc = need_models(db);
    if (rc)
        return rc;
    crm_model_record rec;
    rc = db->backend->model_get(db->backend, name, version, &rec);
    if (rc)
        return rc;
    crm_model *m;
    if (crm_model_from_json(&m, rec.body) != 0)
        return crm_error_set(CRM_ESTORAGE, "model %s version %d: stored document refused: %s", name, rec.version,
                             crm_error_last()->message);
    m->version = rec.version;
    *out = m;
    return 0;
}

int crm_model_train_leads(crm_model **out, crm_db *db, const crm_train_options *opts)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: required");
    *out = NULL;
    if (!db)
        return crm_error_set(CRM_EINVALID, "db: required");
    crm_column_kind kinds[LF_COUNT];
    for (int i = 0; i < LF_COUNT; i++)
        kinds[i] = CRM_COLUMN_CATEGORY;
    crm_dataset *ds;
    int rc = crm_dataset_new(&ds, LF_COUNT, crm__lead_feature_names, kinds);
    if (rc)
        return rc;
    crm_lead_filter filter = CRM_LEAD_FILTER_INIT;
    filter.statuses = (1u << CRM_LEAD_ORDERED) | (1u << CRM_LEAD_DELIVERED) | (1u << CRM_LEAD_LOST);
    crm_iter *it = NULL;
    rc = crm_lead_iter_new(&it, db, &filter);
    const crm_lead *l;
    while (rc == 0 && (rc = crm_lead_next(&l, it)) == 0) {
        const char *values[LF_COUNT];
        for (int i = 0; i < LF_COUNT; i++)
            values[i] = lead_feature_text(l, (lead_feature)i);
        rc = crm_dataset_add_row(ds, values, l->status != CRM_LEAD_LOST);
    }
    if (rc == CRM_ITEROVER)
        rc = 0;
    crm_iter_free(it);
    if (rc == 0 && crm_dataset_rows(ds) < 2)
        rc = crm_error_set(CRM_EINVALID, "leads: %zu with an outcome (ordered, delivered or lost); need both kinds",
                           crm_dataset_rows(ds));
    crm_model *m = NULL;
    if (rc == 0)
        rc = crm_model_train(&m, ds, opts);
    crm_dataset_free(ds);
    if (rc == 0) {
        m->trained_at = crm_db_now(db);
        *out = m;
    }
    return rc;
}

/* ---- scores on stored leads ---------------------------------------------------- */

/* Budget and engagements from the lead's attributes. *engagements is
 * allocated (or NULL); its kinds point into *doc, which the caller frees. */
static int read_signals(crm_lead_signals *sig, crm_engagement **engagements, cJSON **doc, const crm_lead *l)
{
    *sig = (crm_lead_signals)CRM_LEAD_SIGNALS_INIT;
    *engagements = NULL;
    *doc = l->attributes ? cJSON_Parse(l->attributes) : NULL;
    if (!*doc)
        return 0;
    const cJSON *budget = cJSON_GetObjectItemCaseSensitive(*doc, "budget");
    if (cJSON_IsNumber(budget) && isfinite(budget->valuedouble))
        sig->budget = budget->valuedouble;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(*doc, "engagements");
    if (!cJSON_IsArray(list) || !list->child)
        return 0;
    crm_engagement *e = calloc(SIGNAL_ENGAGEMENTS_MAX, sizeof *e);
    if (!e)
        return crm__error_nomem();
    size_t n = 0;
    /* Entries that are not {"kind": text, "at": time} are skipped: the
     * attributes are free-form and were accepted on ingest. */
    for (const cJSON *it = list->child; it && n < SIGNAL_ENGAGEMENTS_MAX; it = it->next) {
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(it, "kind");
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(it, "at");
        int64_t t;
        if (cJSON_IsString(kind) && cJSON_IsString(at) && crm__time_parse(at->valuestring, &t) == 0)
            e[n++] = (crm_engagement){ kind->valuestring, t };
    }
    sig->engagements = e;
    sig->n_engagements = n;
    *engagements = e;
    return 0;
}

static int score_of(crm_score *out, const crm_model *m, const crm_lead *l, int64_t now)
{
    crm_lead_signals sig;
    crm_engagement *e;
    cJSON *doc;
    int rc = read_signals(&sig, &e, &doc, l);
    if (rc == 0)
        rc = crm_model_score_lead(out, m, l, &sig, now);
    free(e);
    cJSON_Delete(doc);
    return rc;
}

/* The event data of a score with its first max_reasons reasons. */
static char *scored_event(const crm_model *m, const crm_score *s, size_t max_reasons)
{
    cJSON *o = cJSON_CreateObject(), *reasons = NULL;
    bool ok = o && cJSON_AddStringToObject(o, "model", crm_model_name(m)) &&
              cJSON_AddNumberToObject(o, "version", m->version) && cJSON_AddNumberToObject(o, "score", s->score) &&
              cJSON_AddStringToObject(o, "grade", s->grade) &&
              (reasons = cJSON_AddArrayToObject(o, "reasons")) != NULL;
    for (size_t i = 0; ok && i < s->n_reasons && i < max_reasons; i++) {
        cJSON *r = cJSON_CreateObject();
        ok = r && cJSON_AddItemToArray(reasons, r);
        if (!ok) {
            cJSON_Delete(r);
            break;
        }
        ok = cJSON_AddStringToObject(r, "group", s->reasons[i].group) &&
             cJSON_AddStringToObject(r, "item", s->reasons[i].item) &&
             cJSON_AddNumberToObject(r, "points", floor(s->reasons[i].points * 1000 + 0.5) / 1000);
    }
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}

/* Write a score onto a lead (an owned copy) with its audit event. */
static int store_score(crm_db *db, const crm_model *m, crm_lead *l, const crm_score *s)
{
    l->score = s->score;
    l->grade = s->grade;
    l->updated_at = crm_db_now(db);
    int rc = db->backend->lead_update(db->backend, l);
    if (rc == 0) {
        char *data = scored_event(m, s, CRM_SCORE_MAX_REASONS);
        rc = data ? crm__event_append(db, "lead.scored", "lead", l->id, l->dealer_id, data) : crm__error_nomem();
        cJSON_free(data);
    }
    return rc;
}

int crm_lead_score(crm_score *out, crm_db *db, const crm_model *m, const char *id)
{
    crm_score scratch;
    crm_score *s = out ? out : &scratch;
    if (!db || !m || !id)
        return crm_error_set(CRM_EINVALID, "%s: required", !db ? "db" : !m ? "model" : "id");
    crm_lead *l;
    int rc = crm_lead_get(&l, db, id);
    if (rc)
        return rc;
    rc = score_of(s, m, l, crm_db_now(db));
    if (rc == 0) {
        /* store_score points the lead's grade at the score: keep the
         * lead's own string to free it. */
        const char *grade = l->grade;
        rc = crm__tx_begin(db);
        if (rc == 0)
            rc = crm__tx_end(db, store_score(db, m, l, s));
        l->grade = grade;
    }
    crm_lead_free(l);
    return rc;
}

int crm_lead_rescore_all(size_t *changed, crm_db *db, const crm_model *m)
{
    if (changed)
        *changed = 0;
    if (!db || !m)
        return crm_error_set(CRM_EINVALID, "%s: required", db ? "model" : "db");
    int64_t now = crm_db_now(db);
    /* First find the leads whose score moves (a read-only pass), then
     * write them: the listing's rows are borrowed and must not be held
     * across writes. */
    crm_id_list moved = {0};
    crm_iter *it = NULL;
    int rc = crm_lead_iter_new(&it, db, NULL);
    const crm_lead *l;
    while (rc == 0 && (rc = crm_lead_next(&l, it)) == 0) {
        crm_score s;
        if ((rc = score_of(&s, m, l, now)))
            break;
        if (s.score == l->score && l->grade && strcmp(s.grade, l->grade) == 0)
            continue;
        rc = crm__id_list_push(&moved, l->id);
    }
    if (rc == CRM_ITEROVER)
        rc = 0;
    crm_iter_free(it);
    if (rc == 0 && moved.n) {
        rc = crm__tx_begin(db);
        if (rc == 0) {
            for (size_t i = 0; rc == 0 && i < moved.n; i++) {
                crm_lead *own;
                crm_score s;
                if ((rc = crm_lead_get(&own, db, moved.ids[i])))
                    break;
                const char *grade = own->grade;
                rc = score_of(&s, m, own, now);
                if (rc == 0)
                    rc = store_score(db, m, own, &s);
                own->grade = grade;
                crm_lead_free(own);
            }
            rc = crm__tx_end(db, rc);
        }
    }
    free(moved.ids);
    if (rc == 0 && changed)
        *changed = moved.n;
    return rc;
}

/* ---- scoring on ingest ---------------------------------------------------- */

int crm_score_enable(crm_db *db, const char *model_json)
{
    if (!db)
        return crm_error_set(CRM_EINVALID, "db: required");
    if (!model_json)
        return crm_error_set(CRM_EINVALID, "model: required");
    crm_model *m = NULL;
    int rc = crm_model_from_json(&m, model_json);
    if (rc)
        return rc;
    crm_model_free(db->score_model);
    db->score_model = m;
    return 0;
}

void crm_score_disable(crm_db *db)
{
    if (!db)
        return;
    crm_model_free(db->score_model);
    db->score_model = NULL;
}

int crm__lead_score_new(crm_score *out, char **event, crm_db *db, const crm_lead *lead)
{
    *event = NULL;
    int rc = score_of(out, db->score_model, lead, crm_db_now(db));
    if (rc == 0 && !(*event = scored_event(db->score_model, out, CRM_SCORE_EVENT_REASONS)))
        rc = crm__error_nomem();
    return rc;
}
