/*
 * crm — the command-line front end of crmcore: shared declarations.
 *
 * The command only speaks through the public API in <crm/crm.h>; anything
 * it does a C, Python or Java caller can do too.
 */
#ifndef CRM_CLI_H
#define CRM_CLI_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <crm/crm.h>

/* Exit codes; documented in `crm --help` and docs/cli.md. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_ERROR = 1,
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_PARTIAL = 3,
    CLI_EXIT_NOTFOUND = 4
};

/* Options given before the command (and --db also after it). */
typedef struct cli_globals {
    const char *db_path; /* never NULL once main has run */
    const char *dealer;  /* scope, or NULL */
    const char *actor;   /* or NULL for the library's default */
} cli_globals;

/* A command: argv[0] is the command's name. Returns an exit code. */
typedef int (*cli_command_fn)(int argc, char **argv, cli_globals *g);

int cli_cmd_init(int argc, char **argv, cli_globals *g);
int cli_cmd_import(int argc, char **argv, cli_globals *g);
int cli_cmd_leads(int argc, char **argv, cli_globals *g);
int cli_cmd_show(int argc, char **argv, cli_globals *g);
int cli_cmd_judge(int argc, char **argv, cli_globals *g);  /* judge.c */
int cli_cmd_model(int argc, char **argv, cli_globals *g);
int cli_cmd_score(int argc, char **argv, cli_globals *g);
int cli_cmd_status(int argc, char **argv, cli_globals *g);
int cli_cmd_stages(int argc, char **argv, cli_globals *g);
int cli_cmd_report(int argc, char **argv, cli_globals *g);        /* report.c: dispatches */
int cli_cmd_report_funnel(int argc, char **argv, cli_globals *g); /* report.c */
int cli_cmd_report_sla(int argc, char **argv, cli_globals *g);    /* workorders.c */
int cli_cmd_route(int argc, char **argv, cli_globals *g);
int cli_cmd_recycle(int argc, char **argv, cli_globals *g);
int cli_cmd_wo(int argc, char **argv, cli_globals *g);
int cli_cmd_customer(int argc, char **argv, cli_globals *g);
int cli_cmd_member(int argc, char **argv, cli_globals *g);
int cli_cmd_points(int argc, char **argv, cli_globals *g);
int cli_cmd_tag(int argc, char **argv, cli_globals *g);
int cli_cmd_segment(int argc, char **argv, cli_globals *g);
int cli_cmd_vehicle(int argc, char **argv, cli_globals *g);
int cli_cmd_clean(int argc, char **argv, cli_globals *g);
int cli_cmd_dedupe(int argc, char **argv, cli_globals *g);
int cli_cmd_review(int argc, char **argv, cli_globals *g);
int cli_cmd_merge(int argc, char **argv, cli_globals *g);   /* merge.c */
int cli_cmd_unmerge(int argc, char **argv, cli_globals *g); /* merge.c */
int cli_cmd_merges(int argc, char **argv, cli_globals *g);  /* merge.c */

/* ---- messages (crm.c) ---- */

/* "crm: <what>: <crm_error_last()->message>" on stderr. */
void cli_lib_error(const char *what);

/* "crm: <formatted>" on stderr. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
void cli_errorf(const char *fmt, ...);

/* "crm <cmd>: <formatted>" plus a hint to --help on stderr; returns CLI_EXIT_USAGE. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
int cli_usage_error(const char *cmd, const char *fmt, ...);

/* ---- argument parsing (crm.c) ---- */

/* Is arg exactly the flag name (for instance "--json")? */
int cli_flag(const char *arg, const char *name);

/*
 * Does argv[*i] name the option `name` that takes a value ("--name VALUE"
 * or "--name=VALUE")? Returns 1 and sets *value (advancing *i past a
 * separate value), 0 when it is another argument, -1 (after reporting a
 * usage error for cmd) when the value is missing.
 */
int cli_opt(int argc, char **argv, int *i, const char *name, const char **value,
            const char *cmd);

/*
 * Handle the options every command accepts after its name (--db PATH).
 * Same return convention as cli_opt().
 */
int cli_common_opt(int argc, char **argv, int *i, cli_globals *g, const char *cmd);

/* Is this argument an option (starts with '-' and is not "-")? */
int cli_is_option(const char *arg);

/* A whole file ("-": standard input) as a NUL-terminated string to free(),
 * or NULL after reporting why on stderr. */
char *cli_read_file(const char *path);

/* Open the database named by the globals, apply scope and actor. */
int cli_open_db(crm_db **out, const cli_globals *g, int create);

/* ---- text (text.c) ---- */

/* Display width in terminal columns of UTF-8 text (CJK wide chars count 2). */
size_t text_width(const char *s);

/*
 * Write s into exactly `width` columns: padded with spaces, or cut at a
 * character boundary and marked with '~' when it does not fit. Control
 * characters are shown as spaces. With pad == 0 no trailing spaces are
 * written (for the last column).
 */
void text_put_cell(FILE *f, const char *s, size_t width, int pad);

/* Format Unix ms as "YYYY-MM-DD HH:MM:SS" (UTC) into buf (at least 24 bytes). */
void text_format_time(char *buf, size_t size, int64_t unix_ms);

/*
 * Parse an ISO-8601 date ("2024-05-01") or date-time ("2024-05-01T08:30",
 * "2024-05-01 08:30:00", optional ".fff" and "Z" or "+08:00"), UTC unless
 * an offset is given. Sets *date_only when only a date was given.
 * Returns 0, or -1 when the text is not such a date.
 */
int text_parse_time(int64_t *out, int *date_only, const char *s);

/* Monotonic seconds, for elapsed times and progress throttling. */
double text_monotonic(void);

#endif /* CRM_CLI_H */
