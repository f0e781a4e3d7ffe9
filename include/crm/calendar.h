/*
 * crmcore — business calendars.
 *
 * A calendar says when people work: opening hours per weekday, China's
 * public holidays and make-up workdays (调休: a Saturday or Sunday that is a
 * working day) as the library ships them for recent years, and a dealer's
 * own closed days and extra working days. SLA clocks count business minutes
 * on a calendar; time inside a pause (waiting for the customer) does not
 * count.
 *
 * A calendar is a JSON document:
 *
 *     {
 *       "utc_offset_minutes": 480,           // local time = UTC + this; default 480 (China)
 *       "national_holidays": "cn",           // "cn" (default) or "none"
 *       "hours": {                           // default: mon..fri 09:00-18:00
 *         "mon": ["09:00-12:00", "13:00-18:00"], ..., "sat": ["09:00-12:00"], "sun": []
 *       },
 *       "workday_hours": ["09:00-18:00"],    // hours of a make-up workday; default: Monday's
 *       "holidays": ["2025-12-24"],          // the dealer's own closed days
 *       "workdays": ["2025-12-27"]           // the dealer's own extra working days
 *     }
 *
 * A weekday missing from "hours" is closed. The dealer's own days win over
 * the national ones, which win over the weekly hours. Outside the years the
 * library ships (crm_calendar_cn_years()), only the weekly hours and the
 * dealer's own days apply.
 */
#ifndef CRM_CALENDAR_H
#define CRM_CALENDAR_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A business calendar. Opaque; immutable once made, so it may be shared. */
typedef struct crm_calendar crm_calendar;

/** A span of time [from, to) in Unix ms UTC; to == 0 means it has not ended. */
typedef struct crm_interval {
    int64_t from; /**< start, inclusive */
    int64_t to;   /**< end, exclusive; 0 while open */
} crm_interval;

/** The due time returned while an open pause stops the clock. */
#define CRM_TIME_NEVER INT64_MAX

/**
 * Make a calendar from a JSON document (see the top of this header).
 *
 * @param[out] out  the calendar, owned by the caller; free with crm_calendar_free()
 * @param[in]  json the document, or NULL for the default (China, UTC+8,
 *                  Monday to Friday 09:00-18:00, national holidays)
 * @return 0, or CRM_EINVALID with the JSON path at fault
 *         ("calendar.hours.sat[0]: expected \"HH:MM-HH:MM\"")
 */
CRM_EXTERN(int) crm_calendar_new(crm_calendar **out, const char *json);

/** Free a calendar; NULL is a no-op. */
CRM_EXTERN(void) crm_calendar_free(crm_calendar *cal);

/**
 * The due time: `minutes` business minutes after `start`, not counting the
 * pauses. Reaching the end of a working span exactly gives that end (18:00,
 * not 09:00 the next working day).
 *
 * @param[out] out      the due time, Unix ms UTC; CRM_TIME_NEVER when an
 *                      open pause (to == 0) stops the clock before it is due
 * @param[in]  cal      the calendar
 * @param[in]  start    when the clock starts
 * @param[in]  minutes  business minutes, >= 0
 * @param[in]  pauses   spans that do not count, sorted, not overlapping; may be NULL when n_pauses is 0
 * @param[in]  n_pauses how many
 * @return 0, or CRM_EINVALID (a negative count, unsorted pauses, or a
 *         calendar without a working minute in ten years)
 */
CRM_EXTERN(int) crm_calendar_due(int64_t *out, const crm_calendar *cal, int64_t start, int64_t minutes,
                                 const crm_interval *pauses, size_t n_pauses);

/**
 * Business time between two instants, not counting the pauses.
 *
 * @param[out] out_ms   business milliseconds in [from, to); 0 when to <= from
 * @param[in]  cal      the calendar
 * @param[in]  from     start
 * @param[in]  to       end
 * @param[in]  pauses   as for crm_calendar_due(); an open pause lasts until `to`
 * @param[in]  n_pauses how many
 * @return 0, or CRM_EINVALID
 */
CRM_EXTERN(int) crm_calendar_elapsed(int64_t *out_ms, const crm_calendar *cal, int64_t from, int64_t to,
                                     const crm_interval *pauses, size_t n_pauses);

/**
 * Whether the local day containing `at` is a working day, and why.
 *
 * @param[out] out_working 1 working day, 0 closed
 * @param[out] out_reason  "weekday", "weekend", "national holiday", "make-up workday",
 *                         "dealer holiday" or "dealer workday"; a static string
 *                         (out_reason may be NULL)
 * @param[in]  cal         the calendar
 * @param[in]  at          any instant of that day, Unix ms UTC
 */
CRM_EXTERN(int) crm_calendar_is_workday(int *out_working, const char **out_reason, const crm_calendar *cal,
                                        int64_t at);

/**
 * The years for which the library ships China's holidays and make-up workdays.
 *
 * @param[out] first first year
 * @param[out] last  last year
 */
CRM_EXTERN(void) crm_calendar_cn_years(int *first, int *last);

#ifdef __cplusplus
}
#endif

#endif /* CRM_CALENDAR_H */
