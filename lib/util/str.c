#include <stdlib.h>
#include <string.h>

#include "util/util.h"

char *crm__strdup(const char *s)
{
    return s ? crm__strndup(s, strlen(s)) : NULL;
}

char *crm__strndup(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

uint32_t crm__hash_text(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

bool crm__utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str, *end = s + len;
    while (s < end) {
        unsigned char c = *s;
        if (c < 0x80) {
            s++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false; /* continuation byte first, C0/C1 overlong lead, or > F4 */
        }
        if ((size_t)(end - s) <= n)
            return false;
        for (size_t i = 1; i <= n; i++) {
            if ((s[i] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        s += n + 1;
    }
    return true;
}

void crm__buf_append(crm_buf *b, const char *s, size_t len)
{
    if (b->failed)
        return;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void crm__buf_puts(crm_buf *b, const char *s)
{
    crm__buf_append(b, s, strlen(s));
}

void crm__buf_free(crm_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = false;
}

void *crm__record_dup(const void *src, size_t struct_size, const char *const *const *fields, size_t nfields)
{
    size_t size = struct_size;
    for (size_t i = 0; i < nfields; i++)
        if (*fields[i])
            size += strlen(*fields[i]) + 1;
    char *copy = malloc(size);
    if (!copy)
        return NULL;
    memcpy(copy, src, struct_size);
    char *w = copy + struct_size;
    for (size_t i = 0; i < nfields; i++) {
        if (!*fields[i])
            continue;
        size_t n = strlen(*fields[i]) + 1;
        memcpy(w, *fields[i], n);
        /* Same member in the copy: same offset from the struct start. */
        memcpy(copy + ((const char *)fields[i] - (const char *)src), &w, sizeof w);
        w += n;
    }
    return copy;
}
