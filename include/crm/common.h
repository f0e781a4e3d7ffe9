/*
 * crmcore — common definitions: export macro, version, error codes, iterators.
 *
 * Every fallible function in crmcore returns an int: 0 on success, a negative
 * CRM_E* code on failure. The details of the last failure on the calling
 * thread are in crm_error_last().
 */
#ifndef CRM_COMMON_H
#define CRM_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks a symbol that is part of the public ABI (everything else is hidden). */
#if defined(CRM_BUILDING_LIBRARY) && defined(__GNUC__)
#define CRM_EXTERN(type) __attribute__((visibility("default"))) type
#else
#define CRM_EXTERN(type) type
#endif

/** Library version, as numbers and as a string. */
#define CRM_VERSION_MAJOR 0
#define CRM_VERSION_MINOR 1
#define CRM_VERSION_PATCH 0
#define CRM_VERSION "0.1.0"

/**
 * Error codes. 0 is success; every failure is negative. The set is small on
 * purpose: a caller decides what to do from the code and shows the message.
 */
typedef enum crm_error_code {
    CRM_OK = 0,
    CRM_ENOTFOUND = -1, /**< the record does not exist (or is outside the scope) */
    CRM_EEXISTS = -2,   /**< a record with that identity already exists */
    CRM_EINVALID = -3,  /**< the caller's input is wrong; the message names the field */
    CRM_ECONFLICT = -4, /**< the operation conflicts with the current state */
    CRM_EPERM = -5,     /**< the handle's scope does not allow the operation */
    CRM_ESTORAGE = -6,  /**< the storage failed, or holds something this library refuses */
    CRM_EBUSY = -7,     /**< the storage is locked by someone else; retry later */
    CRM_ENOMEM = -8,    /**< out of memory */
    CRM_ITEROVER = -31  /**< not an error: an iteration has no more items */
} crm_error_code;

/** The last error on the calling thread. */
typedef struct crm_error {
    int code;            /**< a crm_error_code; CRM_OK when nothing failed yet */
    const char *message; /**< what was wrong and where; never NULL */
} crm_error;

/**
 * The last error that happened on the calling thread.
 *
 * The error is kept per thread and overwritten by the next failing call on
 * that thread; successful calls leave it alone.
 *
 * @return a borrowed pointer, never NULL, valid until the next crmcore call
 *         on this thread.
 */
CRM_EXTERN(const crm_error *) crm_error_last(void);

/** Forget the last error on the calling thread (code becomes CRM_OK). */
CRM_EXTERN(void) crm_error_clear(void);

/**
 * A short constant name for an error code ("not found", "invalid input", ...).
 *
 * @param[in] code a crm_error_code
 * @return a static string, never NULL
 */
CRM_EXTERN(const char *) crm_error_name(int code);

/** The runtime version string of the library (may differ from CRM_VERSION). */
CRM_EXTERN(const char *) crm_version(void);

/**
 * Free memory that the library allocated and handed to the caller
 * (strings from *_json functions and the like). NULL is a no-op.
 */
CRM_EXTERN(void) crm_free(void *ptr);

/**
 * An iterator over records (leads, events, ...). Opaque. Created by the
 * *_iter_new function of a domain, advanced by that domain's *_next
 * function (which returns CRM_ITEROVER at the end), freed with
 * crm_iter_free().
 */
typedef struct crm_iter crm_iter;

/** Free an iterator; NULL is a no-op. */
CRM_EXTERN(void) crm_iter_free(crm_iter *iter);

/** Length of a UUID string without its terminator ("0190...-..."). */
#define CRM_ID_LEN 36

/** Bytes crm_time_format() writes, terminator included ("2026-11-25T08:30:00.000Z"). */
#define CRM_TIME_TEXT_SIZE 25

/**
 * Parse an ISO-8601 time as the library reads it everywhere: "YYYY-MM-DD",
 * or "YYYY-MM-DDTHH:MM[:SS[.fff]]" (a space may stand for the T) with "Z",
 * "+hh:mm", "-hh:mm" or no zone (taken as UTC).
 *
 * @param[out] out  Unix milliseconds, UTC
 * @param[in]  text the time
 * @return 0, or CRM_EINVALID when text is not such a time
 */
CRM_EXTERN(int) crm_time_parse(int64_t *out, const char *text);

/**
 * Format Unix milliseconds as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC), the form
 * the library writes in JSON.
 *
 * @param[out] out     at least CRM_TIME_TEXT_SIZE bytes
 * @param[in]  unix_ms the time
 */
CRM_EXTERN(void) crm_time_format(char *out, int64_t unix_ms);

#ifdef __cplusplus
}
#endif

#endif /* CRM_COMMON_H */
