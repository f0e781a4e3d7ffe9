/*
 * crm clean: clean lead documents (NDJSON in, NDJSON out) or single values.
 * Pure: no database is opened.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char clean_usage[] =
    "usage: crm clean [FILE|-] [--output FILE]\n"
    "       crm clean --kind KIND VALUE...\n"
    "\n"
    "Clean lead documents, one JSON object per line (NDJSON) from FILE or\n"
    "standard input: phone, name, email, region (or province and city),\n"
    "id_card and vin are normalised and validated, and each line is written\n"
    "back with the clean values and a \"clean\" object holding, per field, the\n"
    "flags and reasons, and the lead's quality (ok, suspect or junk).\n"
    "With --kind, clean each VALUE with one cleaner and print its result as JSON.\n"
    "No database is used.\n"
    "\n"
    "Options:\n"
    "  --output FILE  write there instead of standard output\n"
    "  --kind KIND    phone, name, email, region, id_card or vin\n"
    "  -h, --help     show this help\n"
    "\n"
    "Exit status: 0 success, 1 error, 2 usage error, 3 some lines were not\n"
    "JSON objects (reported on standard error with their line numbers).\n";

static int clean_values(const char *kind, int n, char **values)
{
    for (int i = 0; i < n; i++) {
        char *out = NULL;
        if (crm_clean_json(&out, kind, values[i]) != 0) {
            cli_lib_error("clean");
            return crm_error_last()->code == CRM_EINVALID ? CLI_EXIT_USAGE : CLI_EXIT_ERROR;
        }
        puts(out);
        crm_free(out);
    }
    return CLI_EXIT_OK;
}

int cli_cmd_clean(int argc, char **argv, cli_globals *g)
{
    const char *path = NULL, *output = NULL, *kind = NULL;
    int first_value = 0, r;

    (void)g;
    for (int i = 1; i < argc; i++) {
        if (cli_flag(argv[i], "--help") || cli_flag(argv[i], "-h")) {
            fputs(clean_usage, stdout);
            return CLI_EXIT_OK;
        }
        if ((r = cli_opt(argc, argv, &i, "--output", &output, "clean")) != 0 ||
            (r = cli_opt(argc, argv, &i, "--kind", &kind, "clean")) != 0) {
            if (r < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if (cli_is_option(argv[i]))
            return cli_usage_error("clean", "unknown option '%s'", argv[i]);
        if (kind) {
            first_value = i;
            break;
        }
        if (path)
            return cli_usage_error("clean", "unexpected argument '%s'", argv[i]);
        path = argv[i];
    }
    if (kind) {
        if (!first_value)
            return cli_usage_error("clean", "--kind needs at least one VALUE");
        return clean_values(kind, argc - first_value, argv + first_value);
    }

    FILE *in = stdin, *out = stdout;
    if (path && strcmp(path, "-") != 0 && !(in = fopen(path, "rb"))) {
        cli_errorf("%s: cannot open: %s", path, strerror(errno));
        return CLI_EXIT_ERROR;
    }
    if (output && !(out = fopen(output, "w"))) {
        cli_errorf("%s: cannot create: %s", output, strerror(errno));
        if (in != stdin)
            fclose(in);
        return CLI_EXIT_ERROR;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long lineno = 0, rejected = 0;
    int rc = CLI_EXIT_OK;
    while ((n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (strspn(line, " \t") == (size_t)n)
            continue;
        char *clean = NULL;
        if (crm_clean_lead_json(&clean, line) != 0) {
            if (crm_error_last()->code != CRM_EINVALID) {
                cli_lib_error("clean");
                rc = CLI_EXIT_ERROR;
                break;
            }
            fprintf(stderr, "crm: %s:%lu: %s\n", path ? path : "-", lineno, crm_error_last()->message);
            rejected++;
            continue;
        }
        fputs(clean, out);
        fputc('\n', out);
        crm_free(clean);
    }
    free(line);
    if (ferror(in)) {
        cli_errorf("%s: read error", path ? path : "-");
        rc = CLI_EXIT_ERROR;
    }
    if (in != stdin)
        fclose(in);
    if (out != stdout && fclose(out) != 0) {
        cli_errorf("%s: write error", output);
        rc = CLI_EXIT_ERROR;
    }
    if (rc == CLI_EXIT_OK && rejected)
        rc = CLI_EXIT_PARTIAL;
    return rc;
}
