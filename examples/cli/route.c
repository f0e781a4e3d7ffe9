/*
 * crm route / crm recycle — route new leads to dealers and consultants, and
 * return overdue assignments to the recycle pool (公海池).
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char route_usage[] =
    "usage: crm [GLOBAL OPTIONS] route --rules FILE [OPTIONS] [ID...]\n"
    "\n"
    "Route leads with the routing rules in FILE (JSON: territory, capacity per\n"
    "dealer and consultant per day, weights, working hours, score awareness;\n"
    "see the user's guide) and assign them. Without IDs, every new lead in the\n"
    "scope is routed, oldest first. Each assignment records why it was made.\n"
    "Capacity counts include the day's assignments already stored.\n"
    "\n"
    "Options:\n"
    "  --rules FILE   the routing rules (required)\n"
    "  --json         one JSON object per lead: id, dealer_id, owner_id, reason (or error)\n"
    "  --db PATH      the database\n"
    "  -h, --help     show this help\n"
    "\n"
    "Exit status: 0 every lead routed, 1 error, 2 usage error, 3 some leads\n"
    "could not be routed (no room left, or not new).\n";

static const char recycle_usage[] =
    "usage: crm [GLOBAL OPTIONS] recycle --hours H\n"
    "\n"
    "Return to the recycle pool (公海池) every assigned lead in the scope not\n"
    "contacted within H hours of its latest assignment: it becomes new again\n"
    "without a dealer, with its history kept, ready for 'crm route'.\n"
    "\n"
    "Options:\n"
    "  --hours H    the follow-up deadline in hours (required, > 0)\n"
    "  --db PATH    the database\n"
    "  -h, --help   show this help\n"
    "\n"
    "Exit status: 0 success, 1 error, 2 usage error.\n";

static int help(int argc, char **argv, const char *usage)
{
    for (int i = 1; i < argc; i++)
        if (cli_flag(argv[i], "--help") || cli_flag(argv[i], "-h")) {
            fputs(usage, stdout);
            return 1;
        }
    return 0;
}

static void report(const char *id, const crm_route_result *res, int ok, int json)
{
    if (json) {
        cJSON *o = cJSON_CreateObject();
        if (o && cJSON_AddStringToObject(o, "id", id)) {
            if (ok) {
                cJSON_AddStringToObject(o, "dealer_id", res->dealer_id);
                if (res->owner_id[0])
                    cJSON_AddStringToObject(o, "owner_id", res->owner_id);
                else
                    cJSON_AddNullToObject(o, "owner_id");
                cJSON_AddStringToObject(o, "reason", res->reason);
            } else {
                cJSON_AddStringToObject(o, "error", crm_error_last()->message);
            }
            char *text = cJSON_PrintUnformatted(o);
            if (text)
                printf("%s\n", text);
            cJSON_free(text);
        }
        cJSON_Delete(o);
    } else if (ok) {
        printf("%s -> %s%s%s  (%s)\n", id, res->dealer_id, res->owner_id[0] ? "/" : "", res->owner_id, res->reason);
    } else {
        printf("%s not routed: %s\n", id, crm_error_last()->message);
    }
}

int cli_cmd_route(int argc, char **argv, cli_globals *g)
{
    const char *rules = NULL;
    int json = 0, n_ids = 0;
    if (help(argc, argv, route_usage))
        return CLI_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        int r = cli_common_opt(argc, argv, &i, g, "route");
        if (r == 0)
            r = cli_opt(argc, argv, &i, "--rules", &rules, "route");
        if (r == 0 && cli_flag(argv[i], "--json"))
            json = r = 1;
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r)
            continue;
        if (cli_is_option(argv[i]))
            return cli_usage_error("route", "unknown option '%s'", argv[i]);
        argv[n_ids++] = argv[i]; /* ids gathered at the front */
    }
    if (!rules)
        return cli_usage_error("route", "--rules FILE is required");
    char *doc = cli_read_file(rules);
    if (!doc)
        return CLI_EXIT_ERROR;
    crm_router *router = NULL;
    crm_db *db = NULL;
    int rc = CLI_EXIT_OK;
    if (crm_router_new(&router, doc) != 0) {
        cli_lib_error(rules);
        rc = CLI_EXIT_ERROR;
    } else if (cli_open_db(&db, g, 0) != 0) {
        rc = CLI_EXIT_ERROR;
    }
    free(doc);
    /* Without ids: the new leads, listed first (a routed lead changes). */
    char (*all)[CRM_ID_LEN + 1] = NULL;
    size_t n_all = 0, cap = 0;
    if (rc == CLI_EXIT_OK && n_ids == 0) {
        crm_lead_filter f = CRM_LEAD_FILTER_INIT;
        f.statuses = 1u << CRM_LEAD_NEW;
        crm_iter *it = NULL;
        const crm_lead *l;
        int e = crm_lead_iter_new(&it, db, &f);
        while (e == 0 && (e = crm_lead_next(&l, it)) == 0) {
            if (n_all == cap) {
                cap = cap ? cap * 2 : 256;
                void *p = realloc(all, cap * sizeof *all);
                if (!p) {
                    e = CRM_ENOMEM;
                    break;
                }
                all = p;
            }
            snprintf(all[n_all++], CRM_ID_LEN + 1, "%s", l->id);
        }
        crm_iter_free(it);
        if (e != CRM_ITEROVER) {
            cli_lib_error("route: list new leads");
            rc = CLI_EXIT_ERROR;
        }
    }
    size_t total = n_ids ? (size_t)n_ids : n_all, failed = 0;
    for (size_t i = 0; rc == CLI_EXIT_OK && i < total; i++) {
        const char *id = n_ids ? argv[i] : all[i];
        crm_route_result res;
        int e = crm_lead_route(&res, db, router, id);
        if (e != 0 && e != CRM_ECONFLICT && e != CRM_ENOTFOUND && e != CRM_EINVALID) {
            cli_lib_error("route");
            rc = CLI_EXIT_ERROR;
            break;
        }
        failed += e != 0;
        report(id, &res, e == 0, json);
    }
    if (rc == CLI_EXIT_OK && failed)
        rc = CLI_EXIT_PARTIAL;
    free(all);
    crm_router_free(router);
    crm_db_close(db);
    return rc;
}

int cli_cmd_recycle(int argc, char **argv, cli_globals *g)
{
    const char *hours = NULL;
    if (help(argc, argv, recycle_usage))
        return CLI_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        int r = cli_common_opt(argc, argv, &i, g, "recycle");
        if (r == 0)
            r = cli_opt(argc, argv, &i, "--hours", &hours, "recycle");
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r == 0)
            return cli_is_option(argv[i]) ? cli_usage_error("recycle", "unknown option '%s'", argv[i])
                                          : cli_usage_error("recycle", "unexpected argument '%s'", argv[i]);
    }
    char *end = NULL;
    double h = hours ? strtod(hours, &end) : 0;
    if (!hours || end == hours || *end || !(h > 0 && h < 24 * 365))
        return cli_usage_error("recycle", "--hours: expected a positive number of hours");
    crm_db *db;
    if (cli_open_db(&db, g, 0) != 0)
        return CLI_EXIT_ERROR;
    size_t n = 0;
    int rc = CLI_EXIT_OK;
    if (crm_lead_recycle_overdue(&n, db, (int64_t)(h * 3600000.0)) != 0) {
        cli_lib_error("recycle");
        rc = CLI_EXIT_ERROR;
    } else {
        printf("recycled: %zu\n", n);
    }
    crm_db_close(db);
    return rc;
}
