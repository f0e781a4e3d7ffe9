/* Shared by the unit tests. */
#ifndef CRM_TEST_HELPERS_H
#define CRM_TEST_HELPERS_H

#include <crm/crm.h>
#include <stddef.h>
#include <stdint.h>

/* A fresh temporary directory path for a database file: "DIR/NAME".
 * Returns a static buffer. */
const char *test_db_path(const char *name);

/* A digest of everything stored in a SQLite database file: every row of
 * every table, in order. Two equal digests mean nothing changed. The
 * result is malloc'ed. */
char *test_db_digest(const char *path);

/* The digest without the tables named in skip (NULL-terminated): for
 * comparing "as it was" where a table only ever grows (the audit events). */
char *test_db_digest_except(const char *path, const char *const *skip);

/* cmocka setup/teardown: an in-memory database with its clock fixed at
 * `now`, handed to the tests as *state. */
int test_setup_memory_db(void **state, int64_t now);
int test_teardown_db(void **state);

/* Count leads visible to the handle. */
size_t test_count_leads(crm_db *db);

/* Count events of one record. */
size_t test_count_events(crm_db *db, const char *entity_id);

/* Assert helper: the last error has this code and its message contains needle. */
void test_assert_error(int rc, int code, const char *needle, const char *file, int line);
#define assert_crm_error(rc, code, needle) test_assert_error((rc), (code), (needle), __FILE__, __LINE__)

#endif
