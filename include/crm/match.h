/*
 * crmcore — probabilistic matching (deduplication).
 *
 * A match configuration (JSON) names the fields to compare, how each is
 * compared, the blocking keys that propose candidate pairs, and two
 * thresholds. Comparisons follow Fellegi–Sunter: each field of a pair is
 * at one of three agreement levels (agree, partial, disagree; or missing,
 * which says nothing), each level has a probability among true matches (m)
 * and among non-matches (u), and the evidence multiplies. m and u are given
 * in the configuration or estimated from the data by expectation
 * maximisation, without labels.
 *
 * Batch use (crm_dedupe): add records of any columns, run, then read the
 * candidate pairs with their decisions and the clusters (union-find over the
 * pairs decided as matches). A cluster's id is the id of its first record
 * (the first added), so clusters keep their ids when records are appended
 * and the run repeated.
 *
 * Configuration:
 *
 *     {
 *       "fields": [
 *         {"name": "phone", "column": "phone", "comparator": "phone"},
 *         {"name": "name", "comparator": "name"},
 *         {"name": "given", "column": "given_name", "comparator": "jaro_winkler",
 *          "levels": [0.94, 0.85]},
 *         {"name": "dob", "column": "date_of_birth", "comparator": "date"},
 *         {"name": "ssn", "column": "soc_sec_id", "comparator": "damerau", "levels": [0, 1]},
 *         {"name": "budget", "comparator": "numeric", "levels": [0, 2]},
 *         {"name": "city", "comparator": "exact", "m": [0.9, 0, 0.1], "u": [0.05, 0, 0.95]}
 *       ],
 *       "swap": [["given", "surname"]],
 *       "blocking": [["phone"], ["name:key", "city"], ["ssn:prefix:4"]],
 *       "thresholds": {"merge": 0.95, "review": 0.5},
 *       "em": {"max_iterations": 100, "prior": 0.1},
 *       "max_block": 1000
 *     }
 *
 * - fields[].column defaults to the name. Comparators: "exact"; "phone"
 *   (cleaned with crm_clean_phone; one digit off is partial); "jaro_winkler"
 *   (levels: the similarity for agree and for partial, default [0.94, 0.85]);
 *   "damerau" (Damerau–Levenshtein distance; levels: the largest distance for
 *   agree and for partial, default [0, 1]); "name" (cleaned with
 *   crm_clean_name: the same name, or the same pinyin key across scripts, is
 *   agree; the same pinyin key (a homophone) or Jaro–Winkler of the keys at
 *   least 0.9 is partial); "date" (the digits, as YYYYMMDD: one edit or day
 *   and month swapped is partial); "numeric" (levels: the largest absolute
 *   difference for agree and for partial, default [0, 1]); "region" (cleaned
 *   with crm_clean_region: the same prefecture is agree, the same province
 *   partial).
 * - m and u: [agree, partial, disagree], each in [0, 1]; both given fixes
 *   the field, otherwise EM estimates it.
 * - swap: pairs of fields (Jaro–Winkler or name comparators) that people
 *   swap (given and family name): a pair is compared the way round that
 *   agrees better.
 * - blocking: keys, each a list of parts "field" or "field:transform" with
 *   transforms "key" (the pinyin key of a name), "prefix:N", "suffix:N"
 *   (characters); two records that share all the parts of any one key, none
 *   of them empty, are a candidate pair. A block with more than max_block
 *   records (default 1000) is skipped, so a common value cannot make the
 *   work quadratic.
 * - thresholds: the match probability at or above which a pair is merged,
 *   and at or above which it is queued for review (review <= merge).
 */
#ifndef CRM_MATCH_H
#define CRM_MATCH_H

#include "common.h"
#include "db.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A parsed, validated match configuration. Opaque. */
typedef struct crm_matcher crm_matcher;

/** A batch deduplication run over records of any columns. Opaque. */
typedef struct crm_dedupe crm_dedupe;

/** What was decided for a pair. */
typedef enum crm_match_decision {
    CRM_MATCH_DISTINCT = 0, /**< below the review threshold */
    CRM_MATCH_REVIEW = 1,   /**< possible duplicate: for a person to decide */
    CRM_MATCH_MERGE = 2     /**< the same entity */
} crm_match_decision;

/** A candidate pair after a run. Plain data. */
typedef struct crm_match_pair {
    size_t a, b;                 /**< record indexes (in the order added), a < b */
    double weight;               /**< the match weight: sum of log2(m/u) over the fields */
    double probability;          /**< the match probability, 0..1 */
    crm_match_decision decision;
} crm_match_pair;

/** Counts of a run. */
typedef struct crm_dedupe_stats {
    size_t records;
    size_t candidate_pairs; /**< distinct pairs the blocking keys proposed */
    size_t review_pairs;
    size_t merge_pairs;
    size_t clusters;        /**< entities, singletons included */
    int em_iterations;      /**< 0 when every field's m and u were given */
} crm_dedupe_stats;

/**
 * The default configuration for leads (columns phone, name, email,
 * wechat_openid, wechat_unionid, province, city): blocking on the phone, the
 * e-mail, the WeChat ids and the name's pinyin key with the city.
 *
 * @return a static JSON string, never NULL
 */
CRM_EXTERN(const char *) crm_matcher_default_config(void);

/**
 * Parse and validate a match configuration.
 *
 * @param[out] out  the matcher, owned by the caller; free with crm_matcher_free()
 * @param[in]  json the configuration, or NULL for crm_matcher_default_config()
 * @return 0, CRM_EINVALID (the message names the JSON path:
 *         "fields[2].levels[0]: expected a number between 0 and 1"), CRM_ENOMEM
 */
CRM_EXTERN(int) crm_matcher_new(crm_matcher **out, const char *json);

/** Free a matcher; NULL is a no-op. */
CRM_EXTERN(void) crm_matcher_free(crm_matcher *matcher);

/**
 * The configuration as JSON, with the m and u in use for every field
 * (after a run, the estimated ones), so that a run's weights can be saved
 * and given to the next.
 *
 * @param[out] out NUL-terminated JSON, owned by the caller; free with crm_free()
 */
CRM_EXTERN(int) crm_matcher_config_json(char **out, const crm_matcher *matcher);

/**
 * Start a batch run.
 *
 * @param[out] out      the run, owned by the caller; free with crm_dedupe_free()
 * @param[in]  matcher  the configuration; it must outlive the run, which
 *                      stores estimated weights in it
 * @param[in]  columns  the names of the columns of the records to come
 * @param[in]  ncolumns how many; a field whose column is not among them is
 *                      missing in every record, but one must be there
 * @return 0, CRM_EINVALID (none of the fields' columns is there), CRM_ENOMEM
 */
CRM_EXTERN(int) crm_dedupe_new(crm_dedupe **out, crm_matcher *matcher, const char *const *columns,
                               size_t ncolumns);

/** Free a run; NULL is a no-op. */
CRM_EXTERN(void) crm_dedupe_free(crm_dedupe *dedupe);

/**
 * Add a record.
 *
 * @param[in] id     the record's id (copied), or NULL for its index as text
 * @param[in] values one per column, in the order of the columns; NULL or ""
 *                   for a missing value; UTF-8
 * @return 0, CRM_EINVALID (not UTF-8: the message names the column), CRM_ECONFLICT (after a run), CRM_ENOMEM
 */
CRM_EXTERN(int) crm_dedupe_add(crm_dedupe *dedupe, const char *id, const char *const *values);

/**
 * Run: candidate pairs by the blocking keys, comparison, estimation of m and
 * u by EM for the fields without given weights, decisions, clusters.
 *
 * @param[out] stats counts; may be NULL
 * @return 0, CRM_ECONFLICT (already run), CRM_ENOMEM
 */
CRM_EXTERN(int) crm_dedupe_run(crm_dedupe_stats *stats, crm_dedupe *dedupe);

/** The number of candidate pairs after a run (0 before). */
CRM_EXTERN(size_t) crm_dedupe_pair_count(const crm_dedupe *dedupe);

/**
 * One candidate pair, in order of (a, b).
 *
 * @return 0, CRM_ENOTFOUND when index >= crm_dedupe_pair_count()
 */
CRM_EXTERN(int) crm_dedupe_pair(crm_match_pair *out, const crm_dedupe *dedupe, size_t index);

/**
 * Why a pair was decided as it was: per field, the two values compared,
 * the agreement level ("agree", "partial", "disagree", "missing") and its
 * weight log2(m/u); and the total, the probability and the decision.
 *
 * @param[out] out NUL-terminated JSON, owned by the caller; free with crm_free()
 * @return 0, CRM_ENOTFOUND (no such pair), CRM_ENOMEM
 */
CRM_EXTERN(int) crm_dedupe_pair_json(char **out, const crm_dedupe *dedupe, size_t index);

/**
 * The cluster of a record after a run: the id of the cluster's first record.
 *
 * @return a borrowed string that lives as long as the run, or NULL when the
 *         index is out of range or the run has not happened
 */
CRM_EXTERN(const char *) crm_dedupe_cluster(const crm_dedupe *dedupe, size_t record);

/** The id of a record (as given to crm_dedupe_add); borrowed, or NULL when out of range. */
CRM_EXTERN(const char *) crm_dedupe_record_id(const crm_dedupe *dedupe, size_t record);

/**
 * Match leads online: from now on crm_lead_ingest() on this handle looks up
 * candidates by the configuration's blocking keys (stored for every lead
 * ingested while matching is on), compares the lead with each, and takes
 * the most probable: at or above the merge threshold the lead is a
 * duplicate (CRM_INGEST_DUPLICATE, recorded on the existing lead with the
 * evidence in the "lead.duplicate" event); at or above the review threshold
 * it is stored and flagged (CRM_INGEST_REVIEW, a "lead.possible_duplicate"
 * event on the new lead carries the candidate and the evidence); else it is
 * new. Fields' columns must be text fields of a lead and every field needs
 * m and u (there is no batch to estimate them from). With matching off (the
 * default) ingest finds duplicates by exact phone only.
 *
 * @param[in] db   the handle; the setting lives as long as it
 * @param[in] json the configuration, or NULL for crm_matcher_default_config()
 * @return 0, CRM_EINVALID (the message names the JSON path), CRM_ENOMEM
 */
CRM_EXTERN(int) crm_match_enable(crm_db *db, const char *json);

/** Back to exact-phone duplicates on ingest. NULL is a no-op. */
CRM_EXTERN(void) crm_match_disable(crm_db *db);

/**
 * Store the blocking keys of the handle's matching configuration for every
 * lead it can see, so that online matching also finds the leads stored
 * before it was enabled (or under another configuration). Idempotent: keys
 * a lead has already are left alone. One transaction; the keys are derived
 * data, so no audit event is written.
 *
 * @param[out] indexed the number of leads whose keys were written; may be NULL
 * @return 0, CRM_EINVALID (matching is not enabled), CRM_ESTORAGE, CRM_ENOMEM
 */
CRM_EXTERN(int) crm_match_index(size_t *indexed, crm_db *db);

/** Where a possible duplicate stands. */
typedef enum crm_review_status {
    CRM_REVIEW_PENDING = 0,  /**< waiting for a person */
    CRM_REVIEW_ACCEPTED = 1, /**< the same person */
    CRM_REVIEW_REJECTED = 2  /**< two people */
} crm_review_status;

/**
 * A possible duplicate found by online matching (CRM_INGEST_REVIEW). Plain
 * data; strings borrowed from whoever handed it out.
 */
typedef struct crm_match_review {
    const char *id;           /**< UUID of the review item */
    const char *lead_id;      /**< the new lead */
    const char *candidate_id; /**< the existing lead it may duplicate */
    const char *dealer_id;    /**< the new lead's dealer, or NULL */
    double probability;       /**< the match probability */
    const char *evidence;     /**< JSON: per field values, level, weight; total, decision */
    crm_review_status status;
    int64_t created_at;       /**< Unix ms */
    int64_t decided_at;       /**< Unix ms, 0 while pending */
    const char *decided_by;   /**< the actor who decided, NULL while pending */
    const char *merge_id;     /**< the merge an accept made (crm_lead_merge_get_json), else NULL */
} crm_match_review;

/**
 * The review queue as JSON: an array of {"id", "lead_id", "candidate_id",
 * "dealer_id", "probability", "evidence" (object), "status", "created_at",
 * "decided_at", "decided_by", "merge_id"}, oldest first, within the handle's scope.
 *
 * @param[out] out    JSON, owned by the caller; free with crm_free()
 * @param[in]  status "pending", "accepted", "rejected", or NULL for all
 * @param[in]  limit  1..10000 items at most
 * @return 0, CRM_EINVALID (a bad status or limit), CRM_ESTORAGE, CRM_ENOMEM
 */
CRM_EXTERN(int) crm_review_list_json(char **out, crm_db *db, const char *status, int limit);

/**
 * Decide a pending review: accepted (the two leads are one person) or not.
 * The decision, its time and the handle's actor are stored, and an audit
 * event ("lead.duplicate_confirmed" or "lead.duplicate_rejected") is
 * appended on the new lead, in one transaction. An accept also merges the
 * new lead into the candidate with the default rules
 * (crm_lead_merge_default_rules) in that transaction and the item records
 * the merge's id; a lead merged away since the item was queued stands for
 * the lead it was merged into, and when both stand for the same lead
 * there is nothing left to merge. crm_lead_unmerge() of that merge puts
 * the item back to pending. A reject only decides.
 *
 * @param[in] id     the review item
 * @param[in] accept non-zero to accept, zero to reject
 * @return 0, CRM_ENOTFOUND (no such item in the scope, or a lead of it is
 *         not visible), CRM_ECONFLICT (already decided), CRM_EINVALID,
 *         CRM_ESTORAGE
 */
CRM_EXTERN(int) crm_review_decide(crm_db *db, const char *id, int accept);

/**
 * Deduplicate records given as JSON in one call (for the bindings).
 *
 * @param[out] out     {"clusters": [{"id": record id, "cluster": cluster id}, ...],
 *                     "pairs": [{"a": id, "b": id, "probability": p, "weight": w,
 *                     "decision": "merge"|"review"|"distinct"}, ...] (review and merge
 *                     pairs only), "stats": {...}, "config": the configuration with its
 *                     weights}; owned by the caller, free with crm_free()
 * @param[in]  config  the configuration, or NULL for the default
 * @param[in]  records a JSON array of objects; "id" names a record (else
 *                     its index), other members are columns (strings or numbers)
 * @return 0, CRM_EINVALID (the message names the path, "records[3].name: expected a string"), CRM_ENOMEM
 */
CRM_EXTERN(int) crm_dedupe_json(char **out, const char *config, const char *records);

/**
 * Deduplicate the stored leads the handle can see, in one batch run (the
 * leads merged away already are left out): candidate pairs by the
 * configuration's blocking keys, comparisons, weights estimated by EM for
 * the fields without m and u, decisions and clusters, as crm_dedupe_json()
 * gives them, except that "clusters" lists only the leads whose cluster has
 * more than one lead, and a cluster's id is its oldest lead. The fields'
 * columns are lead fields (phone, name, email, wechat_openid,
 * wechat_unionid, province, city, channel, campaign, dealer_id, owner_id,
 * model).
 *
 * With apply non-zero, every lead of a cluster is then merged into the
 * cluster's oldest lead with the default rules (crm_lead_merge), all in one
 * transaction (on any error none is), and "merges" lists the merge ids (each
 * undone by crm_lead_unmerge). Pairs for review are listed, not queued.
 *
 * @param[out] out    JSON, owned by the caller; free with crm_free()
 * @param[in]  config the configuration, or NULL for crm_matcher_default_config()
 * @param[in]  apply  non-zero to merge the clusters
 * @return 0, CRM_EINVALID (the message names the JSON path, or a column that
 *         is no lead field), CRM_ECONFLICT, CRM_ESTORAGE, CRM_ENOMEM
 */
CRM_EXTERN(int) crm_lead_dedupe_json(char **out, crm_db *db, const char *config, int apply);

#ifdef __cplusplus
}
#endif

#endif /* CRM_MATCH_H */
