/*
 * crm review: the queue of possible duplicates that online matching found
 * (crm import --match): list them, accept or reject one.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char review_usage[] =
    "usage: crm [GLOBAL OPTIONS] review [--status pending|accepted|rejected|all] [--limit N] [--json]\n"
    "       crm [GLOBAL OPTIONS] review accept|reject ID\n"
    "\n"
    "List the possible duplicates that online matching queued (oldest first;\n"
    "pending ones unless --status says otherwise), or decide one: accept (the\n"
    "two leads are one person) or reject. A decision is stored with the actor\n"
    "and an audit event on the lead. Accept also merges the new lead into the\n"
    "candidate with the default rules (see crm merge --help); crm unmerge of\n"
    "that merge puts the item back to pending.\n"
    "\n"
    "Options:\n"
    "  --status S   pending (default), accepted, rejected or all\n"
    "  --limit N    at most N items (default 100, at most 10000)\n"
    "  --json       print the items as NDJSON, with the evidence field by field\n"
    "  --db PATH    the database\n"
    "  -h, --help   show this help\n"
    "\n"
    "Exit status: 0 success, 1 error (an item already decided), 2 usage error,\n"
    "4 not found.\n";

static int decide(cli_globals *g, const char *id, int accept)
{
    crm_db *db = NULL;
    if (cli_open_db(&db, g, 0) != 0)
        return CLI_EXIT_ERROR;
    int rc = crm_review_decide(db, id, accept);
    if (rc != 0) {
        cli_lib_error(accept ? "review accept" : "review reject");
        crm_db_close(db);
        return rc == CRM_ENOTFOUND ? CLI_EXIT_NOTFOUND : CLI_EXIT_ERROR;
    }
    printf("%s %s\n", id, accept ? "accepted" : "rejected");
    crm_db_close(db);
    return CLI_EXIT_OK;
}

int cli_cmd_review(int argc, char **argv, cli_globals *g)
{
    const char *status = "pending", *limit_text = "100";
    int json = 0, r;

    if (argc >= 2 && (strcmp(argv[1], "accept") == 0 || strcmp(argv[1], "reject") == 0)) {
        int accept = argv[1][0] == 'a';
        const char *id = NULL;
        for (int i = 2; i < argc; i++) {
            if ((r = cli_common_opt(argc, argv, &i, g, "review")) != 0) {
                if (r < 0)
                    return CLI_EXIT_USAGE;
                continue;
            }
            if (cli_is_option(argv[i]) || id)
                return cli_usage_error("review", "unexpected argument '%s'", argv[i]);
            id = argv[i];
        }
        if (!id)
            return cli_usage_error("review", "%s needs the ID of a review item", argv[1]);
        return decide(g, id, accept);
    }
    for (int i = 1; i < argc; i++) {
        if (cli_flag(argv[i], "--help") || cli_flag(argv[i], "-h")) {
            fputs(review_usage, stdout);
            return CLI_EXIT_OK;
        }
        if (cli_flag(argv[i], "--json")) {
            json = 1;
            continue;
        }
        if ((r = cli_common_opt(argc, argv, &i, g, "review")) != 0 ||
            (r = cli_opt(argc, argv, &i, "--status", &status, "review")) != 0 ||
            (r = cli_opt(argc, argv, &i, "--limit", &limit_text, "review")) != 0) {
            if (r < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        return cli_usage_error("review", "unexpected argument '%s'", argv[i]);
    }
    char *end;
    long limit = strtol(limit_text, &end, 10);
    if (*end || limit < 1 || limit > 10000)
        return cli_usage_error("review", "--limit: expected 1 to 10000");
    crm_db *db = NULL;
    if (cli_open_db(&db, g, 0) != 0)
        return CLI_EXIT_ERROR;
    char *out = NULL;
    if (crm_review_list_json(&out, db, strcmp(status, "all") == 0 ? NULL : status, (int)limit) != 0) {
        int code = crm_error_last()->code;
        cli_lib_error("review");
        crm_db_close(db);
        return code == CRM_EINVALID ? CLI_EXIT_USAGE : CLI_EXIT_ERROR;
    }
    crm_db_close(db);
    cJSON *arr = cJSON_Parse(out);
    crm_free(out);
    if (!arr) {
        cli_errorf("out of memory");
        return CLI_EXIT_ERROR;
    }
    cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (json) {
            char *line = cJSON_PrintUnformatted(it);
            if (line)
                puts(line);
            cJSON_free(line);
            continue;
        }
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(it, "probability");
        printf("%s  %-8s  p=%.2f  lead %s  may duplicate %s\n",
               cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "id")),
               cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "status")), p ? p->valuedouble : 0.0,
               cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "lead_id")),
               cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "candidate_id")));
    }
    cJSON_Delete(arr);
    return CLI_EXIT_OK;
}
