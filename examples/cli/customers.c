/*
 * crm customer | member | points | tag | segment | vehicle: the customer
 * side of crmcore. Each command takes an action word and prints what the
 * library returns (JSON for records, a line for counts and results).
 */
#include "cli.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const char customer_usage[] =
    "usage: crm customer ACTION ...\n"
    "\n"
    "  resolve JSON|-  [--rules FILE]   resolve identities to one customer: create, link or merge\n"
    "                                   ({\"name\":..,\"identities\":[{\"kind\":\"phone\",\"value\":..}]})\n"
    "  resolve-lead LEAD_ID [--rules FILE]  resolve a lead's identities and set its customer\n"
    "  show ID                          the customer 360 view (JSON)\n"
    "  find KIND VALUE [--app-id APP]   the customer an identity belongs to\n"
    "  unmerge ID                       undo the merge of a customer\n"
    "  consent ID CHANNEL grant|withdraw   record marketing consent for a channel\n"
    "\n"
    "--rules FILE: merge rules JSON ({\"merge_on\":[\"phone\",...]}). Identity kinds: phone, email,\n"
    "wechat_openid (with app_id), wechat_unionid, app_account, id_card_hash.\n"
    "Exit status: 0 success, 1 error, 2 usage error, 4 not found.\n";

static const char member_usage[] =
    "usage: crm member ACTION ...\n"
    "\n"
    "  enrol CUSTOMER_ID MEMBER_NO [--rules FILE]   enrol a customer (lowest tier of the rules)\n"
    "  show CUSTOMER_ID [--rules FILE]              the member as JSON (benefits with rules)\n"
    "  retier CUSTOMER_ID --rules FILE              re-evaluate the tier now\n"
    "\n"
    "--rules FILE: loyalty rules JSON ({\"window_days\":365,\"tiers\":[{\"name\":..,\"min_points\":..}]}).\n"
    "Exit status: 0 success, 1 error, 2 usage error, 4 not found.\n";

static const char points_usage[] =
    "usage: crm points ACTION ...\n"
    "\n"
    "  accrue CUSTOMER_ID POINTS --key KEY [--expires DATE] [--reason TEXT] [--rules FILE]\n"
    "  redeem CUSTOMER_ID POINTS --key KEY [--reason TEXT] [--rules FILE]\n"
    "  reverse TXN_ID --key KEY [--reason TEXT] [--rules FILE]\n"
    "  expire                           the expiry run\n"
    "  ledger CUSTOMER_ID               the ledger as JSON\n"
    "\n"
    "Every transaction needs an idempotency key: running a command again with the same key\n"
    "changes nothing and prints the first result (\"replayed\").\n"
    "Exit status: 0 success, 1 error, 2 usage error, 4 not found.\n";

static const char tag_usage[] =
    "usage: crm tag ACTION ...\n"
    "\n"
    "  add CUSTOMER_ID TAG --source SOURCE   assign a manual tag\n"
    "  remove CUSTOMER_ID TAG                remove a manual tag\n"
    "  rule TAG EXPR                         define a rule tag and compute it (prints the count)\n"
    "  check EXPR                            check a rule's syntax\n"
    "  refresh                               compute every rule tag again\n"
    "  list CUSTOMER_ID                      a customer's tags as JSON\n"
    "\n"
    "Rules: tier in (\"gold\",\"black\") and balance >= 1000 and last_lead_at >= now - 30d\n"
    "Exit status: 0 success, 1 error, 2 usage error, 4 not found.\n";

static const char segment_usage[] =
    "usage: crm segment ACTION EXPR ...\n"
    "\n"
    "  count EXPR                                        the number of customers\n"
    "  export EXPR [--consent CHANNEL] [--limit N]       customer ids as a JSON array; with\n"
    "                                                    --consent, only who consented (an audience)\n"
    "\n"
    "EXPR combines tag names with and, or, not and parentheses.\n"
    "Exit status: 0 success, 1 error, 2 usage error.\n";

static const char vehicle_usage[] =
    "usage: crm vehicle ACTION ...\n"
    "\n"
    "  add VIN --model MODEL --year YEAR [--purchased DATE] [--serviced DATE]\n"
    "  relate VIN CUSTOMER_ID owner|driver [--since DATE] [--until DATE]\n"
    "  show VIN                     the vehicle and its people (JSON)\n"
    "  list CUSTOMER_ID             a customer's vehicles (JSON)\n"
    "  check VIN                    validate a VIN (length, characters, check digit)\n"
    "\n"
    "Exit status: 0 success, 1 error, 2 usage error, 4 not found.\n";

/* Parsed arguments: positionals after the action, and the named options. */
enum { O_RULES, O_KEY, O_EXPIRES, O_REASON, O_SOURCE, O_CONSENT, O_LIMIT, O_MODEL, O_YEAR, O_PURCHASED,
       O_SERVICED, O_SINCE, O_UNTIL, O_APP_ID, O_COUNT };
static const char *const opt_names[O_COUNT] = {
    "--rules", "--key", "--expires", "--reason", "--source", "--consent", "--limit", "--model", "--year",
    "--purchased", "--serviced", "--since", "--until", "--app-id",
};

typedef struct args {
    const char *pos[4];
    int npos;
    const char *opt[O_COUNT];
} args;

/* 0 on success, CLI_EXIT_OK after --help, or a usage exit code. */
static int parse(int argc, char **argv, cli_globals *g, const char *cmd, const char *usage, args *a, int *done)
{
    memset(a, 0, sizeof *a);
    *done = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_flag(argv[i], "--help") || cli_flag(argv[i], "-h")) {
            fputs(usage, stdout);
            *done = 1;
            return CLI_EXIT_OK;
        }
        int r = cli_common_opt(argc, argv, &i, g, cmd);
        for (int k = 0; r == 0 && k < O_COUNT; k++)
            r = cli_opt(argc, argv, &i, opt_names[k], &a->opt[k], cmd);
        if (r < 0)
            return CLI_EXIT_USAGE;
        if (r > 0)
            continue;
        if (cli_is_option(argv[i]))
            return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        if (a->npos == 4)
            return cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
        a->pos[a->npos++] = argv[i];
    }
    if (a->npos == 0)
        return cli_usage_error(cmd, "an action is required");
    return 0;
}

static int want(const args *a, const char *cmd, int n, const char *names)
{
    if (a->npos - 1 != n)
        return cli_usage_error(cmd, "%s %s: expected %s", cmd, a->pos[0], names);
    return 0;
}

/* The exit code for a failed library call. */
static int fail(const char *what)
{
    int code = crm_error_last()->code;
    cli_lib_error(what);
    return code == CRM_ENOTFOUND ? CLI_EXIT_NOTFOUND : CLI_EXIT_ERROR;
}

static int print_json(char *json, int rc, const char *what)
{
    if (rc)
        return fail(what);
    puts(json);
    crm_free(json);
    return CLI_EXIT_OK;
}

static int parse_int64(const char *cmd, const char *what, const char *s, int64_t *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end)
        return cli_usage_error(cmd, "%s: expected an integer, got '%s'", what, s);
    *out = v;
    return 0;
}

static int parse_date(const char *cmd, const char *what, const char *s, int64_t *out)
{
    *out = 0;
    if (!s)
        return 0;
    int date_only;
    if (text_parse_time(out, &date_only, s) != 0)
        return cli_usage_error(cmd, "%s: expected a date like 2026-12-31, got '%s'", what, s);
    return 0;
}

/* Open the database (existing) and, when a --rules FILE is given, load it. */
typedef struct session {
    crm_db *db;
    crm_merge_rules *merge;
    crm_loyalty_rules *loyalty;
} session;

static int open_session(session *s, const cli_globals *g, const char *rules_path, int loyalty)
{
    memset(s, 0, sizeof *s);
    if (rules_path) {
        char *text = cli_read_file(rules_path);
        if (!text)
            return CLI_EXIT_ERROR;
        int rc = loyalty ? crm_loyalty_rules_load(&s->loyalty, text) : crm_merge_rules_load(&s->merge, text);
        free(text);
        if (rc)
            return fail(rules_path);
    }
    if (cli_open_db(&s->db, g, 0) != 0) {
        crm_merge_rules_free(s->merge);
        crm_loyalty_rules_free(s->loyalty);
        return CLI_EXIT_ERROR;
    }
    return 0;
}

static void close_session(session *s)
{
    crm_db_close(s->db);
    crm_merge_rules_free(s->merge);
    crm_loyalty_rules_free(s->loyalty);
}

static void print_resolve(const crm_resolve_result *r)
{
    static const char *const outcomes[] = { "created", "linked", "merged" };
    printf("{\"outcome\":\"%s\",\"customer_id\":\"%s\",\"identities_added\":%zu,\"merged\":%zu}\n",
           outcomes[r->outcome], r->customer_id, r->identities_added, r->merged);
}

int cli_cmd_customer(int argc, char **argv, cli_globals *g)
{
    args a;
    int done, rc = parse(argc, argv, g, "customer", customer_usage, &a, &done);
    if (rc || done)
        return rc;
    const char *act = a.pos[0];
    if (strcmp(act, "resolve") == 0 ? want(&a, "customer", 1, "JSON or -")
        : strcmp(act, "resolve-lead") == 0 || strcmp(act, "show") == 0 || strcmp(act, "unmerge") == 0
            ? want(&a, "customer", 1, "an id")
        : strcmp(act, "find") == 0    ? want(&a, "customer", 2, "KIND VALUE")
        : strcmp(act, "consent") == 0 ? want(&a, "customer", 3, "ID CHANNEL grant|withdraw")
                                      : cli_usage_error("customer", "unknown action '%s'", act))
        return CLI_EXIT_USAGE;
    crm_identity_kind kind = CRM_IDENTITY_PHONE;
    if (strcmp(act, "find") == 0 && crm_identity_kind_parse(&kind, a.pos[1]) != 0)
        return cli_usage_error("customer", "%s", crm_error_last()->message);
    if (strcmp(act, "consent") == 0 && strcmp(a.pos[3], "grant") != 0 && strcmp(a.pos[3], "withdraw") != 0)
        return cli_usage_error("customer", "consent: expected grant or withdraw, got '%s'", a.pos[3]);
    session s;
    if ((rc = open_session(&s, g, a.opt[O_RULES], 0)) != 0)
        return rc;
    crm_resolve_result r;
    char *json = NULL;
    if (strcmp(act, "resolve") == 0) {
        char *doc = strcmp(a.pos[1], "-") == 0 ? cli_read_file("-") : NULL;
        rc = doc || strcmp(a.pos[1], "-") != 0 ? crm_customer_resolve_json(&r, s.db, doc ? doc : a.pos[1], s.merge) : -1;
        free(doc);
        if (rc == 0)
            print_resolve(&r);
        else
            rc = fail("customer resolve");
    } else if (strcmp(act, "resolve-lead") == 0) {
        rc = crm_customer_resolve_lead(&r, s.db, a.pos[1], s.merge);
        if (rc == 0)
            print_resolve(&r);
        else
            rc = fail("customer resolve-lead");
    } else if (strcmp(act, "show") == 0) {
        rc = crm_customer_view_json(&json, s.db, a.pos[1]);
        rc = print_json(json, rc, "customer show");
    } else if (strcmp(act, "find") == 0) {
        char id[CRM_ID_LEN + 1];
        rc = crm_customer_find(id, s.db, kind, a.opt[O_APP_ID], a.pos[2]);
        if (rc == 0)
            puts(id);
        else
            rc = fail("customer find");
    } else if (strcmp(act, "unmerge") == 0) {
        rc = crm_customer_unmerge(s.db, a.pos[1]) == 0 ? CLI_EXIT_OK : fail("customer unmerge");
    } else {
        rc = crm_customer_set_consent(s.db, a.pos[1], a.pos[2], strcmp(a.pos[3], "grant") == 0) == 0
                 ? CLI_EXIT_OK
                 : fail("customer consent");
    }
    close_session(&s);
    return rc;
}

int cli_cmd_member(int argc, char **argv, cli_globals *g)
{
    args a;
    int done, rc = parse(argc, argv, g, "member", member_usage, &a, &done);
    if (rc || done)
        return rc;
    const char *act = a.pos[0];
    if (strcmp(act, "enrol") == 0 ? want(&a, "member", 2, "CUSTOMER_ID MEMBER_NO")
        : strcmp(act, "show") == 0 || strcmp(act, "retier") == 0 ? want(&a, "member", 1, "CUSTOMER_ID")
                                                                : cli_usage_error("member", "unknown action '%s'", act))
        return CLI_EXIT_USAGE;
    session s;
    if ((rc = open_session(&s, g, a.opt[O_RULES], 1)) != 0)
        return rc;
    char *json = NULL;
    if (strcmp(act, "enrol") == 0) {
        rc = crm_member_enrol(s.db, a.pos[1], a.pos[2], s.loyalty) == 0 ? CLI_EXIT_OK : fail("member enrol");
    } else if (strcmp(act, "show") == 0) {
        rc = print_json(json, crm_member_get_json(&json, s.db, a.pos[1], s.loyalty), "member show");
    } else {
        int changed = 0;
        rc = crm_member_evaluate_tier(&changed, s.db, a.pos[1], s.loyalty);
        if (rc == 0)
            printf("%s\n", changed ? "tier changed" : "tier unchanged");
        else
            rc = fail("member retier");
    }
    close_session(&s);
    return rc;
}

int cli_cmd_points(int argc, char **argv, cli_globals *g)
{
    args a;
    int done, rc = parse(argc, argv, g, "points", points_usage, &a, &done);
    if (rc || done)
        return rc;
    const char *act = a.pos[0];
    bool accrue = strcmp(act, "accrue") == 0, redeem = strcmp(act, "redeem") == 0,
         reverse = strcmp(act, "reverse") == 0;
    if (accrue || redeem ? want(&a, "points", 2, "CUSTOMER_ID POINTS")
        : reverse ? want(&a, "points", 1, "TXN_ID")
        : strcmp(act, "expire") == 0 ? want(&a, "points", 0, "no arguments")
        : strcmp(act, "ledger") == 0 ? want(&a, "points", 1, "CUSTOMER_ID")
                                     : cli_usage_error("points", "unknown action '%s'", act))
        return CLI_EXIT_USAGE;
    int64_t points = 0, expires = 0;
    if ((accrue || redeem) && parse_int64("points", "POINTS", a.pos[2], &points))
        return CLI_EXIT_USAGE;
    if ((accrue || redeem || reverse) && !a.opt[O_KEY])
        return cli_usage_error("points", "%s needs --key (an idempotency key)", act);
    if (parse_date("points", "--expires", a.opt[O_EXPIRES], &expires))
        return CLI_EXIT_USAGE;
    session s;
    if ((rc = open_session(&s, g, a.opt[O_RULES], 1)) != 0)
        return rc;
    crm_points_result r;
    if (accrue || redeem || reverse) {
        rc = accrue    ? crm_points_accrue(&r, s.db, a.pos[1], points, expires, a.opt[O_KEY], a.opt[O_REASON], s.loyalty)
             : redeem ? crm_points_redeem(&r, s.db, a.pos[1], points, a.opt[O_KEY], a.opt[O_REASON], s.loyalty)
                      : crm_points_reverse(&r, s.db, a.pos[1], a.opt[O_KEY], a.opt[O_REASON], s.loyalty);
        if (rc == 0)
            printf("{\"txn_id\":\"%s\",\"balance\":%lld,\"replayed\":%s}\n", r.txn_id, (long long)r.balance,
                   r.replayed ? "true" : "false");
        else
            rc = fail(act);
    } else if (strcmp(act, "expire") == 0) {
        size_t n;
        rc = crm_points_expire(&n, s.db);
        if (rc == 0)
            printf("expired batches: %zu\n", n);
        else
            rc = fail("points expire");
    } else {
        char *json = NULL;
        rc = print_json(json, crm_points_ledger_json(&json, s.db, a.pos[1]), "points ledger");
    }
    close_session(&s);
    return rc;
}

int cli_cmd_tag(int argc, char **argv, cli_globals *g)
{
    args a;
    int done, rc = parse(argc, argv, g, "tag", tag_usage, &a, &done);
    if (rc || done)
        return rc;
    const char *act = a.pos[0];
    if (strcmp(act, "add") == 0 || strcmp(act, "remove") == 0 ? want(&a, "tag", 2, "CUSTOMER_ID TAG")
        : strcmp(act, "rule") == 0                            ? want(&a, "tag", 2, "TAG EXPR")
        : strcmp(act, "check") == 0                           ? want(&a, "tag", 1, "EXPR")
        : strcmp(act, "refresh") == 0                         ? want(&a, "tag", 0, "no arguments")
        : strcmp(act, "list") == 0                            ? want(&a, "tag", 1, "CUSTOMER_ID")
                                                              : cli_usage_error("tag", "unknown action '%s'", act))
        return CLI_EXIT_USAGE;
    if (strcmp(act, "add") == 0 && !a.opt[O_SOURCE])
        return cli_usage_error("tag", "add needs --source");
    if (strcmp(act, "check") == 0) {
        if (crm_tag_rule_check(a.pos[1]) != 0)
            return fail("tag check");
        puts("ok");
        return CLI_EXIT_OK;
    }
    session s;
    if ((rc = open_session(&s, g, NULL, 0)) != 0)
        return rc;
    size_t n = 0;
    char *json = NULL;
    if (strcmp(act, "add") == 0) {
        rc = crm_tag_assign(s.db, a.pos[1], a.pos[2], a.opt[O_SOURCE]) == 0 ? CLI_EXIT_OK : fail("tag add");
    } else if (strcmp(act, "remove") == 0) {
        rc = crm_tag_remove(s.db, a.pos[1], a.pos[2]) == 0 ? CLI_EXIT_OK : fail("tag remove");
    } else if (strcmp(act, "rule") == 0) {
        rc = crm_tag_rule_define(&n, s.db, a.pos[1], a.pos[2]);
        if (rc == 0)
            printf("%s: %zu customers\n", a.pos[1], n);
        else
            rc = fail("tag rule");
    } else if (strcmp(act, "refresh") == 0) {
        rc = crm_tag_rules_refresh(&n, s.db);
        if (rc == 0)
            printf("rule tags computed: %zu\n", n);
        else
            rc = fail("tag refresh");
    } else {
        rc = print_json(json, crm_customer_tags_json(&json, s.db, a.pos[1]), "tag list");
    }
    close_session(&s);
    return rc;
}

int cli_cmd_segment(int argc, char **argv, cli_globals *g)
{
    args a;
    int done, rc = parse(argc, argv, g, "segment", segment_usage, &a, &done);
    if (rc || done)
        return rc;
    const char *act = a.pos[0];
    if (strcmp(act, "count") == 0 || strcmp(act, "export") == 0 ? want(&a, "segment", 1, "EXPR")
                                                                : cli_usage_error("segment", "unknown action '%s'", act))
        return CLI_EXIT_USAGE;
    int64_t limit = 0;
    if (a.opt[O_LIMIT] && (parse_int64("segment", "--limit", a.opt[O_LIMIT], &limit) || limit < 0))
        return limit < 0 ? cli_usage_error("segment", "--limit: must not be negative") : CLI_EXIT_USAGE;
    session s;
    if ((rc = open_session(&s, g, NULL, 0)) != 0)
        return rc;
    if (strcmp(act, "count") == 0) {
        size_t n;
        rc = crm_segment_count(&n, s.db, a.pos[1]);
        if (rc == 0)
            printf("%zu\n", n);
        else
            rc = fail("segment count");
    } else {
        char *json = NULL;
        rc = print_json(json, crm_segment_export_json(&json, NULL, s.db, a.pos[1], a.opt[O_CONSENT], (size_t)limit),
                        "segment export");
    }
    close_session(&s);
    return rc;
}

int cli_cmd_vehicle(int argc, char **argv, cli_globals *g)
{
    args a;
    int done, rc = parse(argc, argv, g, "vehicle", vehicle_usage, &a, &done);
    if (rc || done)
        return rc;
    const char *act = a.pos[0];
    if (strcmp(act, "add") == 0 || strcmp(act, "show") == 0 || strcmp(act, "check") == 0 ? want(&a, "vehicle", 1, "VIN")
        : strcmp(act, "relate") == 0 ? want(&a, "vehicle", 3, "VIN CUSTOMER_ID owner|driver")
        : strcmp(act, "list") == 0   ? want(&a, "vehicle", 1, "CUSTOMER_ID")
                                     : cli_usage_error("vehicle", "unknown action '%s'", act))
        return CLI_EXIT_USAGE;
    if (strcmp(act, "check") == 0) {
        if (crm_vin_check(a.pos[1]) != 0)
            return fail("vehicle check");
        puts("ok");
        return CLI_EXIT_OK;
    }
    int64_t year = 0, purchased, serviced, since, until;
    crm_vehicle_role role = CRM_VEHICLE_OWNER;
    if (strcmp(act, "add") == 0) {
        if (!a.opt[O_MODEL] || !a.opt[O_YEAR])
            return cli_usage_error("vehicle", "add needs --model and --year");
        if (parse_int64("vehicle", "--year", a.opt[O_YEAR], &year))
            return CLI_EXIT_USAGE;
    }
    if (strcmp(act, "relate") == 0 && crm_vehicle_role_parse(&role, a.pos[3]) != 0)
        return cli_usage_error("vehicle", "%s", crm_error_last()->message);
    if (parse_date("vehicle", "--purchased", a.opt[O_PURCHASED], &purchased) ||
        parse_date("vehicle", "--serviced", a.opt[O_SERVICED], &serviced) ||
        parse_date("vehicle", "--since", a.opt[O_SINCE], &since) ||
        parse_date("vehicle", "--until", a.opt[O_UNTIL], &until))
        return CLI_EXIT_USAGE;
    session s;
    if ((rc = open_session(&s, g, NULL, 0)) != 0)
        return rc;
    char *json = NULL;
    if (strcmp(act, "add") == 0)
        rc = crm_vehicle_put(s.db, a.pos[1], a.opt[O_MODEL], (int)year, purchased, serviced) == 0 ? CLI_EXIT_OK
                                                                                                   : fail("vehicle add");
    else if (strcmp(act, "relate") == 0)
        rc = crm_vehicle_relate(s.db, a.pos[1], a.pos[2], role, since, until) == 0 ? CLI_EXIT_OK
                                                                                    : fail("vehicle relate");
    else if (strcmp(act, "show") == 0)
        rc = print_json(json, crm_vehicle_get_json(&json, s.db, a.pos[1]), "vehicle show");
    else
        rc = print_json(json, crm_customer_vehicles_json(&json, s.db, a.pos[1]), "vehicle list");
    close_session(&s);
    return rc;
}
