/* Text helpers of the cleaners that the matcher shares. Internal. */
#ifndef CRM_CORE_CLEAN_INTERNAL_H
#define CRM_CORE_CLEAN_INTERNAL_H

#include <stdbool.h>

#include "crm/clean.h"

/* NFKC of valid UTF-8; a new string, or NULL when out of memory. */
char *crm__nfkc(const char *s);
/* ICU "Han-Latin; Latin-ASCII; Lower": 张伟 -> "zhang wei". New string or NULL. */
char *crm__to_latin(const char *s);
/* True when s holds a Han character. */
bool crm__has_han(const char *s);
/* The order-free pinyin key of a (clean) name: sorted Latin syllables
 * joined ("weizhang"). New string, or NULL when out of memory. */
char *crm__name_key(const char *name);

#endif
