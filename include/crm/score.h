/*
 * crmcore — lead scoring.
 *
 * A scoring model says how likely a lead is to convert and why. Two kinds:
 *
 *  - rule models, written by hand as a JSON document: points per channel,
 *    field completeness, intent, engagement with a time decay, recency, a
 *    cap per group; the score is 0..100;
 *  - trained models, learnt in C from labelled rows (leads that were won or
 *    lost, or any table): a smoothed naive Bayes or an L2 logistic
 *    regression over one-hot categories and quantile bins of numbers; the
 *    score is the probability times 100.
 *
 * Both give a grade A/B/C/D from configurable bands (default 75/50/25) and
 * the reasons: every contribution of a rule model, largest first; the top
 * positive and negative features of a trained model (log-odds against the
 * average lead). Scoring is deterministic, in process, allocation-free.
 *
 * Models are JSON documents (crm_model_from_json / crm_model_to_json) and
 * are kept in the database by name with a version (crm_model_save).
 */
#ifndef CRM_SCORE_H
#define CRM_SCORE_H

#include "common.h"
#include "db.h"
#include "lead.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A scoring model (rule or trained). Opaque; free with crm_model_free(). */
typedef struct crm_model crm_model;

/** What a model is. */
typedef enum crm_model_kind {
    CRM_MODEL_RULES = 0,       /**< hand-written points ("type": "rules") */
    CRM_MODEL_NAIVE_BAYES = 1, /**< smoothed categorical naive Bayes ("naive_bayes") */
    CRM_MODEL_LOGISTIC = 2     /**< L2-regularised logistic regression ("logistic") */
} crm_model_kind;

/** The most reasons a crm_score carries. */
#define CRM_SCORE_MAX_REASONS 40

/**
 * One reason behind a score. The strings are borrowed from the model and
 * live as long as it.
 */
typedef struct crm_score_reason {
    const char *group; /**< rules: "channel", "intent", ...; trained: the feature name */
    const char *item;  /**< rules: "walk_in", "cap", ...; trained: the value or bin ("[30, 40)") */
    double points;     /**< rules: points (a cap is negative); trained: log-odds against the average lead */
} crm_score_reason;

/** The score of one lead. Plain data; the reasons borrow from the model. */
typedef struct crm_score {
    int score;          /**< 0..100 */
    char grade[2];      /**< "A".."D" */
    double probability; /**< trained models: P(converts); rule models: score / 100 */
    size_t n_reasons;
    /** rules: every non-zero contribution, largest first; trained: the top
     * positive reasons (largest first) then the top negative ones (most
     * negative first) */
    crm_score_reason reasons[CRM_SCORE_MAX_REASONS];
} crm_score;

/** One engagement of a lead (a page view, a brochure download, a call). */
typedef struct crm_engagement {
    const char *kind; /**< the name a rule model gives points to */
    int64_t at;       /**< when, Unix ms UTC */
} crm_engagement;

/**
 * What a rule model reads besides the lead's own fields. crm_lead_score()
 * takes them from the lead's attributes: "budget" (a number, yuan) and
 * "engagements" (an array of {"kind": ..., "at": ISO-8601}).
 * Initialise with CRM_LEAD_SIGNALS_INIT.
 */
typedef struct crm_lead_signals {
    unsigned int version;                 /**< CRM_LEAD_SIGNALS_VERSION */
    double budget;                        /**< yuan; 0 when unknown */
    const crm_engagement *engagements;    /**< read during the call */
    size_t n_engagements;
} crm_lead_signals;

#define CRM_LEAD_SIGNALS_VERSION 1
#define CRM_LEAD_SIGNALS_INIT { CRM_LEAD_SIGNALS_VERSION, 0, NULL, 0 }

/**
 * Load a model from its JSON document. The "type" member says which kind:
 *
 * A rule model:
 * @code
 * {"type": "rules", "name": "default",
 *  "groups": {
 *    "channel":      {"cap": 30, "points": {"walk_in": 30, "dcc": 20, "*": 5}},
 *    "completeness": {"cap": 15, "fields": {"name": 5, "email": 5, "city": 5}},
 *    "intent":       {"cap": 35, "model": 10, "test_drive": 10, "budget": 5,
 *                     "purchase_timeline": {"within_1m": 15, "1_3m": 10}},
 *    "engagement":   {"cap": 20, "half_life_days": 7, "points": {"brochure": 5, "config": 8}},
 *    "recency":      {"cap": 10, "points": 10, "half_life_days": 3}},
 *  "grades": {"A": 75, "B": 50, "C": 25}}
 * @endcode
 * Every group and member is optional; "cap" defaults to no cap. Fields of
 * "completeness" are lead field names (name, phone, email, wechat_openid,
 * wechat_unionid, province, city, model, campaign). Engagement points decay
 * by half every half-life since the engagement; recency points decay by
 * half every half-life since the lead was created. Points may be negative.
 *
 * A trained model is what crm_model_to_json() wrote.
 *
 * @param[out] out  the model, owned by the caller; free with crm_model_free()
 * @param[in]  json the document, UTF-8, NUL-terminated
 * @return 0, or CRM_EINVALID with a message naming the JSON path
 *         ("groups.channel.points.dcc: expected a number"), CRM_ENOMEM
 */
CRM_EXTERN(int) crm_model_from_json(crm_model **out, const char *json);

/**
 * Render a model as its JSON document (what crm_model_from_json() reads).
 *
 * @param[out] out NUL-terminated JSON, owned by the caller; free with crm_free()
 */
CRM_EXTERN(int) crm_model_to_json(char **out, const crm_model *model);

/** Free a model. NULL is a no-op. */
CRM_EXTERN(void) crm_model_free(crm_model *model);

/** The model's kind. */
CRM_EXTERN(crm_model_kind) crm_model_get_kind(const crm_model *model);

/** The model's name (borrowed, never NULL). */
CRM_EXTERN(const char *) crm_model_name(const crm_model *model);

/** The model's version in the database (0 until saved or when loaded from a document). */
CRM_EXTERN(int) crm_model_version(const crm_model *model);

/** When a trained model was trained (Unix ms), 0 for rule models. */
CRM_EXTERN(int64_t) crm_model_trained_at(const crm_model *model);

/** ROC AUC on the held-back rows, or a negative number when none were held back. */
CRM_EXTERN(double) crm_model_auc(const crm_model *model);

/** How many features a trained model reads (0 for a rule model); its
 *  crosses are built from these and not counted. */
CRM_EXTERN(size_t) crm_model_feature_count(const crm_model *model);

/** The name of feature i of a trained model (borrowed), or NULL when out of range. */
CRM_EXTERN(const char *) crm_model_feature_name(const crm_model *model, size_t i);

/** The name of a kind ("rules", "naive_bayes", "logistic"), or NULL. */
CRM_EXTERN(const char *) crm_model_kind_name(crm_model_kind kind);

/**
 * Score a lead.
 *
 * Rule models read the lead's fields and the signals; trained models read
 * the lead fields named by their features (channel, campaign, province,
 * city, model, purchase_timeline, test_drive; a feature of another name is
 * missing for a lead). Allocates nothing.
 *
 * @param[out] out     the score
 * @param[in]  model   the model
 * @param[in]  lead    the lead
 * @param[in]  signals budget and engagements, or NULL for none
 * @param[in]  now     the time decays are measured to (Unix ms; crm_db_now())
 * @return 0, or CRM_EINVALID when an argument is NULL
 */
CRM_EXTERN(int) crm_model_score_lead(crm_score *out, const crm_model *model, const crm_lead *lead,
                                     const crm_lead_signals *signals, int64_t now);

/* ---- training ---------------------------------------------------------- */

/** How a column of a dataset is read. */
typedef enum crm_column_kind {
    CRM_COLUMN_CATEGORY = 0, /**< text; one-hot encoded, an unseen value is "other" */
    CRM_COLUMN_NUMBER = 1    /**< a number; cut into quantile bins, each one-hot */
} crm_column_kind;

/** Labelled rows to train on. Opaque; free with crm_dataset_free(). */
typedef struct crm_dataset crm_dataset;

/**
 * Make an empty dataset.
 *
 * @param[out] out       the dataset, owned by the caller
 * @param[in]  n_columns how many feature columns (1..256)
 * @param[in]  names     the column names (copied)
 * @param[in]  kinds     each column's kind
 * @return 0, CRM_EINVALID (a name empty, repeated or not UTF-8), CRM_ENOMEM
 */
CRM_EXTERN(int) crm_dataset_new(crm_dataset **out, size_t n_columns, const char *const *names,
                                const crm_column_kind *kinds);

/**
 * Append a row.
 *
 * @param[in] values n_columns texts (copied); NULL or "" is a missing value;
 *                   a NUMBER column's text must be a finite number
 * @param[in] label  1 when the lead converted, 0 when not
 * @return 0, CRM_EINVALID naming the row and column ("row 12, column age:
 *         expected a number"), CRM_ENOMEM; a refused row is not added
 */
CRM_EXTERN(int) crm_dataset_add_row(crm_dataset *ds, const char *const *values, int label);

/** How many rows a dataset holds. */
CRM_EXTERN(size_t) crm_dataset_rows(const crm_dataset *ds);

/** Free a dataset. NULL is a no-op. */
CRM_EXTERN(void) crm_dataset_free(crm_dataset *ds);

/** How to train. Initialise with CRM_TRAIN_OPTIONS_INIT. */
typedef struct crm_train_options {
    unsigned int version;  /**< CRM_TRAIN_OPTIONS_VERSION */
    crm_model_kind kind;   /**< CRM_MODEL_NAIVE_BAYES or CRM_MODEL_LOGISTIC */
    const char *name;      /**< the model's name; NULL: "default" */
    double holdout;        /**< fraction of rows held back to measure AUC (0 <= h < 1); default 0.2 */
    uint64_t seed;         /**< which rows are held back */
    double l2;             /**< logistic: L2 penalty (as scikit-learn's 1/C); default 1 */
    double alpha;          /**< naive Bayes: additive smoothing; default 1 */
    int bins;              /**< quantile bins per number column (2..64); default 10 */
    int grade_bands[3];    /**< lowest score of A, B, C; default 75, 50, 25 */
    /**
     * Feature crosses (version 2): NULL or a comma-separated list of pairs
     * "A*B" of category columns, e.g. "month*day,job*education". Each pair
     * becomes one more category feature named "A*B" whose value is the two
     * values joined by '*' (missing when either is), learnt like any other
     * category and kept in the model, so scoring builds it from the inputs.
     */
    const char *crosses;
} crm_train_options;

/* Version 1 (without crosses) is still accepted. */
#define CRM_TRAIN_OPTIONS_VERSION 2
#define CRM_TRAIN_OPTIONS_INIT \
    { CRM_TRAIN_OPTIONS_VERSION, CRM_MODEL_LOGISTIC, NULL, 0.2, 20261125u, 1.0, 1.0, 10, { 75, 50, 25 }, NULL }

/**
 * Train a model on a dataset. Deterministic for a given dataset and options.
 * The rows not held back train the model; the AUC is measured on the rest.
 *
 * @param[out] out  the model, owned by the caller; free with crm_model_free()
 * @param[in]  ds   the rows; needs both labels among the training rows
 * @param[in]  opts options, or NULL for the defaults
 * @return 0, CRM_EINVALID (options, or one label only), CRM_ENOMEM
 */
CRM_EXTERN(int) crm_model_train(crm_model **out, const crm_dataset *ds, const crm_train_options *opts);

/**
 * The probability that a row converts, and its grade and reasons.
 *
 * @param[out] out    the score
 * @param[in]  model  a trained model
 * @param[in]  values crm_model_feature_count() texts, one per feature in
 *                    the order of crm_model_feature_name() (NULL or "" is
 *                    missing; an unparsable number counts as missing)
 * @return 0, or CRM_EINVALID for a rule model or a NULL argument
 */
CRM_EXTERN(int) crm_model_score_values(crm_score *out, const crm_model *model, const char *const *values);

/**
 * ROC AUC of scores against labels (ties count one half).
 *
 * @param[out] out the AUC, 0..1
 * @return 0, or CRM_EINVALID when n is 0 or only one label occurs
 */
CRM_EXTERN(int) crm_roc_auc(double *out, const double *scores, const int *labels, size_t n);

/* ---- models in the database and scoring stored leads --------------------- */

/**
 * Store a model as the newest version of its name. The model's version
 * becomes the stored one. Needs an unscoped handle (models are OEM-wide).
 * Audited ("model.saved").
 *
 * @return 0, CRM_EPERM for a scoped handle, CRM_ESTORAGE, CRM_EBUSY
 */
CRM_EXTERN(int) crm_model_save(crm_db *db, crm_model *model);

/**
 * Load a stored model.
 *
 * @param[out] out     the model, owned by the caller; free with crm_model_free()
 * @param[in]  name    its name
 * @param[in]  version a version, or 0 for the newest
 * @return 0, CRM_ENOTFOUND, CRM_ESTORAGE (a stored document this library refuses)
 */
CRM_EXTERN(int) crm_model_load(crm_model **out, crm_db *db, const char *name, int version);

/**
 * Train a model on the stored leads that have an outcome: ordered or
 * delivered (converted) and lost (not converted); within the handle's scope.
 * The features are channel, campaign, province, city, model,
 * purchase_timeline and test_drive.
 *
 * @param[out] out the model (not saved), owned by the caller
 * @return 0, CRM_EINVALID (too few outcomes: both kinds are needed), errors of storage
 */
CRM_EXTERN(int) crm_model_train_leads(crm_model **out, crm_db *db, const crm_train_options *opts);

/**
 * Score one stored lead and keep the score and grade on it (audited as
 * "lead.scored" with the model and the reasons). Signals come from the
 * lead's attributes (see crm_lead_signals); decays are measured to
 * crm_db_now().
 *
 * @param[out] out the score; may be NULL
 * @return 0, CRM_ENOTFOUND, CRM_EINVALID, errors of storage
 */
CRM_EXTERN(int) crm_lead_score(crm_score *out, crm_db *db, const crm_model *model, const char *id);

/**
 * Score every lead in the handle's scope again (after a model changed), in
 * one transaction. Only leads whose score or grade changes are written.
 *
 * @param[out] changed how many leads got a new score or grade; may be NULL
 * @return 0, or an error (nothing changed)
 */
CRM_EXTERN(int) crm_lead_rescore_all(size_t *changed, crm_db *db, const crm_model *model);

/**
 * Score leads on ingest: from now on a lead that crm_lead_ingest() on this
 * handle stores is scored with this model in the same transaction as its
 * insert; its score and grade are stored on it, its "lead.created" event
 * records {"model", "version", "score", "grade", "reasons"} (the top
 * CRM_SCORE_EVENT_REASONS reasons) and the crm_ingest_result carries the
 * score and grade. Duplicates are not scored and change no stored score.
 * Signals come from the lead's attributes as for crm_lead_score(). A failed
 * score fails the ingest (nothing stored). Replaces an earlier model.
 *
 * @param[in] db         the handle; the model lives as long as it (or until
 *                       crm_score_disable())
 * @param[in] model_json a model document (crm_model_from_json()); a stored
 *                       one is crm_model_load() then crm_model_to_json()
 * @return 0, CRM_EINVALID (the message names the JSON path; the handle's
 *         setting is unchanged), CRM_ENOMEM
 */
CRM_EXTERN(int) crm_score_enable(crm_db *db, const char *model_json);

/** How many reasons the "lead.created" event of a lead scored on ingest keeps. */
#define CRM_SCORE_EVENT_REASONS 3

/** Stop scoring on ingest and free the model. NULL is a no-op. */
CRM_EXTERN(void) crm_score_disable(crm_db *db);

#ifdef __cplusplus
}
#endif

#endif /* CRM_SCORE_H */
