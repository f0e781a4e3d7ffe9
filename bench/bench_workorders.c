/*
 * bench_workorders — the SLA machinery at scale.
 *
 *   bench_workorders [--count N] [--due N] [--batch B] [--dir /tmp] [--keep]
 *
 * 1. Calendar arithmetic: N due-time computations (crm_calendar_due) and N
 *    elapsed computations (crm_calendar_elapsed) on the default China
 *    calendar, with starts spread over 2025-2026 (so holiday blocks and
 *    make-up workdays are crossed) and targets of 30 minutes to 10 working
 *    days. No storage involved.
 * 2. Escalation: a fresh database file with `count` open work orders
 *    (synthetic: 4 types, 4 priorities, 5 channels, 200 dealers, created
 *    over the 30 days before the run's time, a tenth waiting for the
 *    customer), then two escalation runs as of the same time: the first
 *    raises warnings, breaches and escalations; the second must change
 *    nothing (it is checked). Loading is timed separately.
 * The timed parts exclude opening and closing the database.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <crm/crm.h>

static const char *const POLICY =
    "{\"rules\":["
    "{\"name\":\"urgent complaints\",\"match\":{\"type\":\"complaint\",\"priority\":[1,2]},"
    " \"first_response_minutes\":30,\"resolution_minutes\":480,\"warning_percent\":80,"
    " \"escalations\":[{\"after_minutes\":0,\"actions\":[{\"action\":\"notify\",\"to\":\"supervisor\"}]},"
    "  {\"after_minutes\":240,\"actions\":[{\"action\":\"reassign\",\"assignee\":\"lead-1\",\"queue\":\"l2\"},"
    "   {\"action\":\"raise_priority\"}]}]},"
    "{\"name\":\"complaints\",\"match\":{\"type\":\"complaint\"},\"first_response_minutes\":120,"
    " \"resolution_minutes\":1440,\"warning_percent\":80,"
    " \"escalations\":[{\"after_minutes\":0,\"actions\":[{\"action\":\"notify\",\"to\":\"supervisor\"}]}]},"
    "{\"name\":\"repairs\",\"match\":{\"type\":\"repair\"},\"first_response_minutes\":240,\"resolution_minutes\":2700},"
    "{\"name\":\"default\",\"first_response_minutes\":480,\"resolution_minutes\":4800,\"warning_percent\":90}]}";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next_rand(void)
{
    /* xorshift64*: deterministic across runs and machines */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_workorders: %s: %s\n", what, crm_error_last()->message);
    exit(1);
}

static void bench_calendar(long n)
{
    crm_calendar *cal;
    if (crm_calendar_new(&cal, NULL) != 0)
        die("calendar");
    int64_t base;
    crm_time_parse(&base, "2025-01-01T00:00:00+08:00");
    int64_t *starts = malloc((size_t)n * sizeof *starts), *mins = malloc((size_t)n * sizeof *mins);
    if (!starts || !mins)
        die("memory");
    for (long i = 0; i < n; i++) {
        starts[i] = base + (int64_t)(next_rand() % (730ull * 86400000ull));
        mins[i] = 30 + (int64_t)(next_rand() % 5400);
    }
    int64_t sink = 0, out;
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        if (crm_calendar_due(&out, cal, starts[i], mins[i], NULL, 0) != 0)
            die("due");
        sink += out & 1;
    }
    double t_due = now_s() - t0;
    t0 = now_s();
    for (long i = 0; i < n; i++) {
        if (crm_calendar_elapsed(&out, cal, starts[i], starts[i] + mins[i] * 180000, NULL, 0) != 0)
            die("elapsed");
        sink += out & 1;
    }
    double t_el = now_s() - t0;
    printf("calendar: %ld due-time computations in %.3f s = %.0f /s\n", n, t_due, (double)n / t_due);
    printf("calendar: %ld elapsed computations in %.3f s = %.0f /s (spans of 1.5 h to 11 days)\n", n, t_el,
           (double)n / t_el);
    printf("          (checksum %lld)\n", (long long)sink);
    free(starts);
    free(mins);
    crm_calendar_free(cal);
}

static long maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void bench_escalation(long count, long batch, const char *dir, int keep)
{
    char path[512];
    snprintf(path, sizeof path, "%s/bench_workorders_%ld.db", dir, (long)getpid());
    unlink(path);
    crm_db *db;
    if (crm_db_open(&db, path, NULL) != 0)
        die("open");
    int64_t as_of;
    crm_time_parse(&as_of, "2025-12-15T16:00:00+08:00");
    static const char *const types[] = { "complaint", "enquiry", "repair", "test_drive" };
    static const char *const channels[] = { "dcc", "wechat_mp", "app", "walk_in", "douyin" };
    double t0 = now_s();
    char id[CRM_ID_LEN + 1];
    for (long i = 0; i < count; i++) {
        if (i % batch == 0 && crm_db_begin(db) != 0)
            die("begin");
        int64_t created = as_of - (int64_t)(next_rand() % (30ull * 86400000ull));
        char when[CRM_TIME_TEXT_SIZE], json[512];
        crm_time_format(when, created);
        uint64_t r = next_rand();
        snprintf(json, sizeof json,
                 "{\"type\":\"%s\",\"priority\":%d,\"channel\":\"%s\",\"dealer_id\":\"D%03d\",\"queue\":\"q%d\","
                 "\"subject\":\"工单 %ld\",\"created_at\":\"%s\"%s}",
                 types[r % 4], (int)(r / 4 % 4) + 1, channels[r / 16 % 5], (int)(r / 80 % 200), (int)(r / 16000 % 8),
                 i, when, r / 128000 % 2 ? ",\"assignee\":\"agent\"" : "");
        crm_db_set_time(db, created);
        if (crm_workorder_create(id, db, json) != 0)
            die("create");
        /* A tenth are waiting for the customer: the SLA clock is paused. */
        if (r / 256000 % 10 == 0 && r / 128000 % 2) {
            crm_db_set_time(db, created + 600000);
            if (crm_workorder_move(db, id, CRM_WO_IN_PROGRESS, NULL) != 0 ||
                crm_workorder_move(db, id, CRM_WO_WAITING_CUSTOMER, NULL) != 0)
                die("move");
        }
        if ((i + 1) % batch == 0 || i + 1 == count) {
            if (crm_db_commit(db) != 0)
                die("commit");
        }
    }
    double t_load = now_s() - t0;
    printf("escalation: loaded %ld open work orders in %.1f s (%.0f /s, %ld per transaction)\n", count, t_load,
           (double)count / t_load, batch);
    crm_sla_policy *policy;
    if (crm_sla_policy_new(&policy, POLICY) != 0)
        die("policy");
    crm_db_set_time(db, as_of);
    crm_escalation_result r1, r2;
    t0 = now_s();
    if (crm_sla_escalate(&r1, db, policy, as_of) != 0)
        die("escalate");
    double t1 = now_s() - t0;
    printf("escalation run 1: %.2f s (%.0f orders/s): scanned %zu, warnings %zu, breaches %zu, escalations %zu, "
           "changed %zu\n",
           t1, (double)r1.scanned / t1, r1.scanned, r1.warnings, r1.breaches, r1.escalations, r1.changed);
    t0 = now_s();
    if (crm_sla_escalate(&r2, db, policy, as_of) != 0)
        die("escalate again");
    double t2 = now_s() - t0;
    printf("escalation run 2 (same time): %.2f s (%.0f orders/s): scanned %zu, changed %zu\n", t2,
           (double)r2.scanned / t2, r2.scanned, r2.changed);
    if (r2.changed || r2.warnings || r2.breaches || r2.escalations) {
        fprintf(stderr, "bench_workorders: the second run changed something\n");
        exit(1);
    }
    printf("peak RSS %ld MB\n", maxrss_kb() / 1024);
    crm_sla_policy_free(policy);
    crm_db_close(db);
    if (!keep) {
        char aux[600];
        unlink(path);
        snprintf(aux, sizeof aux, "%s-wal", path);
        unlink(aux);
        snprintf(aux, sizeof aux, "%s-shm", path);
        unlink(aux);
    } else {
        printf("kept %s\n", path);
    }
}

int main(int argc, char **argv)
{
    long count = 1000000, due = 1000000, batch = 10000;
    const char *dir = "/tmp";
    int keep = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
            count = atol(argv[++i]);
        else if (strcmp(argv[i], "--due") == 0 && i + 1 < argc)
            due = atol(argv[++i]);
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            batch = atol(argv[++i]);
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--keep") == 0)
            keep = 1;
        else {
            fprintf(stderr, "usage: bench_workorders [--count N] [--due N] [--batch B] [--dir DIR] [--keep]\n");
            return 2;
        }
    }
    if (count < 0 || due < 1 || batch < 1) {
        fprintf(stderr, "bench_workorders: counts must be positive\n");
        return 2;
    }
    printf("crmcore %s\n", crm_version());
    bench_calendar(due);
    if (count > 0)
        bench_escalation(count, batch, dir, keep);
    return 0;
}
