/*
 * bench_ingest — how fast leads go into a crmcore database, against the floor
 * of plain SQLite inserts of the same rows.
 *
 *   bench_ingest --file leads.ndjson [--count N] [--autocommit-count M]
 *                [--batch B] [--dir /tmp] [--keep] [--match] [--score MODEL.json]
 *
 * Reads NDJSON leads (from gen_leads) and runs three phases, each on a fresh
 * database file and in a child process of its own, so that each reports its
 * own peak RSS:
 *   1. crm_lead_ingest of every line, B leads per crm_db_begin/crm_db_commit;
 *   2. crm_lead_ingest with no explicit transaction (one commit per lead), on
 *      the first M lines;
 *   3. the floor: each line parsed with cJSON and inserted with one prepared
 *      statement into a table like crmcore's lead table (unique index on the
 *      phone, index on created_at), WAL, synchronous=NORMAL, the backend's
 *      temp_store and wal_autocheckpoint, B per commit.
 * Lines are streamed from the file in every phase (the file is read once
 * before the phases, so it is in the page cache), and the timed part is the
 * loop from the first line to the last commit; opening and closing the
 * database are outside it. --score scores every stored lead on ingest
 * (crm_score_enable) in the crmcore phases.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include <crm/crm.h>

typedef struct opts {
    const char *file;
    long count;        /* <= 0: every line */
    long auto_count;   /* phase 2 */
    long batch;
    const char *dir;
    int keep;
    int match;         /* --match: crm_match_enable with the default configuration */
    const char *score; /* --score FILE: crm_score_enable with the model document in FILE */
} opts;

/* What a phase reports back to the parent through a pipe. */
typedef struct phase_result {
    char name[64];
    long leads;
    double seconds;
    long created, duplicates, errors;
    long maxrss_kb;
    double db_mb;
    char first_error[160];
} phase_result;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long self_maxrss_kb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return ru.ru_maxrss; /* kilobytes on Linux */
}

static double file_mb(const char *path)
{
    struct stat st;
    char wal[4096];
    double total = 0;
    if (stat(path, &st) == 0)
        total += (double)st.st_size;
    snprintf(wal, sizeof wal, "%s-wal", path);
    if (stat(wal, &st) == 0)
        total += (double)st.st_size;
    return total / (1024.0 * 1024.0);
}

static void remove_db(const char *path)
{
    char p[4096];
    remove(path);
    snprintf(p, sizeof p, "%s-wal", path);
    remove(p);
    snprintf(p, sizeof p, "%s-shm", path);
    remove(p);
    snprintf(p, sizeof p, "%s-journal", path);
    remove(p);
}

/* Read the next line without its newline; NULL at the end. */
static char *next_line(FILE *f, char **buf, size_t *cap)
{
    ssize_t n;
    while ((n = getline(buf, cap, f)) >= 0) {
        while (n > 0 && ((*buf)[n - 1] == '\n' || (*buf)[n - 1] == '\r'))
            (*buf)[--n] = '\0';
        if (n > 0)
            return *buf;
    }
    return NULL;
}

static FILE *open_input(const opts *o)
{
    FILE *f = fopen(o->file, "rb");
    if (!f) {
        fprintf(stderr, "bench_ingest: %s: %s\n", o->file, strerror(errno));
        exit(1);
    }
    return f;
}

static void note_error(phase_result *r, const char *msg)
{
    if (r->errors++ == 0)
        snprintf(r->first_error, sizeof r->first_error, "%s", msg);
}

/* ------------------------------------------------------------------------ */
/* Phases 1 and 2: the C API                                                  */

static int crm_check(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "bench_ingest: %s: %s (%s)\n", what, crm_error_last()->message,
                crm_error_name(rc));
        exit(1);
    }
    return rc;
}

/* A whole (small) file as a NUL-terminated string; exits on failure. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t n = 0;
    if (f) {
        char chunk[4096];
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
            char *p = realloc(text, n + got + 1);
            if (!p)
                break;
            text = p;
            memcpy(text + n, chunk, got);
            n += got;
        }
        fclose(f);
    }
    if (!text) {
        fprintf(stderr, "bench_ingest: %s: %s\n", path, f ? "empty or unreadable" : strerror(errno));
        exit(1);
    }
    text[n] = '\0';
    return text;
}

static void phase_crm(const opts *o, const char *db_path, long limit, long batch, phase_result *r)
{
    crm_db *db = NULL;
    char *buf = NULL;
    size_t cap = 0;
    FILE *in = open_input(o);
    long in_tx = 0;

    remove_db(db_path);
    crm_check(crm_db_open(&db, db_path, NULL), "crm_db_open");
    if (o->match)
        crm_check(crm_match_enable(db, NULL), "crm_match_enable");
    if (o->score) {
        char *doc = slurp(o->score);
        crm_check(crm_score_enable(db, doc), "crm_score_enable");
        free(doc);
    }

    double t0 = now_s();
    char *line;
    while ((limit <= 0 || r->leads < limit) && (line = next_line(in, &buf, &cap))) {
        crm_ingest_result res;
        if (batch > 0 && in_tx == 0)
            crm_check(crm_db_begin(db), "crm_db_begin");
        int rc = crm_lead_ingest(&res, db, line);
        r->leads++;
        if (rc != 0)
            note_error(r, crm_error_last()->message);
        else if (res.outcome == CRM_INGEST_DUPLICATE)
            r->duplicates++;
        else
            r->created++;
        if (batch > 0 && ++in_tx == batch) {
            crm_check(crm_db_commit(db), "crm_db_commit");
            in_tx = 0;
        }
    }
    if (in_tx)
        crm_check(crm_db_commit(db), "crm_db_commit");
    r->seconds = now_s() - t0;

    crm_db_close(db);
    fclose(in);
    free(buf);
    r->db_mb = file_mb(db_path);
}

/* ------------------------------------------------------------------------ */
/* Phase 3: plain SQLite                                                      */

static const char FLOOR_SCHEMA[] =
    "CREATE TABLE lead ("
    " id TEXT PRIMARY KEY, channel TEXT NOT NULL, campaign TEXT, name TEXT, phone TEXT,"
    " email TEXT, wechat_openid TEXT, wechat_unionid TEXT, province TEXT, city TEXT,"
    " dealer_id TEXT, owner_id TEXT, model TEXT,"
    " purchase_timeline INTEGER NOT NULL DEFAULT 0, test_drive INTEGER NOT NULL DEFAULT -1,"
    " status INTEGER NOT NULL DEFAULT 0, score INTEGER NOT NULL DEFAULT -1, grade TEXT,"
    " customer_id TEXT, attributes TEXT,"
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE UNIQUE INDEX lead_phone ON lead (phone);"
    "CREATE INDEX lead_created ON lead (created_at, id);";

static const char FLOOR_INSERT[] =
    "INSERT INTO lead (id, channel, campaign, name, phone, email, wechat_openid,"
    " wechat_unionid, province, city, dealer_id, model, purchase_timeline, test_drive,"
    " attributes, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
    " ON CONFLICT (phone) DO NOTHING";

static void sql_check(sqlite3 *db, int rc, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "bench_ingest: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits_at(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* "YYYY-MM-DDTHH:MM:SS[.mmm]Z" to Unix ms; -1 when malformed. */
static int64_t parse_iso_ms(const char *s)
{
    int y, mo, d, h, mi, se, ms = 0;
    if (strlen(s) < 20 || digits_at(s, 4, &y) || s[4] != '-' || digits_at(s + 5, 2, &mo) ||
        s[7] != '-' || digits_at(s + 8, 2, &d) || s[10] != 'T' || digits_at(s + 11, 2, &h) ||
        s[13] != ':' || digits_at(s + 14, 2, &mi) || s[16] != ':' || digits_at(s + 17, 2, &se))
        return -1;
    if (s[19] == '.' && digits_at(s + 20, 3, &ms))
        return -1;
    return ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + (int64_t)se * 1000 + ms;
}

/* Keep ASCII and full-width digits, drop a +86/0086 on an 11-digit mobile:
 * the key the unique index needs to see duplicates as the library does. */
static int normalise_phone(const char *in, char *out, size_t outsz)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        int dgt = -1;
        if (*p >= '0' && *p <= '9')
            dgt = *p - '0';
        else if (p[0] == 0xEF && p[1] == 0xBC && p[2] >= 0x90 && p[2] <= 0x99) {
            dgt = p[2] - 0x90;
            p += 2;
        }
        if (dgt >= 0) {
            if (n + 1 >= outsz)
                return -1;
            out[n++] = (char)('0' + dgt);
        }
    }
    out[n] = '\0';
    if (n == 13 && memcmp(out, "86", 2) == 0)
        memmove(out, out + 2, 12);
    else if (n == 15 && memcmp(out, "0086", 4) == 0)
        memmove(out, out + 4, 12);
    return 0;
}

static int timeline_code(const char *s)
{
    static const char *const names[] = {"unknown", "within_1m", "1_3m", "3_6m", "over_6m"};
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return 0;
}

/* A time-ordered id in the UUID v7 layout from a millisecond time and a counter. */
static void make_id(char out[37], int64_t ms, uint64_t counter)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)((uint64_t)ms >> (40 - 8 * i));
    for (int i = 0; i < 8; i++)
        b[8 + i] = (unsigned char)(counter >> (56 - 8 * i));
    b[6] = 0x70;
    b[7] = 0;
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
    int k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[k++] = '-';
        out[k++] = hex[b[i] >> 4];
        out[k++] = hex[b[i] & 15];
    }
    out[k] = '\0';
}

static void bind_text_field(sqlite3_stmt *st, int idx, const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (cJSON_IsString(v))
        sqlite3_bind_text(st, idx, v->valuestring, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, idx);
}

static void phase_sqlite(const opts *o, const char *db_path, phase_result *r)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char *buf = NULL;
    size_t cap = 0;
    FILE *in = open_input(o);
    long in_tx = 0;
    uint64_t counter = 0;

    remove_db(db_path);
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_ingest: %s: %s\n", db_path, sqlite3_errmsg(db));
        exit(1);
    }
    /* The same settings as crmcore's SQLite backend (lib/backends/sqlite),
     * so that the difference is the work per lead, not the configuration. */
    sql_check(db,
              sqlite3_exec(db,
                           "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                           "PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=16384; PRAGMA cache_size=-65536;",
                           NULL, NULL, NULL),
              "pragmas");
    sql_check(db, sqlite3_exec(db, FLOOR_SCHEMA, NULL, NULL, NULL), "schema");
    sql_check(db, sqlite3_prepare_v2(db, FLOOR_INSERT, -1, &st, NULL), "prepare");

    double t0 = now_s();
    char *line;
    while ((o->count <= 0 || r->leads < o->count) && (line = next_line(in, &buf, &cap))) {
        char id[37], phone[64];
        if (in_tx == 0)
            sql_check(db, sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), "begin");
        r->leads++;
        cJSON *obj = cJSON_Parse(line);
        const cJSON *v;
        int64_t created = -1;
        if (!cJSON_IsObject(obj)) {
            note_error(r, "not a JSON object");
            goto next;
        }
        v = cJSON_GetObjectItemCaseSensitive(obj, "created_at");
        if (cJSON_IsString(v))
            created = parse_iso_ms(v->valuestring);
        if (created < 0) {
            note_error(r, "created_at: missing or malformed");
            goto next;
        }
        make_id(id, created, ++counter);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        bind_text_field(st, 2, obj, "channel");
        bind_text_field(st, 3, obj, "campaign");
        bind_text_field(st, 4, obj, "name");
        v = cJSON_GetObjectItemCaseSensitive(obj, "phone");
        if (cJSON_IsString(v) && normalise_phone(v->valuestring, phone, sizeof phone) == 0 && phone[0])
            sqlite3_bind_text(st, 5, phone, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, 5);
        bind_text_field(st, 6, obj, "email");
        bind_text_field(st, 7, obj, "wechat_openid");
        bind_text_field(st, 8, obj, "wechat_unionid");
        bind_text_field(st, 9, obj, "province");
        bind_text_field(st, 10, obj, "city");
        bind_text_field(st, 11, obj, "dealer_id");
        bind_text_field(st, 12, obj, "model");
        v = cJSON_GetObjectItemCaseSensitive(obj, "purchase_timeline");
        sqlite3_bind_int(st, 13, cJSON_IsString(v) ? timeline_code(v->valuestring) : 0);
        v = cJSON_GetObjectItemCaseSensitive(obj, "test_drive");
        sqlite3_bind_int(st, 14, cJSON_IsBool(v) ? cJSON_IsTrue(v) : -1);
        v = cJSON_GetObjectItemCaseSensitive(obj, "attributes");
        if (cJSON_IsObject(v)) {
            char *text = cJSON_PrintUnformatted(v);
            sqlite3_bind_text(st, 15, text, -1, SQLITE_TRANSIENT);
            cJSON_free(text);
        } else {
            sqlite3_bind_null(st, 15);
        }
        sqlite3_bind_int64(st, 16, created);
        sqlite3_bind_int64(st, 17, created);
        if (sqlite3_step(st) != SQLITE_DONE)
            note_error(r, sqlite3_errmsg(db));
        else if (sqlite3_changes(db) == 0)
            r->duplicates++;
        else
            r->created++;
        sqlite3_reset(st);
    next:
        cJSON_Delete(obj);
        if (++in_tx == o->batch) {
            sql_check(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), "commit");
            in_tx = 0;
        }
    }
    if (in_tx)
        sql_check(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), "commit");
    r->seconds = now_s() - t0;

    sqlite3_finalize(st);
    sqlite3_close(db);
    fclose(in);
    free(buf);
    r->db_mb = file_mb(db_path);
}

/* ------------------------------------------------------------------------ */
/* Running phases in children                                                 */

enum { PH_CRM_BATCH, PH_CRM_AUTO, PH_SQLITE };

static void run_phase(const opts *o, int which, phase_result *out)
{
    int fds[2];
    if (pipe(fds) != 0) {
        perror("bench_ingest: pipe");
        exit(1);
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("bench_ingest: fork");
        exit(1);
    }
    if (pid == 0) {
        phase_result r;
        char db_path[4096];
        memset(&r, 0, sizeof r);
        close(fds[0]);
        snprintf(db_path, sizeof db_path, "%s/bench_ingest_%ld_%d.db", o->dir, (long)getppid(), which);
        switch (which) {
        case PH_CRM_BATCH:
            snprintf(r.name, sizeof r.name, "crm_lead_ingest%s, %ld per transaction", o->score ? " +score" : "",
                     o->batch);
            phase_crm(o, db_path, o->count, o->batch, &r);
            break;
        case PH_CRM_AUTO:
            snprintf(r.name, sizeof r.name, "crm_lead_ingest%s, autocommit", o->score ? " +score" : "");
            phase_crm(o, db_path, o->auto_count, 0, &r);
            break;
        default:
            snprintf(r.name, sizeof r.name, "plain SQLite + cJSON, %ld per transaction", o->batch);
            phase_sqlite(o, db_path, &r);
            break;
        }
        if (!o->keep)
            remove_db(db_path);
        r.maxrss_kb = self_maxrss_kb();
        if (write(fds[1], &r, sizeof r) != (ssize_t)sizeof r)
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    memset(out, 0, sizeof *out);
    ssize_t got = read(fds[0], out, sizeof *out);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got != (ssize_t)sizeof *out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_ingest: phase %d failed\n", which);
        exit(1);
    }
}

static void print_row(const phase_result *r)
{
    printf("%-44s %9ld %9.2f %10.0f %9ld %9ld %7ld %9.1f %8.1f\n", r->name, r->leads, r->seconds,
           r->seconds > 0 ? (double)r->leads / r->seconds : 0.0, r->created, r->duplicates,
           r->errors, (double)r->maxrss_kb / 1024.0, r->db_mb);
}

static void usage(FILE *to)
{
    fputs("usage: bench_ingest --file LEADS.ndjson [--count N] [--autocommit-count M]\n"
          "                    [--batch B] [--dir DIR] [--keep] [--match] [--score MODEL.json]\n"
          "  --file F              NDJSON leads, one object a line (see gen_leads)\n"
          "  --count N             ingest at most N lines in phases 1 and 3 (default: all)\n"
          "  --autocommit-count M  lines for phase 2, one transaction each (default 10000)\n"
          "  --batch B             leads per transaction in phases 1 and 3 (default 1000)\n"
          "  --dir DIR             where the fresh database files go (default /tmp)\n"
          "  --keep                keep the database files\n"
          "  --match               crmcore phases match online (crm_match_enable, default configuration)\n"
          "  --score MODEL.json    crmcore phases score each stored lead on ingest (crm_score_enable)\n",
          to);
}

static long parse_long(const char *name, const char *v)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end || end == v || x < 0) {
        fprintf(stderr, "bench_ingest: bad value for %s: '%s'\n", name, v);
        exit(2);
    }
    return x;
}

int main(int argc, char **argv)
{
    opts o = {NULL, 0, 10000, 1000, "/tmp", 0, 0, NULL};

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--keep") == 0) {
            o.keep = 1;
            continue;
        } else if (strcmp(a, "--match") == 0) {
            o.match = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "bench_ingest: %s needs a value\n", a);
            usage(stderr);
            return 2;
        }
        if (strcmp(a, "--file") == 0)
            o.file = v;
        else if (strcmp(a, "--count") == 0)
            o.count = parse_long(a, v);
        else if (strcmp(a, "--autocommit-count") == 0)
            o.auto_count = parse_long(a, v);
        else if (strcmp(a, "--batch") == 0)
            o.batch = parse_long(a, v);
        else if (strcmp(a, "--dir") == 0)
            o.dir = v;
        else if (strcmp(a, "--score") == 0)
            o.score = v;
        else {
            fprintf(stderr, "bench_ingest: unknown argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
        i++;
    }
    if (!o.file) {
        usage(stderr);
        return 2;
    }
    if (o.batch < 1)
        o.batch = 1;

    /* Read the file once so that every phase starts from the page cache. */
    {
        FILE *in = open_input(&o);
        char *buf = NULL;
        size_t cap = 0;
        long lines = 0;
        while ((o.count <= 0 || lines < o.count) && next_line(in, &buf, &cap))
            lines++;
        free(buf);
        fclose(in);
        if (o.count <= 0 || o.count > lines)
            o.count = lines;
        if (o.auto_count > lines)
            o.auto_count = lines;
    }

    printf("crmcore %s, SQLite %s, %s: %ld leads (autocommit phase: %ld)\n\n", crm_version(),
           sqlite3_libversion(), o.file, o.count, o.auto_count);
    printf("%-44s %9s %9s %10s %9s %9s %7s %9s %8s\n", "phase", "leads", "seconds", "leads/s",
           "created", "dup", "errors", "RSS MB", "DB MB");

    phase_result r[3];
    memset(r, 0, sizeof r);
    int phases[3] = {PH_CRM_BATCH, PH_CRM_AUTO, PH_SQLITE};
    for (int k = 0; k < 3; k++) {
        if (phases[k] == PH_CRM_AUTO && o.auto_count == 0)
            continue;
        run_phase(&o, phases[k], &r[k]);
        print_row(&r[k]);
        fflush(stdout);
    }
    for (int k = 0; k < 3; k++)
        if (r[k].errors && r[k].leads)
            printf("  %s: first error: %s\n", r[k].name, r[k].first_error);
    if (r[2].seconds > 0 && r[0].seconds > 0)
        printf("\nC API (batched) runs at %.0f%% of the plain SQLite floor; peak RSS is per phase "
               "(ru_maxrss of a child process per phase).\n",
               100.0 * ((double)r[0].leads / r[0].seconds) / ((double)r[2].leads / r[2].seconds));
    return 0;
}
