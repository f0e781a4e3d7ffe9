/*
 * Match configurations: parse and validate the JSON, name the path of any
 * fault, and write the configuration back with the weights in use.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/match_internal.h"

/* The default for leads. The weights are set by hand, not estimated, so
 * that a single lead online and a small batch decide the same way as a
 * large one: among candidate pairs (which share a phone, an e-mail, a WeChat
 * id, or a name's pinyin and a city) a shared phone is strong evidence, a
 * phone one digit off with the same name and city is enough to merge, and
 * the same name in the same city with another phone is not. A batch may
 * drop m and u to have EM estimate them from its own data. */
static const char default_config[] =
    "{\n"
    "  \"fields\": [\n"
    "    {\"name\": \"phone\", \"comparator\": \"phone\", \"m\": [0.92, 0.07, 0.01], \"u\": [0.0001, 0.001, 0.9989]},\n"
    "    {\"name\": \"name\", \"comparator\": \"name\", \"m\": [0.6, 0.25, 0.15], \"u\": [0.05, 0.05, 0.9]},\n"
    "    {\"name\": \"email\", \"comparator\": \"exact\", \"m\": [0.95, 0, 0.05], \"u\": [0.0001, 0, 0.9999]},\n"
    "    {\"name\": \"wechat_openid\", \"comparator\": \"exact\", \"m\": [0.99, 0, 0.01], \"u\": [0.00001, 0, 0.99999]},\n"
    "    {\"name\": \"wechat_unionid\", \"comparator\": \"exact\", \"m\": [0.99, 0, 0.01], \"u\": [0.00001, 0, 0.99999]},\n"
    "    {\"name\": \"province\", \"comparator\": \"region\", \"m\": [0.95, 0, 0.05], \"u\": [0.4, 0, 0.6]},\n"
    "    {\"name\": \"city\", \"comparator\": \"region\", \"m\": [0.9, 0.05, 0.05], \"u\": [0.3, 0.3, 0.4]}\n"
    "  ],\n"
    "  \"blocking\": [[\"phone\"], [\"email\"], [\"wechat_openid\"], [\"wechat_unionid\"],\n"
    "               [\"name:key\", \"city\"]],\n"
    "  \"thresholds\": {\"merge\": 0.95, \"review\": 0.5},\n"
    "  \"em\": {\"max_iterations\": 100, \"prior\": 0.1},\n"
    "  \"max_block\": 1000\n"
    "}\n";

const char *crm_matcher_default_config(void)
{
    return default_config;
}

static const char *const comparator_names[CMP_COUNT] = {
    "exact", "phone", "jaro_winkler", "damerau", "name", "date", "numeric", "region",
};

const char *crm__comparator_name(int cmp)
{
    return comparator_names[cmp];
}

void crm_matcher_free(crm_matcher *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nfields; i++) {
        free(m->fields[i].name);
        free(m->fields[i].column);
    }
    free(m->fields);
    for (size_t i = 0; i < m->nkeys; i++)
        free(m->keys[i].parts);
    free(m->keys);
    free(m->pinyin);
    free(m);
}

static int bad(const char *path, const char *what)
{
    return crm_error_set(CRM_EINVALID, "%s: %s", path, what);
}

static int field_index(const crm_matcher *m, const char *name, size_t len)
{
    for (size_t i = 0; i < m->nfields; i++)
        if (strlen(m->fields[i].name) == len && strncmp(m->fields[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

/* Default levels per comparator: similarity for Jaro-Winkler, largest
 * distance or difference for the others. */
static void default_levels(mfield *f)
{
    switch (f->cmp) {
    case CMP_JW:
        f->levels[0] = 0.94, f->levels[1] = 0.85;
        break;
    default:
        f->levels[0] = 0, f->levels[1] = 1;
        break;
    }
}

static int parse_probs(double out[3], cJSON *arr, const char *path)
{
    char p[96];
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != 3)
        return bad(path, "expected an array of 3 numbers [agree, partial, disagree]");
    for (int i = 0; i < 3; i++) {
        cJSON *v = cJSON_GetArrayItem(arr, i);
        snprintf(p, sizeof p, "%s[%d]", path, i);
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1)
            return bad(p, "expected a number between 0 and 1");
        out[i] = v->valuedouble;
    }
    return 0;
}

static int parse_field(crm_matcher *m, mfield *f, cJSON *o, size_t idx)
{
    char path[96], p[128];
    snprintf(path, sizeof path, "fields[%zu]", idx);
    if (!cJSON_IsObject(o))
        return bad(path, "expected an object");
    static const char *const known[] = {"name", "column", "comparator", "levels", "m", "u"};
    for (cJSON *it = o->child; it; it = it->next) {
        bool ok = false;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
            ok = ok || strcmp(it->string, known[k]) == 0;
        if (!ok) {
            snprintf(p, sizeof p, "%s.%s", path, it->string);
            return bad(p, "unknown member");
        }
    }
    cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
    snprintf(p, sizeof p, "%s.name", path);
    if (!cJSON_IsString(name) || !name->valuestring[0] || strchr(name->valuestring, ':'))
        return bad(p, "expected a non-empty string without ':'");
    if (field_index(m, name->valuestring, strlen(name->valuestring)) >= 0)
        return bad(p, "a field of that name already exists");
    cJSON *col = cJSON_GetObjectItemCaseSensitive(o, "column");
    snprintf(p, sizeof p, "%s.column", path);
    if (col && (!cJSON_IsString(col) || !col->valuestring[0]))
        return bad(p, "expected a non-empty string");
    cJSON *cmp = cJSON_GetObjectItemCaseSensitive(o, "comparator");
    snprintf(p, sizeof p, "%s.comparator", path);
    f->cmp = -1;
    for (int k = 0; cJSON_IsString(cmp) && k < CMP_COUNT; k++)
        if (strcmp(cmp->valuestring, comparator_names[k]) == 0)
            f->cmp = k;
    if (f->cmp < 0)
        return bad(p, "expected one of exact, phone, jaro_winkler, damerau, name, date, numeric, region");
    default_levels(f);
    cJSON *lv = cJSON_GetObjectItemCaseSensitive(o, "levels");
    if (lv) {
        snprintf(p, sizeof p, "%s.levels", path);
        if (f->cmp != CMP_JW && f->cmp != CMP_DAMERAU && f->cmp != CMP_NUMERIC)
            return bad(p, "only jaro_winkler, damerau and numeric take levels");
        if (!cJSON_IsArray(lv) || cJSON_GetArraySize(lv) != 2)
            return bad(p, "expected an array of 2 numbers [agree, partial]");
        for (int i = 0; i < 2; i++) {
            cJSON *v = cJSON_GetArrayItem(lv, i);
            snprintf(p, sizeof p, "%s.levels[%d]", path, i);
            if (!cJSON_IsNumber(v) || v->valuedouble < 0 || (f->cmp == CMP_JW && v->valuedouble > 1))
                return bad(p, f->cmp == CMP_JW ? "expected a number between 0 and 1"
                                               : "expected a number at least 0");
            f->levels[i] = v->valuedouble;
        }
        bool order = f->cmp == CMP_JW ? f->levels[0] >= f->levels[1] : f->levels[0] <= f->levels[1];
        snprintf(p, sizeof p, "%s.levels", path);
        if (!order)
            return bad(p, f->cmp == CMP_JW ? "the agree level must be at least the partial level"
                                           : "the agree level must be at most the partial level");
    }
    cJSON *mm = cJSON_GetObjectItemCaseSensitive(o, "m"), *uu = cJSON_GetObjectItemCaseSensitive(o, "u");
    if (!mm != !uu) {
        snprintf(p, sizeof p, "%s.%s", path, mm ? "u" : "m");
        return bad(p, "m and u are given together");
    }
    if (mm) {
        int rc;
        snprintf(p, sizeof p, "%s.m", path);
        if ((rc = parse_probs(f->m, mm, p)) != 0)
            return rc;
        snprintf(p, sizeof p, "%s.u", path);
        if ((rc = parse_probs(f->u, uu, p)) != 0)
            return rc;
        f->fixed = true;
    }
    f->swap_with = -1;
    f->name = crm__strdup(name->valuestring);
    f->column = crm__strdup(col ? col->valuestring : name->valuestring);
    return f->name && f->column ? 0 : crm__error_nomem();
}

static int parse_key(crm_matcher *m, mkey *k, cJSON *arr, size_t idx)
{
    char path[64], p[96];
    snprintf(path, sizeof path, "blocking[%zu]", idx);
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1)
        return bad(path, "expected a non-empty array of field names");
    k->nparts = (size_t)cJSON_GetArraySize(arr);
    k->parts = calloc(k->nparts, sizeof *k->parts);
    if (!k->parts)
        return crm__error_nomem();
    for (size_t i = 0; i < k->nparts; i++) {
        cJSON *v = cJSON_GetArrayItem(arr, (int)i);
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        if (!cJSON_IsString(v))
            return bad(p, "expected a string \"field\" or \"field:transform\"");
        const char *s = v->valuestring, *colon = strchr(s, ':');
        size_t flen = colon ? (size_t)(colon - s) : strlen(s);
        int f = field_index(m, s, flen);
        if (f < 0)
            return crm_error_set(CRM_EINVALID, "%s: no field named '%.*s'", p, (int)(flen > 64 ? 64 : flen), s);
        k->parts[i].field = f;
        k->parts[i].transform = KEY_VALUE;
        if (colon) {
            const char *t = colon + 1;
            char *end = NULL;
            if (strcmp(t, "key") == 0) {
                if (m->fields[f].cmp != CMP_NAME)
                    return bad(p, "the key transform is for fields with the name comparator");
                k->parts[i].transform = KEY_PINYIN;
            } else if ((strncmp(t, "prefix:", 7) == 0 || strncmp(t, "suffix:", 7) == 0) &&
                       (k->parts[i].n = strtol(t + 7, &end, 10)) > 0 && *end == '\0' && k->parts[i].n <= 64) {
                k->parts[i].transform = t[0] == 'p' ? KEY_PREFIX : KEY_SUFFIX;
            } else {
                return bad(p, "unknown transform (expected key, prefix:N or suffix:N with N in 1..64)");
            }
        }
    }
    return 0;
}

static int parse(crm_matcher *m, cJSON *doc)
{
    int rc;
    if (!cJSON_IsObject(doc))
        return bad("config", "expected a JSON object");
    static const char *const known[] = {"fields", "blocking", "swap", "thresholds", "em", "max_block", "version"};
    for (cJSON *it = doc->child; it; it = it->next) {
        bool ok = false;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
            ok = ok || strcmp(it->string, known[k]) == 0;
        if (!ok)
            return bad(it->string, "unknown member");
    }
    cJSON *fields = cJSON_GetObjectItemCaseSensitive(doc, "fields");
    if (!cJSON_IsArray(fields) || cJSON_GetArraySize(fields) < 1 || cJSON_GetArraySize(fields) > CRM_MATCH_FIELDS_MAX)
        return bad("fields", "expected an array of 1 to 16 fields");
    m->fields = calloc((size_t)cJSON_GetArraySize(fields), sizeof *m->fields);
    if (!m->fields)
        return crm__error_nomem();
    for (cJSON *f = fields->child; f; f = f->next) {
        if ((rc = parse_field(m, &m->fields[m->nfields], f, m->nfields)) != 0) {
            mfield *bf = &m->fields[m->nfields];
            free(bf->name), free(bf->column);
            bf->name = bf->column = NULL;
            return rc;
        }
        m->nfields++;
    }
    cJSON *blocking = cJSON_GetObjectItemCaseSensitive(doc, "blocking");
    if (!cJSON_IsArray(blocking) || cJSON_GetArraySize(blocking) < 1)
        return bad("blocking", "expected a non-empty array of keys");
    m->keys = calloc((size_t)cJSON_GetArraySize(blocking), sizeof *m->keys);
    if (!m->keys)
        return crm__error_nomem();
    for (cJSON *k = blocking->child; k; k = k->next) {
        rc = parse_key(m, &m->keys[m->nkeys], k, m->nkeys);
        m->nkeys++;
        if (rc != 0)
            return rc;
    }
    cJSON *swap = cJSON_GetObjectItemCaseSensitive(doc, "swap");
    if (swap && !cJSON_IsArray(swap))
        return bad("swap", "expected an array of pairs of field names");
    int si = 0;
    for (cJSON *s = swap ? swap->child : NULL; s; s = s->next, si++) {
        char p[64];
        snprintf(p, sizeof p, "swap[%d]", si);
        cJSON *a = cJSON_GetArrayItem(s, 0), *b = cJSON_GetArrayItem(s, 1);
        if (!cJSON_IsArray(s) || cJSON_GetArraySize(s) != 2 || !cJSON_IsString(a) || !cJSON_IsString(b))
            return bad(p, "expected a pair of field names");
        int fa = field_index(m, a->valuestring, strlen(a->valuestring));
        int fb = field_index(m, b->valuestring, strlen(b->valuestring));
        if (fa < 0 || fb < 0 || fa == fb)
            return bad(p, "expected two different fields of this configuration");
        for (int x = 0; x < 2; x++) {
            const mfield *f = &m->fields[x ? fb : fa];
            if (f->cmp != CMP_JW && f->cmp != CMP_NAME)
                return crm_error_set(CRM_EINVALID, "%s[%d]: only jaro_winkler and name fields can swap", p, x);
        }
        if (m->fields[fa].swap_with >= 0 || m->fields[fb].swap_with >= 0)
            return bad(p, "a field is in one swap pair at most");
        m->fields[fa].swap_with = fb;
        m->fields[fb].swap_with = fa;
    }
    m->merge = 0.95, m->review = 0.5;
    cJSON *th = cJSON_GetObjectItemCaseSensitive(doc, "thresholds");
    if (th) {
        if (!cJSON_IsObject(th))
            return bad("thresholds", "expected an object {\"merge\": p, \"review\": p}");
        for (cJSON *it = th->child; it; it = it->next) {
            char p[64];
            snprintf(p, sizeof p, "thresholds.%.32s", it->string);
            bool merge = strcmp(it->string, "merge") == 0;
            if (!merge && strcmp(it->string, "review") != 0)
                return bad(p, "unknown member");
            if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > 1)
                return bad(p, "expected a probability between 0 and 1");
            *(merge ? &m->merge : &m->review) = it->valuedouble;
        }
        if (m->review > m->merge)
            return bad("thresholds.review", "must not be above thresholds.merge");
    }
    m->max_iterations = 100, m->prior = 0.1;
    cJSON *em = cJSON_GetObjectItemCaseSensitive(doc, "em");
    if (em) {
        if (!cJSON_IsObject(em))
            return bad("em", "expected an object {\"max_iterations\": n, \"prior\": p}");
        for (cJSON *it = em->child; it; it = it->next) {
            char p[64];
            snprintf(p, sizeof p, "em.%.32s", it->string);
            if (strcmp(it->string, "max_iterations") == 0) {
                if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > 10000 ||
                    it->valuedouble != floor(it->valuedouble))
                    return bad(p, "expected an integer between 0 and 10000");
                m->max_iterations = (int)it->valuedouble;
            } else if (strcmp(it->string, "prior") == 0) {
                if (!cJSON_IsNumber(it) || it->valuedouble <= 0 || it->valuedouble >= 1)
                    return bad(p, "expected a probability strictly between 0 and 1");
                m->prior = it->valuedouble;
            } else {
                return bad(p, "unknown member");
            }
        }
    }
    m->max_block = 1000;
    cJSON *mb = cJSON_GetObjectItemCaseSensitive(doc, "max_block");
    if (mb) {
        if (!cJSON_IsNumber(mb) || mb->valuedouble < 2 || mb->valuedouble > 1e6 ||
            mb->valuedouble != floor(mb->valuedouble))
            return bad("max_block", "expected an integer between 2 and 1000000");
        m->max_block = (size_t)mb->valuedouble;
    }
    cJSON *ver = cJSON_GetObjectItemCaseSensitive(doc, "version");
    if (ver && !(cJSON_IsNumber(ver) && ver->valuedouble == 1))
        return bad("version", "expected 1");
    m->lambda = m->prior;
    return 0;
}

int crm_matcher_new(crm_matcher **out, const char *json)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: NULL");
    *out = NULL;
    cJSON *doc = cJSON_Parse(json ? json : default_config);
    if (!doc)
        return bad("config", "not valid JSON");
    crm_matcher *m = calloc(1, sizeof *m);
    int rc = m ? parse(m, doc) : crm__error_nomem();
    cJSON_Delete(doc);
    if (rc != 0) {
        crm_matcher_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* Six significant digits: enough to reproduce the decisions, and small
 * probabilities (u of a phone agreeing by chance) do not round to 0. */
static double sig6(double x)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.6g", x);
    return strtod(buf, NULL);
}

static cJSON *probs(const double p[3])
{
    double r[3];
    for (int i = 0; i < 3; i++)
        r[i] = sig6(p[i]);
    return cJSON_CreateDoubleArray(r, 3);
}

int crm_matcher_config_json(char **out, const crm_matcher *m)
{
    if (!out || !m)
        return crm_error_set(CRM_EINVALID, "%s: NULL", out ? "matcher" : "out");
    *out = NULL;
    cJSON *doc = cJSON_CreateObject(), *fields = cJSON_AddArrayToObject(doc, "fields");
    bool ok = doc && fields;
    for (size_t i = 0; ok && i < m->nfields; i++) {
        const mfield *f = &m->fields[i];
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(fields, o) && cJSON_AddStringToObject(o, "name", f->name) &&
             cJSON_AddStringToObject(o, "column", f->column) &&
             cJSON_AddStringToObject(o, "comparator", comparator_names[f->cmp]);
        if (ok && (f->cmp == CMP_JW || f->cmp == CMP_DAMERAU || f->cmp == CMP_NUMERIC))
            ok = cJSON_AddItemToObject(o, "levels", cJSON_CreateDoubleArray(f->levels, 2));
        ok = ok && cJSON_AddItemToObject(o, "m", probs(f->m)) && cJSON_AddItemToObject(o, "u", probs(f->u));
    }
    cJSON *swap = ok ? cJSON_AddArrayToObject(doc, "swap") : NULL;
    for (size_t i = 0; ok && swap && i < m->nfields; i++) {
        if (m->fields[i].swap_with > (int)i) {
            const char *pair[2] = {m->fields[i].name, m->fields[m->fields[i].swap_with].name};
            ok = cJSON_AddItemToArray(swap, cJSON_CreateStringArray(pair, 2));
        }
    }
    cJSON *blocking = ok ? cJSON_AddArrayToObject(doc, "blocking") : NULL;
    for (size_t i = 0; ok && blocking && i < m->nkeys; i++) {
        cJSON *k = cJSON_CreateArray();
        ok = k && cJSON_AddItemToArray(blocking, k);
        for (size_t j = 0; ok && j < m->keys[i].nparts; j++) {
            const mkey_part *kp = &m->keys[i].parts[j];
            char part[160];
            const char *name = m->fields[kp->field].name;
            if (kp->transform == KEY_PINYIN)
                snprintf(part, sizeof part, "%.128s:key", name);
            else if (kp->transform == KEY_PREFIX || kp->transform == KEY_SUFFIX)
                snprintf(part, sizeof part, "%.128s:%s:%ld", name, kp->transform == KEY_PREFIX ? "prefix" : "suffix", kp->n);
            else
                snprintf(part, sizeof part, "%.128s", name);
            ok = cJSON_AddItemToArray(k, cJSON_CreateString(part));
        }
    }
    cJSON *th = ok ? cJSON_AddObjectToObject(doc, "thresholds") : NULL;
    cJSON *em = th ? cJSON_AddObjectToObject(doc, "em") : NULL;
    ok = em && cJSON_AddNumberToObject(th, "merge", m->merge) && cJSON_AddNumberToObject(th, "review", m->review) &&
         cJSON_AddNumberToObject(em, "max_iterations", m->max_iterations) &&
         cJSON_AddNumberToObject(em, "prior", sig6(m->lambda)) &&
         cJSON_AddNumberToObject(doc, "max_block", (double)m->max_block);
    *out = ok ? cJSON_Print(doc) : NULL;
    cJSON_Delete(doc);
    return *out ? 0 : crm__error_nomem();
}
