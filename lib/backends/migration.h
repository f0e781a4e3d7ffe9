/* A schema migration embedded into the library at build time. */
#ifndef CRM_BACKENDS_MIGRATION_H
#define CRM_BACKENDS_MIGRATION_H

typedef struct crm_migration {
    int number;       /* 1, 2, 3, ... : the schema version after it runs */
    const char *name; /* from the file name, for messages */
    const char *sql;  /* the statements */
} crm_migration;

#endif
