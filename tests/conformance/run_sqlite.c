/* Runs the conformance suite against SQLite on a file or in memory:
 *   test_conformance_sqlite file|memory */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conformance.h"

static int open_file(crm_backend **out, void *ctx)
{
    static int n;
    char path[512];
    snprintf(path, sizeof path, "%s/conformance-%d.db", (const char *)ctx, n++);
    return crm_sqlite_backend_open(out, path, NULL);
}

static int open_memory(crm_backend **out, void *ctx)
{
    (void)ctx;
    return crm_sqlite_backend_open(out, ":memory:", NULL);
}

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "file") != 0 && strcmp(argv[1], "memory") != 0)) {
        fprintf(stderr, "usage: %s file|memory\n", argv[0]);
        return 2;
    }
    if (strcmp(argv[1], "memory") == 0)
        return crm_conformance_run("conformance sqlite :memory:", open_memory, NULL);
    const char *tmp = getenv("TMPDIR");
    char dir[256];
    snprintf(dir, sizeof dir, "%s/crmconf-XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    return crm_conformance_run("conformance sqlite file", open_file, dir);
}
