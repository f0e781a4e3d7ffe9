/*
 * crm merge, crm unmerge, crm merges: fold one lead into another by
 * survivorship rules, undo it, list what was merged.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char merge_usage[] =
    "usage: crm [GLOBAL OPTIONS] merge SURVIVOR OTHER [--rules FILE] [--json]\n"
    "\n"
    "Merge lead OTHER into lead SURVIVOR: each field of the survivor takes the\n"
    "value its survivorship rule picks from the two (by default: name from the\n"
    "most trusted channel, every phone kept, e-mail, region, model and timeline\n"
    "the most recent), OTHER is marked merged (lists and the funnel skip it),\n"
    "and its match keys move to SURVIVOR, so later imports of its phone find\n"
    "SURVIVOR. Prints the merge's id (for crm unmerge) and what each rule did.\n"
    "\n"
    "Options:\n"
    "  --rules FILE  survivorship rules (JSON; see docs/guide.md), '-' for stdin\n"
    "  --json        print what the merge did as JSON\n"
    "  --db PATH     the database\n"
    "  -h, --help    show this help\n"
    "\n"
    "Exit status: 0 merged, 1 error (bad rules, a lead merged away already),\n"
    "2 usage error, 4 a lead not found (or outside the dealer scope).\n";

static const char unmerge_usage[] =
    "usage: crm [GLOBAL OPTIONS] unmerge MERGE_ID\n"
    "\n"
    "Undo a merge: both leads, their match keys and a review item the merge\n"
    "accepted go back exactly as they were. Refused when the merge was undone\n"
    "already, when either lead changed since, or when a later merge involves\n"
    "them (undo that one first).\n"
    "\n"
    "Options:\n"
    "  --db PATH    the database\n"
    "  -h, --help   show this help\n"
    "\n"
    "Exit status: 0 undone, 1 error (refused, with the reason), 2 usage error,\n"
    "4 no such merge (or outside the dealer scope).\n";

static const char merges_usage[] =
    "usage: crm [GLOBAL OPTIONS] merges [--lead ID] [--limit N] [--json]\n"
    "\n"
    "List merges, newest first: id, survivor, other, when, and whether undone.\n"
    "\n"
    "Options:\n"
    "  --lead ID    only merges with this lead as survivor or other\n"
    "  --limit N    at most N merges (default 100, at most 10000)\n"
    "  --json       print the merges as NDJSON, with the rules and fields\n"
    "  --db PATH    the database\n"
    "  -h, --help   show this help\n"
    "\n"
    "Exit status: 0 success, 1 error, 2 usage error.\n";

static int lib_exit(const char *what)
{
    int code = crm_error_last()->code;
    cli_lib_error(what);
    return code == CRM_ENOTFOUND ? CLI_EXIT_NOTFOUND : CLI_EXIT_ERROR;
}

static const char *text_of(const cJSON *o, const char *name)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
    return v ? v : "-";
}

static void print_merge(const char *json)
{
    cJSON *m = cJSON_Parse(json);
    if (!m) {
        puts(json);
        return;
    }
    printf("%s  merged %s into %s\n", text_of(m, "id"), text_of(m, "other_id"), text_of(m, "survivor_id"));
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(m, "fields"))
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, "value");
        char *value = cJSON_IsString(v) || cJSON_IsNull(v) ? NULL : cJSON_PrintUnformatted(v);
        printf("  %-18s %-21s %-8s %s\n", text_of(f, "field"), text_of(f, "rule"), text_of(f, "from"),
               cJSON_IsString(v) ? v->valuestring : value ? value : "");
        cJSON_free(value);
    }
    const cJSON *phones = cJSON_GetObjectItemCaseSensitive(m, "phones");
    if (cJSON_IsArray(phones)) {
        char *text = cJSON_PrintUnformatted(phones);
        printf("  phones kept: %s\n", text ? text : "");
        cJSON_free(text);
    }
    cJSON_Delete(m);
}

int cli_cmd_merge(int argc, char **argv, cli_globals *g)
{
    const char *rules_path = NULL, *ids[2] = {NULL, NULL};
    int json = 0, n = 0, r;
    for (int i = 1; i < argc; i++) {
        if (cli_flag(argv[i], "--help") || cli_flag(argv[i], "-h")) {
            fputs(merge_usage, stdout);
            return CLI_EXIT_OK;
        }
        if (cli_flag(argv[i], "--json")) {
            json = 1;
            continue;
        }
        if ((r = cli_common_opt(argc, argv, &i, g, "merge")) != 0 ||
            (r = cli_opt(argc, argv, &i, "--rules", &rules_path, "merge")) != 0) {
            if (r < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if (cli_is_option(argv[i]) || n == 2)
            return cli_usage_error("merge", "unexpected argument '%s'", argv[i]);
        ids[n++] = argv[i];
    }
    if (n < 2)
        return cli_usage_error("merge", "needs the ids of the SURVIVOR and the OTHER lead");
    char *rules = NULL;
    if (rules_path && !(rules = cli_read_file(rules_path)))
        return CLI_EXIT_ERROR;
    crm_db *db = NULL;
    if (cli_open_db(&db, g, 0) != 0) {
        free(rules);
        return CLI_EXIT_ERROR;
    }
    char *id = NULL, *out = NULL;
    int rc = CLI_EXIT_OK;
    if (crm_lead_merge(&id, db, ids[0], ids[1], rules) != 0 || crm_lead_merge_get_json(&out, db, id) != 0)
        rc = lib_exit("merge");
    else if (json)
        puts(out);
    else
        print_merge(out);
    crm_free(id);
    crm_free(out);
    free(rules);
    crm_db_close(db);
    return rc;
}

int cli_cmd_unmerge(int argc, char **argv, cli_globals *g)
{
    const char *id = NULL;
    int r;
    for (int i = 1; i < argc; i++) {
        if (cli_flag(argv[i], "--help") || cli_flag(argv[i], "-h")) {
            fputs(unmerge_usage, stdout);
            return CLI_EXIT_OK;
        }
        if ((r = cli_common_opt(argc, argv, &i, g, "unmerge")) != 0) {
            if (r < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if (cli_is_option(argv[i]) || id)
            return cli_usage_error("unmerge", "unexpected argument '%s'", argv[i]);
        id = argv[i];
    }
    if (!id)
        return cli_usage_error("unmerge", "needs the MERGE_ID (see crm merges)");
    crm_db *db = NULL;
    if (cli_open_db(&db, g, 0) != 0)
        return CLI_EXIT_ERROR;
    int rc = CLI_EXIT_OK;
    if (crm_lead_unmerge(db, id) != 0)
        rc = lib_exit("unmerge");
    else
        printf("%s undone\n", id);
    crm_db_close(db);
    return rc;
}

int cli_cmd_merges(int argc, char **argv, cli_globals *g)
{
    const char *lead = NULL, *limit_text = "100";
    int json = 0, r;
    for (int i = 1; i < argc; i++) {
        if (cli_flag(argv[i], "--help") || cli_flag(argv[i], "-h")) {
            fputs(merges_usage, stdout);
            return CLI_EXIT_OK;
        }
        if (cli_flag(argv[i], "--json")) {
            json = 1;
            continue;
        }
        if ((r = cli_common_opt(argc, argv, &i, g, "merges")) != 0 ||
            (r = cli_opt(argc, argv, &i, "--lead", &lead, "merges")) != 0 ||
            (r = cli_opt(argc, argv, &i, "--limit", &limit_text, "merges")) != 0) {
            if (r < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        return cli_usage_error("merges", "unexpected argument '%s'", argv[i]);
    }
    char *end;
    long limit = strtol(limit_text, &end, 10);
    if (*end || limit < 1 || limit > 10000)
        return cli_usage_error("merges", "--limit: expected 1 to 10000");
    crm_db *db = NULL;
    if (cli_open_db(&db, g, 0) != 0)
        return CLI_EXIT_ERROR;
    char *out = NULL;
    if (crm_lead_merge_list_json(&out, db, lead, (int)limit) != 0) {
        int code = crm_error_last()->code;
        cli_lib_error("merges");
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
        const char *undone = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "undone_at"));
        printf("%s  %s  survivor %s  other %s%s%s\n", text_of(it, "id"), text_of(it, "created_at"),
               text_of(it, "survivor_id"), text_of(it, "other_id"), undone ? "  undone " : "", undone ? undone : "");
    }
    cJSON_Delete(arr);
    return CLI_EXIT_OK;
}
