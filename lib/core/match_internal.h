/* The matcher's private view: fields, blocking keys, weights. Internal. */
#ifndef CRM_CORE_MATCH_INTERNAL_H
#define CRM_CORE_MATCH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crm/match.h"
#include "core/clean_internal.h"
#include "util/util.h"

/* Agreement patterns pack two bits a field into 32 bits. */
#define CRM_MATCH_FIELDS_MAX 16

enum { CMP_EXACT, CMP_PHONE, CMP_JW, CMP_DAMERAU, CMP_NAME, CMP_DATE, CMP_NUMERIC, CMP_REGION, CMP_COUNT };

/* Levels as stored in a pattern; m[] and u[] are indexed by LV_AGREE - level. */
enum { LV_MISSING = 0, LV_DISAGREE = 1, LV_PARTIAL = 2, LV_AGREE = 3 };

typedef struct mfield {
    char *name, *column;
    int cmp;
    double levels[2]; /* the agree and partial limits */
    double m[3], u[3]; /* agree, partial, disagree */
    bool fixed;       /* m and u were given: EM leaves them */
    int swap_with;    /* the other field of a swap pair, or -1 */
} mfield;

enum { KEY_VALUE, KEY_PINYIN, KEY_PREFIX, KEY_SUFFIX };

typedef struct mkey_part {
    int field;
    int transform;
    long n;
} mkey_part;

typedef struct mkey {
    mkey_part *parts;
    size_t nparts;
} mkey;

struct crm_matcher {
    mfield *fields;
    size_t nfields;
    mkey *keys;
    size_t nkeys;
    double merge, review;
    int max_iterations;
    double prior;
    double lambda; /* the share of matches among candidate pairs (estimated) */
    size_t max_block;
    crm__pinyin *pinyin; /* allocated on first use */
};

const char *crm__comparator_name(int cmp);

/* Online matching reuses a run's record store for one lead and its
 * candidates: record 0 is the lead, the others the candidates. */
void crm__dedupe_reset(crm_dedupe *d);
/* The blocking key k of record r into out; false when a part is empty. */
bool crm__dedupe_block_key(const crm_dedupe *d, size_t k, uint32_t r, crm_buf *out);
double crm__dedupe_probability(const crm_dedupe *d, uint32_t a, uint32_t b);
/* The evidence of a pair as JSON (crm_free), or NULL when out of memory. */
char *crm__dedupe_evidence_json(const crm_dedupe *d, uint32_t a, uint32_t b);
/* The index of the first record of r's cluster (r itself before a run). */
size_t crm__dedupe_root(const crm_dedupe *d, size_t r);
/* The results of a run as crm_dedupe_json() gives them, the configuration
 * with its weights included; with shared_only, "clusters" lists only the
 * records whose cluster has more than one record. Fails with CRM_ENOMEM. */
int crm__dedupe_results_json(char **out, crm_dedupe *d, crm_matcher *m, const crm_dedupe_stats *st,
                             bool shared_only);

#endif
