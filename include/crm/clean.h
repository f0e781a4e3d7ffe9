/*
 * crmcore — cleaning: normalise and validate the raw fields of a lead.
 *
 * Pure functions: no database, no state kept between calls (beyond a
 * per-thread ICU transliterator that is opened once). Each cleaner takes raw
 * text and fills a crm_clean_result with the clean value, flags and the
 * reasons for every change or rejection. A value that is not valid (a phone
 * with the wrong number of digits, an ID card with a bad checksum) is not an
 * error of the call: the call returns 0 and the result carries
 * CRM_CLEAN_INVALID and the reason. Calls fail only for input that is not
 * text (NULL, invalid UTF-8, longer than CRM_CLEAN_INPUT_MAX bytes).
 */
#ifndef CRM_CLEAN_H
#define CRM_CLEAN_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Longest raw value a cleaner accepts, in bytes. */
#define CRM_CLEAN_INPUT_MAX 1024

/** Flags in crm_clean_result.flags; several may be set. */
typedef enum crm_clean_flag {
    CRM_CLEAN_CHANGED = 1 << 0,     /**< the clean value differs from the input */
    CRM_CLEAN_EMPTY = 1 << 1,       /**< nothing left after trimming; value is NULL */
    CRM_CLEAN_INVALID = 1 << 2,     /**< not a valid value; value is NULL */
    CRM_CLEAN_PLACEHOLDER = 1 << 3, /**< a stand-in such as 测试, test, 未知, xxx; value is NULL */
    CRM_CLEAN_TEST = 1 << 4,        /**< a well-known test value (13800138000, test@example.com) */
    CRM_CLEAN_VIRTUAL = 1 << 5,     /**< phone: a virtual or privacy-relay segment (170, 171, 162, 165, 167) */
    CRM_CLEAN_LANDLINE = 1 << 6,    /**< phone: a landline with its area code */
    CRM_CLEAN_PARTIAL = 1 << 7      /**< region: only the province was recognised */
} crm_clean_flag;

/**
 * What a cleaner found. Fill it with a cleaner, read it, release what it
 * holds with crm_clean_result_clear(). Members that do not apply to a
 * cleaner are NULL.
 */
typedef struct crm_clean_result {
    char *value;      /**< the clean value, or NULL when empty, invalid or a placeholder */
    unsigned flags;   /**< CRM_CLEAN_* bits */
    char *reasons;    /**< comma-separated reason codes ("country_code_removed,full_width"); "" when none */
    char *salutation; /**< name: the honorific taken off ("先生", "Mr"), else NULL */
    char *key;        /**< name: the pinyin match key (张伟, "Zhang Wei", "Wei Zhang" all give "weizhang") */
    char *province;   /**< region, ID card: the GB/T 2260 province code ("310000") */
    char *city;       /**< region: the GB/T 2260 prefecture code ("310100") */
} crm_clean_result;

/** An empty result, to initialise one before the first cleaner call. */
#define CRM_CLEAN_RESULT_INIT { NULL, 0, NULL, NULL, NULL, NULL, NULL }

/** Free what a result holds and reset it to CRM_CLEAN_RESULT_INIT. NULL is a no-op. */
CRM_EXTERN(void) crm_clean_result_clear(crm_clean_result *result);

/*
 * Every cleaner below: @param[out] result cleared first, then filled; owned
 * by the caller (crm_clean_result_clear). @param[in] raw UTF-8 text.
 * @return 0, CRM_EINVALID when raw is NULL, not UTF-8 or too long (the
 * message names the field), CRM_ENOMEM.
 */

/**
 * A phone number. Chinese mobiles in any common form (+86, 0086, 86, a
 * leading 0, spaces, dashes, dots, brackets, full-width digits) become their
 * 11 digits ("13812345678"); landlines become area code plus local number,
 * digits only ("01012345678", flagged CRM_CLEAN_LANDLINE). Segments that are
 * not allocated are invalid; virtual segments and well-known test numbers are
 * kept but flagged.
 */
CRM_EXTERN(int) crm_clean_phone(crm_clean_result *result, const char *raw);

/**
 * A person's name: NFKC (full-width to half-width), trimmed, inner spaces
 * collapsed (and dropped between Han characters), an honorific (先生, 女士,
 * 小姐, Mr, Mrs, Ms, Miss, Dr) moved to result->salutation, placeholders
 * flagged. result->key is the pinyin match key: the Latin syllables (ICU
 * Han-Latin for Han names), lower-case, sorted and joined, so the order of
 * given and family name does not matter.
 */
CRM_EXTERN(int) crm_clean_name(crm_clean_result *result, const char *raw);

/** An e-mail address: NFKC, trimmed, lower-cased, syntax checked; example domains flagged as test. */
CRM_EXTERN(int) crm_clean_email(crm_clean_result *result, const char *raw);

/**
 * A region in free text ("上海", "上海市", "沪", "Shanghai", "浙江杭州",
 * "杭州市西湖区", "Hangzhou, Zhejiang") to GB/T 2260 codes in
 * result->province and result->city, and the standard names in
 * result->value ("浙江省杭州市"). Text below the prefecture is ignored.
 */
CRM_EXTERN(int) crm_clean_region(crm_clean_result *result, const char *raw);

/**
 * A resident ID card number (居民身份证, GB 11643): 18 characters, 17 digits
 * and a check character (digit or X, MOD 11-2), a real birth date and a
 * known province. The value is upper-case; result->province is set.
 */
CRM_EXTERN(int) crm_clean_id_card(crm_clean_result *result, const char *raw);

/**
 * A vehicle identification number (ISO 3779, GB 16735): 17 characters of
 * A-Z (not I, O, Q) and 0-9, with the check digit in position 9. The value
 * is upper-case without spaces.
 */
CRM_EXTERN(int) crm_clean_vin(crm_clean_result *result, const char *raw);

/**
 * Run one cleaner by name and give the result as JSON:
 * {"value": ..., "flags": ["changed", ...], "reasons": [...], and
 * "salutation", "key", "province", "city" when set}.
 *
 * @param[out] out  NUL-terminated JSON, owned by the caller; free with crm_free()
 * @param[in]  kind "phone", "name", "email", "region", "id_card" or "vin"
 * @param[in]  raw  the value
 * @return 0, CRM_EINVALID (unknown kind, or raw as for the cleaners), CRM_ENOMEM
 */
CRM_EXTERN(int) crm_clean_json(char **out, const char *kind, const char *raw);

/**
 * Clean the fields of a lead document (a JSON object): phone, name, email,
 * region (from "region", or "province" and "city"), id_card, vin. Cleaned
 * values replace the raw ones (a value that is invalid or a placeholder is
 * removed; the region becomes "province" and "city" codes), other fields
 * are kept as they are, and a "clean" object is added: per field the flags
 * and reasons, the name's salutation and key, and "quality": "ok",
 * "suspect" (a placeholder, test, virtual or invalid secondary field) or
 * "junk" (no usable phone, email or WeChat id, or a test phone).
 *
 * @param[out] out  the cleaned document, owned by the caller; free with crm_free()
 * @param[in]  json the lead, a JSON object
 * @return 0, CRM_EINVALID (not a JSON object; a field that is not a string,
 *         named in the message), CRM_ENOMEM
 */
CRM_EXTERN(int) crm_clean_lead_json(char **out, const char *json);

#ifdef __cplusplus
}
#endif

#endif /* CRM_CLEAN_H */
