/*
 * crm import — load leads from NDJSON or CSV through crm_lead_ingest().
 *
 * Records are ingested in transactions of --batch records (1000 by
 * default). A record the library refuses is rolled back on its own (every
 * write runs in a nested transaction) and counted as rejected; the batch
 * goes on. A failure of the storage itself stops the import: the open
 * batch is rolled back and what was committed before stays.
 */
#include "cli.h"
#include "csv.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char import_usage[] =
    "usage: crm [GLOBAL OPTIONS] import [OPTIONS] FILE|-\n"
    "\n"
    "Import leads from FILE ('-' reads standard input). Each record goes through\n"
    "crm_lead_ingest: it is validated, normalised and checked for duplicates.\n"
    "\n"
    "Formats:\n"
    "  ndjson  one JSON object per line (blank lines are skipped)\n"
    "  csv     RFC 4180; a header row names the lead fields (channel, phone, name,\n"
    "          email, wechat_openid, wechat_unionid, campaign, province, city,\n"
    "          dealer_id, owner_id, model, purchase_timeline, test_drive,\n"
    "          attributes, created_at). An empty cell means the field is absent;\n"
    "          test_drive is true/false, 1/0, yes/no or 是/否; attributes holds a\n"
    "          JSON object as text.\n"
    "  The format follows the extension (.csv; .ndjson, .jsonl, .json); otherwise\n"
    "  (and for '-') a first character '{' means NDJSON, anything else CSV.\n"
    "\n"
    "Options:\n"
    "  --format csv|ndjson  the input format, whatever the name says\n"
    "  --errors FILE        write every rejected record to FILE as\n"
    "                       'line N: <field>: <why>' (otherwise the first 10 go\n"
    "                       to standard error)\n"
    "  --progress           show progress on standard error even when it is not\n"
    "                       a terminal (it is shown on a terminal by default)\n"
    "  --no-progress        never show progress\n"
    "  --batch N            records per transaction (default 1000)\n"
    "  --match              match probabilistically (crm_match_enable, the default\n"
    "                       lead configuration) instead of by exact phone; possible\n"
    "                       duplicates are stored and queued ('crm review')\n"
    "  --index              with --match: first give the leads already stored the\n"
    "                       match keys they lack (crm_match_index), so that leads\n"
    "                       imported without --match are found too\n"
    "  --score-model NAME   score every new lead with the stored model NAME (its\n"
    "                       newest version; crm_score_enable) as it is stored\n"
    "  --json               print the summary as a JSON object\n"
    "  --db PATH            the database (created if missing)\n"
    "  -h, --help           show this help\n"
    "\n"
    "At the end a summary is printed on standard output: records read, leads\n"
    "created (and of them how many ingest found junk or suspect, when any; see\n"
    "'crm leads --quality'), duplicates (recorded on the existing lead), rejected\n"
    "records, elapsed time and rate.\n"
    "\n"
    "Exit status: 0 every record imported, 3 some records were rejected (the\n"
    "others were imported), 1 error (nothing more was imported after it),\n"
    "2 usage error.\n";

#define SHOWN_ERRORS 10

typedef enum import_format {
    FORMAT_AUTO,
    FORMAT_NDJSON,
    FORMAT_CSV
} import_format;

typedef struct counts {
    unsigned long read, created, duplicates, rejected, scored;
    unsigned long junk, suspect; /* of the created leads */
} counts;

typedef struct importer {
    crm_db *db;
    const char *name;       /* the input's name for messages */
    FILE *in;
    long long size;         /* bytes, or -1 when unknown (a pipe) */
    size_t batch_size;
    size_t in_batch;        /* records in the open transaction */
    counts total;           /* committed */
    counts batch;           /* in the open transaction */
    unsigned long first_line_of_batch;
    FILE *errors;           /* --errors file, or NULL */
    const char *errors_path;
    char *shown[SHOWN_ERRORS];
    size_t nshown;
    int progress;
    int progress_shown;
    double started, last_progress;
    unsigned long fatal_line;
    const char *score_model; /* --score-model NAME, or NULL */
} importer;

/* Record a rejected record: "line N: message". */
static void reject(importer *im, unsigned long line, const char *message)
{
    im->batch.rejected++;
    if (im->errors) {
        fprintf(im->errors, "line %lu: %s\n", line, message);
    } else if (im->nshown < SHOWN_ERRORS) {
        size_t n = strlen(message) + 32;
        char *s = malloc(n);
        if (s) {
            snprintf(s, n, "line %lu: %s", line, message);
            im->shown[im->nshown++] = s;
        }
    }
}

static void add_counts(counts *to, const counts *from)
{
    to->read += from->read;
    to->created += from->created;
    to->duplicates += from->duplicates;
    to->rejected += from->rejected;
    to->scored += from->scored;
    to->junk += from->junk;
    to->suspect += from->suspect;
}

static void progress(importer *im, int final)
{
    double now = text_monotonic(), el;
    unsigned long n;

    if (!im->progress)
        return;
    if (!final && now - im->last_progress < 0.1)
        return;
    im->last_progress = now;
    el = now - im->started;
    n = im->total.read + im->batch.read;
    fprintf(stderr, "\rimporting %s: %lu records", im->name, n);
    if (im->size > 0) {
        long long pos = ftello(im->in);
        if (pos >= 0)
            fprintf(stderr, " (%3.0f%%)", 100.0 * (double)pos / (double)im->size);
    }
    if (el > 0)
        fprintf(stderr, ", %.0f/s", (double)n / el);
    fputs("   ", stderr);
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
    im->progress_shown = 1;
}

static int begin_batch(importer *im, unsigned long line)
{
    if (crm_db_begin(im->db) != 0) {
        cli_lib_error("import: begin transaction");
        return -1;
    }
    im->in_batch = 0;
    im->first_line_of_batch = line;
    return 0;
}

static int commit_batch(importer *im)
{
    if (crm_db_commit(im->db) != 0) {
        cli_lib_error("import: commit");
        crm_db_rollback(im->db);
        return -1;
    }
    add_counts(&im->total, &im->batch);
    memset(&im->batch, 0, sizeof im->batch);
    im->in_batch = 0;
    return 0;
}

/* Errors that mean the storage, not the record, is at fault: stop the import. */
static int is_fatal(int code)
{
    return code == CRM_ESTORAGE || code == CRM_EBUSY || code == CRM_ENOMEM;
}

/*
 * Ingest one document found at `line`. Returns 0 when the import goes on
 * (the record was stored or rejected), -1 when it must stop.
 */
static int ingest(importer *im, unsigned long line, const char *json, size_t len)
{
    crm_ingest_result res;
    int r;

    if (im->in_batch == 0 && begin_batch(im, line) != 0)
        return -1;
    im->batch.read++;
    im->in_batch++;
    r = crm_lead_ingest_n(&res, im->db, json, len);
    if (r == 0) {
        if (res.outcome == CRM_INGEST_DUPLICATE)
            im->batch.duplicates++;
        else {
            im->batch.created++;
            if (res.quality == CRM_LEAD_QUALITY_JUNK)
                im->batch.junk++;
            else if (res.quality == CRM_LEAD_QUALITY_SUSPECT)
                im->batch.suspect++;
        }
        if (res.score >= 0)
            im->batch.scored++;
    } else if (is_fatal(r)) {
        char what[64];
        snprintf(what, sizeof what, "import: line %lu", line);
        cli_lib_error(what);
        im->fatal_line = line;
        return -1;
    } else {
        reject(im, line, crm_error_last()->message);
    }
    if (im->in_batch >= im->batch_size && commit_batch(im) != 0)
        return -1;
    progress(im, 0);
    return 0;
}

/* A record rejected before it reached the library (a CSV problem). */
static int reject_local(importer *im, unsigned long line, const char *message)
{
    if (im->in_batch == 0 && begin_batch(im, line) != 0)
        return -1;
    im->batch.read++;
    im->in_batch++;
    reject(im, line, message);
    if (im->in_batch >= im->batch_size && commit_batch(im) != 0)
        return -1;
    progress(im, 0);
    return 0;
}

static int is_blank(const char *s, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (s[k] != ' ' && s[k] != '\t' && s[k] != '\r' && s[k] != '\n')
            return 0;
    return 1;
}

static int import_ndjson(importer *im)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long lineno = 0;
    int rc = 0;

    while ((n = getline(&line, &cap, im->in)) >= 0) {
        char *p = line;
        size_t len = (size_t)n;
        lineno++;
        if (lineno == 1 && len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
            p += 3; /* a UTF-8 byte order mark */
            len -= 3;
        }
        while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
            len--;
        if (is_blank(p, len))
            continue;
        if (ingest(im, lineno, p, len) != 0) {
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(im->in)) {
        cli_errorf("import: %s: %s", im->name, strerror(errno));
        rc = -1;
    }
    free(line);
    return rc;
}

static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Parse a test_drive cell. Returns 1 true, 0 false, -1 unknown text. */
static int parse_bool(const char *s)
{
    static const char *const yes[] = { "true", "1", "yes", "y", "t", "\xE6\x98\xAF" /* 是 */ };
    static const char *const no[] = { "false", "0", "no", "n", "f", "\xE5\x90\xA6" /* 否 */ };
    char buf[16];
    size_t n;

    s = skip_space(s);
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n >= sizeof buf)
        return -1;
    for (size_t k = 0; k < n; k++)
        buf[k] = (char)(s[k] >= 'A' && s[k] <= 'Z' ? s[k] - 'A' + 'a' : s[k]);
    buf[n] = '\0';
    for (size_t k = 0; k < sizeof yes / sizeof yes[0]; k++)
        if (strcmp(buf, yes[k]) == 0)
            return 1;
    for (size_t k = 0; k < sizeof no / sizeof no[0]; k++)
        if (strcmp(buf, no[k]) == 0)
            return 0;
    return -1;
}

/* The header of a CSV file: one name per column, trimmed. */
typedef struct csv_header {
    char **names;
    size_t n;
} csv_header;

static void header_free(csv_header *h)
{
    for (size_t k = 0; k < h->n; k++)
        free(h->names[k]);
    free(h->names);
}

static int header_read(csv_header *h, csv_reader *r, const char *name)
{
    unsigned long line;
    int got;

    do
        got = csv_read(r, &line);
    while (got == 1 && r->blank);
    if (got < 0) {
        cli_errorf("import: %s: line %lu: %s", name, line, r->error);
        return -1;
    }
    if (got == 0)
        return 1; /* an empty file: nothing to import */
    h->names = calloc(r->nfields, sizeof *h->names);
    if (!h->names) {
        cli_errorf("import: out of memory");
        return -1;
    }
    h->n = r->nfields;
    for (size_t k = 0; k < r->nfields; k++) {
        const char *f = csv_field(r, k);
        size_t len;
        if (k == 0 && strncmp(f, "\xEF\xBB\xBF", 3) == 0)
            f += 3; /* a UTF-8 byte order mark, as spreadsheet programs write */
        f = skip_space(f);
        len = strlen(f);
        while (len > 0 && (f[len - 1] == ' ' || f[len - 1] == '\t'))
            len--;
        h->names[k] = malloc(len + 1);
        if (!h->names[k]) {
            cli_errorf("import: out of memory");
            return -1;
        }
        memcpy(h->names[k], f, len);
        h->names[k][len] = '\0';
        for (size_t j = 0; j < k; j++) {
            if (*h->names[k] && strcmp(h->names[j], h->names[k]) == 0) {
                cli_errorf("import: %s: line %lu: column '%s' appears twice", name, line,
                           h->names[k]);
                return -1;
            }
        }
    }
    return 0;
}

/*
 * Turn one CSV record into a JSON document. Returns the document (free
 * with cJSON_free), or NULL with *why set (the record is rejected) or
 * *why NULL (out of memory).
 */
static char *csv_record_json(const csv_header *h, const csv_reader *r, char *why, size_t whysize,
                             int *nomem)
{
    cJSON *obj = cJSON_CreateObject();
    char *out = NULL;

    *nomem = 0;
    if (!obj)
        goto oom;
    if (r->has_nul) {
        snprintf(why, whysize, "the record contains a NUL byte");
        goto fail;
    }
    if (r->nfields != h->n) {
        snprintf(why, whysize, "the record has %zu fields, the header has %zu", r->nfields, h->n);
        goto fail;
    }
    for (size_t k = 0; k < h->n; k++) {
        const char *col = h->names[k], *val = csv_field(r, k);
        cJSON *item;

        if (*skip_space(val) == '\0')
            continue; /* an empty cell: the field is absent */
        if (*col == '\0') {
            snprintf(why, whysize, "column %zu has a value but no name in the header", k + 1);
            goto fail;
        }
        if (strcmp(col, "test_drive") == 0) {
            int b = parse_bool(val);
            if (b < 0) {
                snprintf(why, whysize,
                         "lead.test_drive: expected true/false, 1/0, yes/no or 是/否, got '%.40s'",
                         val);
                goto fail;
            }
            item = cJSON_AddBoolToObject(obj, col, b);
        } else if (strcmp(col, "attributes") == 0) {
            /* Validate, then insert the text as is: re-printing through
             * doubles could change large numbers. */
            cJSON *parsed = cJSON_ParseWithOpts(val, NULL, 1);
            int ok = parsed && cJSON_IsObject(parsed);
            cJSON_Delete(parsed);
            if (!ok) {
                snprintf(why, whysize, "lead.attributes: expected a JSON object");
                goto fail;
            }
            item = cJSON_AddRawToObject(obj, col, val);
        } else {
            item = cJSON_AddStringToObject(obj, col, val);
        }
        if (!item)
            goto oom;
    }
    out = cJSON_PrintUnformatted(obj);
    if (!out)
        goto oom;
    cJSON_Delete(obj);
    return out;

oom:
    *nomem = 1;
fail:
    cJSON_Delete(obj);
    return NULL;
}

static int import_csv(importer *im)
{
    csv_reader r;
    csv_header h = { NULL, 0 };
    unsigned long line = 0;
    int rc = 0, got;

    csv_init(&r, im->in);
    got = header_read(&h, &r, im->name);
    if (got != 0) {
        rc = got < 0 ? -1 : 0;
        goto done;
    }
    for (;;) {
        char why[192];
        char *json;
        int nomem;

        got = csv_read(&r, &line);
        if (got == 0)
            break;
        if (got < 0) {
            if (strcmp(r.error, "unterminated quoted field") == 0) {
                /* The rest of the input is inside the quote: reject it and stop. */
                if (reject_local(im, line, "unterminated quoted field (the rest of the input was not read)"))
                    rc = -1;
            } else {
                cli_errorf("import: %s: line %lu: %s", im->name, line, r.error);
                rc = -1;
            }
            break;
        }
        if (r.blank)
            continue;
        json = csv_record_json(&h, &r, why, sizeof why, &nomem);
        if (!json) {
            if (nomem) {
                cli_errorf("import: out of memory");
                rc = -1;
                break;
            }
            if (reject_local(im, line, why) != 0) {
                rc = -1;
                break;
            }
            continue;
        }
        rc = ingest(im, line, json, strlen(json));
        cJSON_free(json);
        if (rc != 0)
            break;
    }
done:
    header_free(&h);
    csv_free(&r);
    return rc;
}

/* Which format a name and the first byte of the input suggest. */
static import_format detect_format(const char *path, FILE *in)
{
    const char *dot = strrchr(path, '.');
    int c;

    if (dot && strcmp(path, "-") != 0) {
        if (strcmp(dot, ".csv") == 0 || strcmp(dot, ".CSV") == 0)
            return FORMAT_CSV;
        if (strcmp(dot, ".ndjson") == 0 || strcmp(dot, ".jsonl") == 0 ||
            strcmp(dot, ".json") == 0)
            return FORMAT_NDJSON;
    }
    /* Peek at the first byte; '{' means NDJSON. A UTF-8 byte order mark is
     * consumed here (both readers accept input without one) and the byte
     * after it decides. */
    c = getc(in);
    if (c == 0xEF) {
        int c2 = getc(in), c3 = c2 == 0xBB ? getc(in) : EOF;
        if (c2 == 0xBB && c3 == 0xBF) {
            c = getc(in);
        } else {
            /* Not a BOM, and not valid UTF-8 either: push back what was read
             * (glibc allows more than one pushed-back byte) and let the
             * library reject the text. */
            if (c3 != EOF)
                ungetc(c3, in);
            if (c2 != EOF)
                ungetc(c2, in);
        }
    }
    if (c != EOF)
        ungetc(c, in);
    return c == '{' ? FORMAT_NDJSON : FORMAT_CSV;
}

static void print_summary(const importer *im, double elapsed, int json)
{
    const counts *t = &im->total;
    double rate = elapsed > 0 ? (double)t->read / elapsed : 0;

    if (json) {
        printf("{\"file\":");
        {
            cJSON *s = cJSON_CreateString(im->name);
            char *txt = s ? cJSON_PrintUnformatted(s) : NULL;
            fputs(txt ? txt : "null", stdout);
            cJSON_free(txt);
            cJSON_Delete(s);
        }
        printf(",\"read\":%lu,\"created\":%lu,\"junk\":%lu,\"suspect\":%lu,\"duplicates\":%lu,"
               "\"rejected\":%lu,", t->read, t->created, t->junk, t->suspect, t->duplicates, t->rejected);
        if (im->score_model)
            printf("\"scored\":%lu,", t->scored);
        printf("\"elapsed_s\":%.3f,\"rate\":%.1f}\n", elapsed, rate);
        return;
    }
    printf("%s: %lu read, %lu created", im->name, t->read, t->created);
    if (im->score_model || t->junk || t->suspect) {
        fputs(" (", stdout);
        if (im->score_model)
            printf("%lu scored with %s%s", t->scored, im->score_model, t->junk || t->suspect ? "; " : "");
        if (t->junk || t->suspect)
            printf("%lu junk, %lu suspect", t->junk, t->suspect);
        fputc(')', stdout);
    }
    printf(", %lu duplicates, %lu rejected in %.2f s (%.0f records/s)\n", t->duplicates, t->rejected, elapsed,
           rate);
}

int cli_cmd_import(int argc, char **argv, cli_globals *g)
{
    importer im;
    import_format format = FORMAT_AUTO;
    const char *path = NULL, *fmt = NULL, *errors_path = NULL, *batch = NULL;
    int json = 0, want_progress = -1, match = 0, index = 0, rc, r;
    double elapsed;

    memset(&im, 0, sizeof im);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_flag(a, "--help") || cli_flag(a, "-h")) {
            fputs(import_usage, stdout);
            return CLI_EXIT_OK;
        }
        if (cli_flag(a, "--")) {
            if (i + 1 < argc && !path)
                path = argv[++i];
            if (i + 1 < argc)
                return cli_usage_error("import", "unexpected argument '%s'", argv[i + 1]);
            break;
        }
        if ((r = cli_common_opt(argc, argv, &i, g, "import")) != 0 ||
            (r = cli_opt(argc, argv, &i, "--format", &fmt, "import")) != 0 ||
            (r = cli_opt(argc, argv, &i, "--errors", &errors_path, "import")) != 0 ||
            (r = cli_opt(argc, argv, &i, "--batch", &batch, "import")) != 0 ||
            (r = cli_opt(argc, argv, &i, "--score-model", &im.score_model, "import")) != 0) {
            if (r < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if (cli_flag(a, "--json")) {
            json = 1;
        } else if (cli_flag(a, "--match")) {
            match = 1;
        } else if (cli_flag(a, "--index")) {
            index = 1;
        } else if (cli_flag(a, "--progress")) {
            want_progress = 1;
        } else if (cli_flag(a, "--no-progress")) {
            want_progress = 0;
        } else if (cli_is_option(a)) {
            return cli_usage_error("import", "unknown option '%s'", a);
        } else if (path) {
            return cli_usage_error("import", "unexpected argument '%s'", a);
        } else {
            path = a;
        }
    }
    if (!path)
        return cli_usage_error("import", "missing FILE (use '-' for standard input)");
    if (index && !match)
        return cli_usage_error("import", "--index needs --match");
    if (fmt) {
        if (strcmp(fmt, "csv") == 0)
            format = FORMAT_CSV;
        else if (strcmp(fmt, "ndjson") == 0 || strcmp(fmt, "jsonl") == 0)
            format = FORMAT_NDJSON;
        else
            return cli_usage_error("import", "unknown format '%s' (expected csv or ndjson)", fmt);
    }
    im.batch_size = 1000;
    if (batch) {
        char *end;
        unsigned long v;
        errno = 0;
        v = strtoul(batch, &end, 10);
        if (errno || *end || end == batch || v == 0 || v > 1000000 || *batch == '-')
            return cli_usage_error("import", "--batch expects a number from 1 to 1000000, got '%s'",
                                   batch);
        im.batch_size = (size_t)v;
    }

    if (strcmp(path, "-") == 0) {
        im.in = stdin;
        im.name = "<stdin>";
        im.size = -1;
    } else {
        struct stat st;
        im.in = fopen(path, "rb");
        if (!im.in) {
            cli_errorf("import: %s: %s", path, strerror(errno));
            return CLI_EXIT_ERROR;
        }
        im.name = path;
        im.size = fstat(fileno(im.in), &st) == 0 && S_ISREG(st.st_mode) ? (long long)st.st_size
                                                                         : -1;
    }
    if (errors_path) {
        im.errors = fopen(errors_path, "w");
        if (!im.errors) {
            cli_errorf("import: --errors %s: %s", errors_path, strerror(errno));
            if (im.in != stdin)
                fclose(im.in);
            return CLI_EXIT_ERROR;
        }
        im.errors_path = errors_path;
    }
    if (format == FORMAT_AUTO)
        format = detect_format(path, im.in);
    im.progress = want_progress >= 0 ? want_progress : isatty(fileno(stderr));

    rc = CLI_EXIT_ERROR;
    if (cli_open_db(&im.db, g, 1) != 0)
        goto out;
    if (match && crm_match_enable(im.db, NULL) != 0) {
        cli_lib_error("import: --match");
        goto out;
    }
    size_t indexed = 0;
    if (index && crm_match_index(&indexed, im.db) != 0) {
        cli_lib_error("import: --index");
        goto out;
    }
    if (index && im.progress)
        fprintf(stderr, "import: match keys stored for %zu leads already in the database\n", indexed);
    if (im.score_model) {
        crm_model *m = NULL;
        char *doc = NULL;
        int e = crm_model_load(&m, im.db, im.score_model, 0);
        if (e == 0)
            e = crm_model_to_json(&doc, m);
        if (e == 0)
            e = crm_score_enable(im.db, doc);
        crm_free(doc);
        crm_model_free(m);
        if (e != 0) {
            cli_lib_error("import: --score-model");
            if (e == CRM_ENOTFOUND)
                rc = CLI_EXIT_NOTFOUND;
            goto out;
        }
    }
    im.started = text_monotonic();
    im.last_progress = im.started;
    r = format == FORMAT_CSV ? import_csv(&im) : import_ndjson(&im);
    if (r == 0 && crm_db_transaction_depth(im.db) > 0 && commit_batch(&im) != 0)
        r = -1;
    if (r != 0 && crm_db_transaction_depth(im.db) > 0) {
        unsigned long lost = im.batch.read;
        crm_db_rollback(im.db);
        if (lost > 0)
            cli_errorf("import: stopped; the last %lu records (from line %lu) were rolled back",
                       lost, im.first_line_of_batch);
    }
    elapsed = text_monotonic() - im.started;
    if (im.progress_shown || want_progress == 1)
        progress(&im, 1);

    for (size_t k = 0; k < im.nshown; k++)
        fprintf(stderr, "crm: import: %s: %s\n", im.name, im.shown[k]);
    if (!im.errors && im.total.rejected > im.nshown)
        fprintf(stderr, "crm: import: %s: %lu more rejected records not shown (use --errors FILE)\n",
                im.name, im.total.rejected - (unsigned long)im.nshown);
    if (im.errors && im.total.rejected > 0)
        fprintf(stderr, "crm: import: %s: %lu rejected records listed in %s\n", im.name,
                im.total.rejected, im.errors_path);
    print_summary(&im, elapsed, json);
    if (r != 0)
        rc = CLI_EXIT_ERROR;
    else
        rc = im.total.rejected > 0 ? CLI_EXIT_PARTIAL : CLI_EXIT_OK;

out:
    if (im.errors) {
        if (fclose(im.errors) != 0 && rc != CLI_EXIT_ERROR) {
            cli_errorf("import: --errors %s: %s", im.errors_path, strerror(errno));
            rc = CLI_EXIT_ERROR;
        }
    }
    for (size_t k = 0; k < im.nshown; k++)
        free(im.shown[k]);
    crm_db_close(im.db);
    if (im.in && im.in != stdin)
        fclose(im.in);
    return rc;
}
