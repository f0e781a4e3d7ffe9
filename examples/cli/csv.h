/*
 * crm — an RFC 4180 CSV reader that streams records from a FILE.
 *
 * Fields may be quoted; inside quotes a doubled quote is a quote and commas
 * and line breaks are data. Lines end with LF, CRLF or CR. The reader keeps
 * the physical line number so errors can point at the line a record starts.
 */
#ifndef CRM_CLI_CSV_H
#define CRM_CLI_CSV_H

#include <stddef.h>
#include <stdio.h>

typedef struct csv_reader {
    FILE *f;
    unsigned long line;   /* physical line the next record starts on (1-based) */
    char *buf;            /* the current record's fields, each NUL-terminated */
    size_t len, cap;
    size_t *offs;         /* start of each field in buf */
    size_t nfields, cap_fields;
    int has_nul;          /* the record contained a NUL byte */
    int blank;            /* the record is an empty line */
    const char *error;    /* why the last csv_read() failed */
} csv_reader;

/* Start reading f (not owned). */
void csv_init(csv_reader *r, FILE *f);

/* Free the reader's buffers (not the FILE). */
void csv_free(csv_reader *r);

/*
 * Read the next record. *start_line gets the line it starts on.
 * Returns 1 for a record, 0 at the end of the input, -1 on an error
 * (r->error says what: an unterminated quote, out of memory, a read error).
 */
int csv_read(csv_reader *r, unsigned long *start_line);

/* Field i of the current record (i < r->nfields); NUL-terminated. */
const char *csv_field(const csv_reader *r, size_t i);

#endif /* CRM_CLI_CSV_H */
