/*
 * crm judge — judge the quality of every stored lead again
 * (crm_lead_judge_all), for leads stored before quality existed.
 */
#include "cli.h"

static const char judge_usage[] =
    "usage: crm [GLOBAL OPTIONS] judge [--json]\n"
    "\n"
    "Judge the quality (ok, suspect or junk, from the cleaners, as import does)\n"
    "of every lead in the scope again, in one transaction, and print how many\n"
    "changed. Leads stored before quality existed read as ok until judged\n"
    "again. Only the leads whose quality changes are written, each with a\n"
    "lead.quality audit event (from, to, quality_reasons); merged-away leads\n"
    "are left as they are. Running it again changes nothing.\n"
    "\n"
    "Options:\n"
    "  --json       print {\"changed\": N}\n"
    "  --db PATH    the database\n"
    "  -h, --help   show this help\n"
    "\n"
    "Exit status: 0 success, 1 error, 2 usage error.\n";

int cli_cmd_judge(int argc, char **argv, cli_globals *g)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_flag(argv[i], "--help") || cli_flag(argv[i], "-h")) {
            fputs(judge_usage, stdout);
            return CLI_EXIT_OK;
        }
    }
    for (int i = 1; i < argc; i++) {
        int r = cli_common_opt(argc, argv, &i, g, "judge");
        if (r == 0 && cli_flag(argv[i], "--json"))
            json = r = 1;
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r == 0)
            return cli_is_option(argv[i]) ? cli_usage_error("judge", "unknown option '%s'", argv[i])
                                          : cli_usage_error("judge", "unexpected argument '%s'", argv[i]);
    }
    crm_db *db;
    if (cli_open_db(&db, g, 0) != 0)
        return CLI_EXIT_ERROR;
    size_t changed = 0;
    int rc = CLI_EXIT_OK;
    if (crm_lead_judge_all(&changed, db) != 0) {
        cli_lib_error("judge");
        rc = CLI_EXIT_ERROR;
    } else if (json) {
        printf("{\"changed\":%zu}\n", changed);
    } else {
        printf("judged again: %zu leads changed quality\n", changed);
    }
    crm_db_close(db);
    return rc;
}
