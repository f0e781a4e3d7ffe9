#include <stdlib.h>

#include "core/core.h"

int crm__iter_new(crm_iter **out, crm_db *db, crm_iter_kind kind, crm_backend_iter *cursor)
{
    crm_iter *it = calloc(1, sizeof *it);
    if (!it) {
        cursor->free(cursor);
        return crm__error_nomem();
    }
    it->kind = kind;
    it->cursor = cursor;
    it->db = db;
    it->next = db->iters;
    if (db->iters)
        db->iters->prev = it;
    db->iters = it;
    *out = it;
    return 0;
}

int crm__iter_step(crm_iter *iter, crm_iter_kind kind, void *record)
{
    static const char *const names[] = { "a lead", "an event", "a work order", "a comment" };
    if (iter->kind != kind)
        return crm_error_set(CRM_EINVALID, "iter: not %s iterator", names[kind]);
    if (!iter->db)
        return crm_error_set(CRM_ECONFLICT, "iter: its database was closed");
    return iter->cursor->next(iter->cursor, record);
}

void crm__iter_detach(crm_iter *iter)
{
    if (!iter->db)
        return;
    if (iter->prev)
        iter->prev->next = iter->next;
    else
        iter->db->iters = iter->next;
    if (iter->next)
        iter->next->prev = iter->prev;
    iter->prev = iter->next = NULL;
    iter->db = NULL;
    iter->cursor->free(iter->cursor);
    iter->cursor = NULL;
}

void crm_iter_free(crm_iter *iter)
{
    if (!iter)
        return;
    crm__iter_detach(iter);
    free(iter);
}
