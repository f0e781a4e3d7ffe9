/*
 * crm report funnel — the conversion funnel as a table, JSON or CSV.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char report_usage[] =
    "usage: crm [GLOBAL OPTIONS] report funnel [OPTIONS]\n"
    "\n"
    "The conversion funnel of the leads in the dealer scope: how many reached\n"
    "each stage (new, assigned, contacted, visited, test_drive, ordered,\n"
    "delivered; a skipped stage counts as reached), the conversion from the\n"
    "stage before, how many were lost or invalid, and the mean response time\n"
    "from assignment to first contact.\n"
    "\n"
    "Options:\n"
    "  --by G           one row per channel, campaign, dealer, model or month\n"
    "                   (default: all, one row)\n"
    "  --since DATE     leads created at or after DATE\n"
    "  --until DATE     leads created before DATE (a date alone includes that day)\n"
    "  --tz-offset MIN  months of this offset from UTC, in minutes (480: China)\n"
    "  --json           the funnel as one JSON object (also time in each stage)\n"
    "  --csv            the funnel as CSV with a header line\n"
    "  --db PATH        the database\n"
    "  -h, --help       show this help\n"
    "\n"
    "\n"
    "The other report, `crm report sla --policy FILE`, gives SLA analytics of\n"
    "work orders (see crm report sla --help).\n"
    "\n"
    "Exit status: 0 success, 1 error, 2 usage error.\n";

static int parse_date(const char *opt, const char *text, int until, int64_t *out)
{
    int date_only = 0;
    if (text_parse_time(out, &date_only, text) != 0)
        return cli_usage_error("report", "%s: expected an ISO-8601 date, got '%s'", opt, text);
    if (until && date_only)
        *out += 86400000LL;
    return 0;
}

static void print_table(const crm_funnel *f)
{
    size_t n = crm_funnel_row_count(f), w = 5;
    for (size_t i = 0; i < n; i++) {
        size_t tw = text_width(crm_funnel_row_at(f, i)->group);
        if (tw > w)
            w = tw;
    }
    if (w > 24)
        w = 24;
    text_put_cell(stdout, "GROUP", w, 1);
    for (int s = 0; s < CRM_FUNNEL_STAGES; s++) {
        char title[24];
        snprintf(title, sizeof title, "%s", crm_lead_status_name((crm_lead_status)s));
        for (char *p = title; *p; p++)
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
        printf("  %15s", title);
    }
    printf("  %7s  %7s  %8s\n", "LOST", "INVALID", "RESP_H");
    for (size_t i = 0; i < n; i++) {
        const crm_funnel_row *r = crm_funnel_row_at(f, i);
        text_put_cell(stdout, r->group, w, 1);
        for (int s = 0; s < CRM_FUNNEL_STAGES; s++) {
            char cell[32];
            if (s == 0)
                snprintf(cell, sizeof cell, "%lld", (long long)r->reached[s]);
            else
                snprintf(cell, sizeof cell, "%lld %5.1f%%", (long long)r->reached[s], 100 * r->conversion[s]);
            printf("  %15s", cell);
        }
        printf("  %7lld  %7lld  ", (long long)r->lost, (long long)r->invalid);
        if (r->avg_response_ms >= 0)
            printf("%8.1f\n", r->avg_response_ms / 3600000.0);
        else
            printf("%8s\n", "-");
    }
}

int cli_cmd_report_funnel(int argc, char **argv, cli_globals *g)
{
    crm_funnel_options o = CRM_FUNNEL_OPTIONS_INIT;
    const char *v;
    int json = 0, csv = 0, have_kind = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_flag(argv[i], "--help") || cli_flag(argv[i], "-h")) {
            fputs(report_usage, stdout);
            return CLI_EXIT_OK;
        }
    }
    for (int i = 1; i < argc; i++) {
        int r = cli_common_opt(argc, argv, &i, g, "report");
        if (r == 0 && (r = cli_opt(argc, argv, &i, "--by", &v, "report")) > 0 && crm_funnel_by_parse(&o.by, v) != 0)
            return cli_usage_error("report", "--by: %s", crm_error_last()->message);
        if (r == 0 && (r = cli_opt(argc, argv, &i, "--since", &v, "report")) > 0 &&
            parse_date("--since", v, 0, &o.created_from))
            return CLI_EXIT_USAGE;
        if (r == 0 && (r = cli_opt(argc, argv, &i, "--until", &v, "report")) > 0 &&
            parse_date("--until", v, 1, &o.created_to))
            return CLI_EXIT_USAGE;
        if (r == 0 && (r = cli_opt(argc, argv, &i, "--tz-offset", &v, "report")) > 0) {
            char *end;
            errno = 0;
            long m = strtol(v, &end, 10);
            if (errno || end == v || *end || m < -840 || m > 840)
                return cli_usage_error("report", "--tz-offset: expected minutes from -840 to 840, got '%s'", v);
            o.tz_offset_minutes = (int)m;
        }
        if (r == 0 && cli_flag(argv[i], "--json"))
            json = r = 1;
        if (r == 0 && cli_flag(argv[i], "--csv"))
            csv = r = 1;
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r)
            continue;
        if (cli_is_option(argv[i]))
            return cli_usage_error("report", "unknown option '%s'", argv[i]);
        if (have_kind || strcmp(argv[i], "funnel") != 0)
            return cli_usage_error("report", "unknown report '%s' (expected funnel)", argv[i]);
        have_kind = 1;
    }
    if (!have_kind)
        return cli_usage_error("report", "which report? (funnel)");
    if (json && csv)
        return cli_usage_error("report", "--json and --csv exclude each other");
    crm_db *db;
    if (cli_open_db(&db, g, 0) != 0)
        return CLI_EXIT_ERROR;
    crm_funnel *f = NULL;
    char *text = NULL;
    int rc = CLI_EXIT_OK;
    if (crm_funnel_compute(&f, db, &o) != 0 ||
        (json && crm_funnel_to_json(&text, f) != 0) || (csv && crm_funnel_to_csv(&text, f) != 0)) {
        cli_lib_error("report funnel");
        rc = CLI_EXIT_ERROR;
    } else if (text) {
        fputs(text, stdout);
        if (json)
            fputc('\n', stdout);
    } else {
        print_table(f);
    }
    crm_free(text);
    crm_funnel_free(f);
    crm_db_close(db);
    return rc;
}

/* `crm report` has two reports: the funnel of leads (here) and the SLA
 * analytics of work orders (workorders.c). */
int cli_cmd_report(int argc, char **argv, cli_globals *g)
{
    if (argc >= 2 && strcmp(argv[1], "sla") == 0)
        return cli_cmd_report_sla(argc, argv, g);
    return cli_cmd_report_funnel(argc, argv, g);
}
