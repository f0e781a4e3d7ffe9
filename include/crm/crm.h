/*
 * crmcore — the whole public API. Include this one header.
 */
#ifndef CRM_CRM_H
#define CRM_CRM_H

#include "common.h"
#include "db.h"
#include "lead.h"
#include "event.h"
#include "funnel.h"
#include "lifecycle.h"
#include "route.h"
#include "score.h"
#include "calendar.h"
#include "workorder.h"
#include "sla.h"
#include "customer.h"
#include "member.h"
#include "tag.h"
#include "vehicle.h"
#include "clean.h"
#include "match.h"
#include "lead_merge.h"

#endif /* CRM_CRM_H */
