/* Text helpers of the cleaners that the matcher shares. Internal. */
#ifndef CRM_CORE_CLEAN_INTERNAL_H
#define CRM_CORE_CLEAN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "crm/clean.h"

/* NFKC of valid UTF-8; a new string, or NULL when out of memory. */
char *crm__nfkc(const char *s);
/* ICU "Han-Latin; Latin-ASCII; Lower": 张伟 -> "zhang wei". New string or NULL. */
char *crm__to_latin(const char *s);
/* True when s holds a Han character. */
bool crm__has_han(const char *s);
/* Pinyin of the CJK Unified Ideographs block, filled as characters are met,
 * so a batch pays ICU once per distinct character. Zeroed to start. */
#define CRM_PINYIN_FIRST 0x4E00
#define CRM_PINYIN_LAST 0x9FFF
typedef struct crm__pinyin {
    char syllable[CRM_PINYIN_LAST - CRM_PINYIN_FIRST + 1][8];
} crm__pinyin;

/* The order-free pinyin key of a (clean) name: sorted Latin syllables
 * joined ("weizhang"). cache may be NULL. New string, or NULL when out of
 * memory. */
char *crm__name_key(const char *name, crm__pinyin *cache);
/* crm_clean_name() with a pinyin cache (may be NULL). */
int crm__clean_name(crm_clean_result *r, const char *raw, crm__pinyin *cache);
/* crm_clean_name() without the pinyin key (the costly part): the value,
 * salutation, flags and reasons, for judging a lead's quality. */
int crm__judge_name(crm_clean_result *r, const char *raw);

/* A lead's quality, built field by field from the cleaners' results, so
 * that crm_clean_lead_json and ingest give the same verdict. Start zeroed;
 * fold each cleaned field ("phone", "name", "email", "region"), then end.
 * The flags that count: a test phone makes junk; an invalid, placeholder,
 * test or virtual value makes suspect; no usable phone, e-mail or WeChat id
 * makes junk. */
typedef struct crm__quality {
    int level; /* crm_lead_quality */
    bool contact;
} crm__quality;
#define CRM__QUALITY_FLAGS (CRM_CLEAN_INVALID | CRM_CLEAN_PLACEHOLDER | CRM_CLEAN_TEST | CRM_CLEAN_VIRTUAL)
void crm__quality_fold(crm__quality *q, const char *field, const crm_clean_result *r);
int crm__quality_end(crm__quality *q, bool has_wechat);

#endif
