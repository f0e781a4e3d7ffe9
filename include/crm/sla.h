/*
 * crmcore — SLA policies, escalation and SLA analytics for work orders.
 *
 * A policy is a JSON document: business calendars (a default one and one
 * per dealer, see calendar.h) and rules matched in order against a work
 * order's type, priority and channel. A rule sets the first-response and
 * resolution targets in business minutes, a warning threshold, and
 * escalation levels with their actions:
 *
 *     {
 *       "calendars": { "default": { ... }, "dealers": { "D3101001": { ... } } },
 *       "rules": [
 *         { "name": "urgent complaints",
 *           "match": { "type": ["complaint"], "priority": [1, 2], "channel": ["dcc", "app"] },
 *           "first_response_minutes": 30,
 *           "resolution_minutes": 480,
 *           "warning_percent": 80,
 *           "escalations": [
 *             { "after_minutes": 0,   "actions": [ { "action": "notify", "to": "supervisor" } ] },
 *             { "after_minutes": 240, "actions": [ { "action": "reassign", "assignee": "lead-1", "queue": "l2" },
 *                                                  { "action": "raise_priority" } ] } ] }
 *       ]
 *     }
 *
 * A missing "match" key matches anything; the first matching rule applies.
 * Escalation level k is reached when the resolution target is overrun by
 * its after_minutes (business minutes; 0 = at the breach). Business time
 * is counted on the dealer's calendar (else the default one, else the
 * built-in China calendar) and stops while the order waits for the customer.
 */
#ifndef CRM_SLA_H
#define CRM_SLA_H

#include "common.h"
#include "db.h"
#include "workorder.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A parsed SLA policy. Opaque, immutable, shareable. */
typedef struct crm_sla_policy crm_sla_policy;

/**
 * Parse and validate a policy.
 *
 * @param[out] out  the policy, owned by the caller; free with crm_sla_policy_free()
 * @param[in]  json the document
 * @return 0, or CRM_EINVALID naming the JSON path
 *         ("policy.rules[2].resolution_minutes: expected a positive integer")
 */
CRM_EXTERN(int) crm_sla_policy_new(crm_sla_policy **out, const char *json);

/** Free a policy; NULL is a no-op. */
CRM_EXTERN(void) crm_sla_policy_free(crm_sla_policy *policy);

/** Where one SLA target stands. */
typedef enum crm_sla_state {
    CRM_SLA_NONE = 0,     /**< no rule applies */
    CRM_SLA_RUNNING = 1,  /**< open, within the target */
    CRM_SLA_WARNING = 2,  /**< open, past the warning threshold */
    CRM_SLA_BREACHED = 3, /**< open and overdue, or done late */
    CRM_SLA_MET = 4       /**< done within the target */
} crm_sla_state;

/** One work order measured against its rule at a time. Plain data. */
typedef struct crm_sla_status {
    char rule[64];               /**< the rule's name; "" when none applies */
    crm_sla_state response;      /**< first response */
    crm_sla_state resolution;
    int64_t response_due;        /**< Unix ms; CRM_TIME_NEVER while paused; 0 without a rule */
    int64_t resolution_due;
    int64_t response_ms;         /**< business ms to the first response (or until `at`) */
    int64_t resolution_ms;       /**< business ms to the resolution (or until `at`) */
    int level;                   /**< escalation level reached at `at` (0: none) */
} crm_sla_status;

/**
 * Measure a work order against the policy as of a time.
 *
 * @param[out] out    the status
 * @param[in]  policy the policy
 * @param[in]  wo     the work order
 * @param[in]  at     as of when (Unix ms); times after it are ignored
 * @return 0, or CRM_EINVALID / CRM_ESTORAGE (unreadable pauses)
 */
CRM_EXTERN(int) crm_sla_evaluate(crm_sla_status *out, const crm_sla_policy *policy, const crm_workorder *wo,
                                 int64_t at);

/** What an escalation run did. */
typedef struct crm_escalation_result {
    size_t scanned;     /**< open work orders looked at */
    size_t warnings;    /**< warnings raised (first response or resolution) */
    size_t breaches;    /**< breaches raised */
    size_t escalations; /**< escalation levels applied */
    size_t changed;     /**< work orders written */
} crm_escalation_result;

/**
 * Find the open work orders (within the scope) that passed a warning
 * threshold, breached a target or reached an escalation level as of
 * `as_of`, and apply what is due: an audit event per warning and breach
 * ("workorder.sla_warning", "workorder.sla_breach"), and per new level its
 * actions (reassign, raise_priority, notify = a "workorder.sla_notify"
 * event a host consumes with crm_workorder_events_iter_new()) and a
 * "workorder.escalated" event. What was
 * raised is remembered on the work order (sla_flags, escalation_level), so
 * a second run as of the same time changes nothing. The run is one
 * transaction: on error nothing changes.
 *
 * @param[out] out    counts; may be NULL
 * @param[in]  db     the handle
 * @param[in]  policy the policy
 * @param[in]  as_of  the time to judge by (Unix ms), e.g. crm_db_now(db)
 */
CRM_EXTERN(int) crm_sla_escalate(crm_escalation_result *out, crm_db *db, const crm_sla_policy *policy,
                                 int64_t as_of);

/** How crm_sla_report() groups work orders. */
typedef enum crm_sla_group {
    CRM_SLA_GROUP_NONE = 0,   /**< one group, key "all" */
    CRM_SLA_GROUP_QUEUE = 1,
    CRM_SLA_GROUP_DEALER = 2,
    CRM_SLA_GROUP_TYPE = 3,
    CRM_SLA_GROUP_MONTH = 4   /**< month created, "2025-11", in China time (UTC+8) */
} crm_sla_group;

/** Options of crm_sla_report(). Initialise with CRM_SLA_REPORT_OPTIONS_INIT. */
typedef struct crm_sla_report_options {
    unsigned int version;     /**< CRM_SLA_REPORT_OPTIONS_VERSION */
    crm_sla_group group_by;
    int64_t as_of;            /**< judge as of this time; 0: crm_db_now() */
    int64_t created_from;     /**< only work orders created at or after; 0: no bound */
    int64_t created_to;       /**< only those created before; 0: no bound */
} crm_sla_report_options;

#define CRM_SLA_REPORT_OPTIONS_VERSION 1
#define CRM_SLA_REPORT_OPTIONS_INIT { CRM_SLA_REPORT_OPTIONS_VERSION, CRM_SLA_GROUP_NONE, 0, 0, 0 }

/**
 * SLA analytics over the work orders in the handle's scope, per group:
 *
 *     {"as_of": "...", "group_by": "queue", "groups": [
 *       {"key": "l1", "count": 120, "open": 30,
 *        "first_response": {"met": 80, "breached": 10, "compliance": 0.889,
 *                           "mean_minutes": 41.5, "p90_minutes": 95.0},
 *        "resolution": { ... the same ... },
 *        "backlog_by_age": {"0-1d": 12, "1-3d": 9, "3-7d": 6, "7d+": 3}}]}
 *
 * Compliance is met / (met + breached), where open orders past their
 * target count as breached; it is null when nothing was decided yet. The
 * "open" counts the orders not resolved as of then. The
 * mean and the 90th percentile (nearest rank) are business minutes to the
 * first response / the resolution of the orders that had one. Backlog ages
 * are wall-clock days since creation of the open orders. Groups are sorted
 * by key; orders without a value for the key are grouped under "".
 *
 * @param[out] out    NUL-terminated JSON, owned by the caller; free with crm_free()
 * @param[in]  db     the handle
 * @param[in]  policy the SLA policy that defines the targets
 * @param[in]  opts   options, or NULL for the defaults
 */
CRM_EXTERN(int) crm_sla_report(char **out, crm_db *db, const crm_sla_policy *policy,
                               const crm_sla_report_options *opts);

#ifdef __cplusplus
}
#endif

#endif /* CRM_SLA_H */
