/*
 * bench_febrl: batch deduplication of a FEBRL file (../shared/data/febrl)
 * with weights estimated by EM (no labels), scored against the ground truth
 * in rec_id (rec-N-org / rec-N-dup-k: the same N is the same person).
 *
 *   bench_febrl --config bench/febrl.json FILE.csv [--json]
 *
 * Reports pairwise precision, recall and F1 of the pairs decided as
 * matches, the wall time of the whole process (reading included) and the
 * peak resident set size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <crm/crm.h>

#define COLS_MAX 16

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = '\0';
    fclose(f);
    return s;
}

/* Split a FEBRL line: ", " separates fields (no quoting in these files). */
static size_t split(char *line, char **out)
{
    size_t n = 0;
    char *p = line;
    while (n < COLS_MAX) {
        out[n++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
        while (*p == ' ')
            p++;
    }
    return n;
}

/* The entity number in rec-N-org / rec-N-dup-k. */
static long entity(const char *rec_id)
{
    return strtol(rec_id + 4, NULL, 10);
}

int main(int argc, char **argv)
{
    const char *config_path = NULL, *path = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config_path = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else
            path = argv[i];
    }
    if (!config_path || !path) {
        fprintf(stderr, "usage: bench_febrl --config CONFIG.json FILE.csv [--json]\n");
        return 2;
    }
    double t0 = now_s();
    char *config = slurp(config_path), *data = slurp(path);
    if (!config || !data) {
        fprintf(stderr, "bench_febrl: cannot read %s\n", !config ? config_path : path);
        return 1;
    }
    crm_matcher *m = NULL;
    crm_dedupe *d = NULL;
    if (crm_matcher_new(&m, config) != 0) {
        fprintf(stderr, "bench_febrl: %s: %s\n", config_path, crm_error_last()->message);
        return 1;
    }
    char *save = NULL, *line = strtok_r(data, "\r\n", &save);
    char *cols[COLS_MAX];
    size_t nc = split(line, cols);
    if (crm_dedupe_new(&d, m, (const char *const *)cols, nc) != 0) {
        fprintf(stderr, "bench_febrl: %s\n", crm_error_last()->message);
        return 1;
    }
    long *truth = NULL;
    size_t n = 0, cap = 0;
    while ((line = strtok_r(NULL, "\r\n", &save))) {
        char *v[COLS_MAX];
        if (split(line, v) != nc)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            truth = realloc(truth, cap * sizeof *truth);
        }
        truth[n++] = entity(v[0]);
        if (crm_dedupe_add(d, v[0], (const char *const *)v) != 0) {
            fprintf(stderr, "bench_febrl: %s\n", crm_error_last()->message);
            return 1;
        }
    }
    crm_dedupe_stats st;
    if (crm_dedupe_run(&st, d) != 0) {
        fprintf(stderr, "bench_febrl: %s\n", crm_error_last()->message);
        return 1;
    }
    double t1 = now_s();
    /* True pairs: all pairs within an entity. */
    long true_pairs = 0;
    {
        long maxe = 0;
        for (size_t i = 0; i < n; i++)
            if (truth[i] > maxe)
                maxe = truth[i];
        long *count = calloc((size_t)maxe + 1, sizeof *count);
        for (size_t i = 0; i < n; i++)
            count[truth[i]]++;
        for (long e = 0; e <= maxe; e++)
            true_pairs += count[e] * (count[e] - 1) / 2;
        free(count);
    }
    long tp = 0, fp = 0, cand_true = 0;
    for (size_t i = 0; i < crm_dedupe_pair_count(d); i++) {
        crm_match_pair p;
        crm_dedupe_pair(&p, d, i);
        int same = truth[p.a] == truth[p.b];
        cand_true += same;
        if (p.decision == CRM_MATCH_MERGE) {
            tp += same;
            fp += !same;
        }
    }
    double precision = tp + fp ? (double)tp / (double)(tp + fp) : 0;
    double recall = true_pairs ? (double)tp / (double)true_pairs : 0;
    double f1 = precision + recall ? 2 * precision * recall / (precision + recall) : 0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rss_mib = ru.ru_maxrss / 1024.0;
    if (json) {
        printf("{\"file\":\"%s\",\"records\":%zu,\"candidate_pairs\":%zu,\"true_pairs\":%ld,"
               "\"blocking_recall\":%.4f,\"precision\":%.4f,\"recall\":%.4f,\"f1\":%.4f,"
               "\"seconds\":%.4f,\"peak_rss_mib\":%.1f,\"em_iterations\":%d}\n",
               path, st.records, st.candidate_pairs, true_pairs,
               true_pairs ? (double)cand_true / true_pairs : 0, precision, recall, f1, t1 - t0, rss_mib,
               st.em_iterations);
    } else {
        printf("%s: %zu records, %zu candidate pairs (%ld of %ld true pairs among them), EM %d iterations\n",
               path, st.records, st.candidate_pairs, cand_true, true_pairs, st.em_iterations);
        printf("  precision %.4f  recall %.4f  F1 %.4f  (tp %ld, fp %ld, fn %ld)\n", precision, recall, f1, tp,
               fp, true_pairs - tp);
        printf("  %.3f s wall (whole process), peak RSS %.1f MiB\n", t1 - t0, rss_mib);
    }
    crm_dedupe_free(d);
    crm_matcher_free(m);
    free(truth);
    free(config);
    free(data);
    return 0;
}
