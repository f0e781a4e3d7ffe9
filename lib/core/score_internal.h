/* Scoring models: the shared representation of rule and trained models. */
#ifndef CRM_SCORE_INTERNAL_H
#define CRM_SCORE_INTERNAL_H

#include <cjson/cJSON.h>

#include "core/core.h"
#include "crm/score.h"

/* How many positive and negative reasons a trained model gives. */
#define CRM_MODEL_TOP_REASONS 3

/* The lead fields a trained model can read, by feature name. */
typedef enum lead_feature {
    LF_NONE = -1,
    LF_CHANNEL,
    LF_CAMPAIGN,
    LF_PROVINCE,
    LF_CITY,
    LF_MODEL,
    LF_PURCHASE_TIMELINE,
    LF_TEST_DRIVE,
    LF_COUNT
} lead_feature;

extern const char *const crm__lead_feature_names[LF_COUNT];

/* One feature of a trained model: a block of one-hot slots. A category
 * feature has a slot per value seen in training plus "(other)"; a number
 * feature has a slot per quantile bin plus "(missing)". */
typedef struct model_feature {
    char *name;
    crm_column_kind kind;
    lead_feature lead_field;
    size_t base;     /* index of the first slot in model->w */
    size_t n_slots;
    char **labels;   /* per slot: the category, or the bin "[a, b)" */
    /* category: open-addressing table of slot+1 by hash (0 is empty) */
    uint32_t *table;
    size_t table_mask;
    /* number: bin i holds cuts[i-1] <= x < cuts[i] */
    double *cuts;
    size_t n_cuts;
    double baseline; /* the weight an average training row gets from this feature */
    /* a cross: the two input features (category) whose values it joins */
    size_t cross[2];
    bool is_cross;
} model_feature;

typedef struct rule_model rule_model;

struct crm_model {
    crm_model_kind kind;
    char *name;
    int version;
    int64_t trained_at;
    int bands[3]; /* lowest score of A, B, C */
    /* trained */
    double auc;   /* < 0: none measured */
    size_t n_train, n_holdout;
    size_t n_features; /* the inputs, then the crosses */
    size_t n_inputs;
    model_feature *features;
    size_t n_slots;
    double bias;
    double *w;
    /* rules */
    rule_model *rules;
};

/* Allocate an empty model of a kind with the default bands. */
crm_model *crm__model_alloc(crm_model_kind kind);

/* The slot a category text falls in (the "(other)" slot when unseen). */
size_t crm__feature_category_slot(const model_feature *f, const char *text);
/* The slot of a number (NaN: the "(missing)" slot). */
size_t crm__feature_number_slot(const model_feature *f, double x);

/* The slot of a cross from its two input texts (NULL or "": missing). */
size_t crm__feature_cross_slot(const model_feature *f, const char *a, const char *b);

/* Grade of a 0..100 score from the bands. */
void crm__grade(char out[2], const int bands[3], int score);

/* Parse "grades": {"A": a, "B": b, "C": c} (absent: keep the defaults). */
int crm__parse_grades(int bands[3], const cJSON *doc);
bool crm__add_grades(cJSON *doc, const int bands[3]);

/* Rule models (score_rules.c). */
int crm__rules_parse(crm_model *m, const cJSON *doc);
void crm__rules_free(rule_model *r);
cJSON *crm__rules_to_cjson(const crm_model *m);
void crm__rules_score(crm_score *out, const crm_model *m, const crm_lead *lead,
                      const crm_lead_signals *signals, int64_t now);

/* Trained models (score_model.c). */
int crm__trained_parse(crm_model *m, const cJSON *doc);
cJSON *crm__trained_to_cjson(const crm_model *m);
void crm__trained_score_slots(crm_score *out, const crm_model *m, const size_t *slots);

#endif
