/*
 * Batch deduplication: records in, candidate pairs by blocking keys,
 * comparison into agreement patterns, Fellegi–Sunter weights estimated by
 * EM over the distinct patterns, decisions, clusters by union-find.
 *
 * Memory is a few arrays: the normalised values live in one arena and the
 * records hold 32-bit offsets into it; pairs are 64-bit (a, b) words sorted
 * by radix; EM runs over the distinct patterns (a few hundred), not the
 * pairs, so its cost does not grow with the data.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/match_internal.h"

#define NAME_KEY_HAN 'H'   /* the key of a name written in Han characters */
#define NAME_KEY_LATIN 'L' /* ... in Latin letters */
#define U_SAMPLE_PAIRS 4000
#define EM_EPSILON 1e-6
#define PROB_FLOOR 1e-12
#define NO_COLUMN ((size_t)-1)
#define ONLINE_ARENA_MAX (256u << 10)

typedef struct memo_entry {
    uint64_t hash;
    uint32_t raw, value; /* arena offsets; raw 0 marks an empty slot */
} memo_entry;

/* raw value -> normalised value, for fields whose values repeat (names,
 * regions) and are costly to normalise. */
typedef struct memo {
    memo_entry *slots;
    size_t cap, used;
} memo;

typedef struct pair_result {
    uint32_t pattern;
    float probability;
    float weight;
} pair_result;

struct crm_dedupe {
    crm_matcher *m;
    size_t ncolumns;
    size_t colidx[CRM_MATCH_FIELDS_MAX]; /* column of each field */
    memo memos[CRM_MATCH_FIELDS_MAX];
    crm_buf arena;   /* starts with "\0": offset 0 is the empty value */
    uint32_t *vals;  /* n * nfields offsets */
    uint32_t *ids;   /* n offsets */
    size_t n, cap;
    bool ran;
    uint64_t *pairs; /* (a << 32) | b, a < b, sorted */
    pair_result *results;
    size_t npairs;
    uint32_t *root;  /* cluster root (its first record) of every record */
};

/* ---- hashing and sorting -------------------------------------------- */

static uint64_t hash_bytes(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ULL;
    /* FNV mixes its low bits poorly; the sort and the tables want all 64. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* LSD radix sort of 64-bit words, 16 bits a pass; tmp holds n words.
 * Short arrays go to qsort: clearing the counts would cost more. */
static void radix_sort64(uint64_t *a, uint64_t *tmp, size_t n)
{
    if (n < 65536) {
        qsort(a, n, sizeof *a, cmp_u64);
        return;
    }
    size_t *count = calloc(65536, sizeof *count);
    if (!count) {
        /* Not worth failing a run for: fall back to a slower sort. */
        for (size_t i = 1; i < n; i++) {
            uint64_t v = a[i];
            size_t j = i;
            while (j && a[j - 1] > v)
                a[j] = a[j - 1], j--;
            a[j] = v;
        }
        return;
    }
    for (int shift = 0; shift < 64; shift += 16) {
        memset(count, 0, 65536 * sizeof *count);
        for (size_t i = 0; i < n; i++)
            count[(a[i] >> shift) & 0xFFFF]++;
        if (count[(a[0] >> shift) & 0xFFFF] == n)
            continue; /* every word has these bits alike */
        size_t sum = 0;
        for (size_t i = 0; i < 65536; i++) {
            size_t c = count[i];
            count[i] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            tmp[count[(a[i] >> shift) & 0xFFFF]++] = a[i];
        memcpy(a, tmp, n * sizeof *a);
    }
    free(count);
}

/* ---- string measures over code points ------------------------------- */

#define CP_MAX 64

static int decode(const char *s, uint32_t out[CP_MAX])
{
    int n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p && n < CP_MAX) {
        uint32_t cp;
        int len;
        if (p[0] < 0x80)
            cp = p[0], len = 1;
        else if (p[0] < 0xE0)
            cp = p[0] & 0x1F, len = 2;
        else if (p[0] < 0xF0)
            cp = p[0] & 0x0F, len = 3;
        else
            cp = p[0] & 0x07, len = 4;
        for (int i = 1; i < len; i++)
            cp = (cp << 6) | (p[i] & 0x3F);
        out[n++] = cp;
        p += len;
    }
    return n;
}

/* Jaro–Winkler over code points (or bytes, for ASCII: the same thing),
 * at most CP_MAX of them; matched flags are bit masks. */
#define JARO_WINKLER_BODY(T)                                                                   \
    static double jaro_winkler_##T(const T *a, int la, const T *b, int lb)                     \
    {                                                                                          \
        if (la == 0 || lb == 0)                                                                \
            return la == lb ? 1.0 : 0.0;                                                       \
        int window = (la > lb ? la : lb) / 2 - 1;                                              \
        if (window < 0)                                                                        \
            window = 0;                                                                        \
        uint64_t ma = 0, mb = 0;                                                               \
        int matches = 0;                                                                       \
        for (int i = 0; i < la; i++) {                                                         \
            int lo = i - window > 0 ? i - window : 0, hi = i + window + 1 < lb ? i + window + 1 : lb; \
            for (int j = lo; j < hi; j++) {                                                    \
                if (!(mb >> j & 1) && a[i] == b[j]) {                                          \
                    ma |= 1ULL << i, mb |= 1ULL << j;                                          \
                    matches++;                                                                 \
                    break;                                                                     \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
        if (!matches)                                                                          \
            return 0.0;                                                                        \
        int t = 0;                                                                             \
        for (int i = 0, j = 0; i < la; i++) {                                                  \
            if (!(ma >> i & 1))                                                                \
                continue;                                                                      \
            while (!(mb >> j & 1))                                                             \
                j++;                                                                           \
            t += a[i] != b[j];                                                                 \
            j++;                                                                               \
        }                                                                                      \
        double md = matches;                                                                   \
        double jaro = (md / la + md / lb + (md - t / 2.0) / md) / 3.0;                         \
        int prefix = 0;                                                                        \
        while (prefix < 4 && prefix < la && prefix < lb && a[prefix] == b[prefix])            \
            prefix++;                                                                          \
        return jaro + prefix * 0.1 * (1.0 - jaro);                                             \
    }
typedef unsigned char uchar;
JARO_WINKLER_BODY(uchar)
JARO_WINKLER_BODY(uint32_t)

static bool ascii_len(const char *s, int *len)
{
    int n = 0;
    for (; s[n]; n++)
        if ((unsigned char)s[n] >= 0x80 || n >= CP_MAX)
            return false;
    *len = n;
    return true;
}

double crm__jaro_winkler(const char *a, const char *b);
double crm__jaro_winkler(const char *a, const char *b)
{
    int la, lb;
    if (ascii_len(a, &la) && ascii_len(b, &lb))
        return jaro_winkler_uchar((const uchar *)a, la, (const uchar *)b, lb);
    uint32_t ca[CP_MAX], cb[CP_MAX];
    la = decode(a, ca), lb = decode(b, cb);
    return jaro_winkler_uint32_t(ca, la, cb, lb);
}

/* Optimal string alignment distance (Damerau–Levenshtein with adjacent
 * transpositions), stopping early once it exceeds limit. */
int crm__damerau(const char *a, const char *b, int limit);
int crm__damerau(const char *a, const char *b, int limit)
{
    uint32_t ca[CP_MAX], cb[CP_MAX];
    int la = decode(a, ca), lb = decode(b, cb);
    if (abs(la - lb) > limit)
        return limit + 1;
    int prev2[CP_MAX + 1], prev[CP_MAX + 1], cur[CP_MAX + 1];
    for (int j = 0; j <= lb; j++)
        prev[j] = j;
    for (int i = 1; i <= la; i++) {
        cur[0] = i;
        int best = cur[0];
        for (int j = 1; j <= lb; j++) {
            int cost = ca[i - 1] != cb[j - 1];
            int v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (prev[j - 1] + cost < v)
                v = prev[j - 1] + cost;
            if (i > 1 && j > 1 && ca[i - 1] == cb[j - 2] && ca[i - 2] == cb[j - 1] && prev2[j - 2] + 1 < v)
                v = prev2[j - 2] + 1;
            cur[j] = v;
            if (v < best)
                best = v;
        }
        if (best > limit)
            return limit + 1;
        memcpy(prev2, prev, sizeof prev);
        memcpy(prev, cur, sizeof cur);
    }
    return prev[lb];
}

/* ---- comparators ------------------------------------------------------ */

static int compare_values(const mfield *f, const char *a, const char *b)
{
    if (!*a || !*b)
        return LV_MISSING;
    switch (f->cmp) {
    case CMP_EXACT:
        return strcmp(a, b) == 0 ? LV_AGREE : LV_DISAGREE;
    case CMP_REGION:
        if (strcmp(a, b) == 0)
            return LV_AGREE;
        return strncmp(a, b, 2) == 0 ? LV_PARTIAL : LV_DISAGREE;
    case CMP_PHONE:
        if (strcmp(a, b) == 0)
            return LV_AGREE;
        return crm__damerau(a, b, 1) <= 1 ? LV_PARTIAL : LV_DISAGREE;
    case CMP_JW: {
        double s = strcmp(a, b) == 0 ? 1.0 : crm__jaro_winkler(a, b);
        return s >= f->levels[0] ? LV_AGREE : s >= f->levels[1] ? LV_PARTIAL : LV_DISAGREE;
    }
    case CMP_DAMERAU: {
        int limit = (int)f->levels[1];
        int dist = strcmp(a, b) == 0 ? 0 : crm__damerau(a, b, limit);
        return dist <= f->levels[0] ? LV_AGREE : dist <= limit ? LV_PARTIAL : LV_DISAGREE;
    }
    case CMP_NAME: {
        const char *ka = a + strlen(a) + 1, *kb = b + strlen(b) + 1;
        if (strcmp(a, b) == 0)
            return LV_AGREE;
        if (strcmp(ka + 1, kb + 1) == 0)
            return ka[0] != kb[0] ? LV_AGREE : LV_PARTIAL;
        return ka[1] && kb[1] && crm__jaro_winkler(ka + 1, kb + 1) >= 0.9 ? LV_PARTIAL : LV_DISAGREE;
    }
    case CMP_DATE: {
        if (strcmp(a, b) == 0)
            return LV_AGREE;
        if (strlen(a) == 8 && strlen(b) == 8 && strncmp(a, b, 4) == 0 && strncmp(a + 4, b + 6, 2) == 0 &&
            strncmp(a + 6, b + 4, 2) == 0)
            return LV_PARTIAL;
        return crm__damerau(a, b, 1) <= 1 ? LV_PARTIAL : LV_DISAGREE;
    }
    case CMP_NUMERIC: {
        char *ea, *eb;
        double x = strtod(a, &ea), y = strtod(b, &eb);
        if (*ea || *eb || isnan(x) || isnan(y))
            return strcmp(a, b) == 0 ? LV_AGREE : LV_DISAGREE;
        double diff = fabs(x - y);
        return diff <= f->levels[0] ? LV_AGREE : diff <= f->levels[1] ? LV_PARTIAL : LV_DISAGREE;
    }
    default:
        return LV_MISSING;
    }
}

static const char *value_of(const crm_dedupe *d, uint32_t rec, size_t f)
{
    return d->arena.data + d->vals[(size_t)rec * d->m->nfields + f];
}

/* The agreement pattern of a pair; *swapped gets, per field, whether its
 * swap partner was used. */
static uint32_t compare_pair(const crm_dedupe *d, uint32_t a, uint32_t b, uint32_t *swapped)
{
    const crm_matcher *m = d->m;
    int lv[CRM_MATCH_FIELDS_MAX];
    uint32_t sw = 0;
    for (size_t f = 0; f < m->nfields; f++)
        lv[f] = compare_values(&m->fields[f], value_of(d, a, f), value_of(d, b, f));
    for (size_t f = 0; f < m->nfields; f++) {
        int g = m->fields[f].swap_with;
        if (g <= (int)f)
            continue;
        /* Given and family name written the other way round: compare
         * crosswise and keep whichever way agrees better. */
        if (lv[f] == LV_AGREE && lv[g] == LV_AGREE)
            continue;
        int x = compare_values(&m->fields[f], value_of(d, a, f), value_of(d, b, (size_t)g));
        int y = compare_values(&m->fields[g], value_of(d, a, (size_t)g), value_of(d, b, f));
        if (x != LV_MISSING && y != LV_MISSING && x + y > lv[f] + lv[g]) {
            lv[f] = x, lv[g] = y;
            sw |= 1u << f | 1u << g;
        }
    }
    uint32_t p = 0;
    for (size_t f = 0; f < m->nfields; f++)
        p |= (uint32_t)lv[f] << (2 * f);
    if (swapped)
        *swapped = sw;
    return p;
}

/* ---- records ---------------------------------------------------------- */

static int arena_put(crm_dedupe *d, const char *s, size_t len, uint32_t *off)
{
    if (d->arena.len + len + 1 > UINT32_MAX)
        return crm_error_set(CRM_ENOMEM, "dedupe: more than 4 GiB of values");
    *off = (uint32_t)d->arena.len;
    crm__buf_append(&d->arena, s, len);
    crm__buf_append(&d->arena, "", 1);
    return d->arena.failed ? crm__error_nomem() : 0;
}

/* Normalise a raw value for field f into the arena (0: missing). */
static int normalise(crm_dedupe *d, size_t f, const char *raw, uint32_t *off)
{
    const mfield *fd = &d->m->fields[f];
    crm_clean_result r = CRM_CLEAN_RESULT_INIT;
    char small[CRM_CLEAN_INPUT_MAX + 1];
    int rc = 0;
    *off = 0;
    switch (fd->cmp) {
    case CMP_PHONE:
        if ((rc = crm_clean_phone(&r, raw)) == 0 && r.value && !(r.flags & CRM_CLEAN_TEST))
            rc = arena_put(d, r.value, strlen(r.value), off);
        break;
    case CMP_NAME:
        if (!d->m->pinyin && !(d->m->pinyin = calloc(1, sizeof *d->m->pinyin)))
            return crm__error_nomem();
        if ((rc = crm__clean_name(&r, raw, d->m->pinyin)) == 0 && r.value) {
            /* "value\0Hkey": the key with a mark of the script it came from. */
            size_t vl = strlen(r.value), kl = strlen(r.key);
            char *both = malloc(vl + kl + 3);
            if (!both) {
                rc = crm__error_nomem();
                break;
            }
            memcpy(both, r.value, vl + 1);
            both[vl + 1] = crm__has_han(r.value) ? NAME_KEY_HAN : NAME_KEY_LATIN;
            memcpy(both + vl + 2, r.key, kl + 1);
            rc = arena_put(d, both, vl + kl + 2, off);
            free(both);
        }
        break;
    case CMP_REGION:
        if ((rc = crm_clean_region(&r, raw)) == 0 && r.province) {
            const char *code = r.city ? r.city : r.province;
            rc = arena_put(d, code, strlen(code), off);
        }
        break;
    case CMP_DATE: {
        size_t n = 0;
        for (const char *p = raw; *p && n < sizeof small - 1; p++)
            if (isdigit((unsigned char)*p))
                small[n++] = *p;
        if (n)
            rc = arena_put(d, small, n, off);
        break;
    }
    default: {
        /* Trimmed, ASCII lower-cased: CSV exports differ in case. */
        while (isspace((unsigned char)*raw))
            raw++;
        size_t n = strlen(raw);
        while (n && isspace((unsigned char)raw[n - 1]))
            n--;
        if (n > CRM_CLEAN_INPUT_MAX)
            n = CRM_CLEAN_INPUT_MAX;
        for (size_t i = 0; i < n; i++)
            small[i] = (char)tolower((unsigned char)raw[i]);
        if (n)
            rc = arena_put(d, small, n, off);
        break;
    }
    }
    crm_clean_result_clear(&r);
    return rc;
}

static bool memoised(int cmp)
{
    return cmp == CMP_NAME || cmp == CMP_REGION;
}

static int memo_normalise(crm_dedupe *d, size_t f, const char *raw, uint32_t *off)
{
    memo *mm = &d->memos[f];
    if (mm->used * 2 >= mm->cap) {
        size_t cap = mm->cap ? mm->cap * 2 : 1024;
        memo_entry *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return crm__error_nomem();
        for (size_t i = 0; i < mm->cap; i++) {
            if (!mm->slots[i].raw)
                continue;
            size_t j = mm->slots[i].hash & (cap - 1);
            while (slots[j].raw)
                j = (j + 1) & (cap - 1);
            slots[j] = mm->slots[i];
        }
        free(mm->slots);
        mm->slots = slots;
        mm->cap = cap;
    }
    size_t len = strlen(raw);
    uint64_t h = hash_bytes(raw, len, f);
    size_t j = h & (mm->cap - 1);
    for (; mm->slots[j].raw; j = (j + 1) & (mm->cap - 1)) {
        if (mm->slots[j].hash == h && strcmp(d->arena.data + mm->slots[j].raw, raw) == 0) {
            *off = mm->slots[j].value;
            return 0;
        }
    }
    uint32_t raw_off, value_off;
    int rc = arena_put(d, raw, len, &raw_off);
    if (rc == 0)
        rc = normalise(d, f, raw, &value_off);
    if (rc != 0)
        return rc;
    mm->slots[j] = (memo_entry){h, raw_off, value_off};
    mm->used++;
    *off = value_off;
    return 0;
}

int crm_dedupe_new(crm_dedupe **out, crm_matcher *m, const char *const *columns, size_t ncolumns)
{
    if (!out || !m || (!columns && ncolumns))
        return crm_error_set(CRM_EINVALID, "%s: NULL", !out ? "out" : !m ? "matcher" : "columns");
    *out = NULL;
    crm_dedupe *d = calloc(1, sizeof *d);
    if (!d)
        return crm__error_nomem();
    d->m = m;
    d->ncolumns = ncolumns;
    size_t found = 0;
    for (size_t f = 0; f < m->nfields; f++) {
        size_t c = 0;
        while (c < ncolumns && (!columns[c] || strcmp(columns[c], m->fields[f].column) != 0))
            c++;
        /* A field without its column is missing in every record: one
         * configuration serves files that lack some columns. */
        d->colidx[f] = c < ncolumns ? c : NO_COLUMN;
        found += c < ncolumns;
    }
    if (!found) {
        free(d);
        return crm_error_set(CRM_EINVALID, "columns: none of the configuration's columns (%.64s, ...) is present",
                             m->fields[0].column);
    }
    crm__buf_append(&d->arena, "", 1);
    if (d->arena.failed) {
        crm_dedupe_free(d);
        return crm__error_nomem();
    }
    *out = d;
    return 0;
}

void crm_dedupe_free(crm_dedupe *d)
{
    if (!d)
        return;
    for (size_t f = 0; f < CRM_MATCH_FIELDS_MAX; f++)
        free(d->memos[f].slots);
    crm__buf_free(&d->arena);
    free(d->vals);
    free(d->ids);
    free(d->pairs);
    free(d->results);
    free(d->root);
    free(d);
}

int crm_dedupe_add(crm_dedupe *d, const char *id, const char *const *values)
{
    if (!d || (!values && d->ncolumns))
        return crm_error_set(CRM_EINVALID, "%s: NULL", d ? "values" : "dedupe");
    if (d->ran)
        return crm_error_set(CRM_ECONFLICT, "dedupe: records cannot be added after the run");
    if (d->n >= UINT32_MAX - 1)
        return crm_error_set(CRM_ENOMEM, "dedupe: too many records");
    size_t nf = d->m->nfields;
    for (size_t f = 0; f < nf; f++) {
        const char *v = d->colidx[f] == NO_COLUMN ? NULL : values[d->colidx[f]];
        if (v && !crm__utf8_valid(v, strlen(v)))
            return crm_error_set(CRM_EINVALID, "%s: not valid UTF-8", d->m->fields[f].column);
        if (v && strlen(v) > CRM_CLEAN_INPUT_MAX)
            return crm_error_set(CRM_EINVALID, "%s: longer than %d bytes", d->m->fields[f].column,
                                 CRM_CLEAN_INPUT_MAX);
    }
    if (id && !crm__utf8_valid(id, strlen(id)))
        return crm_error_set(CRM_EINVALID, "id: not valid UTF-8");
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 1024;
        uint32_t *vals = realloc(d->vals, cap * nf * sizeof *vals);
        if (!vals)
            return crm__error_nomem();
        d->vals = vals;
        uint32_t *ids = realloc(d->ids, cap * sizeof *ids);
        if (!ids)
            return crm__error_nomem();
        d->ids = ids;
        d->cap = cap;
    }
    uint32_t *row = d->vals + d->n * nf;
    int rc = 0;
    for (size_t f = 0; rc == 0 && f < nf; f++) {
        const char *v = d->colidx[f] == NO_COLUMN ? NULL : values[d->colidx[f]];
        row[f] = 0;
        if (v && *v)
            rc = memoised(d->m->fields[f].cmp) ? memo_normalise(d, f, v, &row[f]) : normalise(d, f, v, &row[f]);
    }
    char num[24];
    if (!id) {
        snprintf(num, sizeof num, "%zu", d->n);
        id = num;
    }
    if (rc == 0)
        rc = arena_put(d, id, strlen(id), &d->ids[d->n]);
    if (rc != 0)
        return rc; /* the record is not added; its values stay unused in the arena */
    d->n++;
    return 0;
}

/* ---- the run ---------------------------------------------------------- */

/* Append the key of record r for key k to b; false when a part is empty. */
static bool block_key(const crm_dedupe *d, const mkey *k, uint32_t r, crm_buf *b)
{
    b->len = 0;
    for (size_t i = 0; i < k->nparts; i++) {
        const mkey_part *kp = &k->parts[i];
        const char *v = value_of(d, r, (size_t)kp->field);
        if (!*v)
            return false;
        if (kp->transform == KEY_PINYIN) {
            v += strlen(v) + 2;
            if (!*v)
                return false;
        }
        size_t len = strlen(v);
        if (kp->transform == KEY_PREFIX || kp->transform == KEY_SUFFIX) {
            uint32_t cps[CP_MAX];
            int n = decode(v, cps);
            if (n > kp->n) {
                /* Cut at code points, not bytes. */
                const char *p = v;
                int skip = kp->transform == KEY_PREFIX ? 0 : n - (int)kp->n;
                for (int c = 0; c < skip; c++)
                    p += cps[c] < 0x80 ? 1 : cps[c] < 0x800 ? 2 : cps[c] < 0x10000 ? 3 : 4;
                const char *e = p;
                for (int c = skip; c < skip + kp->n; c++)
                    e += cps[c] < 0x80 ? 1 : cps[c] < 0x800 ? 2 : cps[c] < 0x10000 ? 3 : 4;
                v = p;
                len = (size_t)(e - p);
            }
        }
        crm__buf_append(b, v, len);
        crm__buf_append(b, "\x1f", 1);
    }
    return !b->failed;
}

typedef struct u64vec {
    uint64_t *v;
    size_t n, cap;
} u64vec;

static bool vec_push(u64vec *v, uint64_t x)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 4096;
        uint64_t *p = realloc(v->v, cap * sizeof *p);
        if (!p)
            return false;
        v->v = p;
        v->cap = cap;
    }
    v->v[v->n++] = x;
    return true;
}

static int candidate_pairs(crm_dedupe *d)
{
    const crm_matcher *m = d->m;
    u64vec pairs = {NULL, 0, 0};
    uint64_t *ent = malloc((d->n ? d->n : 1) * 2 * sizeof *ent);
    crm_buf key = CRM_BUF_INIT;
    if (!ent)
        return crm__error_nomem();
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < m->nkeys; k++) {
        /* (hash with the low 32 bits replaced by the record) sorts records
         * of one key together and in order. */
        size_t ne = 0;
        for (uint32_t r = 0; r < d->n; r++) {
            if (!block_key(d, &m->keys[k], r, &key))
                continue;
            uint64_t h = hash_bytes(key.data, key.len, k);
            ent[ne++] = (h & 0xFFFFFFFF00000000ULL) | r;
        }
        if (key.failed) {
            rc = crm__error_nomem();
            break;
        }
        radix_sort64(ent, ent + d->n, ne);
        for (size_t i = 0; i < ne && rc == 0;) {
            size_t j = i + 1;
            while (j < ne && (ent[j] >> 32) == (ent[i] >> 32))
                j++;
            if (j - i <= m->max_block) {
                for (size_t x = i; x < j && rc == 0; x++)
                    for (size_t y = x + 1; y < j; y++)
                        if (!vec_push(&pairs, (ent[x] & 0xFFFFFFFFULL) << 32 | (ent[y] & 0xFFFFFFFFULL))) {
                            rc = crm__error_nomem();
                            break;
                        }
            }
            i = j;
        }
    }
    free(ent);
    crm__buf_free(&key);
    if (rc == 0 && pairs.n) {
        uint64_t *tmp = malloc(pairs.n * sizeof *tmp);
        if (!tmp) {
            rc = crm__error_nomem();
        } else {
            radix_sort64(pairs.v, tmp, pairs.n);
            free(tmp);
            size_t w = 0;
            for (size_t i = 0; i < pairs.n; i++)
                if (!w || pairs.v[i] != pairs.v[w - 1])
                    pairs.v[w++] = pairs.v[i];
            pairs.n = w;
        }
    }
    if (rc != 0) {
        free(pairs.v);
        return rc;
    }
    d->pairs = pairs.v;
    d->npairs = pairs.n;
    return 0;
}

typedef struct pattern_count {
    uint32_t pattern;
    double count;
    double g; /* the match probability in the current iteration */
} pattern_count;

static int level_of(uint32_t pattern, size_t f)
{
    return (int)((pattern >> (2 * f)) & 3);
}

/* log of the probability of a pattern among matches (m) or non-matches (u). */
static double log_prob(const crm_matcher *m, uint32_t pattern, bool match)
{
    double s = 0;
    for (size_t f = 0; f < m->nfields; f++) {
        int l = level_of(pattern, f);
        /* A configuration may say a level never happens (0): keep the
         * logarithm finite so one field cannot veto all the others. */
        if (l != LV_MISSING)
            s += log(fmax((match ? m->fields[f].m : m->fields[f].u)[LV_AGREE - l], PROB_FLOOR));
    }
    return s;
}

static double probability(const crm_matcher *m, uint32_t pattern)
{
    double lm = log(m->lambda) + log_prob(m, pattern, true);
    double lu = log(1 - m->lambda) + log_prob(m, pattern, false);
    return 1.0 / (1.0 + exp(lu - lm));
}

static double weight(const crm_matcher *m, uint32_t pattern)
{
    return (log_prob(m, pattern, true) - log_prob(m, pattern, false)) / log(2.0);
}

/* u from random record pairs (nearly all non-matches): what agreement by
 * chance looks like. */
static void estimate_u_from_random_pairs(crm_dedupe *d)
{
    crm_matcher *m = d->m;
    double cnt[CRM_MATCH_FIELDS_MAX][4] = {{0}};
    uint64_t s = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; d->n > 1 && i < U_SAMPLE_PAIRS; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        uint32_t a = (uint32_t)(s % d->n), b = (uint32_t)((s >> 32) % d->n);
        if (a == b)
            continue;
        uint32_t p = compare_pair(d, a, b, NULL);
        for (size_t f = 0; f < m->nfields; f++)
            cnt[f][level_of(p, f)]++;
    }
    for (size_t f = 0; f < m->nfields; f++) {
        mfield *fd = &m->fields[f];
        if (fd->fixed)
            continue;
        double total = cnt[f][1] + cnt[f][2] + cnt[f][3] + 3;
        for (int l = LV_DISAGREE; l <= LV_AGREE; l++)
            fd->u[LV_AGREE - l] = (cnt[f][l] + 1) / total;
        fd->m[0] = 0.9, fd->m[1] = 0.05, fd->m[2] = 0.05;
    }
}

static int run_em(crm_dedupe *d, int *iterations)
{
    crm_matcher *m = d->m;
    *iterations = 0;
    bool any = false;
    for (size_t f = 0; f < m->nfields; f++)
        any = any || !m->fields[f].fixed;
    if (!any || d->npairs == 0)
        return 0;
    /* Distinct patterns with their counts: sort a copy of the patterns. */
    uint64_t *pat = malloc(d->npairs * 2 * sizeof *pat);
    if (!pat)
        return crm__error_nomem();
    for (size_t i = 0; i < d->npairs; i++)
        pat[i] = d->results[i].pattern;
    radix_sort64(pat, pat + d->npairs, d->npairs);
    size_t np = 0;
    for (size_t i = 0; i < d->npairs; i++)
        np += !i || pat[i] != pat[i - 1];
    pattern_count *pc = calloc(np, sizeof *pc);
    if (!pc) {
        free(pat);
        return crm__error_nomem();
    }
    np = 0;
    for (size_t i = 0; i < d->npairs; i++) {
        if (!i || pat[i] != pat[i - 1])
            pc[np++].pattern = (uint32_t)pat[i];
        pc[np - 1].count++;
    }
    free(pat);
    double total = (double)d->npairs;
    for (int it = 0; it < m->max_iterations; it++) {
        double acc_m[CRM_MATCH_FIELDS_MAX][4] = {{0}}, acc_u[CRM_MATCH_FIELDS_MAX][4] = {{0}}, sum_g = 0;
        for (size_t i = 0; i < np; i++) {
            double g = probability(m, pc[i].pattern);
            sum_g += g * pc[i].count;
            for (size_t f = 0; f < m->nfields; f++) {
                int l = level_of(pc[i].pattern, f);
                acc_m[f][l] += g * pc[i].count;
                acc_u[f][l] += (1 - g) * pc[i].count;
            }
        }
        double change = 0;
        double lambda = sum_g / total;
        lambda = lambda < EM_EPSILON ? EM_EPSILON : lambda > 1 - EM_EPSILON ? 1 - EM_EPSILON : lambda;
        change = fabs(lambda - m->lambda);
        m->lambda = lambda;
        for (size_t f = 0; f < m->nfields; f++) {
            mfield *fd = &m->fields[f];
            if (fd->fixed)
                continue;
            double sm = acc_m[f][1] + acc_m[f][2] + acc_m[f][3], su = acc_u[f][1] + acc_u[f][2] + acc_u[f][3];
            for (int l = LV_DISAGREE; l <= LV_AGREE; l++) {
                double nm = (acc_m[f][l] + EM_EPSILON) / (sm + 3 * EM_EPSILON);
                double nu = (acc_u[f][l] + EM_EPSILON) / (su + 3 * EM_EPSILON);
                change = fmax(change, fmax(fabs(nm - fd->m[LV_AGREE - l]), fabs(nu - fd->u[LV_AGREE - l])));
                fd->m[LV_AGREE - l] = nm;
                fd->u[LV_AGREE - l] = nu;
            }
        }
        *iterations = it + 1;
        if (change < 1e-7)
            break;
    }
    free(pc);
    return 0;
}

static uint32_t find_root(uint32_t *root, uint32_t x)
{
    while (root[x] != x) {
        root[x] = root[root[x]];
        x = root[x];
    }
    return x;
}

int crm_dedupe_run(crm_dedupe_stats *stats, crm_dedupe *d)
{
    if (!d)
        return crm_error_set(CRM_EINVALID, "dedupe: NULL");
    if (d->ran)
        return crm_error_set(CRM_ECONFLICT, "dedupe: already run");
    crm_matcher *m = d->m;
    /* A run that failed (out of memory) may be repeated. */
    free(d->pairs), free(d->results), free(d->root);
    d->pairs = NULL, d->results = NULL, d->root = NULL, d->npairs = 0;
    int rc = candidate_pairs(d);
    if (rc != 0)
        return rc;
    d->results = malloc((d->npairs ? d->npairs : 1) * sizeof *d->results);
    d->root = malloc((d->n ? d->n : 1) * sizeof *d->root);
    if (!d->results || !d->root)
        return crm__error_nomem();
    for (size_t i = 0; i < d->npairs; i++)
        d->results[i].pattern = compare_pair(d, (uint32_t)(d->pairs[i] >> 32), (uint32_t)d->pairs[i], NULL);
    estimate_u_from_random_pairs(d);
    m->lambda = m->prior;
    int iterations = 0;
    if ((rc = run_em(d, &iterations)) != 0)
        return rc;
    /* Decisions per pattern, then per pair; union the merges. */
    for (uint32_t r = 0; r < d->n; r++)
        d->root[r] = r;
    size_t review = 0, merge = 0;
    for (size_t i = 0; i < d->npairs; i++) {
        pair_result *pr = &d->results[i];
        pr->probability = (float)probability(m, pr->pattern);
        pr->weight = (float)weight(m, pr->pattern);
        if (pr->probability >= m->merge) {
            merge++;
            uint32_t a = find_root(d->root, (uint32_t)(d->pairs[i] >> 32));
            uint32_t b = find_root(d->root, (uint32_t)d->pairs[i]);
            /* The root is the first record: cluster ids stay put as records are appended. */
            if (a < b)
                d->root[b] = a;
            else if (b < a)
                d->root[a] = b;
        } else if (pr->probability >= m->review) {
            review++;
        }
    }
    size_t clusters = 0;
    for (uint32_t r = 0; r < d->n; r++) {
        d->root[r] = find_root(d->root, r);
        clusters += d->root[r] == r;
    }
    d->ran = true;
    if (stats) {
        stats->records = d->n;
        stats->candidate_pairs = d->npairs;
        stats->review_pairs = review;
        stats->merge_pairs = merge;
        stats->clusters = clusters;
        stats->em_iterations = iterations;
    }
    return 0;
}

/* ---- results ---------------------------------------------------------- */

size_t crm_dedupe_pair_count(const crm_dedupe *d)
{
    return d && d->ran ? d->npairs : 0;
}

static crm_match_decision decide(const crm_matcher *m, double p)
{
    return p >= m->merge ? CRM_MATCH_MERGE : p >= m->review ? CRM_MATCH_REVIEW : CRM_MATCH_DISTINCT;
}

int crm_dedupe_pair(crm_match_pair *out, const crm_dedupe *d, size_t i)
{
    if (!out || !d)
        return crm_error_set(CRM_EINVALID, "%s: NULL", out ? "dedupe" : "out");
    if (i >= crm_dedupe_pair_count(d))
        return crm_error_set(CRM_ENOTFOUND, "pair %zu: no such pair", i);
    out->a = (size_t)(d->pairs[i] >> 32);
    out->b = (size_t)(uint32_t)d->pairs[i];
    out->probability = d->results[i].probability;
    out->weight = d->results[i].weight;
    out->decision = decide(d->m, out->probability);
    return 0;
}

static const char *const level_names[] = {"missing", "disagree", "partial", "agree"};
static const char *const decision_names[] = {"distinct", "review", "merge"};

/* A value for the evidence: NULL when missing (a name shows without its key). */
static const char *shown(const char *v)
{
    return *v ? v : NULL;
}

/* The evidence for records a and b: per field the values, the level and
 * its weight; the total, the probability and the decision. */
static cJSON *evidence(const crm_dedupe *d, uint32_t a, uint32_t b)
{
    const crm_matcher *m = d->m;
    uint32_t swapped = 0;
    uint32_t pat = compare_pair(d, a, b, &swapped);
    double prob = probability(m, pat);
    cJSON *o = cJSON_CreateObject(), *fields = cJSON_AddArrayToObject(o, "fields");
    bool ok = o && fields;
    for (size_t f = 0; ok && f < m->nfields; f++) {
        const mfield *fd = &m->fields[f];
        int l = level_of(pat, f);
        size_t bf = (swapped >> f) & 1 ? (size_t)fd->swap_with : f;
        const char *va = shown(value_of(d, a, f)), *vb = shown(value_of(d, b, bf));
        cJSON *e = cJSON_CreateObject();
        ok = e && cJSON_AddItemToArray(fields, e) && cJSON_AddStringToObject(e, "field", fd->name) &&
             (va ? cJSON_AddStringToObject(e, "a", va) : cJSON_AddNullToObject(e, "a")) &&
             (vb ? cJSON_AddStringToObject(e, "b", vb) : cJSON_AddNullToObject(e, "b")) &&
             cJSON_AddStringToObject(e, "level", level_names[l]) &&
             cJSON_AddNumberToObject(e, "weight",
                                     l == LV_MISSING ? 0.0
                                                     : round(log2(fmax(fd->m[LV_AGREE - l], PROB_FLOOR) /
                                                                  fmax(fd->u[LV_AGREE - l], PROB_FLOOR)) * 1000) / 1000);
        if (ok && bf != f)
            ok = cJSON_AddBoolToObject(e, "swapped", 1) != NULL;
    }
    ok = ok && cJSON_AddNumberToObject(o, "weight", round(weight(m, pat) * 1000) / 1000) &&
         cJSON_AddNumberToObject(o, "probability", round(prob * 1e6) / 1e6) &&
         cJSON_AddStringToObject(o, "decision", decision_names[decide(m, prob)]);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int crm_dedupe_pair_json(char **out, const crm_dedupe *d, size_t i)
{
    crm_match_pair p;
    if (!out)
        return crm_error_set(CRM_EINVALID, "out: NULL");
    *out = NULL;
    int rc = crm_dedupe_pair(&p, d, i);
    if (rc != 0)
        return rc;
    cJSON *o = cJSON_CreateObject(), *ev = evidence(d, (uint32_t)p.a, (uint32_t)p.b);
    bool ok = o && ev && cJSON_AddStringToObject(o, "a", crm_dedupe_record_id(d, p.a)) &&
              cJSON_AddStringToObject(o, "b", crm_dedupe_record_id(d, p.b));
    /* a and b first, then the evidence's members. */
    while (ok && ev->child) {
        cJSON *item = cJSON_DetachItemViaPointer(ev, ev->child);
        /* cJSON copies the key before it frees the item's own. */
        ok = cJSON_AddItemToObject(o, item->string, item);
    }
    cJSON_Delete(ev);
    *out = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return *out ? 0 : crm__error_nomem();
}

/* ---- online (one record against candidates) -------------------------- */

size_t crm__dedupe_root(const crm_dedupe *d, size_t r)
{
    return d->ran && r < d->n ? d->root[r] : r;
}

void crm__dedupe_reset(crm_dedupe *d)
{
    /* The memos (names, regions) carry over from lead to lead, which saves
     * most of the ICU work online; the values they point at stay in the
     * arena until it passes ONLINE_ARENA_MAX (a few thousand leads), when both
     * start afresh. */
    if (d->arena.len > ONLINE_ARENA_MAX) {
        for (size_t f = 0; f < CRM_MATCH_FIELDS_MAX; f++) {
            free(d->memos[f].slots);
            d->memos[f] = (memo){NULL, 0, 0};
        }
        d->arena.len = 1;
    }
    d->n = 0;
    d->ran = false;
}

bool crm__dedupe_block_key(const crm_dedupe *d, size_t k, uint32_t r, crm_buf *out)
{
    return block_key(d, &d->m->keys[k], r, out);
}

double crm__dedupe_probability(const crm_dedupe *d, uint32_t a, uint32_t b)
{
    return probability(d->m, compare_pair(d, a, b, NULL));
}

char *crm__dedupe_evidence_json(const crm_dedupe *d, uint32_t a, uint32_t b)
{
    cJSON *o = evidence(d, a, b);
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

const char *crm_dedupe_record_id(const crm_dedupe *d, size_t r)
{
    return d && r < d->n ? d->arena.data + d->ids[r] : NULL;
}

const char *crm_dedupe_cluster(const crm_dedupe *d, size_t r)
{
    return d && d->ran && r < d->n ? d->arena.data + d->ids[d->root[r]] : NULL;
}
