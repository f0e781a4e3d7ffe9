/*
 * crmcore bindings — a thin C layer between the public API and SWIG.
 *
 * It exists for what the target languages need and C callers do not:
 *   - a handle (crmb_handle) that stays valid after close, so a closed database
 *     raises an error in Python and Java instead of crashing;
 *   - iterators (crmb_lead_iter, crmb_event_iter) that the handle tracks,
 *     so closing a database first ends its live iterators (the C API requires
 *     the database to outlive its iterators, a garbage collector does not
 *     promise any order);
 *   - one thread-local status that SWIG's single %exception turns into an
 *     exception: the library's last error, or an error of this layer.
 *
 * Everything here is private to the bindings; nothing is installed.
 */
#ifndef CRM_BINDINGS_SUPPORT_H
#define CRM_BINDINGS_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include <crm/crm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors -------------------------------------------------------------- */

/** Forget the status of the previous call (done before every wrapped call). */
void crmb_err_reset(void);

/** The status of the last wrapped call: 0, or a negative CRM_E* code. */
int crmb_err_code(void);

/** The message of the last failed call; "" when none. Borrowed. */
const char *crmb_err_message(void);

/* ---- database handle ----------------------------------------------------- */

typedef struct crmb_handle crmb_handle;
typedef struct crmb_lead_iter crmb_lead_iter;
typedef struct crmb_event_iter crmb_event_iter;

/** Open a database; NULL with the status set on failure. */
crmb_handle *crmb_db_open(const char *uri, int busy_timeout_ms, int create);

/**
 * Close the database (idempotent). Live iterators are ended first; their
 * wrappers stay allocated, and report an error when used.
 */
void crmb_db_close(crmb_handle *h);

/** Close (if still open) and free the wrapper. NULL is a no-op. */
void crmb_db_free(crmb_handle *h);

/** 1 when the handle is open. */
int crmb_db_is_open(const crmb_handle *h);

int crmb_db_schema_version(crmb_handle *h);
void crmb_db_begin(crmb_handle *h);
void crmb_db_commit(crmb_handle *h);
void crmb_db_rollback(crmb_handle *h);
int crmb_db_transaction_depth(crmb_handle *h);
void crmb_db_set_scope(crmb_handle *h, const char *dealer_id);
/** The scope, or NULL for all dealers. Borrowed from the handle. */
const char *crmb_db_scope(crmb_handle *h);
void crmb_db_set_actor(crmb_handle *h, const char *actor);
/** crm_match_enable(): config NULL for the default. */
void crmb_db_enable_matching(crmb_handle *h, const char *config);
/** crm_match_index(): the number of leads indexed, or -1 with the status set. */
int64_t crmb_db_match_index(crmb_handle *h);
/** crm_match_disable(). */
void crmb_db_disable_matching(crmb_handle *h);
/** crm_lead_judge_all(): how many leads got a new quality, or -1 with the status set. */
int64_t crmb_lead_judge_all(crmb_handle *h);
/** crm_score_enable(): a model document. */
void crmb_db_enable_scoring(crmb_handle *h, const char *model_json);
/** crm_score_disable(). */
void crmb_db_disable_scoring(crmb_handle *h);
/** crm_review_list_json(): status NULL for all; JSON (crm_free) or NULL with the status set. */
char *crmb_db_reviews(crmb_handle *h, const char *status, int limit);
/** crm_review_decide(). */
void crmb_db_review_decide(crmb_handle *h, const char *id, int accept);
/** crm_lead_merge() then crm_lead_merge_get_json(): the merge's JSON (crm_free), or NULL with the status set. */
char *crmb_db_merge(crmb_handle *h, const char *survivor_id, const char *other_id, const char *rules);
/** crm_lead_unmerge(). */
void crmb_db_unmerge(crmb_handle *h, const char *merge_id);
/** crm_lead_merge_get_json(): JSON (crm_free) or NULL with the status set. */
char *crmb_db_merge_get(crmb_handle *h, const char *merge_id);
/** crm_lead_merge_list_json(): lead_id NULL for all; JSON (crm_free) or NULL with the status set. */
char *crmb_db_merges(crmb_handle *h, const char *lead_id, int limit);
/** crm_lead_dedupe_json(): config may be NULL for the default; JSON (crm_free) or NULL with the status set. */
char *crmb_db_dedupe_leads(crmb_handle *h, const char *config, int apply);
/** The actor last set through this wrapper ("system" by default). Borrowed. */
const char *crmb_db_actor(crmb_handle *h);
void crmb_db_set_time(crmb_handle *h, int64_t unix_ms);
int64_t crmb_db_now(crmb_handle *h);

/**
 * Ingest a document of len bytes. The result is kept in the handle and
 * borrowed until the next ingest; NULL on failure.
 */
const crm_ingest_result *crmb_db_ingest(crmb_handle *h, const char *json, size_t len);

/** A lead as JSON, owned by the caller (crm_free); NULL on failure. */
char *crmb_db_get_json(crmb_handle *h, const char *id);

/**
 * A lead, kept in the handle and borrowed until the next crmb_db_get_lead
 * or the close; NULL on failure.
 */
const crm_lead *crmb_db_get_lead(crmb_handle *h, const char *id);

/** Start listing leads; the filter's fields mean what crm_lead_filter says. */
crmb_lead_iter *crmb_db_leads(crmb_handle *h, unsigned int statuses,
                                const char *dealer_id, const char *channel,
                                int64_t created_from, int64_t created_to,
                                int64_t limit, unsigned int qualities);

/** Start listing the audit events of a record. */
crmb_event_iter *crmb_db_events(crmb_handle *h, const char *entity_id);

/** Start listing the events of one kind across work orders since a time
 * (crm_workorder_events_iter_new). */
crmb_event_iter *crmb_db_events_of_kind(crmb_handle *h, const char *kind, int64_t since);

/* ---- iterators ------------------------------------------------------------ */

/** The next lead (borrowed until the next call), or NULL at the end or on failure. */
const crm_lead *crmb_lead_cursor_next(crmb_lead_iter *c);
/** The next lead as JSON (caller frees with crm_free), or NULL at the end or on failure. */
char *crmb_lead_cursor_next_json(crmb_lead_iter *c);
/** End the iteration early (idempotent); the wrapper stays allocated. */
void crmb_lead_cursor_close(crmb_lead_iter *c);
/** Close and free; NULL is a no-op. */
void crmb_lead_cursor_free(crmb_lead_iter *c);

const crm_event *crmb_event_cursor_next(crmb_event_iter *c);
char *crmb_event_cursor_next_json(crmb_event_iter *c);
void crmb_event_cursor_close(crmb_event_iter *c);
void crmb_event_cursor_free(crmb_event_iter *c);

/* ---- scoring (issue 4) ----------------------------------------------------- */
/*
 * Models cross as their JSON documents (what crm_model_to_json writes), and
 * scores as JSON objects {"score", "grade", "probability", "reasons":
 * [{"group", "item", "points"}]}: plain data both languages decode.
 * Every char * returned is owned by the caller (crm_free); NULL on failure.
 */

/** Store a model document as the next version of its name; the saved document. */
char *crmb_model_save(crmb_handle *h, const char *model_json);
/** A stored model's document (version 0: the newest). */
char *crmb_model_load(crmb_handle *h, const char *name, int version);
/**
 * Train on the stored outcomes (crm_model_train_leads); the model's document,
 * not saved. kind: "logistic" or "naive_bayes"; name NULL for "default";
 * holdout, l2, alpha, bins as crm_train_options (negative or 0: the default);
 * crosses as crm_train_options ("A*B,C*D"; NULL: none).
 */
char *crmb_model_train_leads(crmb_handle *h, const char *kind, const char *name, double holdout,
                             int64_t seed, double l2, double alpha, int bins, const char *crosses);
/**
 * Train on rows given as JSON: {"columns": [names], "kinds": ["category" |
 * "number", ...], "rows": [[value, ...], ...], "labels": [0 | 1, ...]};
 * values are strings, numbers or null. Options as crmb_model_train_leads.
 */
char *crmb_model_train_rows(const char *data_json, const char *kind, const char *name, double holdout,
                            int64_t seed, double l2, double alpha, int bins, const char *crosses);
/** Score one row of values (a JSON array, in the model's column order). */
char *crmb_model_score_values(const char *model_json, const char *values_json);
/** Score a stored lead and keep its score and grade (crm_lead_score). */
char *crmb_lead_score(crmb_handle *h, const char *model_json, const char *id);
/** Rescore every lead in the scope; how many changed, -1 on failure. */
int64_t crmb_lead_rescore_all(crmb_handle *h, const char *model_json);

/* ---- lifecycle (issue 4) -------------------------------------------------- */

/** Move a lead to the state named `to`; reason, dealer_id, owner_id may be NULL. */
void crmb_lead_transition(crmb_handle *h, const char *id, const char *to, const char *reason,
                          const char *dealer_id, const char *owner_id);
/** A lead's stages as a JSON array of {"status", "entered_at", "left_at", "actor", "reason"}. */
char *crmb_lead_stages_json(crmb_handle *h, const char *id);

/** The funnel (crm_funnel_to_json) grouped by `by` ("all", "channel", ...). */
char *crmb_funnel_json(crmb_handle *h, const char *by, int64_t created_from, int64_t created_to,
                       int tz_offset_minutes);

/**
 * Route leads with rules (JSON) and one router for the call: the ids in
 * ids_json (a JSON array), or every new lead in the scope when NULL. A JSON
 * array of {"id", "dealer_id", "owner_id", "reason"} or {"id", "error"}.
 */
char *crmb_route_json(crmb_handle *h, const char *rules_json, const char *ids_json);
/** crm_lead_recycle_overdue; how many, -1 on failure. */
int64_t crmb_lead_recycle(crmb_handle *h, int64_t follow_up_ms);

/* ---- work orders and SLAs (issue 6) --------------------------------------- */
/*
 * Values cross as JSON text (owned by the caller, crm_free) or ids, so both
 * languages decode them their own way. Lists come back whole, as a JSON
 * array: bounded by `limit` (0: no limit), and by what one screen or one
 * report needs; large scans belong in C (crm_workorder_iter_new).
 */

/** Create a work order from a JSON object; its id (caller frees), NULL on failure. */
char *crmb_wo_create(crmb_handle *h, const char *json);
void crmb_wo_assign(crmb_handle *h, const char *id, const char *assignee, const char *queue);
/** Move to a status given by name ("in_progress", ...). */
void crmb_wo_move(crmb_handle *h, const char *id, const char *status, const char *note);
/** Add a comment; its id (caller frees), NULL on failure. */
char *crmb_wo_comment(crmb_handle *h, const char *id, const char *body, int is_public);
/** One work order as JSON (caller frees). */
char *crmb_wo_get_json(crmb_handle *h, const char *id);
/** Work orders as a JSON array; statuses is a comma-separated list of names or NULL. */
char *crmb_wo_list_json(crmb_handle *h, const char *statuses, const char *queue, const char *assignee,
                        const char *type, int64_t limit);
/** The comments of a work order as a JSON array. */
char *crmb_wo_comments_json(crmb_handle *h, const char *id);
/** Run the escalation with a policy document as of a time; the counts as a JSON object. */
char *crmb_sla_escalate_json(crmb_handle *h, const char *policy_json, int64_t as_of);
/** crm_sla_report with a policy document; group_by: none, queue, dealer, type, month. */
char *crmb_sla_report_json(crmb_handle *h, const char *policy_json, const char *group_by, int64_t as_of,
                           int64_t created_from, int64_t created_to);
/** crm_calendar_due on a calendar document (NULL: the default); -1 with the status set on failure. */
int64_t crmb_calendar_due(const char *calendar_json, int64_t start, int64_t minutes);
/** crm_calendar_elapsed in business minutes (rounded down); -1 on failure. */
int64_t crmb_calendar_minutes(const char *calendar_json, int64_t from, int64_t to);

/* ---- the customer side ---------------------------------------------------- */

/**
 * Run one operation of the customer side of the API ("customer.resolve",
 * "points.accrue", "segment.export", ... : see support.c) with its
 * arguments as a JSON object. Returns the result as JSON text (the caller
 * frees it with crm_free), or NULL with the status set.
 */
char *crmb_db_call(crmb_handle *h, const char *op, const char *args_json);

/* ---- helpers ------------------------------------------------------------- */

/** Parse a status name to its number; -1 with the status set when unknown. */
int crmb_lead_status_parse(const char *name);
/** A status name, or NULL when out of range. Static. */
const char *crmb_lead_status_name(int status);
/** Parse a quality name ("ok", "suspect", "junk") to its number; -1 with the status set when unknown. */
int crmb_lead_quality_parse(const char *name);
/** A quality name, or NULL when out of range (so a caller can count them). Static. */
const char *crmb_lead_quality_name(int quality);

/**
 * Fail with a given status, as a library call would. For the binding tests,
 * which check that every code becomes the right exception class, including
 * codes no public call can be made to return on demand (CRM_ENOMEM).
 */
void crmb_fail_for_test(int code, const char *message);

/* ---- cleaning (no database) ---------------------------------------------- */

/** crm_clean_json(): one value by cleaner name; JSON (crm_free) or NULL with the status set. */
char *crmb_clean(const char *kind, const char *raw);

/** crm_clean_lead_json(): a lead document; JSON (crm_free) or NULL with the status set. */
char *crmb_clean_lead(const char *json);

/* ---- matching (no database) ---------------------------------------------- */

/** crm_dedupe_json(): config may be NULL for the default; JSON (crm_free) or NULL with the status set. */
char *crmb_dedupe(const char *config, const char *records);

/** crm_matcher_default_config(); static, never NULL. */
const char *crmb_match_default_config(void);
/** crm_lead_merge_default_rules(); static, never NULL. */
const char *crmb_merge_default_rules(void);

#ifdef __cplusplus
}
#endif

#endif /* CRM_BINDINGS_SUPPORT_H */
