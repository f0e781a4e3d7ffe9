/* Shared by the libFuzzer targets: the input's first byte chooses what to
 * run, the rest is the text to run it on. */
#ifndef CRM_FUZZ_INPUT_H
#define CRM_FUZZ_INPUT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The bytes after the first as a NUL-terminated string (malloc'ed; free
 * it), or NULL for an empty input or when out of memory. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    if (size < 1)
        return NULL;
    char *text = malloc(size);
    if (text) {
        memcpy(text, data + 1, size - 1);
        text[size - 1] = '\0';
    }
    return text;
}

#endif
