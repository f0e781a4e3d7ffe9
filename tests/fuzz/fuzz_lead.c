/* libFuzzer target: lead documents through online-matching ingest, and
 * merge rules through a merge and its unmerge. The first byte chooses.
 *
 * Beyond "nothing crashes, leaks or reads out of bounds" it checks the
 * promises that bad input must keep, and aborts (a finding) when one breaks:
 * - a document refused by crm_lead_ingest leaves no lead and no event
 *   behind, and the caller's transaction open and committable;
 * - a merge under any rules the parser accepts is undone exactly by
 *   crm_lead_unmerge (both leads read back as before the merge), and rules
 *   it refuses change nothing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <crm/crm.h>

#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "fuzz_lead: %s:%d: %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
                    crm_error_last()->message);                                          \
            abort();                                                                     \
        }                                                                                \
    } while (0)

/* One database for the process, with two leads; every input runs inside a
 * transaction rolled back at its end, so each starts from the same state
 * (a fresh database per input cost most of the time in migrations). */
static crm_db *db;
static crm_ingest_result lead_a, lead_b;

static void setup(void)
{
    if (db)
        return;
    CHECK(crm_db_open(&db, ":memory:", NULL) == 0);
    crm_db_set_time(db, 1764000000000); /* 2025-11-24 */
    CHECK(crm_match_enable(db, NULL) == 0);
    CHECK(crm_lead_ingest(&lead_a, db, "{\"channel\":\"website\",\"name\":\"张伟\",\"phone\":\"13912345670\","
                                       "\"email\":\"zw@example.cn\",\"city\":\"上海市\",\"model\":\"S5\"}") == 0);
    CHECK(crm_lead_ingest(&lead_b, db, "{\"channel\":\"walk_in\",\"name\":\"Li Na\",\"phone\":\"13812345671\","
                                       "\"province\":\"江苏省\",\"dealer_id\":\"D3201001\",\"campaign\":\"车展\","
                                       "\"attributes\":{\"budget_wan\":20}}") == 0);
    CHECK(lead_a.outcome == CRM_INGEST_CREATED && lead_b.outcome == CRM_INGEST_CREATED);
}

static size_t count_leads(void)
{
    crm_iter *it = NULL;
    const crm_lead *l;
    size_t n = 0;
    CHECK(crm_lead_iter_new(&it, db, NULL) == 0);
    while (crm_lead_next(&l, it) == 0)
        n++;
    crm_iter_free(it);
    return n;
}

static void fuzz_ingest(const char *doc, size_t len)
{
    CHECK(crm_db_begin(db) == 0);
    crm_ingest_result r;
    int rc = crm_lead_ingest_n(&r, db, doc, len);
    if (rc != 0) {
        /* Refused input: nothing stored, the transaction goes on. */
        CHECK(rc == CRM_EINVALID);
        CHECK(r.id[0] == '\0');
        CHECK(crm_db_transaction_depth(db) == 2);
        CHECK(crm_db_commit(db) == 0);
        CHECK(count_leads() == 2);
    } else {
        CHECK(crm_db_commit(db) == 0);
        /* What was stored reads back as JSON. */
        char *json = NULL;
        CHECK(crm_lead_get_json(&json, db, r.id) == 0);
        crm_free(json);
        CHECK(count_leads() == (r.outcome == CRM_INGEST_DUPLICATE ? 2u : 3u));
    }
}

static char *lead_json(const char *id)
{
    char *json = NULL;
    CHECK(crm_lead_get_json(&json, db, id) == 0);
    return json;
}

static void fuzz_merge_rules(const char *rules)
{
    char *before_a = lead_json(lead_a.id), *before_b = lead_json(lead_b.id);
    char *merge_id = NULL;
    int rc = crm_lead_merge(&merge_id, db, lead_a.id, lead_b.id, rules);
    if (rc == 0) {
        CHECK(crm_lead_unmerge(db, merge_id) == 0);
    } else {
        CHECK(rc == CRM_EINVALID);
        CHECK(merge_id == NULL);
    }
    char *after_a = lead_json(lead_a.id), *after_b = lead_json(lead_b.id);
    CHECK(strcmp(before_a, after_a) == 0);
    CHECK(strcmp(before_b, after_b) == 0);
    crm_free(before_a);
    crm_free(before_b);
    crm_free(after_a);
    crm_free(after_b);
    crm_free(merge_id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    setup();
    CHECK(crm_db_begin(db) == 0);
    if (data[0] & 1)
        fuzz_merge_rules(text);
    else
        fuzz_ingest((const char *)data + 1, size - 1); /* not NUL-terminated: the _n call must not read past */
    CHECK(crm_db_rollback(db) == 0);
    free(text);
    return 0;
}
