/*
 * crmcore — the audit trail.
 *
 * Every write appends an event in the same transaction as the write, so the
 * trail and the data never disagree. Events are read back per record.
 */
#ifndef CRM_EVENT_H
#define CRM_EVENT_H

#include "common.h"
#include "db.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * An audit event. Strings are UTF-8; a borrowed event lives until the next
 * call on its iterator.
 */
typedef struct crm_event {
    const char *id;          /**< UUID (time-ordered) */
    int64_t at;              /**< when, Unix ms UTC */
    const char *kind;        /**< "lead.created", "lead.duplicate", ... */
    const char *entity_type; /**< "lead", ... */
    const char *entity_id;   /**< the record the event is about */
    const char *dealer_id;   /**< the record's dealer, or NULL */
    const char *actor;       /**< who acted (crm_db_set_actor) */
    const char *data;        /**< a JSON object with the details, or NULL */
} crm_event;

/**
 * List the events of one record, oldest first, within the handle's scope.
 *
 * @param[out] out       the iterator, owned by the caller; free with crm_iter_free()
 * @param[in]  db        the handle; must outlive the iterator
 * @param[in]  entity_id the record (a UUID, or a natural key such as a tag
 *                       name or a VIN); read during the call, not kept
 */
CRM_EXTERN(int) crm_event_iter_new(crm_iter **out, crm_db *db, const char *entity_id);

/**
 * The next event.
 *
 * @param[out] out the event, borrowed until the next call on the iterator
 * @return 0, CRM_ITEROVER at the end, or an error
 */
CRM_EXTERN(int) crm_event_next(const crm_event **out, crm_iter *iter);

/**
 * Render an event as a JSON object.
 *
 * @param[out] out NUL-terminated JSON, owned by the caller; free with crm_free()
 */
CRM_EXTERN(int) crm_event_to_json(char **out, const crm_event *event);

#ifdef __cplusplus
}
#endif

#endif /* CRM_EVENT_H */
