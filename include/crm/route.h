/*
 * crmcore — routing leads to dealers and consultants.
 *
 * A router is made from rules in JSON:
 *
 * @code
 * {"tz_offset_minutes": 480,
 *  "a_grade_min_conversion": 0.12,
 *  "dealers": [
 *    {"id": "D1", "regions": ["上海", "上海市"], "weight": 2, "capacity": 120,
 *     "conversion": 0.15, "hours": ["09:00", "21:00"],
 *     "consultants": [{"id": "S-01", "capacity": 40, "weight": 1}, ...]},
 *    {"id": "D9", "regions": ["*"], ...}]}
 * @endcode
 *
 * A junk lead (crm_lead_quality) is not routed: it would spend a dealer's
 * capacity on nobody; "route_junk": true routes it like any other.
 *
 * For each lead it decides, in this order: territory (dealers whose regions
 * hold the lead's province or city; "*" dealers when none does), existing
 * relationship (a lead that already names a dealer of the territory stays
 * with it), working hours (dealers open now first), score awareness (A
 * leads go to dealers whose conversion is at least a_grade_min_conversion,
 * when one has room), capacity per dealer and per consultant per day
 * (never exceeded), then smooth weighted round-robin among what is left,
 * for the dealer and then its consultant. Every decision carries its reason.
 *
 * The daily counts live in the router; crm_lead_route() first counts in the
 * assignments already stored for the day (once per router and day), so
 * capacity holds across runs and processes that route one after another. A
 * new day, in the rules' time zone, starts from zero.
 */
#ifndef CRM_ROUTE_H
#define CRM_ROUTE_H

#include "common.h"
#include "db.h"
#include "lead.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A router: rules plus today's counts. Opaque; free with crm_router_free(). */
typedef struct crm_router crm_router;

/** Where a lead went and why. Plain data. */
typedef struct crm_route_result {
    char dealer_id[65];
    char owner_id[65];   /**< "" when the dealer lists no consultants */
    char reason[256];    /**< "territory 上海: D1, D2; open now; weighted round-robin -> D1; consultant S-01 (3/40 today)" */
} crm_route_result;

/**
 * Make a router from rules.
 *
 * @param[out] out  the router, owned by the caller; free with crm_router_free()
 * @param[in]  json the rules
 * @return 0, CRM_EINVALID naming the JSON path ("dealers[1].capacity:
 *         expected a positive integer"), CRM_ENOMEM
 */
CRM_EXTERN(int) crm_router_new(crm_router **out, const char *json);

/** Free a router. NULL is a no-op. */
CRM_EXTERN(void) crm_router_free(crm_router *router);

/**
 * Decide where a lead goes and count it against today's capacity. Reads
 * the lead's province, city, dealer_id and grade.
 *
 * @param[out] out    the decision
 * @param[in]  router the router
 * @param[in]  lead   the lead
 * @param[in]  now    the time (Unix ms): the day, and the working hours
 * @return 0, or CRM_ECONFLICT when no dealer of the territory has room left
 *         today, or the lead is junk (nothing is counted)
 */
CRM_EXTERN(int) crm_router_route(crm_route_result *out, crm_router *router, const crm_lead *lead, int64_t now);

/** How many leads went to a dealer (owner NULL) or a consultant today. */
CRM_EXTERN(int) crm_router_count(const crm_router *router, const char *dealer_id, const char *owner_id);

/**
 * Route a stored new lead and assign it (crm_lead_transition to assigned
 * with the dealer, consultant and the reason, so the stage and the audit
 * event say why), at crm_db_now(). A lead recycled before is not given back
 * to a dealer it was recycled from while another dealer of its territory
 * has room.
 *
 * The first call of a day counts in that day's stored assignments.
 *
 * @param[out] out the decision; may be NULL
 * @return 0, CRM_ECONFLICT (no room, the lead is not new, or it is junk), CRM_ENOTFOUND,
 *         errors of storage; when the assignment fails nothing is counted
 */
CRM_EXTERN(int) crm_lead_route(crm_route_result *out, crm_db *db, crm_router *router, const char *id);

#ifdef __cplusplus
}
#endif

#endif /* CRM_ROUTE_H */
