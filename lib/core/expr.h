/* The small expression language of rule tags and segments (see crm/tag.h).
 * Parsing is bounded (length, depth) and evaluation only reads: a rule
 * cannot loop, allocate per customer, or reach anything but the facts. */
#ifndef CRM_CORE_EXPR_H
#define CRM_CORE_EXPR_H

#include <stdbool.h>

#include "crm/sys/backend.h"

typedef struct crm_expr crm_expr;

typedef enum crm_expr_mode {
    CRM_EXPR_RULE,   /* comparisons over customer facts */
    CRM_EXPR_SEGMENT /* tag names combined with and/or/not */
} crm_expr_mode;

/* Parse text; `what` prefixes errors ("rule", "segment"). `now` resolves
 * relative times. */
int crm__expr_parse(crm_expr **out, const char *text, crm_expr_mode mode, const char *what, int64_t now);
void crm__expr_free(crm_expr *e);

/* Rule mode: the CRM_FACTS_* parts of the facts the rule reads. */
unsigned crm__expr_needs(const crm_expr *e);

/* Rule mode: does a customer match? */
bool crm__expr_match(const crm_expr *e, const crm_customer_facts *f);

/* Segment mode: the tree, walked by the evaluator in tag.c. */
typedef enum crm_expr_op { CRM_EXPR_AND, CRM_EXPR_OR, CRM_EXPR_NOT, CRM_EXPR_TAG, CRM_EXPR_OTHER } crm_expr_op;
crm_expr_op crm__expr_op(const crm_expr *e);
const crm_expr *crm__expr_left(const crm_expr *e);  /* AND, OR, NOT */
const crm_expr *crm__expr_right(const crm_expr *e); /* AND, OR */
const char *crm__expr_tag(const crm_expr *e);       /* TAG */
int crm__expr_column(const crm_expr *e);            /* where a node starts, 1-based */

#endif
