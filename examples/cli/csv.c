/*
 * crm — RFC 4180 CSV reader.
 *
 * Lenient where the RFC leaves room and nothing is lost: a quote inside an
 * unquoted field is kept as data, and text after a closing quote is
 * appended. An opening quote that is never closed is an error, because it
 * would silently swallow the rest of the file.
 */
#include "csv.h"

#include <stdlib.h>
#include <string.h>

void csv_init(csv_reader *r, FILE *f)
{
    memset(r, 0, sizeof *r);
    r->f = f;
    r->line = 1;
}

void csv_free(csv_reader *r)
{
    free(r->buf);
    free(r->offs);
    r->buf = NULL;
    r->offs = NULL;
}

static int put_raw(csv_reader *r, int c)
{
    if (r->len + 1 >= r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 256;
        char *nb = realloc(r->buf, ncap);
        if (!nb)
            return -1;
        r->buf = nb;
        r->cap = ncap;
    }
    r->buf[r->len++] = (char)c;
    return 0;
}

/* A data byte; NUL is noted, since the field would end early at it. */
static int put_byte(csv_reader *r, int c)
{
    if (c == '\0')
        r->has_nul = 1;
    return put_raw(r, c);
}

/* End the current field and start the next one. */
static int start_field(csv_reader *r)
{
    if (r->nfields == r->cap_fields) {
        size_t ncap = r->cap_fields ? r->cap_fields * 2 : 16;
        size_t *no = realloc(r->offs, ncap * sizeof *no);
        if (!no)
            return -1;
        r->offs = no;
        r->cap_fields = ncap;
    }
    r->offs[r->nfields++] = r->len;
    return 0;
}

static int end_field(csv_reader *r)
{
    return put_raw(r, '\0');
}

/* Consume a line break whose first character c was already read. */
static void eat_newline(csv_reader *r, int c)
{
    if (c == '\r') {
        int n = getc(r->f);
        if (n != '\n' && n != EOF)
            ungetc(n, r->f);
    }
    r->line++;
}

int csv_read(csv_reader *r, unsigned long *start_line)
{
    int c, quoted_any = 0;

    r->len = 0;
    r->nfields = 0;
    r->has_nul = 0;
    r->blank = 0;
    r->error = NULL;
    *start_line = r->line;

    c = getc(r->f);
    if (c == EOF) {
        if (ferror(r->f)) {
            r->error = "read error";
            return -1;
        }
        return 0;
    }
    if (start_field(r))
        goto nomem;
    for (;;) {
        if (c == '"') {
            /* A quoted field (or a quoted part of one). */
            quoted_any = 1;
            for (;;) {
                c = getc(r->f);
                if (c == EOF) {
                    r->error = ferror(r->f) ? "read error" : "unterminated quoted field";
                    return -1;
                }
                if (c == '"') {
                    c = getc(r->f);
                    if (c == '"') {
                        if (put_byte(r, '"'))
                            goto nomem;
                        continue;
                    }
                    break; /* c is the character after the closing quote */
                }
                if (c == '\n' || c == '\r') {
                    /* A line break inside quotes is data; keep CRLF as LF. */
                    if (c == '\r') {
                        int n = getc(r->f);
                        if (n != '\n' && n != EOF)
                            ungetc(n, r->f);
                    }
                    r->line++;
                    c = '\n';
                }
                if (put_byte(r, c))
                    goto nomem;
            }
        }
        /* Unquoted data up to a separator or the end of the record. */
        while (c != ',' && c != '\n' && c != '\r' && c != EOF) {
            if (put_byte(r, c))
                goto nomem;
            c = getc(r->f);
        }
        if (end_field(r))
            goto nomem;
        if (c == ',') {
            if (start_field(r))
                goto nomem;
            c = getc(r->f);
            continue;
        }
        if (c == EOF) {
            if (ferror(r->f)) {
                r->error = "read error";
                return -1;
            }
        } else {
            eat_newline(r, c);
        }
        break;
    }
    r->blank = r->nfields == 1 && r->buf[r->offs[0]] == '\0' && !quoted_any;
    return 1;

nomem:
    r->error = "out of memory";
    return -1;
}

const char *csv_field(const csv_reader *r, size_t i)
{
    return r->buf + r->offs[i];
}
