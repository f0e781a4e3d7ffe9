#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "util/util.h"

static uint64_t xorshift128p(uint64_t s[2])
{
    uint64_t a = s[0];
    const uint64_t b = s[1];
    s[0] = b;
    a ^= a << 23;
    s[1] = a ^ b ^ (a >> 17) ^ (b >> 26);
    return s[1] + b;
}

void crm__idgen_init(crm_idgen *g)
{
    /* libuuid reads the system's random source; one call seeds the handle's
     * generator so that each id does not cost a system call. */
    uuid_t seed;
    uuid_generate_random(seed);
    memcpy(g->rng, seed, sizeof g->rng);
    if (g->rng[0] == 0 && g->rng[1] == 0)
        g->rng[1] = 0x9E3779B97F4A7C15ull;
    g->last_ms = 0;
    g->counter = 0;
}

void crm__idgen_next(crm_idgen *g, int64_t unix_ms, char out[CRM_ID_LEN + 1])
{
    if (unix_ms <= g->last_ms) {
        /* Same (or an earlier, fixed) millisecond: count up so ids still sort
         * in the order they were made; on overflow borrow the next ms. */
        unix_ms = g->last_ms;
        if (++g->counter > 0x0FFF) {
            g->counter = 0;
            unix_ms++;
        }
    } else {
        g->counter = (uint16_t)(xorshift128p(g->rng) & 0x01FF); /* low start leaves room */
    }
    g->last_ms = unix_ms;

    uint8_t b[16];
    uint64_t ts = (uint64_t)unix_ms & 0xFFFFFFFFFFFFull;
    for (int i = 0; i < 6; i++)
        b[i] = (uint8_t)(ts >> (40 - 8 * i));
    b[6] = (uint8_t)(0x70 | ((g->counter >> 8) & 0x0F));
    b[7] = (uint8_t)(g->counter & 0xFF);
    uint64_t r = xorshift128p(g->rng);
    for (int i = 0; i < 8; i++)
        b[8 + i] = (uint8_t)(r >> (8 * i));
    b[8] = (uint8_t)(0x80 | (b[8] & 0x3F)); /* RFC 9562 variant */
    uuid_unparse_lower(b, out);
}

bool crm__id_valid(const char *s)
{
    if (!s || strlen(s) != CRM_ID_LEN)
        return false;
    for (int i = 0; i < CRM_ID_LEN; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

int crm__id_list_push(crm_id_list *list, const char *id)
{
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 256;
        char(*p)[CRM_ID_LEN + 1] = realloc(list->ids, cap * sizeof *p);
        if (!p)
            return crm__error_nomem();
        list->ids = p;
        list->cap = cap;
    }
    snprintf(list->ids[list->n++], CRM_ID_LEN + 1, "%s", id);
    return 0;
}
