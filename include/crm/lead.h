/*
 * crmcore — leads.
 *
 * A lead is a person's expressed interest, from one channel, at one time.
 * Leads come in as JSON documents (crm_lead_ingest), are validated and
 * normalised, checked for an exact duplicate, and stored with an audit event
 * in one transaction.
 */
#ifndef CRM_LEAD_H
#define CRM_LEAD_H

#include "common.h"
#include "db.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Where a lead is in its life. */
typedef enum crm_lead_status {
    CRM_LEAD_NEW = 0,
    CRM_LEAD_ASSIGNED = 1,
    CRM_LEAD_CONTACTED = 2,
    CRM_LEAD_VISITED = 3,    /**< came to the store */
    CRM_LEAD_TEST_DRIVE = 4,
    CRM_LEAD_ORDERED = 5,
    CRM_LEAD_DELIVERED = 6,
    CRM_LEAD_LOST = 7,
    CRM_LEAD_INVALID = 8
} crm_lead_status;

#define CRM_LEAD_STATUS_COUNT 9

/** When the person means to buy. */
typedef enum crm_purchase_timeline {
    CRM_TIMELINE_UNKNOWN = 0,
    CRM_TIMELINE_WITHIN_1M = 1,  /**< within a month */
    CRM_TIMELINE_1_3M = 2,       /**< in one to three months */
    CRM_TIMELINE_3_6M = 3,       /**< in three to six months */
    CRM_TIMELINE_OVER_6M = 4     /**< later than six months */
} crm_purchase_timeline;

/**
 * How much a lead's contact data can be believed, from the cleaners
 * (clean.h) run on ingest: the same verdict crm_clean_lead_json() gives.
 * Later steps use it: lists filter on it, rule models can take points off
 * (the "quality" group, score.h), and routing leaves junk unrouted.
 */
typedef enum crm_lead_quality {
    CRM_LEAD_QUALITY_OK = 0,      /**< nothing wrong found */
    CRM_LEAD_QUALITY_SUSPECT = 1, /**< a placeholder name, a virtual, test or invalid value, an unknown region */
    CRM_LEAD_QUALITY_JUNK = 2     /**< a test phone number, or no usable phone, e-mail or WeChat id */
} crm_lead_quality;

#define CRM_LEAD_QUALITY_COUNT 3

/** A yes/no answer that may be missing. */
typedef enum crm_tristate {
    CRM_UNKNOWN = -1,
    CRM_NO = 0,
    CRM_YES = 1
} crm_tristate;

/**
 * A lead as stored. Every string is UTF-8 and NULL when absent. A crm_lead
 * that the caller owns (from crm_lead_get) is freed with crm_lead_free();
 * one borrowed from an iterator lives until the next call on the iterator.
 *
 * JSON names are the field names; times are ISO-8601 in JSON.
 */
typedef struct crm_lead {
    const char *id;              /**< UUID (time-ordered) */
    const char *channel;         /**< website, wechat_mp, douyin, autohome, dongchedi, auto_show, walk_in, dcc, app, third_party, ... */
    const char *campaign;
    const char *name;
    const char *phone;           /**< digits only */
    const char *email;
    const char *wechat_openid;
    const char *wechat_unionid;
    const char *province;
    const char *city;
    const char *dealer_id;
    const char *owner_id;        /**< the sales consultant who owns the lead */
    const char *model;           /**< vehicle model of interest */
    crm_purchase_timeline purchase_timeline;
    crm_tristate test_drive;     /**< wants a test drive */
    crm_lead_status status;
    int score;                   /**< 0..100, or -1 when not scored */
    const char *grade;           /**< "A".."D", or NULL when not graded */
    const char *customer_id;
    const char *attributes;      /**< free-form JSON object as text, or NULL */
    int64_t created_at;          /**< Unix ms, UTC */
    int64_t updated_at;          /**< Unix ms, UTC */
    const char *merged_into;     /**< NULL, or the lead this one was merged into (crm_lead_merge);
                                      listings skip a merged-away lead */
    crm_lead_quality quality;    /**< set on ingest; JSON "ok", "suspect", "junk" */
} crm_lead;

/** What crm_lead_ingest did with a document. */
typedef enum crm_ingest_outcome {
    CRM_INGEST_CREATED = 0,   /**< a new lead was stored */
    CRM_INGEST_DUPLICATE = 1, /**< an existing lead has the same phone (or matches, see crm_match_enable); the document was recorded on it */
    CRM_INGEST_REVIEW = 2     /**< stored as new, and flagged as a possible duplicate of duplicate_of for a person to decide */
} crm_ingest_outcome;

/** The result of crm_lead_ingest(). Plain data, no ownership. */
typedef struct crm_ingest_result {
    crm_ingest_outcome outcome;
    char id[CRM_ID_LEN + 1];           /**< the new lead, or the existing lead it duplicates */
    char duplicate_of[CRM_ID_LEN + 1]; /**< the existing lead when outcome is DUPLICATE or REVIEW, else "" */
    char reason[96];                   /**< why, in words: "new lead", "duplicate of <id> (same phone)" */
    int score;                         /**< 0..100 when the new lead was scored on ingest (crm_score_enable), else -1 */
    char grade[2];                     /**< "A".."D" when scored, else "" */
    crm_lead_quality quality;          /**< the document's quality (also for a duplicate, whose
                                            document is recorded on the existing lead) */
} crm_ingest_result;

/**
 * Ingest one lead from a JSON object.
 *
 * Fields: channel (required), and at least one of phone, email,
 * wechat_openid, wechat_unionid; optional campaign, name, province, city,
 * dealer_id, owner_id, model, purchase_timeline ("unknown", "within_1m",
 * "1_3m", "3_6m", "over_6m"), test_drive (boolean), attributes (object),
 * created_at (ISO-8601, for imports of history). Strings are trimmed; the
 * phone keeps its digits (a leading +86 / 0086 country code on an 11-digit
 * mobile is dropped). Unknown fields are refused, so typos do not vanish.
 *
 * A lead whose phone is already on a lead visible in the handle's scope is
 * not stored again: the outcome is CRM_INGEST_DUPLICATE and the document is
 * recorded as an audit event on the existing lead.
 *
 * With scoring on (crm_score_enable), a new lead (CRM_INGEST_CREATED or
 * CRM_INGEST_REVIEW) is stored with its score and grade, and its
 * "lead.created" event records the model, score, grade and top reasons; a
 * duplicate changes no score.
 *
 * The write and its audit event happen in one transaction; on any error
 * nothing is changed. Inside a caller's transaction (crm_db_begin) the lead
 * takes no savepoint of its own, because a savepoint per lead cost a third
 * of batched ingest: a document the caller got wrong (CRM_EINVALID,
 * CRM_EPERM) is refused before anything is written and the caller's
 * transaction goes on, but a storage or memory failure after the first
 * write rolls back the caller's whole transaction (the message ends "the
 * transaction was rolled back"); the handle then refuses writes and commits
 * with CRM_ECONFLICT until the caller has rolled back every level it
 * opened. (SQLite may roll back a transaction by itself on those errors
 * anyway: SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM, SQLITE_BUSY.)
 *
 * @param[out] result what happened; may be NULL
 * @param[in]  db     the handle
 * @param[in]  json   the document, UTF-8, NUL-terminated
 * @return 0, CRM_EINVALID (the message names the field), CRM_EPERM (dealer
 *         outside the scope), CRM_ESTORAGE, CRM_EBUSY, CRM_ENOMEM, CRM_ECONFLICT
 *         (the caller's transaction was rolled back by an earlier failure)
 */
CRM_EXTERN(int) crm_lead_ingest(crm_ingest_result *result, crm_db *db, const char *json);

/** Like crm_lead_ingest() with an explicit length; json need not be NUL-terminated. */
CRM_EXTERN(int) crm_lead_ingest_n(crm_ingest_result *result, crm_db *db, const char *json, size_t len);

/**
 * Get one lead by id, within the handle's scope.
 *
 * @param[out] out the lead, owned by the caller; free with crm_lead_free()
 * @return 0, CRM_ENOTFOUND (also for a lead of another dealer), CRM_EINVALID
 */
CRM_EXTERN(int) crm_lead_get(crm_lead **out, crm_db *db, const char *id);

/**
 * Get one lead as a JSON object.
 *
 * @param[out] out NUL-terminated JSON, owned by the caller; free with crm_free()
 */
CRM_EXTERN(int) crm_lead_get_json(char **out, crm_db *db, const char *id);

/**
 * Render a lead as a JSON object.
 *
 * @param[out] out  NUL-terminated JSON, owned by the caller; free with crm_free()
 * @param[in]  lead the lead
 */
CRM_EXTERN(int) crm_lead_to_json(char **out, const crm_lead *lead);

/** Free a lead from crm_lead_get(). NULL is a no-op. */
CRM_EXTERN(void) crm_lead_free(crm_lead *lead);

/** Which leads a list returns. Initialise with CRM_LEAD_FILTER_INIT. */
typedef struct crm_lead_filter {
    unsigned int version;     /**< CRM_LEAD_FILTER_VERSION */
    unsigned int statuses;    /**< bit (1u << status) per status wanted; 0 means all */
    const char *dealer_id;    /**< only this dealer's leads, or NULL */
    const char *channel;      /**< only this channel, or NULL */
    int64_t created_from;     /**< created_at >= this (Unix ms); 0 means no bound */
    int64_t created_to;       /**< created_at < this (Unix ms); 0 means no bound */
    size_t limit;             /**< at most this many; 0 means no limit */
    unsigned int qualities;   /**< bit (1u << quality) per quality wanted; 0 means all (version 2) */
} crm_lead_filter;

#define CRM_LEAD_FILTER_VERSION 2
#define CRM_LEAD_FILTER_INIT { CRM_LEAD_FILTER_VERSION, 0, NULL, NULL, 0, 0, 0, 0 }

/**
 * Start listing leads, oldest first (created_at, then id), within the
 * handle's scope. The filter is read during the call, not kept. Leads stream from
 * storage; nothing loads the whole table.
 *
 * @param[out] out    the iterator, owned by the caller; free with crm_iter_free()
 * @param[in]  db     the handle; must outlive the iterator
 * @param[in]  filter the filter, or NULL for every lead
 */
CRM_EXTERN(int) crm_lead_iter_new(crm_iter **out, crm_db *db, const crm_lead_filter *filter);

/**
 * The next lead of a listing.
 *
 * @param[out] out the lead, borrowed until the next call on the iterator
 * @return 0, CRM_ITEROVER at the end, or an error
 */
CRM_EXTERN(int) crm_lead_next(const crm_lead **out, crm_iter *iter);

/** The name of a status ("new", "test_drive", ...), or NULL when out of range. */
CRM_EXTERN(const char *) crm_lead_status_name(crm_lead_status status);

/**
 * Parse a status name.
 *
 * @param[out] out the status
 * @return 0, or CRM_EINVALID for an unknown name
 */
CRM_EXTERN(int) crm_lead_status_parse(crm_lead_status *out, const char *name);

/** The JSON name of a quality ("ok", "suspect", "junk"); "unknown" when out of range. */
CRM_EXTERN(const char *) crm_lead_quality_name(crm_lead_quality quality);

/**
 * A quality from its JSON name.
 * @return 0, or CRM_EINVALID naming the expected values
 */
CRM_EXTERN(int) crm_lead_quality_parse(crm_lead_quality *out, const char *name);

/**
 * Judge every lead in the handle's scope again (leads stored before
 * quality existed read as ok; or after the cleaners learnt more), in one
 * transaction. Only the leads whose quality changes are written, each with
 * a "lead.quality" event ({"from", "to", "quality_reasons"}); merged-away
 * leads are left as they are.
 *
 * @param[out] changed how many leads got a new quality; may be NULL
 * @return 0, or an error (nothing changed)
 */
CRM_EXTERN(int) crm_lead_judge_all(size_t *changed, crm_db *db);

/** The name of a purchase timeline ("within_1m", ...), or NULL when out of range. */
CRM_EXTERN(const char *) crm_purchase_timeline_name(crm_purchase_timeline timeline);

#ifdef __cplusplus
}
#endif

#endif /* CRM_LEAD_H */
