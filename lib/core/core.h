/* The core's private view of the handle and iterators. No SQL here. */
#ifndef CRM_CORE_H
#define CRM_CORE_H

#include "crm/crm.h"
#include "crm/sys/backend.h"
#include "util/util.h"

struct crm_db {
    crm_backend *backend;
    crm_scope scope;       /* scope.dealer_id is owned (or NULL) */
    char *actor;           /* owned, never NULL */
    int64_t fixed_time;    /* 0: the system clock */
    int tx_depth;          /* explicit transactions open (crm_db_begin) */
    /* A lead ingest failed inside the caller's transaction after it had
     * written, and rolled that transaction back whole (crm__tx_end_lean):
     * until the caller rolls back every level, writes and commits are
     * refused, so that nothing is written outside the transaction the
     * caller believes open. */
    bool tx_aborted;
    char tx_abort_reason[256];
    crm_iter *iters;       /* open iterators, ended by crm_db_close */
    crm_idgen idgen;
    /* Online matching (crm_match_enable); NULL when off. */
    crm_matcher *matcher;
    crm_dedupe *match_scratch; /* record 0: the lead being ingested; then its candidates */
    char **match_kinds;        /* the backend key kind of each blocking key */
    size_t match_nkinds;
    /* Scoring on ingest (crm_score_enable); NULL when off. */
    crm_model *score_model;
};

typedef enum crm_iter_kind { CRM_ITER_LEAD, CRM_ITER_EVENT, CRM_ITER_WORKORDER, CRM_ITER_WO_COMMENT } crm_iter_kind;

struct crm_iter {
    crm_iter_kind kind;
    crm_db *db;                 /* NULL once the database closed */
    crm_iter *prev, *next;      /* in db->iters */
    crm_backend_iter *cursor;
    union {
        crm_lead lead;
        crm_event event;
        crm_workorder workorder;
        crm_wo_comment wo_comment;
    } current;
};

/* Run body-less write steps in a nested transaction: begin, and end with
 * commit on rc == 0 or rollback otherwise (the error of the first failure
 * is what the caller sees). */
int crm__tx_begin(crm_db *db);

/* ---- lead quality (lead.c) ---- */
struct cJSON;
/* Run the cleaners over a lead's phone, name, e-mail and region and judge
 * it as crm_clean_lead_json does (clean_json.c); the lead is not changed.
 * why, when given, gets NULL for an ok lead or an object field -> reasons
 * of what counted against it (the caller owns it). */
int crm__lead_judge(crm_lead_quality *out, struct cJSON **why, const crm_lead *lead);

/* ---- online matching (lead_match.c) ---- */
/* The key kind under which every lead's phone is stored (lead.c), and which
 * online matching shares for a blocking key on the phone alone. */
#define CRM__KEY_PHONE "lead.phone"

typedef struct crm__match_best {
    char id[CRM_ID_LEN + 1];  /* the best candidate, "" when none */
    char dealer_id[72];
    bool has_dealer;
    double probability;
    crm_match_decision decision;
    char *evidence;           /* JSON, owned (crm_free); NULL unless merge or review */
} crm__match_best;

/* Find the best candidate for a lead among those its blocking keys reach. */
int crm__lead_match_find(crm_db *db, const crm_lead *lead, crm__match_best *best);
/* Store the blocking keys of the lead last given to crm__lead_match_find;
 * phone is the key lead.c stored already under CRM__KEY_PHONE (or NULL). */
int crm__lead_match_keys_put(crm_db *db, const char *id, const char *phone);
void crm__lead_match_free(crm_db *db);

/* ---- scoring on ingest (score.c) ---- */
/* Score a lead about to be inserted with db->score_model; *event gets the
 * "lead.created" event's data (score, grade, model, top reasons), to free
 * with cJSON_free. */
int crm__lead_score_new(crm_score *out, char **event, crm_db *db, const crm_lead *lead);
/* Queue a possible duplicate for review (review.c); a no-op on a version 1 backend. */
int crm__review_add(crm_db *db, const char *lead_id, const char *candidate_id, const char *dealer_id,
                    double probability, const char *evidence);

/* ---- lead merges (lead_merge.c) ---- */
/* Merge other_id into survivor_id inside the caller's transaction (rules
 * NULL: the defaults). review, when given, is the item an accept merges:
 * its state before the accept goes into the merge's snapshot so that an
 * unmerge puts it back. merge_id receives the new merge's id. */
int crm__lead_merge(crm_db *db, const char *survivor_id, const char *other_id, const char *rules_json,
                    const crm_match_review *review, char merge_id[CRM_ID_LEN + 1]);
/* Follow merged_into from lead id to the lead that stands for it now (in place). */
int crm__lead_merged_survivor(crm_db *db, char id[CRM_ID_LEN + 1]);

int crm__tx_end(crm_db *db, int rc);

/* Lead ingest's transaction, the hottest write. Alone it is a transaction
 * like any other. Inside a caller's transaction it opens no savepoint of its
 * own: a SQLite savepoint copies every page the lead touches, which cost a
 * third of batched ingest. Everything a caller can get wrong is checked
 * before the first write, so what can fail after it is storage or memory,
 * and SQLite may roll a transaction back by itself on those anyway
 * (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM, SQLITE_BUSY). So a failure
 * after a write (wrote) rolls back the caller's whole transaction and says
 * so; one before any write leaves it as it was. */
int crm__tx_begin_lean(crm_db *db);
int crm__tx_end_lean(crm_db *db, int rc, bool wrote);

/* Check an identifier or text a caller gives: 1..max bytes of UTF-8
 * without control characters; the message names the field. */
int crm__check_label(const char *field, const char *value, size_t max);

/* Append an audit event stamped with the handle's clock and actor. */
int crm__event_append(crm_db *db, const char *kind, const char *entity_type, const char *entity_id,
                      const char *dealer_id, const char *data_json);

/* Make a new iterator over a backend cursor; takes the cursor. */
int crm__iter_new(crm_iter **out, crm_db *db, crm_iter_kind kind, crm_backend_iter *cursor);

/* Advance an iterator's cursor into *record (checks it is still attached). */
int crm__iter_step(crm_iter *iter, crm_iter_kind kind, void *record);

/* End an iterator whose database is closing: free its cursor, unlink it. */
void crm__iter_detach(crm_iter *iter);

/* Make a calendar from a parsed JSON object; errors name `path` (a
 * calendar nested in an SLA policy reports "policy.calendars.D1.hours"). */
struct cJSON;
int crm__calendar_from_json(crm_calendar **out, const struct cJSON *doc, const char *path);

/* Work orders need a version-2 backend: CRM_ESTORAGE otherwise. */
int crm__workorder_supported(crm_db *db);
/* A work order's pauses as intervals (malloc'ed, *out may be NULL when
 * *n is 0); a pause still running ends at open_until (0: open). */
int crm__workorder_pauses(crm_interval **out, size_t *n, const crm_workorder *w, int64_t open_until);
/* A caller-owned copy of a work order in one allocation (NULL: no memory). */
crm_workorder *crm__workorder_dup(const crm_workorder *src);
/* Update a work order and append its audit event (inside a transaction). */
int crm__workorder_save(crm_db *db, const crm_workorder *w, const char *kind, const char *data);

#endif
