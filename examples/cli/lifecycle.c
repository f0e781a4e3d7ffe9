/*
 * crm status / crm stages — move a lead through its lifecycle, and show
 * the stages it went through.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char status_usage[] =
    "usage: crm [GLOBAL OPTIONS] status [OPTIONS] ID STATE\n"
    "\n"
    "Move a lead to STATE: assigned, contacted, visited, test_drive, ordered,\n"
    "delivered (forward, stages may be skipped), or lost / invalid from any\n"
    "open state. The stage and its time are kept and the move is audited.\n"
    "\n"
    "Options:\n"
    "  --reason TEXT     why (required for lost)\n"
    "  --to-dealer ID    on assignment: the dealer\n"
    "  --owner ID        on assignment: the sales consultant\n"
    "  --db PATH         the database\n"
    "  -h, --help        show this help\n"
    "\n"
    "Exit status: 0 success, 1 error (a refused move names both states), 2 usage\n"
    "error, 4 no such lead.\n";

static const char stages_usage[] =
    "usage: crm [GLOBAL OPTIONS] stages [OPTIONS] ID\n"
    "\n"
    "Show the stages a lead went through, oldest first, with when each began,\n"
    "how long it lasted, who moved the lead and why.\n"
    "\n"
    "Options:\n"
    "  --json      one JSON object per stage\n"
    "  --db PATH   the database\n"
    "  -h, --help  show this help\n"
    "\n"
    "Exit status: 0 success, 1 error, 2 usage error, 4 no such lead.\n";

static int wants_help(int argc, char **argv, const char *usage)
{
    for (int i = 1; i < argc; i++) {
        if (cli_flag(argv[i], "--help") || cli_flag(argv[i], "-h")) {
            fputs(usage, stdout);
            return 1;
        }
    }
    return 0;
}

int cli_cmd_status(int argc, char **argv, cli_globals *g)
{
    crm_transition t = CRM_TRANSITION_INIT;
    const char *args[2] = { NULL, NULL };
    int n = 0;
    if (wants_help(argc, argv, status_usage))
        return CLI_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        int r = cli_common_opt(argc, argv, &i, g, "status");
        if (r == 0)
            r = cli_opt(argc, argv, &i, "--reason", &t.reason, "status");
        if (r == 0)
            r = cli_opt(argc, argv, &i, "--to-dealer", &t.dealer_id, "status");
        if (r == 0)
            r = cli_opt(argc, argv, &i, "--owner", &t.owner_id, "status");
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r)
            continue;
        if (cli_is_option(argv[i]))
            return cli_usage_error("status", "unknown option '%s'", argv[i]);
        if (n == 2)
            return cli_usage_error("status", "unexpected argument '%s'", argv[i]);
        args[n++] = argv[i];
    }
    if (n < 2)
        return cli_usage_error("status", "an ID and a STATE are required");
    crm_lead_status to;
    if (crm_lead_status_parse(&to, args[1]) != 0)
        return cli_usage_error("status", "%s", crm_error_last()->message);
    crm_db *db;
    if (cli_open_db(&db, g, 0) != 0)
        return CLI_EXIT_ERROR;
    int rc = CLI_EXIT_OK, e = crm_lead_transition(db, args[0], to, &t);
    if (e != 0) {
        cli_lib_error("status");
        rc = e == CRM_ENOTFOUND ? CLI_EXIT_NOTFOUND : CLI_EXIT_ERROR;
    } else {
        printf("%s: %s\n", args[0], crm_lead_status_name(to));
    }
    crm_db_close(db);
    return rc;
}

/* A JSON string (or null) for text a person typed. */
static void put_json_string(FILE *f, const char *s)
{
    cJSON *v = s ? cJSON_CreateString(s) : NULL;
    char *text = v ? cJSON_PrintUnformatted(v) : NULL;
    fputs(text ? text : "null", f);
    cJSON_free(text);
    cJSON_Delete(v);
}

static void put_duration(FILE *f, int64_t ms)
{
    int64_t m = ms / 60000;
    if (m >= 1440)
        fprintf(f, "%lldd %lldh", (long long)(m / 1440), (long long)(m % 1440 / 60));
    else
        fprintf(f, "%lldh %02lldm", (long long)(m / 60), (long long)(m % 60));
}

int cli_cmd_stages(int argc, char **argv, cli_globals *g)
{
    const char *id = NULL;
    int json = 0;
    if (wants_help(argc, argv, stages_usage))
        return CLI_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        int r = cli_common_opt(argc, argv, &i, g, "stages");
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r)
            continue;
        if (cli_flag(argv[i], "--json")) {
            json = 1;
            continue;
        }
        if (cli_is_option(argv[i]))
            return cli_usage_error("stages", "unknown option '%s'", argv[i]);
        if (id)
            return cli_usage_error("stages", "unexpected argument '%s'", argv[i]);
        id = argv[i];
    }
    if (!id)
        return cli_usage_error("stages", "an ID is required");
    crm_db *db;
    if (cli_open_db(&db, g, 0) != 0)
        return CLI_EXIT_ERROR;
    crm_lead_stage *st = NULL;
    size_t n = 0;
    int rc = CLI_EXIT_OK, e = crm_lead_stages(&st, &n, db, id);
    if (e != 0) {
        cli_lib_error("stages");
        rc = e == CRM_ENOTFOUND ? CLI_EXIT_NOTFOUND : CLI_EXIT_ERROR;
    }
    for (size_t i = 0; i < n; i++) {
        char at[CRM_TIME_TEXT_SIZE];
        crm_time_format(at, st[i].entered_at);
        if (json) {
            /* reason and actor are text a person typed: escape them */
            printf("{\"status\":\"%s\",\"entered_at\":\"%s\",\"duration_ms\":", crm_lead_status_name(st[i].status),
                   at);
            if (st[i].left_at)
                printf("%lld", (long long)(st[i].left_at - st[i].entered_at));
            else
                fputs("null", stdout);
            fputs(",\"actor\":", stdout);
            put_json_string(stdout, st[i].actor);
            fputs(",\"reason\":", stdout);
            put_json_string(stdout, st[i].reason);
            fputs("}\n", stdout);
            continue;
        }
        printf("%-10s  %s  ", crm_lead_status_name(st[i].status), at);
        if (st[i].left_at)
            put_duration(stdout, st[i].left_at - st[i].entered_at);
        else
            fputs("(current)", stdout);
        printf("  %s%s%s\n", st[i].actor, st[i].reason ? "  " : "", st[i].reason ? st[i].reason : "");
    }
    crm_free(st);
    crm_db_close(db);
    return rc;
}
