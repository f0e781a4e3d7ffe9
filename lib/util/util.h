/* Internal helpers shared by the core and the backends. Not installed. */
#ifndef CRM_UTIL_H
#define CRM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crm/common.h"
#include "crm/sys/backend.h"

/* ---- errors (error.c) ------------------------------------------------ */
/* crm_error_set() is public (backends use it); this is the out-of-memory
 * shorthand that cannot itself fail to allocate. */
int crm__error_nomem(void);

/* ---- memory and strings (str.c) -------------------------------------- */
char *crm__strdup(const char *s);              /* NULL for NULL or no memory */
char *crm__strndup(const char *s, size_t len);

/* FNV-1a of a NUL-terminated string, for the core's small hash tables. */
uint32_t crm__hash_text(const char *s);

/* A caller-owned copy of a record struct and its strings in one
 * allocation (freed with free()): `fields` points at the string members of
 * `src`; the copy's members point into the copy. NULL when out of memory. */
void *crm__record_dup(const void *src, size_t struct_size, const char *const *const *fields, size_t nfields);

/* True when [s, s+len) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). */
bool crm__utf8_valid(const char *s, size_t len);

/* A growable byte buffer that stays NUL-terminated. */
typedef struct crm_buf {
    char *data;
    size_t len;
    size_t cap;
    bool failed; /* an allocation failed; further appends are ignored */
} crm_buf;

#define CRM_BUF_INIT { NULL, 0, 0, false }
void crm__buf_append(crm_buf *b, const char *s, size_t len);
void crm__buf_puts(crm_buf *b, const char *s);
void crm__buf_free(crm_buf *b);

/* ---- time (time.c) --------------------------------------------------- */
#define CRM_ISO_TIME_LEN 24 /* "2026-11-25T02:21:07.000Z" */
/* Write Unix ms as ISO-8601 UTC with milliseconds; out holds 25 bytes. */
void crm__time_format(int64_t unix_ms, char out[CRM_ISO_TIME_LEN + 1]);
/* Parse "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fff]]" with "Z", "+hh:mm" or
 * no zone (taken as UTC). 0 on success, -1 when malformed. */
int crm__time_parse(const char *s, int64_t *out);
/* Days since 1970-01-01 of a proleptic Gregorian date, and back
 * (H. Hinnant's algorithms: no timezone database involved). */
int64_t crm__days_from_civil(int64_t y, unsigned m, unsigned d);
void crm__civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);
/* a / b rounded towards minus infinity (b > 0). */
int64_t crm__floor_div(int64_t a, int64_t b);
/* The same calendar date and time of day `years` later (UTC); 29 February
 * becomes 28 February in a year without it. */
int64_t crm__time_add_years(int64_t unix_ms, int years);
/* The system clock in Unix ms. */
int64_t crm__time_system_ms(void);

/* ---- ids (id.c) ------------------------------------------------------ */
/* Generates time-ordered UUIDs in the version 7 layout: 48 bits of Unix ms,
 * then a 12-bit counter that keeps ids made in the same millisecond in
 * order, then 62 random bits. */
typedef struct crm_idgen {
    uint64_t rng[2];     /* xorshift128+ state, seeded from libuuid */
    int64_t last_ms;
    uint16_t counter;
} crm_idgen;

void crm__idgen_init(crm_idgen *g);
void crm__idgen_next(crm_idgen *g, int64_t unix_ms, char out[CRM_ID_LEN + 1]);
/* True when s is a UUID string in canonical lower- or upper-case form. */
bool crm__id_valid(const char *s);

/* A growing list of ids, for the passes that find records while a listing
 * streams and change them after it ended (a listing's rows are borrowed
 * and must not be held across writes). Start zeroed; free with free(ids). */
typedef struct crm_id_list {
    char (*ids)[CRM_ID_LEN + 1];
    size_t n, cap;
} crm_id_list;
/* Append a copy of id; CRM_ENOMEM (error set) when out of memory. */
int crm__id_list_push(crm_id_list *list, const char *id);

#endif
