#include <stdlib.h>

#include "core/core.h"

int crm__iter_new(crm_iter **out, crm_iter_kind kind, crm_backend_iter *cursor)
{
    crm_iter *it = calloc(1, sizeof *it);
    if (!it) {
        cursor->free(cursor);
        return crm__error_nomem();
    }
    it->kind = kind;
    it->cursor = cursor;
    *out = it;
    return 0;
}

void crm_iter_free(crm_iter *iter)
{
    if (!iter)
        return;
    iter->cursor->free(iter->cursor);
    free(iter);
}
