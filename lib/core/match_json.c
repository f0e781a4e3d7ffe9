/*
 * crm_dedupe_json(): a whole batch run from JSON records to JSON results,
 * for the bindings.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/match_internal.h"

#define JSON_COLUMNS_MAX 64

static int add_records(crm_dedupe **out, crm_matcher *m, cJSON *recs)
{
    const char *columns[JSON_COLUMNS_MAX];
    size_t nc = 0;
    int i = 0;
    /* The columns: every member name but "id", in order of first sight. */
    for (cJSON *r = recs->child; r; r = r->next, i++) {
        if (!cJSON_IsObject(r))
            return crm_error_set(CRM_EINVALID, "records[%d]: expected an object", i);
        for (cJSON *f = r->child; f; f = f->next) {
            if (strcmp(f->string, "id") == 0)
                continue;
            size_t c = 0;
            while (c < nc && strcmp(columns[c], f->string) != 0)
                c++;
            if (c == nc) {
                if (nc == JSON_COLUMNS_MAX)
                    return crm_error_set(CRM_EINVALID, "records[%d].%.64s: more than %d columns", i, f->string,
                                         JSON_COLUMNS_MAX);
                columns[nc++] = f->string;
            }
        }
    }
    /* Fields whose column no record has: an empty column, not an error. */
    for (size_t f = 0; f < m->nfields && nc < JSON_COLUMNS_MAX; f++) {
        size_t c = 0;
        while (c < nc && strcmp(columns[c], m->fields[f].column) != 0)
            c++;
        if (c == nc)
            columns[nc++] = m->fields[f].column;
    }
    int rc = crm_dedupe_new(out, m, columns, nc);
    if (rc != 0)
        return rc;
    i = 0;
    for (cJSON *r = recs->child; r; r = r->next, i++) {
        const char *values[JSON_COLUMNS_MAX] = {NULL};
        char nums[JSON_COLUMNS_MAX][32];
        const char *id = NULL;
        char idnum[32];
        for (cJSON *f = r->child; f; f = f->next) {
            const char *v = NULL;
            size_t c = 0;
            bool is_id = strcmp(f->string, "id") == 0;
            while (!is_id && strcmp(columns[c], f->string) != 0)
                c++;
            if (cJSON_IsString(f)) {
                v = f->valuestring;
            } else if (cJSON_IsNumber(f)) {
                char *buf = is_id ? idnum : nums[c];
                double x = f->valuedouble;
                if (x == floor(x) && fabs(x) < 1e15)
                    snprintf(buf, 32, "%.0f", x);
                else
                    snprintf(buf, 32, "%.17g", x);
                v = buf;
            } else if (!cJSON_IsNull(f)) {
                return crm_error_set(CRM_EINVALID, "records[%d].%.64s: expected a string, a number or null", i,
                                     f->string);
            }
            if (is_id)
                id = v;
            else
                values[c] = v;
        }
        if ((rc = crm_dedupe_add(*out, id, values)) != 0) {
            if (rc == CRM_EINVALID) {
                char msg[256];
                snprintf(msg, sizeof msg, "%s", crm_error_last()->message);
                return crm_error_set(rc, "records[%d].%s", i, msg);
            }
            return rc;
        }
    }
    return 0;
}

int crm__dedupe_results_json(char **out, crm_dedupe *d, crm_matcher *m, const crm_dedupe_stats *st,
                             bool shared_only)
{
    *out = NULL;
    /* Records per cluster root, to leave out singletons when asked. */
    uint32_t *size = shared_only ? calloc(st->records ? st->records : 1, sizeof *size) : NULL;
    if (shared_only && !size)
        return crm__error_nomem();
    for (size_t r = 0; size && r < st->records; r++)
        size[crm__dedupe_root(d, r)]++;
    char *cfg = NULL;
    cJSON *o = cJSON_CreateObject(), *clusters = cJSON_AddArrayToObject(o, "clusters"),
          *pairs = cJSON_AddArrayToObject(o, "pairs"), *stats = cJSON_AddObjectToObject(o, "stats");
    bool ok = o && clusters && pairs && stats;
    for (size_t r = 0; ok && r < st->records; r++) {
        if (size && size[crm__dedupe_root(d, r)] < 2)
            continue;
        cJSON *c = cJSON_CreateObject();
        ok = c && cJSON_AddItemToArray(clusters, c) &&
             cJSON_AddStringToObject(c, "id", crm_dedupe_record_id(d, r)) &&
             cJSON_AddStringToObject(c, "cluster", crm_dedupe_cluster(d, r));
    }
    free(size);
    for (size_t i = 0; ok && i < crm_dedupe_pair_count(d); i++) {
        crm_match_pair p;
        crm_dedupe_pair(&p, d, i);
        if (p.decision == CRM_MATCH_DISTINCT)
            continue;
        char *ev = NULL;
        cJSON *e = crm_dedupe_pair_json(&ev, d, i) == 0 ? cJSON_Parse(ev) : NULL;
        crm_free(ev);
        ok = e && cJSON_AddItemToArray(pairs, e);
        if (e && !ok)
            cJSON_Delete(e);
    }
    cJSON *config = NULL;
    ok = ok && cJSON_AddNumberToObject(stats, "records", (double)st->records) &&
         cJSON_AddNumberToObject(stats, "candidate_pairs", (double)st->candidate_pairs) &&
         cJSON_AddNumberToObject(stats, "review_pairs", (double)st->review_pairs) &&
         cJSON_AddNumberToObject(stats, "merge_pairs", (double)st->merge_pairs) &&
         cJSON_AddNumberToObject(stats, "clusters", (double)st->clusters) &&
         cJSON_AddNumberToObject(stats, "em_iterations", st->em_iterations) &&
         crm_matcher_config_json(&cfg, m) == 0 && (config = cJSON_Parse(cfg)) != NULL &&
         cJSON_AddItemToObject(o, "config", config);
    if (config && !ok)
        cJSON_Delete(config);
    crm_free(cfg);
    *out = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return *out ? 0 : crm__error_nomem();
}

int crm_dedupe_json(char **out, const char *config, const char *records)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: NULL");
    *out = NULL;
    if (!records)
        return crm_error_set(CRM_EINVALID, "records: required");
    crm_matcher *m = NULL;
    int rc = crm_matcher_new(&m, config);
    if (rc != 0)
        return rc;
    cJSON *recs = cJSON_Parse(records);
    crm_dedupe *d = NULL;
    crm_dedupe_stats st;
    if (!cJSON_IsArray(recs))
        rc = crm_error_set(CRM_EINVALID, "records: expected a JSON array of objects");
    if (rc == 0)
        rc = add_records(&d, m, recs);
    cJSON_Delete(recs);
    if (rc == 0)
        rc = crm_dedupe_run(&st, d);
    if (rc == 0)
        rc = crm__dedupe_results_json(out, d, m, &st, false);
    crm_dedupe_free(d);
    crm_matcher_free(m);
    return rc;
}
