/*
 * Trained scoring models: datasets, naive Bayes and logistic regression
 * over one-hot slots, their JSON form, and scoring.
 *
 * Both kinds share one representation: every feature is a block of one-hot
 * slots (a category value, or a quantile bin of a number) with a weight
 * each, and a row's log-odds is bias + the weights of its slots. Scoring is
 * then one table lookup per feature, and the reasons are the slots whose
 * weight differs most from what an average training row gets.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/score_internal.h"

#define DATASET_MAX_COLUMNS 256
#define BINS_MAX 64
#define NEWTON_MAX_ITER 50
/* Stop when no weight moves more than this (log-odds): far below what
 * changes a score's rounding or a reason's order. */
#define NEWTON_TOL 1e-3
#define OTHER_LABEL "(other)"
#define MISSING_LABEL "(missing)"

const char *const crm__lead_feature_names[LF_COUNT] = {
    "channel", "campaign", "province", "city", "model", "purchase_timeline", "test_drive",
};

/* ---- datasets --------------------------------------------------------- */

/* The distinct texts of a category column; a cell holds an index here. */
typedef struct dict {
    char **texts;
    size_t n, cap;
    uint32_t *table; /* index+1 by hash, 0 empty */
    size_t mask;
} dict;

struct crm_dataset {
    size_t n_cols;
    char **names;
    crm_column_kind *kinds;
    dict *dicts;
    size_t n_rows, cap;
    double *cells; /* n_rows x n_cols: a number, or a category index; NaN is missing */
    unsigned char *labels;
};

static int dict_grow(dict *d)
{
    size_t cap = d->mask ? (d->mask + 1) * 2 : 64;
    uint32_t *table = calloc(cap, sizeof *table);
    if (!table)
        return crm__error_nomem();
    for (size_t i = 0; i < d->n; i++) {
        size_t j = crm__hash_text(d->texts[i]) & (cap - 1);
        while (table[j])
            j = (j + 1) & (cap - 1);
        table[j] = (uint32_t)(i + 1);
    }
    free(d->table);
    d->table = table;
    d->mask = cap - 1;
    return 0;
}

/* The index of text in the dictionary, added when new. */
static int dict_intern(size_t *out, dict *d, const char *text)
{
    if ((d->n + 1) * 2 > d->mask + 1) {
        int rc = dict_grow(d);
        if (rc)
            return rc;
    }
    size_t j = crm__hash_text(text) & d->mask;
    for (; d->table[j]; j = (j + 1) & d->mask) {
        if (strcmp(d->texts[d->table[j] - 1], text) == 0) {
            *out = d->table[j] - 1;
            return 0;
        }
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        char **texts = realloc(d->texts, cap * sizeof *texts);
        if (!texts)
            return crm__error_nomem();
        d->texts = texts;
        d->cap = cap;
    }
    if (!(d->texts[d->n] = crm__strdup(text)))
        return crm__error_nomem();
    d->table[j] = (uint32_t)(d->n + 1);
    *out = d->n++;
    return 0;
}

void crm_dataset_free(crm_dataset *ds)
{
    if (!ds)
        return;
    for (size_t c = 0; c < ds->n_cols; c++) {
        free(ds->names[c]);
        for (size_t i = 0; i < ds->dicts[c].n; i++)
            free(ds->dicts[c].texts[i]);
        free(ds->dicts[c].texts);
        free(ds->dicts[c].table);
    }
    free(ds->names);
    free(ds->kinds);
    free(ds->dicts);
    free(ds->cells);
    free(ds->labels);
    free(ds);
}

int crm_dataset_new(crm_dataset **out, size_t n_columns, const char *const *names, const crm_column_kind *kinds)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: required");
    *out = NULL;
    if (!names || !kinds)
        return crm_error_set(CRM_EINVALID, "%s: required", names ? "kinds" : "names");
    if (n_columns == 0 || n_columns > DATASET_MAX_COLUMNS)
        return crm_error_set(CRM_EINVALID, "n_columns: expected 1 to %d, got %zu", DATASET_MAX_COLUMNS, n_columns);
    for (size_t c = 0; c < n_columns; c++) {
        if (!names[c] || !names[c][0] || !crm__utf8_valid(names[c], strlen(names[c])))
            return crm_error_set(CRM_EINVALID, "names[%zu]: expected a non-empty UTF-8 name", c);
        if (kinds[c] != CRM_COLUMN_CATEGORY && kinds[c] != CRM_COLUMN_NUMBER)
            return crm_error_set(CRM_EINVALID, "kinds[%zu]: expected CRM_COLUMN_CATEGORY or CRM_COLUMN_NUMBER", c);
        for (size_t k = 0; k < c; k++)
            if (strcmp(names[k], names[c]) == 0)
                return crm_error_set(CRM_EINVALID, "names[%zu]: '%.64s' repeats names[%zu]", c, names[c], k);
    }
    crm_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return crm__error_nomem();
    ds->n_cols = n_columns;
    ds->names = calloc(n_columns, sizeof *ds->names);
    ds->kinds = malloc(n_columns * sizeof *ds->kinds);
    ds->dicts = calloc(n_columns, sizeof *ds->dicts);
    bool ok = ds->names && ds->kinds && ds->dicts;
    for (size_t c = 0; ok && c < n_columns; c++) {
        ds->kinds[c] = kinds[c];
        ok = (ds->names[c] = crm__strdup(names[c])) != NULL;
    }
    if (!ok) {
        if (!ds->names || !ds->dicts)
            ds->n_cols = 0;
        crm_dataset_free(ds);
        return crm__error_nomem();
    }
    *out = ds;
    return 0;
}

size_t crm_dataset_rows(const crm_dataset *ds)
{
    return ds ? ds->n_rows : 0;
}

/* A finite number spanning the whole text, or false. Plain integers, what
 * most columns hold, are read directly: strtod is the slowest step of
 * scoring a row from text. */
static bool parse_number(const char *text, double *out)
{
    const char *p = text + (*text == '-');
    int64_t v = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 15) {
        v = v * 10 + (*p++ - '0');
        digits++;
    }
    if (*p == '\0' && digits > 0) {
        *out = *text == '-' ? -(double)v : (double)v;
        return true;
    }
    char *end;
    double x = strtod(text, &end);
    if (end == text || *end || !isfinite(x))
        return false;
    *out = x;
    return true;
}

int crm_dataset_add_row(crm_dataset *ds, const char *const *values, int label)
{
    if (!ds || !values)
        return crm_error_set(CRM_EINVALID, "%s: required", ds ? "values" : "ds");
    if (label != 0 && label != 1)
        return crm_error_set(CRM_EINVALID, "row %zu, label: expected 0 or 1, got %d", ds->n_rows, label);
    if (ds->n_rows == ds->cap) {
        size_t cap = ds->cap ? ds->cap * 2 : 1024;
        double *cells = realloc(ds->cells, cap * ds->n_cols * sizeof *cells);
        if (!cells)
            return crm__error_nomem();
        ds->cells = cells;
        unsigned char *labels = realloc(ds->labels, cap);
        if (!labels)
            return crm__error_nomem();
        ds->labels = labels;
        ds->cap = cap;
    }
    double *row = ds->cells + ds->n_rows * ds->n_cols;
    /* Check every number first, so that a refused row adds nothing (a new
     * category text left in a dictionary is harmless: training only uses
     * the values its rows hold). */
    for (size_t c = 0; c < ds->n_cols; c++) {
        const char *v = values[c];
        row[c] = NAN;
        if (!v || !v[0])
            continue;
        if (!crm__utf8_valid(v, strlen(v)))
            return crm_error_set(CRM_EINVALID, "row %zu, column %.64s: invalid UTF-8", ds->n_rows, ds->names[c]);
        if (ds->kinds[c] == CRM_COLUMN_NUMBER && !parse_number(v, &row[c]))
            return crm_error_set(CRM_EINVALID, "row %zu, column %.64s: expected a number, got '%.32s'",
                                 ds->n_rows, ds->names[c], v);
    }
    for (size_t c = 0; c < ds->n_cols; c++) {
        if (ds->kinds[c] != CRM_COLUMN_CATEGORY || !values[c] || !values[c][0])
            continue;
        size_t idx = 0;
        int rc = dict_intern(&idx, &ds->dicts[c], values[c]);
        if (rc)
            return rc;
        row[c] = (double)idx;
    }
    ds->labels[ds->n_rows++] = (unsigned char)label;
    return 0;
}

/* ---- the model object --------------------------------------------------- */

crm_model *crm__model_alloc(crm_model_kind kind)
{
    crm_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->kind = kind;
    m->auc = -1;
    m->bands[0] = 75;
    m->bands[1] = 50;
    m->bands[2] = 25;
    return m;
}

static void feature_free(model_feature *f)
{
    free(f->name);
    if (f->labels)
        for (size_t i = 0; i < f->n_slots; i++)
            free(f->labels[i]);
    free(f->labels);
    free(f->table);
    free(f->cuts);
}

void crm_model_free(crm_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_features; i++)
        feature_free(&m->features[i]);
    free(m->features);
    free(m->w);
    free(m->name);
    crm__rules_free(m->rules);
    free(m);
}

crm_model_kind crm_model_get_kind(const crm_model *m)
{
    return m ? m->kind : CRM_MODEL_RULES;
}

const char *crm_model_name(const crm_model *m)
{
    return m && m->name ? m->name : "default";
}

int crm_model_version(const crm_model *m)
{
    return m ? m->version : 0;
}

int64_t crm_model_trained_at(const crm_model *m)
{
    return m ? m->trained_at : 0;
}

double crm_model_auc(const crm_model *m)
{
    return m ? m->auc : -1;
}

size_t crm_model_feature_count(const crm_model *m)
{
    return m ? m->n_inputs : 0;
}

const char *crm_model_feature_name(const crm_model *m, size_t i)
{
    return m && i < m->n_inputs ? m->features[i].name : NULL;
}

const char *crm_model_kind_name(crm_model_kind kind)
{
    switch (kind) {
    case CRM_MODEL_RULES:
        return "rules";
    case CRM_MODEL_NAIVE_BAYES:
        return "naive_bayes";
    case CRM_MODEL_LOGISTIC:
        return "logistic";
    }
    return NULL;
}

void crm__grade(char out[2], const int bands[3], int score)
{
    out[0] = score >= bands[0] ? 'A' : score >= bands[1] ? 'B' : score >= bands[2] ? 'C' : 'D';
    out[1] = '\0';
}

int crm__parse_grades(int bands[3], const cJSON *doc)
{
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(doc, "grades");
    if (!g)
        return 0;
    if (!cJSON_IsObject(g))
        return crm_error_set(CRM_EINVALID, "grades: expected an object");
    static const char *const names[3] = { "A", "B", "C" };
    for (const cJSON *it = g->child; it; it = it->next) {
        int k = 0;
        while (k < 3 && strcmp(it->string, names[k]) != 0)
            k++;
        if (k == 3)
            return crm_error_set(CRM_EINVALID, "grades.%.32s: unknown grade (expected A, B or C)", it->string);
        if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble) || it->valuedouble < 1 ||
            it->valuedouble > 100)
            return crm_error_set(CRM_EINVALID, "grades.%s: expected an integer from 1 to 100", names[k]);
        bands[k] = (int)it->valuedouble;
    }
    if (!(bands[0] > bands[1] && bands[1] > bands[2]))
        return crm_error_set(CRM_EINVALID, "grades: expected A > B > C, got %d, %d, %d", bands[0], bands[1],
                             bands[2]);
    return 0;
}

bool crm__add_grades(cJSON *doc, const int bands[3])
{
    cJSON *g = cJSON_AddObjectToObject(doc, "grades");
    return g && cJSON_AddNumberToObject(g, "A", bands[0]) && cJSON_AddNumberToObject(g, "B", bands[1]) &&
           cJSON_AddNumberToObject(g, "C", bands[2]);
}

/* ---- features ----------------------------------------------------------- */

size_t crm__feature_category_slot(const model_feature *f, const char *text)
{
    size_t other = f->n_slots - 1;
    if (!text || !text[0])
        return other;
    for (size_t j = crm__hash_text(text) & f->table_mask; f->table[j]; j = (j + 1) & f->table_mask)
        if (strcmp(f->labels[f->table[j] - 1], text) == 0)
            return f->table[j] - 1;
    return other;
}

size_t crm__feature_number_slot(const model_feature *f, double x)
{
    if (isnan(x))
        return f->n_slots - 1;
    /* The number of cuts <= x, counted without a branch: at most 63 cuts,
     * usually 9, and the branches of a binary search on real data are
     * mispredicted about half the time. */
    size_t n = 0;
    for (size_t i = 0; i < f->n_cuts; i++)
        n += f->cuts[i] <= x;
    return n;
}

/* Join two category texts into the value of their cross: buf when it
 * fits, else a fresh string (*heap set); NULL when either is missing or
 * out of memory. */
static char *cross_text(char *buf, size_t size, const char *a, const char *b, bool *heap)
{
    *heap = false;
    if (!a || !a[0] || !b || !b[0])
        return NULL;
    size_t la = strlen(a), lb = strlen(b);
    char *t = buf;
    if (la + lb + 2 > size) {
        if (!(t = malloc(la + lb + 2)))
            return NULL;
        *heap = true;
    }
    memcpy(t, a, la);
    t[la] = '*';
    memcpy(t + la + 1, b, lb + 1);
    return t;
}

size_t crm__feature_cross_slot(const model_feature *f, const char *a, const char *b)
{
    char buf[256];
    bool heap;
    char *t = cross_text(buf, sizeof buf, a, b, &heap);
    size_t slot = crm__feature_category_slot(f, t);
    if (heap)
        free(t);
    return slot;
}

static lead_feature lead_feature_of(const char *name)
{
    for (int i = 0; i < LF_COUNT; i++)
        if (strcmp(name, crm__lead_feature_names[i]) == 0)
            return (lead_feature)i;
    return LF_NONE;
}

/* Build the hash table of a category feature from its labels (all slots
 * but the last, "(other)"). */
static int feature_index(model_feature *f)
{
    size_t cap = 16;
    while (cap < f->n_slots * 2)
        cap *= 2;
    f->table = calloc(cap, sizeof *f->table);
    if (!f->table)
        return crm__error_nomem();
    f->table_mask = cap - 1;
    for (size_t i = 0; i + 1 < f->n_slots; i++) {
        size_t j = crm__hash_text(f->labels[i]) & f->table_mask;
        for (; f->table[j]; j = (j + 1) & f->table_mask)
            if (strcmp(f->labels[f->table[j] - 1], f->labels[i]) == 0)
                return crm_error_set(CRM_EINVALID, "features.%s.values[%zu]: '%.32s' repeats", f->name, i,
                                     f->labels[i]);
        f->table[j] = (uint32_t)(i + 1);
    }
    return 0;
}

static char *bin_label(const double *cuts, size_t n_cuts, size_t bin)
{
    char buf[80];
    if (n_cuts == 0)
        snprintf(buf, sizeof buf, "(any)");
    else if (bin == 0)
        snprintf(buf, sizeof buf, "< %.6g", cuts[0]);
    else if (bin == n_cuts)
        snprintf(buf, sizeof buf, ">= %.6g", cuts[n_cuts - 1]);
    else
        snprintf(buf, sizeof buf, "[%.6g, %.6g)", cuts[bin - 1], cuts[bin]);
    return crm__strdup(buf);
}

/* Give a number feature its cuts (copied) and its labels. */
static int feature_set_cuts(model_feature *f, const double *cuts, size_t n_cuts)
{
    f->n_cuts = n_cuts;
    f->n_slots = n_cuts + 2; /* bins, then "(missing)" */
    f->cuts = malloc((n_cuts ? n_cuts : 1) * sizeof *f->cuts);
    f->labels = calloc(f->n_slots, sizeof *f->labels);
    if (!f->cuts || !f->labels)
        return crm__error_nomem();
    if (n_cuts)
        memcpy(f->cuts, cuts, n_cuts * sizeof *cuts);
    for (size_t i = 0; i <= n_cuts; i++)
        if (!(f->labels[i] = bin_label(cuts, n_cuts, i)))
            return crm__error_nomem();
    if (!(f->labels[n_cuts + 1] = crm__strdup(MISSING_LABEL)))
        return crm__error_nomem();
    return 0;
}

/* ---- training ----------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void swap_double(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

/* Rearrange v[lo, hi) so that v[r] holds the value of rank r for every
 * wanted rank r in ranks[0, n) (ascending, all within [lo, hi)): quickselect
 * recursing only into the sides that hold a wanted rank, O(len log n)
 * instead of a full sort. */
static void select_ranks(double *v, size_t lo, size_t hi, const size_t *ranks, size_t n)
{
    while (n && hi - lo > 1) {
        /* Median of three as the pivot, then a three-way partition so that
         * runs of equal values (common in these columns) end the search. */
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < v[lo])
            swap_double(&v[mid], &v[lo]);
        if (v[hi - 1] < v[lo])
            swap_double(&v[hi - 1], &v[lo]);
        if (v[hi - 1] < v[mid])
            swap_double(&v[hi - 1], &v[mid]);
        double pivot = v[mid];
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            if (v[i] < pivot)
                swap_double(&v[lt++], &v[i++]);
            else if (v[i] > pivot)
                swap_double(&v[i], &v[--gt]);
            else
                i++;
        }
        /* [lo, lt) < pivot, [lt, gt) == pivot, [gt, hi) > pivot */
        size_t a = 0;
        while (a < n && ranks[a] < lt)
            a++;
        size_t b = a;
        while (b < n && ranks[b] < gt)
            b++;
        select_ranks(v, lo, lt, ranks, a);
        ranks += b;
        n -= b;
        lo = gt;
    }
}

/* Make the model's features from the training rows: categories seen, and
 * the distinct quantiles of each number column. */
static int build_features(crm_model *m, const crm_dataset *ds, const unsigned char *train, int bins)
{
    m->features = calloc(ds->n_cols, sizeof *m->features);
    if (!m->features)
        return crm__error_nomem();
    m->n_features = ds->n_cols;
    double *buf = malloc((ds->n_rows ? ds->n_rows : 1) * sizeof *buf);
    if (!buf)
        return crm__error_nomem();
    int rc = 0;
    size_t base = 0;
    for (size_t c = 0; rc == 0 && c < ds->n_cols; c++) {
        model_feature *f = &m->features[c];
        f->kind = ds->kinds[c];
        f->base = base;
        if (!(f->name = crm__strdup(ds->names[c]))) {
            rc = crm__error_nomem();
            break;
        }
        f->lead_field = lead_feature_of(f->name);
        if (f->kind == CRM_COLUMN_CATEGORY) {
            /* Values in the order the dataset first saw them; only those
             * that occur in a training row get a slot. */
            const dict *d = &ds->dicts[c];
            unsigned char *seen = calloc(d->n ? d->n : 1, 1);
            if (!seen) {
                rc = crm__error_nomem();
                break;
            }
            for (size_t r = 0; r < ds->n_rows; r++) {
                double v = ds->cells[r * ds->n_cols + c];
                if (train[r] && !isnan(v))
                    seen[(size_t)v] = 1;
            }
            size_t n = 0;
            for (size_t i = 0; i < d->n; i++)
                n += seen[i];
            f->n_slots = n + 1;
            f->labels = calloc(f->n_slots, sizeof *f->labels);
            if (!f->labels)
                rc = crm__error_nomem();
            for (size_t i = 0, k = 0; rc == 0 && i < d->n; i++)
                if (seen[i] && !(f->labels[k++] = crm__strdup(d->texts[i])))
                    rc = crm__error_nomem();
            if (rc == 0 && !(f->labels[n] = crm__strdup(OTHER_LABEL)))
                rc = crm__error_nomem();
            free(seen);
            if (rc == 0)
                rc = feature_index(f);
        } else {
            size_t n = 0;
            for (size_t r = 0; r < ds->n_rows; r++) {
                double v = ds->cells[r * ds->n_cols + c];
                if (train[r] && !isnan(v))
                    buf[n++] = v;
            }
            /* Cut k sits at the k/bins quantile; equal quantiles (a value
             * most rows share) collapse into one cut, and a cut at the
             * minimum would leave the first bin empty. */
            double cuts[BINS_MAX], min = n ? buf[0] : 0;
            size_t ranks[BINS_MAX], n_cuts = 0;
            for (size_t i = 1; i < n; i++)
                if (buf[i] < min)
                    min = buf[i];
            for (int k = 1; n && k < bins; k++)
                ranks[k - 1] = (size_t)((double)k * (double)n / bins);
            select_ranks(buf, 0, n, ranks, n ? (size_t)bins - 1 : 0);
            for (int k = 1; n && k < bins; k++) {
                double q = buf[ranks[k - 1]];
                if (q > min && (n_cuts == 0 || q > cuts[n_cuts - 1]))
                    cuts[n_cuts++] = q;
            }
            rc = feature_set_cuts(f, cuts, n_cuts);
        }
        base += f->n_slots;
    }
    free(buf);
    m->n_slots = base;
    return rc;
}

/* The slot of each feature for every row of a dataset (row-major, F per
 * row). A category column maps its dictionary to slots once instead of
 * hashing every cell; then one pass over the rows, in the order of the
 * memory, fills X (a pass per column strides through all of the cells and
 * of X each time: most of the encoding time was those cache misses). */
static int encode_rows(const crm_model *m, const crm_dataset *ds, uint32_t *X)
{
    size_t F = m->n_features;
    uint32_t **maps = calloc(F, sizeof *maps);
    if (!maps)
        return crm__error_nomem();
    int rc = 0;
    for (size_t c = 0; c < F && rc == 0; c++) {
        const model_feature *f = &m->features[c];
        if (f->kind == CRM_COLUMN_NUMBER)
            continue;
        const dict *d = &ds->dicts[c];
        uint32_t *map = maps[c] = malloc((d->n + 1) * sizeof *map);
        if (!map) {
            rc = crm__error_nomem();
            break;
        }
        for (size_t i = 0; i < d->n; i++)
            map[i] = (uint32_t)(f->base + crm__feature_category_slot(f, d->texts[i]));
        map[d->n] = (uint32_t)(f->base + f->n_slots - 1); /* missing */
    }
    for (size_t r = 0; rc == 0 && r < ds->n_rows; r++) {
        const double *cell = ds->cells + r * ds->n_cols;
        uint32_t *x = X + r * F;
        for (size_t c = 0; c < F; c++) {
            const model_feature *f = &m->features[c];
            if (maps[c])
                x[c] = maps[c][isnan(cell[c]) ? ds->dicts[c].n : (size_t)cell[c]];
            else
                x[c] = (uint32_t)(f->base + crm__feature_number_slot(f, cell[c]));
        }
    }
    for (size_t c = 0; c < F; c++)
        free(maps[c]);
    free(maps);
    return rc;
}

static int fit_naive_bayes(crm_model *m, const uint32_t *X, const unsigned char *y, size_t n, double alpha)
{
    size_t F = m->n_features;
    double *c1 = calloc(m->n_slots, sizeof *c1), *c0 = calloc(m->n_slots, sizeof *c0);
    double n1 = 0, n0 = 0;
    if (!c1 || !c0) {
        free(c1);
        free(c0);
        return crm__error_nomem();
    }
    for (size_t r = 0; r < n; r++) {
        double *c = y[r] ? c1 : c0;
        *(y[r] ? &n1 : &n0) += 1;
        for (size_t k = 0; k < F; k++)
            c[X[r * F + k]] += 1;
    }
    m->bias = log(n1 / n0);
    for (size_t k = 0; k < F; k++) {
        const model_feature *f = &m->features[k];
        double K = (double)f->n_slots;
        for (size_t s = f->base; s < f->base + f->n_slots; s++)
            m->w[s] = log((c1[s] + alpha) / (n1 + alpha * K)) - log((c0[s] + alpha) / (n0 + alpha * K));
    }
    free(c1);
    free(c0);
    return 0;
}

/* The dot product of a[0..n) and b[0..n) with four independent sums: the
 * compiler may not reorder a floating-point reduction itself, and one
 * running sum waits on each addition's latency (this loop is most of the
 * training time when there are hundreds of slots). */
static double dot(const double *a, const double *b, size_t n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t k = 0;
    for (; k + 4 <= n; k += 4) {
        s0 += a[k] * b[k];
        s1 += a[k + 1] * b[k + 1];
        s2 += a[k + 2] * b[k + 2];
        s3 += a[k + 3] * b[k + 3];
    }
    for (; k < n; k++)
        s0 += a[k] * b[k];
    return (s0 + s1) + (s2 + s3);
}

/* Factor a symmetric positive definite A of order d in place into its
 * Cholesky factor L (lower triangle). false when A is not positive.
 * first[i] is the column of the first non-zero of row i of A (its
 * envelope): L has no non-zero before it either, so the dot products start
 * there and a row that is zero left of the diagonal costs nothing. */
static bool cholesky_factor(double *A, size_t d, const size_t *first)
{
    for (size_t j = 0; j < d; j++) {
        double *Aj = A + j * d;
        size_t fj = first[j];
        double s = Aj[j] - dot(Aj + fj, Aj + fj, j - fj);
        if (s <= 0)
            return false;
        double l = sqrt(s);
        Aj[j] = l;
        for (size_t i = j + 1; i < d; i++) {
            if (first[i] > j)
                continue; /* A[i][j] is 0 and stays 0 */
            double *Ai = A + i * d;
            size_t k0 = first[i] > fj ? first[i] : fj;
            Ai[j] = (Ai[j] - dot(Ai + k0, Aj + k0, j - k0)) / l;
        }
    }
    return true;
}

/* Solve L L' x = b in place (b becomes x) with a factor from cholesky_factor. */
static void cholesky_solve(const double *L, double *b, size_t d, const size_t *first)
{
    for (size_t i = 0; i < d; i++) {
        b[i] = (b[i] - dot(L + i * d + first[i], b + first[i], i - first[i])) / L[i * d + i];
    }
    for (size_t i = d; i-- > 0;) {
        double t = b[i];
        for (size_t k = i + 1; k < d; k++)
            t -= L[k * d + i] * b[k];
        b[i] = t / L[i * d + i];
    }
}

static double sigmoid(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

/* Penalised negative log-likelihood at (bias, w). */
static double lr_loss(const crm_model *m, const uint32_t *X, const unsigned char *y, size_t n, double l2,
                      double bias, const double *w)
{
    size_t F = m->n_features;
    double loss = 0;
    for (size_t s = 0; s < m->n_slots; s++)
        loss += 0.5 * l2 * w[s] * w[s];
    for (size_t r = 0; r < n; r++) {
        double z = bias;
        for (size_t k = 0; k < F; k++)
            z += w[X[r * F + k]];
        /* log(1 + e^z) - y z, written to stay finite for large |z| */
        loss += (z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))) - (y[r] ? z : 0);
    }
    return loss;
}

/* L2 logistic regression by Newton's method. The parameters are the bias
 * (index 0, not penalised) and one weight per slot; each row touches F + 1
 * of them, so a Hessian pass costs (F + 1)(F + 2) / 2 per row against F + 1
 * for the gradient. After the first two steps the Hessian barely changes,
 * so its factor is reused (a chord step) for as long as that still lowers
 * the loss well; a step that does not brings a fresh Hessian.
 *
 * The linear algebra runs on the parameters reordered: the features with
 * the most slots first, the bias last. One feature's slots never meet in a
 * row (one-hot), so its block of the Hessian is diagonal, and the rows of
 * the first feature's slots have nothing left of the diagonal: with one
 * large feature (a date, a cross of two categories: hundreds of slots) the
 * factorisation only works on the rows of the other features. */
static int fit_logistic(crm_model *m, const uint32_t *X, const unsigned char *y, size_t n, double l2)
{
    size_t F = m->n_features, d = m->n_slots + 1;
    double *L = malloc(d * d * sizeof *L), *g = malloc(d * sizeof *g), *theta = calloc(d, sizeof *theta),
           *step = malloc(d * sizeof *step), *cand = malloc(d * sizeof *cand);
    size_t *act = malloc((F + 1) * sizeof *act), *ford = malloc((F + 1) * sizeof *ford),
           *fstart = malloc((F + 1) * sizeof *fstart), *P = malloc(d * sizeof *P), *first = malloc(d * sizeof *first);
    if (!L || !g || !theta || !step || !cand || !act || !ford || !fstart || !P || !first) {
        free(L), free(g), free(theta), free(step), free(cand), free(act);
        free(ford), free(fstart), free(P), free(first);
        return crm__error_nomem();
    }
    /* ford: the features by slot count, largest first (stable); fstart[k]:
     * the position of feature k's first slot; P[i]: position of parameter i
     * (0 the bias, s + 1 slot s). */
    for (size_t k = 0; k < F; k++) {
        size_t j = k;
        for (; j > 0 && m->features[ford[j - 1]].n_slots < m->features[k].n_slots; j--)
            ford[j] = ford[j - 1];
        ford[j] = k;
    }
    for (size_t i = 0, at = 0; i < F; i++) {
        const model_feature *f = &m->features[ford[i]];
        fstart[ford[i]] = at;
        for (size_t s = 0; s < f->n_slots; s++)
            P[f->base + s + 1] = at + s;
        at += f->n_slots;
    }
    P[0] = d - 1;
    double pos = 0;
    for (size_t r = 0; r < n; r++)
        pos += y[r];
    theta[0] = log(pos / ((double)n - pos));
    double loss = lr_loss(m, X, y, n, l2, theta[0], theta + 1);
    bool fresh = true; /* compute the Hessian in this iteration */
    double last_gain = 0;
    for (int iter = 0; iter < NEWTON_MAX_ITER; iter++) {
        bool hessian = fresh;
        if (hessian) {
            memset(L, 0, d * d * sizeof *L);
            L[(d - 1) * d + d - 1] = 1e-9; /* keeps the bias row positive when every row is one class of a slot */
            for (size_t s = 0; s + 1 < d; s++)
                L[s * d + s] = l2;
        }
        g[d - 1] = 0;
        for (size_t s = 1; s < d; s++)
            g[P[s]] = l2 * theta[s];
        for (size_t r = 0; r < n; r++) {
            const uint32_t *row = X + r * F;
            double z = theta[0];
            for (size_t i = 0; i < F; i++) {
                size_t k = ford[i];
                act[i] = fstart[k] + row[k] - m->features[k].base;
                z += theta[row[k] + 1];
            }
            act[F] = d - 1;
            double p = sigmoid(z), e = p - y[r];
            for (size_t a = 0; a <= F; a++)
                g[act[a]] += e;
            if (!hessian)
                continue;
            /* act is ascending (features in the order of ford, the bias
             * last), so only the lower triangle (i >= j) is filled. */
            double h = p * (1 - p);
            for (size_t a = 0; a <= F; a++) {
                double *Lrow = L + act[a] * d;
                for (size_t b = 0; b <= a; b++)
                    Lrow[act[b]] += h;
            }
        }
        if (hessian) {
            for (size_t i = 0; i < d; i++) {
                size_t j = 0;
                while (j < i && L[i * d + j] == 0)
                    j++;
                first[i] = j;
            }
            if (!cholesky_factor(L, d, first))
                break; /* cannot happen with l2 > 0; keep the last good weights */
        }
        cholesky_solve(L, g, d, first);
        for (size_t i = 0; i < d; i++)
            step[i] = g[P[i]];
        /* Step with halving until the loss does not increase. */
        double t = 1, max_delta = 0, new_loss = loss;
        bool moved = false;
        for (int half = 0; half < 20 && !moved; half++, t /= 2) {
            for (size_t s = 0; s < d; s++)
                cand[s] = theta[s] - t * step[s];
            new_loss = lr_loss(m, X, y, n, l2, cand[0], cand + 1);
            if (new_loss <= loss + 1e-12 * fabs(loss)) {
                for (size_t s = 0; s < d; s++) {
                    double delta = fabs(cand[s] - theta[s]);
                    if (delta > max_delta)
                        max_delta = delta;
                }
                memcpy(theta, cand, d * sizeof *theta);
                moved = true;
            }
            if (!hessian && !moved)
                break; /* a stale Hessian that does not help: get a fresh one */
        }
        double gain = loss - new_loss;
        if (moved && max_delta < NEWTON_TOL)
            break;
        if (hessian && (!moved || gain < 1e-10 * fabs(loss)))
            break; /* a fresh Newton step found nothing more */
        if (moved)
            loss = new_loss;
        /* Reuse the factor after two fresh steps, while each chord step
         * gains at least a tenth of the one before. */
        fresh = !moved || iter < 1 || (!hessian && gain > 0.1 * last_gain);
        last_gain = moved ? gain : 0;
    }
    m->bias = theta[0];
    memcpy(m->w, theta + 1, m->n_slots * sizeof *theta);
    free(L), free(g), free(theta), free(step), free(cand), free(act);
    free(ford), free(fstart), free(P), free(first);
    return 0;
}

/* Each feature's average weight over the training rows: the reasons
 * compare a lead with this average lead. */
static void set_baselines(crm_model *m, const uint32_t *X, const unsigned char *train, size_t n_rows)
{
    size_t F = m->n_features, n = 0;
    for (size_t k = 0; k < F; k++)
        m->features[k].baseline = 0;
    for (size_t r = 0; r < n_rows; r++) {
        if (!train[r])
            continue;
        n++;
        for (size_t k = 0; k < F; k++)
            m->features[k].baseline += m->w[X[r * F + k]];
    }
    for (size_t k = 0; k < F; k++)
        m->features[k].baseline /= (double)(n ? n : 1);
}

static double logit_of(const crm_model *m, const uint32_t *slots)
{
    double z = m->bias;
    for (size_t k = 0; k < m->n_features; k++)
        z += m->w[slots[k]];
    return z;
}

static int check_train_options(const crm_train_options *o)
{
    if (o->version != 1 && o->version != CRM_TRAIN_OPTIONS_VERSION)
        return crm_error_set(CRM_EINVALID, "options.version: expected 1 or %d, got %u", CRM_TRAIN_OPTIONS_VERSION,
                             o->version);
    if (o->kind != CRM_MODEL_NAIVE_BAYES && o->kind != CRM_MODEL_LOGISTIC)
        return crm_error_set(CRM_EINVALID, "options.kind: expected naive_bayes or logistic");
    if (!(o->holdout >= 0 && o->holdout < 1))
        return crm_error_set(CRM_EINVALID, "options.holdout: expected 0 <= holdout < 1");
    if (!(o->l2 > 0 && isfinite(o->l2)))
        return crm_error_set(CRM_EINVALID, "options.l2: expected a positive number");
    if (!(o->alpha > 0 && isfinite(o->alpha)))
        return crm_error_set(CRM_EINVALID, "options.alpha: expected a positive number");
    if (o->bins < 2 || o->bins > BINS_MAX)
        return crm_error_set(CRM_EINVALID, "options.bins: expected 2 to %d, got %d", BINS_MAX, o->bins);
    const int *b = o->grade_bands;
    if (!(b[0] <= 100 && b[0] > b[1] && b[1] > b[2] && b[2] >= 1))
        return crm_error_set(CRM_EINVALID, "options.grade_bands: expected 100 >= A > B > C >= 1");
    if (o->name && (!o->name[0] || strlen(o->name) > 64 || !crm__utf8_valid(o->name, strlen(o->name))))
        return crm_error_set(CRM_EINVALID, "options.name: expected 1 to 64 bytes of UTF-8");
    return 0;
}

#define CROSSES_MAX 32

static size_t column_of(const crm_dataset *ds, const char *name, size_t len)
{
    for (size_t c = 0; c < ds->n_cols; c++)
        if (strlen(ds->names[c]) == len && memcmp(ds->names[c], name, len) == 0)
            return c;
    return ds->n_cols;
}

/* Parse "A*B,C*D" into column pairs; errors name options.crosses[i]. */
static int parse_crosses(size_t pairs[][2], size_t *n_out, const crm_dataset *ds, const char *text)
{
    size_t n = 0;
    *n_out = 0;
    if (!text || !text[0])
        return 0;
    for (const char *p = text;; n++) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *star = memchr(p, '*', len);
        if (n == CROSSES_MAX)
            return crm_error_set(CRM_EINVALID, "options.crosses: at most %d crosses", CROSSES_MAX);
        if (!star || star == p || star + 1 == p + len || memchr(star + 1, '*', (size_t)(p + len - star - 1)))
            return crm_error_set(CRM_EINVALID, "options.crosses[%zu]: expected A*B, got '%.*s'", n,
                                 (int)(len > 64 ? 64 : len), p);
        const char *part[2] = { p, star + 1 };
        size_t plen[2] = { (size_t)(star - p), (size_t)(p + len - star - 1) };
        for (int i = 0; i < 2; i++) {
            size_t c = column_of(ds, part[i], plen[i]);
            if (c == ds->n_cols)
                return crm_error_set(CRM_EINVALID, "options.crosses[%zu]: unknown feature '%.*s'", n,
                                     (int)(plen[i] > 64 ? 64 : plen[i]), part[i]);
            if (ds->kinds[c] != CRM_COLUMN_CATEGORY)
                return crm_error_set(CRM_EINVALID, "options.crosses[%zu]: feature '%.64s' is not a category", n,
                                     ds->names[c]);
            pairs[n][i] = c;
        }
        if (pairs[n][0] == pairs[n][1])
            return crm_error_set(CRM_EINVALID, "options.crosses[%zu]: crosses '%.64s' with itself", n,
                                 ds->names[pairs[n][0]]);
        for (size_t j = 0; j < n; j++)
            if ((pairs[j][0] == pairs[n][0] && pairs[j][1] == pairs[n][1]) ||
                (pairs[j][0] == pairs[n][1] && pairs[j][1] == pairs[n][0]))
                return crm_error_set(CRM_EINVALID, "options.crosses[%zu]: repeats crosses[%zu]", n, j);
        if (!end)
            break;
        p = end + 1;
    }
    *n_out = n + 1;
    return 0;
}

/* Free what with_crosses() added to a view of a dataset. */
static void crosses_free(crm_dataset *x, const crm_dataset *ds)
{
    for (size_t c = ds->n_cols; c < x->n_cols; c++) {
        dict *d = &x->dicts[c];
        for (size_t i = 0; i < d->n; i++)
            free(d->texts[i]);
        free(d->texts);
        free(d->table);
        free(x->names[c]);
    }
    free(x->names);
    free(x->kinds);
    free(x->dicts);
    free(x->cells);
}

/* A view of ds with one more category column per cross: its value is the
 * two texts joined. Each distinct pair of values is joined once. */
static int with_crosses(crm_dataset *x, const crm_dataset *ds, size_t pairs[][2], size_t n_x)
{
    size_t C = ds->n_cols + n_x, n = ds->n_rows;
    *x = *ds;
    x->n_cols = C;
    x->names = calloc(C, sizeof *x->names);
    x->kinds = calloc(C, sizeof *x->kinds);
    x->dicts = calloc(C, sizeof *x->dicts);
    x->cells = malloc((n ? n : 1) * C * sizeof *x->cells);
    if (!x->names || !x->kinds || !x->dicts || !x->cells) {
        x->n_cols = ds->n_cols;
        crosses_free(x, ds);
        return crm__error_nomem();
    }
    x->n_cols = ds->n_cols;
    memcpy(x->names, ds->names, ds->n_cols * sizeof *x->names);
    memcpy(x->kinds, ds->kinds, ds->n_cols * sizeof *x->kinds);
    memcpy(x->dicts, ds->dicts, ds->n_cols * sizeof *x->dicts);
    for (size_t r = 0; r < n; r++)
        memcpy(x->cells + r * C, ds->cells + r * ds->n_cols, ds->n_cols * sizeof *x->cells);
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < n_x; k++) {
        size_t a = pairs[k][0], b = pairs[k][1], c = x->n_cols++;
        const dict *da = &ds->dicts[a], *db = &ds->dicts[b];
        x->kinds[c] = CRM_COLUMN_CATEGORY;
        size_t la = strlen(ds->names[a]), lb = strlen(ds->names[b]);
        if (!(x->names[c] = malloc(la + lb + 2))) {
            rc = crm__error_nomem();
            break;
        }
        memcpy(x->names[c], ds->names[a], la);
        x->names[c][la] = '*';
        memcpy(x->names[c] + la + 1, ds->names[b], lb + 1);
        /* memo[ia * nb + ib]: the pair's index + 1 in the new dictionary */
        size_t cells = da->n * db->n;
        uint32_t *memo = cells <= ((size_t)1 << 22) ? calloc(cells ? cells : 1, sizeof *memo) : NULL;
        for (size_t r = 0; rc == 0 && r < n; r++) {
            double va = ds->cells[r * ds->n_cols + a], vb = ds->cells[r * ds->n_cols + b];
            if (isnan(va) || isnan(vb)) {
                x->cells[r * C + c] = NAN;
                continue;
            }
            size_t ia = (size_t)va, ib = (size_t)vb, idx;
            if (memo && memo[ia * db->n + ib]) {
                idx = memo[ia * db->n + ib] - 1;
            } else {
                char buf[256];
                bool heap;
                char *t = cross_text(buf, sizeof buf, da->texts[ia], db->texts[ib], &heap);
                rc = t ? dict_intern(&idx, &x->dicts[c], t) : crm__error_nomem();
                if (heap)
                    free(t);
                if (rc)
                    break; /* out of memory: idx was never set */
                if (memo)
                    memo[ia * db->n + ib] = (uint32_t)(idx + 1);
            }
            x->cells[r * C + c] = (double)idx;
        }
        free(memo);
    }
    if (rc) {
        crosses_free(x, ds);
        return rc;
    }
    return 0;
}

static int train_view(crm_model **out, const crm_dataset *ds, const crm_train_options *o);

int crm_model_train(crm_model **out, const crm_dataset *ds, const crm_train_options *opts)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: required");
    *out = NULL;
    if (!ds)
        return crm_error_set(CRM_EINVALID, "ds: required");
    crm_train_options defaults = CRM_TRAIN_OPTIONS_INIT;
    const crm_train_options *o = opts ? opts : &defaults;
    int rc = check_train_options(o);
    if (rc)
        return rc;
    size_t pairs[CROSSES_MAX][2], n_x = 0;
    if (o->version >= 2 && (rc = parse_crosses(pairs, &n_x, ds, o->crosses)))
        return rc;
    if (n_x == 0) {
        if ((rc = train_view(out, ds, o)) == 0)
            (*out)->n_inputs = ds->n_cols;
        return rc;
    }
    if (ds->n_cols + n_x > DATASET_MAX_COLUMNS)
        return crm_error_set(CRM_EINVALID, "options.crosses: more than %d features with the crosses",
                             DATASET_MAX_COLUMNS);
    crm_dataset x;
    if ((rc = with_crosses(&x, ds, pairs, n_x)))
        return rc;
    rc = train_view(out, &x, o);
    crosses_free(&x, ds);
    if (rc == 0) {
        crm_model *m = *out;
        m->n_inputs = ds->n_cols;
        for (size_t k = 0; k < n_x; k++) {
            model_feature *f = &m->features[ds->n_cols + k];
            f->is_cross = true;
            f->cross[0] = pairs[k][0];
            f->cross[1] = pairs[k][1];
        }
    }
    return rc;
}

/* Train on a dataset whose columns are the inputs and then the crosses. */
static int train_view(crm_model **out, const crm_dataset *ds, const crm_train_options *o)
{
    int rc = 0;
    size_t n = ds->n_rows;
    unsigned char *train = malloc(n ? n : 1);
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!train || !order) {
        free(train);
        free(order);
        return crm__error_nomem();
    }
    /* Hold back a seeded random round(n * holdout) rows. */
    uint64_t seed = o->seed;
    for (size_t i = 0; i < n; i++) {
        order[i] = i;
        train[i] = 1;
    }
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(splitmix64(&seed) % i);
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    size_t n_hold = (size_t)((double)n * o->holdout + 0.5);
    for (size_t i = 0; i < n_hold; i++)
        train[order[i]] = 0;
    size_t n_train = n - n_hold, pos = 0;
    for (size_t r = 0; r < n; r++)
        pos += train[r] && ds->labels[r];
    free(order);
    if (pos == 0 || pos == n_train) {
        free(train);
        return crm_error_set(CRM_EINVALID, "ds: the %zu training rows need both labels (%zu converted)", n_train,
                             pos);
    }

    crm_model *m = crm__model_alloc(o->kind);
    uint32_t *X = NULL;
    unsigned char *ytrain = NULL;
    uint32_t *Xtrain = NULL;
    rc = m ? 0 : crm__error_nomem();
    if (rc == 0 && !(m->name = crm__strdup(o->name ? o->name : "default")))
        rc = crm__error_nomem();
    if (rc == 0)
        rc = build_features(m, ds, train, o->bins);
    if (rc == 0) {
        size_t F = m->n_features;
        /* With nothing held back the training rows are all the rows: no
         * copy (a fresh copy of this size costs its page faults too). */
        X = malloc(n * F * sizeof *X);
        Xtrain = n_hold ? malloc(n_train * F * sizeof *Xtrain) : X;
        ytrain = n_hold ? malloc(n_train) : ds->labels;
        m->w = calloc(m->n_slots, sizeof *m->w);
        if (!X || !Xtrain || !ytrain || !m->w)
            rc = crm__error_nomem();
        if (rc == 0)
            rc = encode_rows(m, ds, X);
        for (size_t r = 0, t = 0; rc == 0 && n_hold && r < n; r++) {
            if (train[r]) {
                memcpy(Xtrain + t * F, X + r * F, F * sizeof *X);
                ytrain[t++] = ds->labels[r];
            }
        }
    }
    if (rc == 0) {
        memcpy(m->bands, o->grade_bands, sizeof m->bands);
        m->n_train = n_train;
        m->n_holdout = n_hold;
        if (o->kind == CRM_MODEL_NAIVE_BAYES)
            rc = fit_naive_bayes(m, Xtrain, ytrain, n_train, o->alpha);
        else
            rc = fit_logistic(m, Xtrain, ytrain, n_train, o->l2);
    }
    if (rc == 0) {
        set_baselines(m, X, train, n);
        if (n_hold) {
            double *scores = malloc(n_hold * sizeof *scores);
            int *labels = malloc(n_hold * sizeof *labels);
            if (scores && labels) {
                size_t k = 0;
                for (size_t r = 0; r < n; r++) {
                    if (train[r])
                        continue;
                    scores[k] = logit_of(m, X + r * m->n_features);
                    labels[k++] = ds->labels[r];
                }
                /* A held-back part with one label has no AUC: leave it unset. */
                if (crm_roc_auc(&m->auc, scores, labels, k) != 0) {
                    m->auc = -1;
                    crm_error_clear();
                }
            } else {
                rc = crm__error_nomem();
            }
            free(scores);
            free(labels);
        }
    }
    if (n_hold) {
        free(Xtrain);
        free(ytrain);
    }
    free(X);
    free(train);
    if (rc) {
        crm_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* ---- AUC ------------------------------------------------------------------ */

typedef struct scored {
    double s;
    int y;
} scored;

static int cmp_scored(const void *a, const void *b)
{
    double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x > y) - (x < y);
}

int crm_roc_auc(double *out, const double *scores, const int *labels, size_t n)
{
    if (!out || !scores || !labels)
        return crm_error_set(CRM_EINVALID, "%s: required", !out ? "out" : !scores ? "scores" : "labels");
    if (n == 0)
        return crm_error_set(CRM_EINVALID, "n: expected at least one score");
    scored *v = malloc(n * sizeof *v);
    if (!v)
        return crm__error_nomem();
    double n1 = 0;
    for (size_t i = 0; i < n; i++) {
        v[i].s = scores[i];
        v[i].y = labels[i] != 0;
        n1 += v[i].y;
    }
    double n0 = (double)n - n1;
    if (n1 == 0 || n0 == 0) {
        free(v);
        return crm_error_set(CRM_EINVALID, "labels: both 0 and 1 must occur");
    }
    qsort(v, n, sizeof *v, cmp_scored);
    /* Mann-Whitney: the sum of the ranks of the positives, ties sharing
     * their average rank. */
    double rank_sum = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        double pos = 0;
        while (j < n && v[j].s == v[i].s)
            pos += v[j++].y;
        rank_sum += pos * ((double)(i + 1) + (double)j) / 2;
        i = j;
    }
    free(v);
    *out = (rank_sum - n1 * (n1 + 1) / 2) / (n1 * n0);
    return 0;
}

/* ---- scoring -------------------------------------------------------------- */

void crm__trained_score_slots(crm_score *out, const crm_model *m, const size_t *slots)
{
    /* The top positive and negative contributions, kept sorted by
     * insertion (three each: cheaper than sorting every feature). */
    size_t np = 0, nn = 0;
    double pv[CRM_MODEL_TOP_REASONS], nv[CRM_MODEL_TOP_REASONS];
    size_t pk[CRM_MODEL_TOP_REASONS], nk[CRM_MODEL_TOP_REASONS];
    double z = m->bias;
    for (size_t k = 0; k < m->n_features; k++) {
        const model_feature *f = &m->features[k];
        double w = m->w[f->base + slots[k]];
        z += w;
        double c = w - f->baseline;
        if (c > 0) {
            size_t i = np < CRM_MODEL_TOP_REASONS ? np++ : CRM_MODEL_TOP_REASONS;
            for (; i > 0 && pv[i - 1] < c; i--)
                if (i < CRM_MODEL_TOP_REASONS)
                    pv[i] = pv[i - 1], pk[i] = pk[i - 1];
            if (i < CRM_MODEL_TOP_REASONS)
                pv[i] = c, pk[i] = k;
        } else if (c < 0) {
            size_t i = nn < CRM_MODEL_TOP_REASONS ? nn++ : CRM_MODEL_TOP_REASONS;
            for (; i > 0 && nv[i - 1] > c; i--)
                if (i < CRM_MODEL_TOP_REASONS)
                    nv[i] = nv[i - 1], nk[i] = nk[i - 1];
            if (i < CRM_MODEL_TOP_REASONS)
                nv[i] = c, nk[i] = k;
        }
    }
    out->probability = sigmoid(z);
    out->score = (int)floor(out->probability * 100 + 0.5);
    crm__grade(out->grade, m->bands, out->score);
    out->n_reasons = 0;
    for (size_t i = 0; i < np; i++) {
        const model_feature *f = &m->features[pk[i]];
        out->reasons[out->n_reasons++] = (crm_score_reason){ f->name, f->labels[slots[pk[i]]], pv[i] };
    }
    for (size_t i = 0; i < nn; i++) {
        const model_feature *f = &m->features[nk[i]];
        out->reasons[out->n_reasons++] = (crm_score_reason){ f->name, f->labels[slots[nk[i]]], nv[i] };
    }
}

int crm_model_score_values(crm_score *out, const crm_model *m, const char *const *values)
{
    if (!out || !m || !values)
        return crm_error_set(CRM_EINVALID, "%s: required", !out ? "out" : !m ? "model" : "values");
    if (m->kind == CRM_MODEL_RULES)
        return crm_error_set(CRM_EINVALID, "model: a rule model scores leads, not values");
    size_t slots[DATASET_MAX_COLUMNS];
    for (size_t k = 0; k < m->n_features; k++) {
        const model_feature *f = &m->features[k];
        if (f->is_cross) {
            slots[k] = crm__feature_cross_slot(f, values[f->cross[0]], values[f->cross[1]]);
        } else if (f->kind == CRM_COLUMN_CATEGORY) {
            slots[k] = crm__feature_category_slot(f, values[k]);
        } else {
            double x = NAN;
            if (values[k] && values[k][0] && !parse_number(values[k], &x))
                x = NAN;
            slots[k] = crm__feature_number_slot(f, x);
        }
    }
    crm__trained_score_slots(out, m, slots);
    return 0;
}

/* ---- JSON ----------------------------------------------------------------- */

cJSON *crm__trained_to_cjson(const crm_model *m)
{
    cJSON *doc = cJSON_CreateObject(), *features = NULL;
    char at[CRM_ISO_TIME_LEN + 1];
    crm__time_format(m->trained_at, at);
    bool ok = doc && cJSON_AddStringToObject(doc, "type", crm_model_kind_name(m->kind)) &&
              cJSON_AddStringToObject(doc, "name", crm_model_name(m)) &&
              cJSON_AddNumberToObject(doc, "version", m->version) &&
              (m->trained_at ? cJSON_AddStringToObject(doc, "trained_at", at) != NULL
                             : cJSON_AddNullToObject(doc, "trained_at") != NULL) &&
              (m->auc >= 0 ? cJSON_AddNumberToObject(doc, "auc", m->auc) != NULL
                           : cJSON_AddNullToObject(doc, "auc") != NULL) &&
              cJSON_AddNumberToObject(doc, "train_rows", (double)m->n_train) &&
              cJSON_AddNumberToObject(doc, "holdout_rows", (double)m->n_holdout) && crm__add_grades(doc, m->bands) &&
              cJSON_AddNumberToObject(doc, "bias", m->bias) &&
              (features = cJSON_AddArrayToObject(doc, "features")) != NULL;
    for (size_t k = 0; ok && k < m->n_features; k++) {
        const model_feature *f = &m->features[k];
        cJSON *o = cJSON_CreateObject();
        ok = o && cJSON_AddItemToArray(features, o);
        if (!ok) {
            cJSON_Delete(o);
            break;
        }
        bool cat = f->kind == CRM_COLUMN_CATEGORY;
        size_t n_named = f->n_slots - 1;
        cJSON *names = cat ? cJSON_CreateStringArray((const char *const *)f->labels, (int)n_named)
                           : cJSON_CreateDoubleArray(f->cuts, (int)f->n_cuts);
        if (!names || !cJSON_AddItemToObject(o, cat ? "values" : "cuts", names)) {
            cJSON_Delete(names);
            ok = false;
            break;
        }
        cJSON *w = cJSON_CreateDoubleArray(m->w + f->base, (int)n_named);
        if (!w || !cJSON_AddItemToObject(o, "weights", w)) {
            cJSON_Delete(w);
            ok = false;
            break;
        }
        if (f->is_cross) {
            const char *parts[2] = { m->features[f->cross[0]].name, m->features[f->cross[1]].name };
            cJSON *c = cJSON_CreateStringArray(parts, 2);
            if (!c || !cJSON_AddItemToObject(o, "cross", c)) {
                cJSON_Delete(c);
                ok = false;
                break;
            }
        }
        ok = cJSON_AddStringToObject(o, "name", f->name) &&
             cJSON_AddStringToObject(o, "kind", cat ? "category" : "number") &&
             cJSON_AddNumberToObject(o, cat ? "other" : "missing", m->w[f->base + n_named]) &&
             cJSON_AddNumberToObject(o, "baseline", f->baseline);
    }
    if (!ok) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

static int get_number(double *out, const cJSON *o, const char *name, const char *path)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return crm_error_set(CRM_EINVALID, "%s%s: expected a number", path, name);
    *out = v->valuedouble;
    return 0;
}

static int parse_feature(crm_model *m, model_feature *f, const cJSON *o, size_t k)
{
    char path[32];
    snprintf(path, sizeof path, "features[%zu].", k);
    if (!cJSON_IsObject(o))
        return crm_error_set(CRM_EINVALID, "features[%zu]: expected an object", k);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
    if (!cJSON_IsString(name) || !name->valuestring[0])
        return crm_error_set(CRM_EINVALID, "%sname: expected a non-empty string", path);
    if (!cJSON_IsString(kind) || (strcmp(kind->valuestring, "category") && strcmp(kind->valuestring, "number")))
        return crm_error_set(CRM_EINVALID, "%skind: expected \"category\" or \"number\"", path);
    if (!(f->name = crm__strdup(name->valuestring)))
        return crm__error_nomem();
    f->lead_field = lead_feature_of(f->name);
    f->kind = strcmp(kind->valuestring, "category") == 0 ? CRM_COLUMN_CATEGORY : CRM_COLUMN_NUMBER;
    bool cat = f->kind == CRM_COLUMN_CATEGORY;
    const char *list_name = cat ? "values" : "cuts";
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(o, list_name);
    const cJSON *weights = cJSON_GetObjectItemCaseSensitive(o, "weights");
    if (!cJSON_IsArray(list))
        return crm_error_set(CRM_EINVALID, "%s%s: expected an array", path, list_name);
    size_t n = (size_t)cJSON_GetArraySize(list);
    if (!cJSON_IsArray(weights) || (size_t)cJSON_GetArraySize(weights) != (cat ? n : n + 1))
        return crm_error_set(CRM_EINVALID, "%sweights: expected an array of %zu numbers", path, cat ? n : n + 1);
    int rc = 0;
    if (cat) {
        f->n_slots = n + 1;
        f->labels = calloc(f->n_slots, sizeof *f->labels);
        if (!f->labels)
            return crm__error_nomem();
        size_t i = 0;
        for (const cJSON *v = list->child; v; v = v->next, i++) {
            if (!cJSON_IsString(v) || !v->valuestring[0])
                return crm_error_set(CRM_EINVALID, "%svalues[%zu]: expected a non-empty string", path, i);
            if (!(f->labels[i] = crm__strdup(v->valuestring)))
                return crm__error_nomem();
        }
        if (!(f->labels[n] = crm__strdup(OTHER_LABEL)))
            return crm__error_nomem();
        rc = feature_index(f);
    } else {
        double *cuts = malloc((n ? n : 1) * sizeof *cuts);
        if (!cuts)
            return crm__error_nomem();
        size_t i = 0;
        for (const cJSON *v = list->child; rc == 0 && v; v = v->next, i++) {
            if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || (i > 0 && v->valuedouble <= cuts[i - 1]))
                rc = crm_error_set(CRM_EINVALID, "%scuts[%zu]: expected a number above the one before", path, i);
            else
                cuts[i] = v->valuedouble;
        }
        if (rc == 0)
            rc = feature_set_cuts(f, cuts, n);
        free(cuts);
    }
    if (rc)
        return rc;
    f->base = m->n_slots;
    m->n_slots += f->n_slots;
    return 0;
}

/* The weights of every feature, once the slots are known. */
static int parse_weights(crm_model *m, const cJSON *features)
{
    if (!(m->w = calloc(m->n_slots ? m->n_slots : 1, sizeof *m->w)))
        return crm__error_nomem();
    size_t k = 0;
    for (const cJSON *o = features->child; o; o = o->next, k++) {
        model_feature *f = &m->features[k];
        char path[32];
        snprintf(path, sizeof path, "features[%zu].", k);
        size_t i = 0;
        for (const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "weights")->child; v; v = v->next, i++) {
            if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
                return crm_error_set(CRM_EINVALID, "%sweights[%zu]: expected a number", path, i);
            m->w[f->base + i] = v->valuedouble;
        }
        bool cat = f->kind == CRM_COLUMN_CATEGORY;
        int rc = get_number(&m->w[f->base + f->n_slots - 1], o, cat ? "other" : "missing", path);
        if (rc == 0)
            rc = get_number(&f->baseline, o, "baseline", path);
        if (rc)
            return rc;
    }
    return 0;
}

/* "cross": ["A", "B"]: two category inputs listed before; the crosses
 * come after every input. */
static int parse_cross(crm_model *m, size_t k, const cJSON *o)
{
    model_feature *f = &m->features[k];
    const cJSON *cross = cJSON_GetObjectItemCaseSensitive(o, "cross");
    if (!cross) {
        if (m->n_inputs != k)
            return crm_error_set(CRM_EINVALID, "features[%zu]: an input after a cross (crosses come last)", k);
        m->n_inputs = k + 1;
        return 0;
    }
    if (!cJSON_IsArray(cross) || cJSON_GetArraySize(cross) != 2 || f->kind != CRM_COLUMN_CATEGORY)
        return crm_error_set(CRM_EINVALID, "features[%zu].cross: expected two feature names (of a category)", k);
    size_t i = 0;
    for (const cJSON *v = cross->child; v; v = v->next, i++) {
        size_t j = 0;
        while (j < m->n_inputs && !(cJSON_IsString(v) && strcmp(m->features[j].name, v->valuestring) == 0))
            j++;
        if (j == m->n_inputs)
            return crm_error_set(CRM_EINVALID, "features[%zu].cross[%zu]: expected the name of an input feature", k,
                                 i);
        if (m->features[j].kind != CRM_COLUMN_CATEGORY)
            return crm_error_set(CRM_EINVALID, "features[%zu].cross[%zu]: feature '%.64s' is not a category", k, i,
                                 m->features[j].name);
        f->cross[i] = j;
    }
    if (f->cross[0] == f->cross[1])
        return crm_error_set(CRM_EINVALID, "features[%zu].cross: crosses '%.64s' with itself", k,
                             m->features[f->cross[0]].name);
    f->is_cross = true;
    return 0;
}

int crm__trained_parse(crm_model *m, const cJSON *doc)
{
    int rc = get_number(&m->bias, doc, "bias", "");
    if (rc)
        return rc;
    const cJSON *auc = cJSON_GetObjectItemCaseSensitive(doc, "auc");
    if (auc && !cJSON_IsNull(auc)) {
        if (!cJSON_IsNumber(auc) || !(auc->valuedouble >= 0 && auc->valuedouble <= 1))
            return crm_error_set(CRM_EINVALID, "auc: expected a number from 0 to 1 or null");
        m->auc = auc->valuedouble;
    }
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(doc, "trained_at");
    if (at && !cJSON_IsNull(at) && (!cJSON_IsString(at) || crm__time_parse(at->valuestring, &m->trained_at)))
        return crm_error_set(CRM_EINVALID, "trained_at: expected an ISO-8601 time or null");
    static const char *const counts[2] = { "train_rows", "holdout_rows" };
    size_t *dst[2] = { &m->n_train, &m->n_holdout };
    for (int i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, counts[i]);
        if (!v)
            continue;
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble != floor(v->valuedouble))
            return crm_error_set(CRM_EINVALID, "%s: expected a non-negative integer", counts[i]);
        *dst[i] = (size_t)v->valuedouble;
    }
    const cJSON *features = cJSON_GetObjectItemCaseSensitive(doc, "features");
    if (!cJSON_IsArray(features) || cJSON_GetArraySize(features) < 1 ||
        cJSON_GetArraySize(features) > DATASET_MAX_COLUMNS)
        return crm_error_set(CRM_EINVALID, "features: expected an array of 1 to %d features", DATASET_MAX_COLUMNS);
    size_t n = (size_t)cJSON_GetArraySize(features);
    if (!(m->features = calloc(n, sizeof *m->features)))
        return crm__error_nomem();
    m->n_features = n;
    size_t k = 0;
    for (const cJSON *o = features->child; o; o = o->next, k++) {
        if ((rc = parse_feature(m, &m->features[k], o, k)))
            return rc;
        for (size_t j = 0; j < k; j++)
            if (strcmp(m->features[j].name, m->features[k].name) == 0)
                return crm_error_set(CRM_EINVALID, "features[%zu].name: '%.64s' repeats features[%zu]", k,
                                     m->features[k].name, j);
        if ((rc = parse_cross(m, k, o)))
            return rc;
    }
    if (m->n_inputs == 0)
        return crm_error_set(CRM_EINVALID, "features: expected at least one feature that is not a cross");
    return parse_weights(m, features);
}

/* ---- documents of either kind ---------------------------------------------- */

int crm_model_from_json(crm_model **out, const char *json)
{
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: required");
    *out = NULL;
    if (!json)
        return crm_error_set(CRM_EINVALID, "json: required");
    cJSON *doc = cJSON_Parse(json);
    if (!doc)
        return crm_error_set(CRM_EINVALID, "model: not valid JSON (near byte %zu)",
                             (size_t)(cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - json : 0));
    int rc = 0;
    crm_model *m = NULL;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(doc, "type");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "name");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(doc, "version");
    crm_model_kind kind = CRM_MODEL_RULES;
    if (!cJSON_IsObject(doc))
        rc = crm_error_set(CRM_EINVALID, "model: expected a JSON object");
    else if (!cJSON_IsString(type))
        rc = crm_error_set(CRM_EINVALID, "type: expected \"rules\", \"naive_bayes\" or \"logistic\"");
    else if (strcmp(type->valuestring, "rules") == 0)
        kind = CRM_MODEL_RULES;
    else if (strcmp(type->valuestring, "naive_bayes") == 0)
        kind = CRM_MODEL_NAIVE_BAYES;
    else if (strcmp(type->valuestring, "logistic") == 0)
        kind = CRM_MODEL_LOGISTIC;
    else
        rc = crm_error_set(CRM_EINVALID, "type: expected \"rules\", \"naive_bayes\" or \"logistic\", got '%.32s'",
                           type->valuestring);
    if (rc == 0 && name &&
        (!cJSON_IsString(name) || !name->valuestring[0] || strlen(name->valuestring) > 64 ||
         !crm__utf8_valid(name->valuestring, strlen(name->valuestring))))
        rc = crm_error_set(CRM_EINVALID, "name: expected 1 to 64 bytes of UTF-8");
    if (rc == 0 && version &&
        (!cJSON_IsNumber(version) || version->valuedouble < 0 || version->valuedouble > 1e9 ||
         version->valuedouble != floor(version->valuedouble)))
        rc = crm_error_set(CRM_EINVALID, "version: expected a non-negative integer");
    if (rc == 0 && !(m = crm__model_alloc(kind)))
        rc = crm__error_nomem();
    if (rc == 0 && !(m->name = crm__strdup(name ? name->valuestring : "default")))
        rc = crm__error_nomem();
    if (rc == 0) {
        m->version = version ? (int)version->valuedouble : 0;
        rc = crm__parse_grades(m->bands, doc);
    }
    if (rc == 0)
        rc = kind == CRM_MODEL_RULES ? crm__rules_parse(m, doc) : crm__trained_parse(m, doc);
    cJSON_Delete(doc);
    if (rc) {
        crm_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int crm_model_to_json(char **out, const crm_model *m)
{
    if (!out || !m)
        return crm_error_set(CRM_EINVALID, "%s: required", out ? "model" : "out");
    *out = NULL;
    cJSON *doc = m->kind == CRM_MODEL_RULES ? crm__rules_to_cjson(m) : crm__trained_to_cjson(m);
    char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    if (!text)
        return crm__error_nomem();
    *out = text;
    return 0;
}
