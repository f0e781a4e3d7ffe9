/*
 * crm dedupe: batch deduplication of a CSV file of any columns with a match
 * configuration (no database is opened), or of the stored leads (--stored).
 */
#include "cli.h"
#include "csv.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char dedupe_usage[] =
    "usage: crm dedupe FILE|- [--config FILE] [--id-column NAME] [--pairs] [--weights FILE]\n"
    "       crm [--db PATH] [--dealer ID] dedupe --stored [--config FILE] [--apply]\n"
    "\n"
    "Find the records of a CSV file (a header row, then one record a row) that\n"
    "are the same entity: candidate pairs by the configuration's blocking keys,\n"
    "field comparisons, Fellegi-Sunter weights estimated by EM (without labels),\n"
    "decisions by the two thresholds, and clusters. Writes NDJSON: one line per\n"
    "record, {\"id\": ..., \"cluster\": ...} (the cluster's id is the id of its\n"
    "first record), then with --pairs one line per pair merged or for review,\n"
    "with the evidence field by field. A summary goes to standard error.\n"
    "\n"
    "Options:\n"
    "  --config FILE     the match configuration (JSON; default: the one for leads,\n"
    "                    columns phone, name, email, wechat_openid, wechat_unionid,\n"
    "                    province, city)\n"
    "  --id-column NAME  the column that names a record (default: the row number from 0)\n"
    "  --pairs           also write the pairs merged or for review, with their evidence\n"
    "  --weights FILE    write the configuration with the weights used (m and u per field)\n"
    "  --stored          the database's leads (those --dealer sees), not a file: writes\n"
    "                    the leads in clusters of more than one (a cluster named by its\n"
    "                    oldest lead), then the pairs merged or for review\n"
    "  --apply           with --stored: merge each cluster into its oldest lead (default\n"
    "                    rules, one transaction) and write {\"merge\": id} per merge\n"
    "  -h, --help        show this help\n"
    "\n"
    "Exit status: 0 success, 1 error (a bad configuration names the JSON path),\n"
    "2 usage error.\n";

static int write_weights(const crm_matcher *m, const char *path)
{
    char *json = NULL;
    if (crm_matcher_config_json(&json, m) != 0) {
        cli_lib_error("dedupe: weights");
        return -1;
    }
    FILE *f = fopen(path, "w");
    int rc = f && fputs(json, f) >= 0 && fputc('\n', f) != EOF ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    if (rc != 0)
        cli_errorf("%s: cannot write: %s", path, strerror(errno));
    crm_free(json);
    return rc;
}

static int run(FILE *in, const char *name, crm_matcher *m, const char *id_column, int pairs)
{
    csv_reader r;
    unsigned long line = 0;
    crm_dedupe *d = NULL;
    char **columns = NULL;
    size_t ncolumns = 0, id_col = (size_t)-1;
    int rc = CLI_EXIT_ERROR;

    csv_init(&r, in);
    int got = csv_read(&r, &line);
    if (got <= 0) {
        cli_errorf("%s: %s", name, got < 0 ? r.error : "no header row");
        goto out;
    }
    ncolumns = r.nfields;
    columns = calloc(ncolumns, sizeof *columns);
    for (size_t i = 0; columns && i < ncolumns; i++) {
        columns[i] = strdup(csv_field(&r, i));
        if (id_column && strcmp(columns[i], id_column) == 0)
            id_col = i;
    }
    if (!columns) {
        cli_errorf("out of memory");
        goto out;
    }
    if (id_column && id_col == (size_t)-1) {
        cli_errorf("%s: no column '%s' (--id-column)", name, id_column);
        goto out;
    }
    if (crm_dedupe_new(&d, m, (const char *const *)columns, ncolumns) != 0) {
        cli_lib_error(name);
        goto out;
    }
    const char **values = calloc(ncolumns, sizeof *values);
    if (!values) {
        cli_errorf("out of memory");
        goto out;
    }
    while ((got = csv_read(&r, &line)) > 0) {
        if (r.blank)
            continue;
        if (r.nfields != ncolumns) {
            cli_errorf("%s:%lu: %zu fields, the header has %zu", name, line, r.nfields, ncolumns);
            free(values);
            goto out;
        }
        for (size_t i = 0; i < ncolumns; i++)
            values[i] = csv_field(&r, i);
        if (crm_dedupe_add(d, id_col != (size_t)-1 ? values[id_col] : NULL, values) != 0) {
            char what[64];
            snprintf(what, sizeof what, "%s:%lu", name, line);
            cli_lib_error(what);
            free(values);
            goto out;
        }
    }
    free(values);
    if (got < 0) {
        cli_errorf("%s:%lu: %s", name, line, r.error);
        goto out;
    }
    crm_dedupe_stats st;
    if (crm_dedupe_run(&st, d) != 0) {
        cli_lib_error("dedupe");
        goto out;
    }
    for (size_t i = 0; i < st.records; i++) {
        cJSON *o = cJSON_CreateObject();
        char *text = NULL;
        if (o && cJSON_AddStringToObject(o, "id", crm_dedupe_record_id(d, i)) &&
            cJSON_AddStringToObject(o, "cluster", crm_dedupe_cluster(d, i)))
            text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (!text) {
            cli_errorf("out of memory");
            goto out;
        }
        puts(text);
        cJSON_free(text);
    }
    for (size_t i = 0; pairs && i < crm_dedupe_pair_count(d); i++) {
        crm_match_pair p;
        char *ev = NULL;
        if (crm_dedupe_pair(&p, d, i) != 0 || p.decision == CRM_MATCH_DISTINCT)
            continue;
        if (crm_dedupe_pair_json(&ev, d, i) != 0) {
            cli_lib_error("dedupe");
            goto out;
        }
        puts(ev);
        crm_free(ev);
    }
    fprintf(stderr, "%zu records, %zu candidate pairs, %zu merged, %zu for review, %zu clusters (EM: %d iterations)\n",
            st.records, st.candidate_pairs, st.merge_pairs, st.review_pairs, st.clusters, st.em_iterations);
    rc = CLI_EXIT_OK;
out:
    crm_dedupe_free(d);
    for (size_t i = 0; columns && i < ncolumns; i++)
        free(columns[i]);
    free(columns);
    csv_free(&r);
    return rc;
}

/* --stored: the database's leads, through crm_lead_dedupe_json; the
 * same NDJSON as for a file (the leads in clusters of more than one, then
 * the pairs), and with --apply one line per merge made. */
static int dedupe_stored(const cli_globals *g, char *config, int apply)
{
    crm_db *db = NULL;
    char *out = NULL;
    int rc = CLI_EXIT_ERROR;
    if (cli_open_db(&db, g, 0) == 0) {
        if (crm_lead_dedupe_json(&out, db, config, apply) == 0)
            rc = CLI_EXIT_OK;
        else
            cli_lib_error("dedupe");
    }
    free(config);
    cJSON *o = out ? cJSON_Parse(out) : NULL;
    crm_free(out);
    if (rc == CLI_EXIT_OK && !o) {
        cli_errorf("dedupe: out of memory");
        rc = CLI_EXIT_ERROR;
    }
    const char *arrays[] = {"clusters", "pairs", "merges"};
    for (size_t a = 0; rc == CLI_EXIT_OK && a < sizeof arrays / sizeof arrays[0]; a++) {
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(o, arrays[a])) {
            char *line = cJSON_IsString(item) ? NULL : cJSON_PrintUnformatted(item);
            if (cJSON_IsString(item))
                printf("{\"merge\":\"%s\"}\n", item->valuestring);
            else if (line)
                printf("%s\n", line);
            free(line);
        }
    }
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "stats");
    if (rc == CLI_EXIT_OK)
        fprintf(stderr, "dedupe: %.0f leads, %.0f candidate pairs, %.0f merged, %.0f for review, %.0f clusters%s\n",
                cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st, "records")),
                cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st, "candidate_pairs")),
                cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st, "merge_pairs")),
                cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st, "review_pairs")),
                cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st, "clusters")),
                apply ? "; clusters merged" : "");
    cJSON_Delete(o);
    crm_db_close(db);
    return rc;
}

int cli_cmd_dedupe(int argc, char **argv, cli_globals *g)
{
    const char *path = NULL, *config_path = NULL, *id_column = NULL, *weights = NULL;
    int pairs = 0, stored = 0, apply = 0, r;

    for (int i = 1; i < argc; i++) {
        if (cli_flag(argv[i], "--help") || cli_flag(argv[i], "-h")) {
            fputs(dedupe_usage, stdout);
            return CLI_EXIT_OK;
        }
        if (cli_flag(argv[i], "--pairs")) {
            pairs = 1;
            continue;
        }
        if (cli_flag(argv[i], "--stored")) {
            stored = 1;
            continue;
        }
        if (cli_flag(argv[i], "--apply")) {
            apply = 1;
            continue;
        }
        if ((r = cli_common_opt(argc, argv, &i, g, "dedupe")) != 0 ||
            (r = cli_opt(argc, argv, &i, "--config", &config_path, "dedupe")) != 0 ||
            (r = cli_opt(argc, argv, &i, "--id-column", &id_column, "dedupe")) != 0 ||
            (r = cli_opt(argc, argv, &i, "--weights", &weights, "dedupe")) != 0) {
            if (r < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if (cli_is_option(argv[i]))
            return cli_usage_error("dedupe", "unknown option '%s'", argv[i]);
        if (path)
            return cli_usage_error("dedupe", "unexpected argument '%s'", argv[i]);
        path = argv[i];
    }
    if (stored && (path || id_column || pairs || weights))
        return cli_usage_error("dedupe", "--stored reads the database: no FILE, --id-column, --pairs or --weights");
    if (apply && !stored)
        return cli_usage_error("dedupe", "--apply needs --stored");
    if (!path && !stored)
        return cli_usage_error("dedupe", "missing FILE (or - for standard input), or --stored");

    char *config = NULL;
    if (config_path && !(config = cli_read_file(config_path)))
        return CLI_EXIT_ERROR;
    if (stored)
        return dedupe_stored(g, config, apply);
    crm_matcher *m = NULL;
    if (crm_matcher_new(&m, config) != 0) {
        cli_lib_error(config_path ? config_path : "default configuration");
        free(config);
        return CLI_EXIT_ERROR;
    }
    free(config);
    FILE *in = stdin;
    if (strcmp(path, "-") != 0 && !(in = fopen(path, "rb"))) {
        cli_errorf("%s: cannot open: %s", path, strerror(errno));
        crm_matcher_free(m);
        return CLI_EXIT_ERROR;
    }
    int rc = run(in, path, m, id_column, pairs);
    if (in != stdin)
        fclose(in);
    if (rc == CLI_EXIT_OK && weights && write_weights(m, weights) != 0)
        rc = CLI_EXIT_ERROR;
    crm_matcher_free(m);
    return rc;
}
