/*
 * bench_segments — segments, rule tags and points transactions at scale.
 *
 *   bench_segments [--customers N] [--points-ops M] [--dir /tmp] [--bank CSV] [--keep]
 *
 * 1. Builds a file database of N customers (default 1,000,000). The rows are
 *    bulk-loaded with plain SQLite into the schema the library created (the
 *    library's own resolve path is measured by its tests, and would take
 *    minutes here); attributes come from the UCI bank marketing data
 *    (/work/shared/data/bank/bank_train.csv), cycled: each customer takes one
 *    row's balance as its points balance (members: the rows with a
 *    non-negative balance), and the tags housing, loan and subscribed from the
 *    row's housing, loan and y. The tag bitmaps are built with CRoaring and
 *    stored as the library stores them.
 * 2. Times crm_segment_count of "housing and (subscribed or not loan)" through
 *    the public API: each run reads three tag bitmaps and the active-customer
 *    bitmap from storage, deserialises and combines them (best and median of
 *    21 runs).
 * 3. Times crm_tag_rule_define of a rule over every customer (scan of the
 *    customer facts, evaluation, bitmap, store; best of 3): one that reads
 *    member fields, one that reads members, leads and vehicles.
 * 4. Points transactions per second on a file database: M operations (accrue,
 *    accrue, redeem, ... over 1,000 members), each its own transaction, then
 *    the same number again inside explicit transactions of 100.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <roaring/roaring.h>
#include <sqlite3.h>

#include <crm/crm.h>

#define SEGMENT "housing and (subscribed or not loan)"
#define RULE "member and balance >= 1000 and tier in (\"gold\", \"black\") or created_at >= now - 30d"
/* reads every part of the facts: members, leads and vehicles joined */
#define RULE_ALL "tier = \"gold\" or leads > 0 or vehicles > 0"
#define T0 1767225600000LL
#define DAY 86400000LL

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_segments: %s: %s\n", what, crm_error_last()->message);
    exit(1);
}

static void sql_ok(int rc, sqlite3 *db, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "bench_segments: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

typedef struct bank_row {
    long balance;
    int housing, loan, y;
} bank_row;

/* The columns we use of bank_train.csv: balance (6th), housing (7th), loan (8th), y (17th). */
static bank_row *read_bank(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench_segments: %s: cannot open\n", path);
        exit(1);
    }
    size_t cap = 40000;
    bank_row *rows = malloc(cap * sizeof *rows);
    char line[1024];
    *n = 0;
    if (!fgets(line, sizeof line, f)) /* header */
        exit(1);
    while (rows && fgets(line, sizeof line, f)) {
        char *fields[17];
        int k = 0;
        for (char *p = strtok(line, ";\n"); p && k < 17; p = strtok(NULL, ";\n"))
            fields[k++] = p;
        if (k < 17)
            continue;
        if (*n == cap)
            rows = realloc(rows, (cap *= 2) * sizeof *rows);
        bank_row *r = &rows[(*n)++];
        r->balance = strtol(fields[5], NULL, 10);
        r->housing = strcmp(fields[6], "\"yes\"") == 0;
        r->loan = strcmp(fields[7], "\"yes\"") == 0;
        r->y = strcmp(fields[16], "\"yes\"") == 0;
    }
    fclose(f);
    if (!rows || *n == 0) {
        fprintf(stderr, "bench_segments: %s: no rows\n", path);
        exit(1);
    }
    return rows;
}

static void store_bitmap(sqlite3 *db, sqlite3_stmt *st, const char *name, roaring_bitmap_t *bm)
{
    roaring_bitmap_run_optimize(bm);
    size_t len = roaring_bitmap_portable_size_in_bytes(bm);
    char *buf = malloc(len);
    roaring_bitmap_portable_serialize(bm, buf);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(st, 2, buf, len, SQLITE_STATIC);
    sql_ok(sqlite3_step(st), db, "tag insert");
    sqlite3_reset(st);
    free(buf);
}

/* Fill a database the library created with n customers. */
static void load(const char *path, long n, const bank_row *bank, size_t n_bank)
{
    sqlite3 *db;
    sql_ok(sqlite3_open(path, &db), db, "open");
    sql_ok(sqlite3_exec(db, "PRAGMA synchronous=OFF; BEGIN", NULL, NULL, NULL), db, "begin");
    sqlite3_stmt *cust, *mem, *tag;
    sql_ok(sqlite3_prepare_v2(db, "INSERT INTO customer (num, id, name, dealer_id, merged_into, created_at, updated_at) "
                                  "VALUES (?1, ?2, NULL, ?3, NULL, ?4, ?4)", -1, &cust, NULL), db, "prepare");
    sql_ok(sqlite3_prepare_v2(db, "INSERT INTO member (customer_id, member_no, tier, tier_since, enrolled_at, balance, "
                                  "updated_at) VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?4)", -1, &mem, NULL), db, "prepare");
    sql_ok(sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO tag (name, kind, rule, updated_at, bitmap) "
                                  "VALUES (?1, 0, NULL, 0, ?2)", -1, &tag, NULL), db, "prepare");
    roaring_bitmap_t *all = roaring_bitmap_create(), *housing = roaring_bitmap_create(),
                     *loan = roaring_bitmap_create(), *subscribed = roaring_bitmap_create();
    static const char *const dealers[] = { "D3101001", "D3101002", "D1101001", "D4401003" };
    for (long i = 1; i <= n; i++) {
        const bank_row *r = &bank[(size_t)(i - 1) % n_bank];
        char id[40], no[24];
        snprintf(id, sizeof id, "019a0000-0000-7000-8000-%012ld", i);
        int64_t created = T0 - (i % 730) * DAY;
        sqlite3_bind_int64(cust, 1, i);
        sqlite3_bind_text(cust, 2, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(cust, 3, dealers[i % 4], -1, SQLITE_STATIC);
        sqlite3_bind_int64(cust, 4, created);
        sql_ok(sqlite3_step(cust), db, "customer insert");
        sqlite3_reset(cust);
        if (r->balance >= 0) {
            snprintf(no, sizeof no, "M%09ld", i);
            sqlite3_bind_text(mem, 1, id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(mem, 2, no, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(mem, 3, r->balance >= 5000 ? "black" : r->balance >= 1000 ? "gold" : "silver", -1,
                              SQLITE_STATIC);
            sqlite3_bind_int64(mem, 4, created);
            sqlite3_bind_int64(mem, 5, r->balance);
            sql_ok(sqlite3_step(mem), db, "member insert");
            sqlite3_reset(mem);
        }
        roaring_bitmap_add(all, (uint32_t)i);
        if (r->housing)
            roaring_bitmap_add(housing, (uint32_t)i);
        if (r->loan)
            roaring_bitmap_add(loan, (uint32_t)i);
        if (r->y)
            roaring_bitmap_add(subscribed, (uint32_t)i);
    }
    store_bitmap(db, tag, "~customers", all);
    store_bitmap(db, tag, "housing", housing);
    store_bitmap(db, tag, "loan", loan);
    store_bitmap(db, tag, "subscribed", subscribed);
    printf("tags: housing %llu, loan %llu, subscribed %llu of %ld customers\n",
           (unsigned long long)roaring_bitmap_get_cardinality(housing),
           (unsigned long long)roaring_bitmap_get_cardinality(loan),
           (unsigned long long)roaring_bitmap_get_cardinality(subscribed), n);
    roaring_bitmap_free(all);
    roaring_bitmap_free(housing);
    roaring_bitmap_free(loan);
    roaring_bitmap_free(subscribed);
    sqlite3_finalize(cust);
    sqlite3_finalize(mem);
    sqlite3_finalize(tag);
    sql_ok(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), db, "commit");
    sqlite3_close(db);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void bench_points(const char *path, long ops)
{
    crm_db *db;
    if (crm_db_open(&db, path, NULL))
        die("open points db");
    crm_db_set_time(db, T0);
    enum { MEMBERS = 1000 };
    static char ids[MEMBERS][CRM_ID_LEN + 1];
    if (crm_db_begin(db))
        die("begin");
    for (int i = 0; i < MEMBERS; i++) {
        char doc[128], no[16];
        snprintf(doc, sizeof doc, "{\"identities\":[{\"kind\":\"phone\",\"value\":\"139%08d\"}]}", i);
        crm_resolve_result r;
        if (crm_customer_resolve_json(&r, db, doc, NULL))
            die("resolve");
        memcpy(ids[i], r.customer_id, sizeof ids[i]);
        snprintf(no, sizeof no, "M%06d", i);
        if (crm_member_enrol(db, ids[i], no, NULL))
            die("enrol");
    }
    if (crm_db_commit(db))
        die("commit");
    for (int phase = 0; phase < 2; phase++) {
        double t = now_s();
        for (long k = 0; k < ops; k++) {
            if (phase == 1 && k % 100 == 0 && crm_db_begin(db))
                die("begin");
            char key[48];
            snprintf(key, sizeof key, "p%d-%ld", phase, k);
            /* a redemption spends from the member the accrual before it credited */
            const char *c = ids[(k - (k % 3 == 2)) % MEMBERS];
            int rc = k % 3 == 2 ? crm_points_redeem(NULL, db, c, 10, key, NULL, NULL)
                                : crm_points_accrue(NULL, db, c, 10, T0 + 365 * DAY, key, NULL, NULL);
            if (rc)
                die("points");
            if (phase == 1 && (k % 100 == 99 || k == ops - 1) && crm_db_commit(db))
                die("commit");
        }
        double dt = now_s() - t;
        printf("points: %ld transactions %s in %.2f s = %.0f/s\n", ops,
               phase == 0 ? "each committed on its own" : "in transactions of 100", dt, (double)ops / dt);
    }
    /* A retry of every key of the first phase changes nothing. */
    double t = now_s();
    long replays = ops < 5000 ? ops : 5000;
    for (long k = 0; k < replays; k++) {
        char key[48];
        snprintf(key, sizeof key, "p0-%ld", k);
        crm_points_result r;
        const char *c = ids[(k - (k % 3 == 2)) % MEMBERS];
        int rc = k % 3 == 2 ? crm_points_redeem(&r, db, c, 10, key, NULL, NULL)
                            : crm_points_accrue(&r, db, c, 10, T0 + 365 * DAY, key, NULL, NULL);
        if (rc || !r.replayed)
            die("replay");
    }
    double dt = now_s() - t;
    printf("points: %ld retried calls (replays) in %.2f s = %.0f/s\n", replays, dt, (double)replays / dt);
    crm_db_close(db);
}

int main(int argc, char **argv)
{
    long n = 1000000, ops = 20000;
    const char *dir = "/tmp", *bank_path = "/work/shared/data/bank/bank_train.csv";
    int keep = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--customers") == 0 && i + 1 < argc)
            n = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--points-ops") == 0 && i + 1 < argc)
            ops = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--bank") == 0 && i + 1 < argc)
            bank_path = argv[++i];
        else if (strcmp(argv[i], "--keep") == 0)
            keep = 1;
        else {
            fprintf(stderr, "usage: bench_segments [--customers N] [--points-ops M] [--dir DIR] [--bank CSV] [--keep]\n");
            return 2;
        }
    }
    if (n < 1 || n > 100000000 || ops < 1) {
        fprintf(stderr, "bench_segments: --customers and --points-ops must be positive\n");
        return 2;
    }
    size_t n_bank;
    bank_row *bank = read_bank(bank_path, &n_bank);
    char path[512], points_path[512];
    snprintf(path, sizeof path, "%s/bench_segments_%ld.db", dir, (long)getpid());
    snprintf(points_path, sizeof points_path, "%s/bench_points_%ld.db", dir, (long)getpid());

    crm_db *db;
    if (crm_db_open(&db, path, NULL))
        die("create");
    crm_db_close(db);
    double t = now_s();
    load(path, n, bank, n_bank);
    printf("loaded %ld customers (bank rows cycled: %zu) in %.1f s\n", n, n_bank, now_s() - t);
    free(bank);

    if (crm_db_open(&db, path, NULL))
        die("open");
    crm_db_set_time(db, T0);
    double runs[21];
    size_t count = 0;
    for (int i = 0; i < 21; i++) {
        t = now_s();
        if (crm_segment_count(&count, db, SEGMENT))
            die("segment");
        runs[i] = now_s() - t;
    }
    qsort(runs, 21, sizeof runs[0], cmp_double);
    printf("segment \"%s\": %zu customers; best %.1f ms, median %.1f ms (21 runs)\n", SEGMENT, count,
           runs[0] * 1e3, runs[10] * 1e3);
    char *json = NULL;
    t = now_s();
    size_t exported;
    if (crm_segment_export_json(&json, &exported, db, SEGMENT, NULL, 0))
        die("export");
    printf("segment export: %zu ids in %.2f s\n", exported, now_s() - t);
    crm_free(json);

    double best = 1e9;
    for (int i = 0; i < 3; i++) {
        t = now_s();
        if (crm_tag_rule_define(&count, db, "valuable", RULE))
            die("rule");
        double dt = now_s() - t;
        if (dt < best)
            best = dt;
    }
    printf("rule tag \"%s\": %zu customers; best %.2f s (3 runs)\n", RULE, count, best);
    best = 1e9;
    for (int i = 0; i < 3; i++) {
        t = now_s();
        if (crm_tag_rule_define(&count, db, "engaged", RULE_ALL))
            die("rule");
        double dt = now_s() - t;
        if (dt < best)
            best = dt;
    }
    printf("rule tag \"%s\": %zu customers; best %.2f s (3 runs)\n", RULE_ALL, count, best);
    crm_db_close(db);

    bench_points(points_path, ops);
    if (!keep) {
        const char *suffixes[] = { "", "-wal", "-shm" };
        char p[600];
        for (int i = 0; i < 3; i++) {
            snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
            unlink(p);
            snprintf(p, sizeof p, "%s%s", points_path, suffixes[i]);
            unlink(p);
        }
    }
    return 0;
}
