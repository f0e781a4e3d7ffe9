/*
 * bench_dedupe_leads: batch deduplication of gen_leads CSV output, scored
 * against the generator's truth file.
 *
 *   gen_leads --count 1000000 --format csv --out leads.csv --truth truth.csv
 *   bench_dedupe_leads leads.csv truth.csv [--config FILE]
 *
 * Without --config the library's default lead configuration is used (fixed
 * weights); bench/leads_em.json is the same without weights, for EM.
 * Scores the pairs implied by the clusters (every two records in a cluster)
 * against the true pairs; reports the wall time of the whole process
 * (reading the CSV included) and the peak resident set size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <crm/crm.h>

#include "csv.h"

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

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Pairs within groups of equal keys (keys sorted in place). */
static double pairs_in_groups(uint64_t *keys, size_t n)
{
    qsort(keys, n, sizeof *keys, cmp_u64);
    double total = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && keys[j] == keys[i])
            j++;
        total += (double)(j - i) * (double)(j - i - 1) / 2;
        i = j;
    }
    return total;
}

int main(int argc, char **argv)
{
    const char *data = NULL, *truth_path = NULL, *config_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config_path = argv[++i];
        else if (!data)
            data = argv[i];
        else
            truth_path = argv[i];
    }
    if (!data || !truth_path) {
        fprintf(stderr, "usage: bench_dedupe_leads LEADS.csv TRUTH.csv [--config FILE]\n");
        return 2;
    }
    double t0 = now_s();
    char *config = config_path ? slurp(config_path) : NULL;
    crm_matcher *m = NULL;
    crm_dedupe *d = NULL;
    if ((config_path && !config) || crm_matcher_new(&m, config) != 0) {
        fprintf(stderr, "bench_dedupe_leads: config: %s\n", config ? crm_error_last()->message : "cannot read");
        return 1;
    }
    FILE *in = fopen(data, "rb");
    if (!in) {
        perror(data);
        return 1;
    }
    csv_reader r;
    unsigned long line;
    csv_init(&r, in);
    if (csv_read(&r, &line) <= 0)
        return 1;
    size_t nc = r.nfields;
    char **cols = calloc(nc, sizeof *cols);
    for (size_t i = 0; i < nc; i++)
        cols[i] = strdup(csv_field(&r, i));
    if (crm_dedupe_new(&d, m, (const char *const *)cols, nc) != 0) {
        fprintf(stderr, "bench_dedupe_leads: %s\n", crm_error_last()->message);
        return 1;
    }
    const char **values = calloc(nc, sizeof *values);
    while (csv_read(&r, &line) > 0) {
        for (size_t i = 0; i < nc; i++)
            values[i] = csv_field(&r, i);
        if (crm_dedupe_add(d, NULL, values) != 0) {
            fprintf(stderr, "bench_dedupe_leads: line %lu: %s\n", line, crm_error_last()->message);
            return 1;
        }
    }
    csv_free(&r);
    fclose(in);
    crm_dedupe_stats st;
    if (crm_dedupe_run(&st, d) != 0) {
        fprintf(stderr, "bench_dedupe_leads: %s\n", crm_error_last()->message);
        return 1;
    }
    double t1 = now_s();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);

    /* Score: entity per record from the truth file, cluster root index per
     * record from the run (ids are the record indexes). */
    FILE *tf = fopen(truth_path, "rb");
    if (!tf) {
        perror(truth_path);
        return 1;
    }
    size_t n = st.records;
    uint64_t *ent = malloc(n * sizeof *ent), *clu = malloc(n * sizeof *clu), *both = malloc(n * sizeof *both);
    char buf[128];
    size_t k = 0;
    if (!fgets(buf, sizeof buf, tf))
        return 1;
    while (k < n && fgets(buf, sizeof buf, tf)) {
        const char *comma = strchr(buf, ',');
        ent[k] = comma ? strtoull(comma + 1, NULL, 10) : 0;
        clu[k] = strtoull(crm_dedupe_cluster(d, k), NULL, 10);
        both[k] = ent[k] << 32 | clu[k];
        k++;
    }
    fclose(tf);
    if (k != n) {
        fprintf(stderr, "bench_dedupe_leads: the truth file has %zu records, the data %zu\n", k, n);
        return 1;
    }
    double true_pairs = pairs_in_groups(ent, n), predicted = pairs_in_groups(clu, n), tp = pairs_in_groups(both, n);
    double precision = predicted ? tp / predicted : 1, recall = true_pairs ? tp / true_pairs : 1;
    double f1 = precision + recall ? 2 * precision * recall / (precision + recall) : 0;
    printf("%s: %zu records, %zu candidate pairs, %zu merged, %zu for review, %zu clusters, EM %d iterations\n",
           data, st.records, st.candidate_pairs, st.merge_pairs, st.review_pairs, st.clusters, st.em_iterations);
    printf("  pairs in clusters: precision %.4f  recall %.4f  F1 %.4f  (true %.0f, predicted %.0f, tp %.0f)\n",
           precision, recall, f1, true_pairs, predicted, tp);
    printf("  %.2f s wall (reading included), peak RSS %.1f MiB\n", t1 - t0, ru.ru_maxrss / 1024.0);
    free(ent), free(clu), free(both), free(values), free(config);
    for (size_t i = 0; i < nc; i++)
        free(cols[i]);
    free(cols);
    crm_dedupe_free(d);
    crm_matcher_free(m);
    return 0;
}
