/*
 * crmcore — the conversion funnel.
 *
 * How many leads reached each stage of the lifecycle (new → assigned →
 * contacted → visited → test_drive → ordered → delivered), the conversion
 * from each stage to the next, how long leads stayed in each stage, and the
 * response time from assignment to first contact; overall or by channel,
 * campaign, dealer, model of interest or month of creation.
 *
 * A lead "reached" a stage when it got there or further (stages may be
 * skipped forward), so the counts never grow down the funnel. Lost and
 * invalid leads count in the stages they reached before closing.
 */
#ifndef CRM_FUNNEL_H
#define CRM_FUNNEL_H

#include "common.h"
#include "db.h"
#include "lead.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The stages of the funnel: new (0) to delivered (6). */
#define CRM_FUNNEL_STAGES 7

/** What the rows of a funnel are grouped by. */
typedef enum crm_funnel_by {
    CRM_FUNNEL_ALL = 0,      /**< one row, group "all" */
    CRM_FUNNEL_CHANNEL = 1,
    CRM_FUNNEL_CAMPAIGN = 2,
    CRM_FUNNEL_DEALER = 3,
    CRM_FUNNEL_MODEL = 4,    /**< the vehicle model of interest */
    CRM_FUNNEL_MONTH = 5     /**< month of created_at, "2026-01" */
} crm_funnel_by;

/** Which leads and how to group them. Initialise with CRM_FUNNEL_OPTIONS_INIT. */
typedef struct crm_funnel_options {
    unsigned int version;   /**< CRM_FUNNEL_OPTIONS_VERSION */
    crm_funnel_by by;
    int64_t created_from;   /**< created_at >= this (Unix ms); 0: no bound */
    int64_t created_to;     /**< created_at < this; 0: no bound */
    int tz_offset_minutes;  /**< for CRM_FUNNEL_MONTH: the months of this offset from UTC (480 for China) */
} crm_funnel_options;

#define CRM_FUNNEL_OPTIONS_VERSION 1
#define CRM_FUNNEL_OPTIONS_INIT { CRM_FUNNEL_OPTIONS_VERSION, CRM_FUNNEL_ALL, 0, 0, 0 }

/** One row of a funnel: one group. Strings borrowed from the funnel. */
typedef struct crm_funnel_row {
    const char *group;                       /**< the group's value; "(none)" when the lead has none */
    int64_t reached[CRM_FUNNEL_STAGES];      /**< leads that reached stage s; reached[0] is every lead */
    double conversion[CRM_FUNNEL_STAGES];    /**< reached[s] / reached[s - 1] (0 when reached[s - 1] is 0); conversion[0] = 1 */
    int64_t lost, invalid;                   /**< leads closed as lost, as invalid */
    double avg_stage_ms[CRM_FUNNEL_STAGES];  /**< mean time in stage s of the leads that left it, or -1 */
    int64_t responded;                       /**< leads contacted (or further) after an assignment */
    double avg_response_ms;                  /**< their mean time from assignment to that contact, or -1 */
} crm_funnel_row;

/** A computed funnel: rows sorted by group. Opaque; free with crm_funnel_free(). */
typedef struct crm_funnel crm_funnel;

/**
 * Compute a funnel over the leads in the handle's scope. Leads and their
 * stages stream from storage; memory grows with the number of groups only.
 *
 * @param[out] out  the funnel, owned by the caller; free with crm_funnel_free()
 * @param[in]  opts options, or NULL for one row over every lead
 * @return 0, CRM_EINVALID (options), errors of storage
 */
CRM_EXTERN(int) crm_funnel_compute(crm_funnel **out, crm_db *db, const crm_funnel_options *opts);

/** How many rows. */
CRM_EXTERN(size_t) crm_funnel_row_count(const crm_funnel *funnel);

/** Row i (borrowed, lives as long as the funnel), or NULL when out of range. */
CRM_EXTERN(const crm_funnel_row *) crm_funnel_row_at(const crm_funnel *funnel, size_t i);

/**
 * The funnel as JSON: {"by": "channel", "stages": [...], "rows": [{"group",
 * "reached": {...}, "conversion": {...}, "lost", "invalid",
 * "avg_stage_hours": {...}, "responded", "avg_response_hours"}]}.
 *
 * @param[out] out NUL-terminated JSON, owned by the caller; free with crm_free()
 */
CRM_EXTERN(int) crm_funnel_to_json(char **out, const crm_funnel *funnel);

/**
 * The funnel as CSV (RFC 4180, header line first): group, the count per
 * stage, the conversion per stage after new, lost, invalid, responded,
 * avg_response_hours.
 *
 * @param[out] out NUL-terminated text, owned by the caller; free with crm_free()
 */
CRM_EXTERN(int) crm_funnel_to_csv(char **out, const crm_funnel *funnel);

/** The name of a grouping ("all", "channel", ...), or NULL. */
CRM_EXTERN(const char *) crm_funnel_by_name(crm_funnel_by by);

/** Parse a grouping name; CRM_EINVALID for an unknown one. */
CRM_EXTERN(int) crm_funnel_by_parse(crm_funnel_by *out, const char *name);

/** Free a funnel. NULL is a no-op. */
CRM_EXTERN(void) crm_funnel_free(crm_funnel *funnel);

#ifdef __cplusplus
}
#endif

#endif /* CRM_FUNNEL_H */
