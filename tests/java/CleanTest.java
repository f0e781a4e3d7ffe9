package io.crmcore;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import org.junit.Test;

/** The cleaners and batch matching from Java: JSON results, exceptions for bad input. */
public class CleanTest {
    @Test
    public void cleansValues() {
        assertEquals("{\"flags\":[\"changed\"],\"reasons\":[\"separators_removed\",\"country_code_removed\"],"
                + "\"value\":\"13912345670\"}", Crm.clean("phone", "+86 139 1234 5670"));
        assertTrue(Crm.clean("name", "Wei Zhang").contains("\"key\":\"weizhang\""));
        assertTrue(Crm.clean("region", "上海").contains("\"province\":\"310000\""));
        assertTrue(Crm.clean("vin", "LSVAU2180N2183294").contains("\"check_digit\""));
    }

    @Test
    public void cleansLeads() {
        String out = Crm.cleanLead("{\"phone\":\"13800138000\",\"name\":\"张伟先生\"}");
        assertTrue(out, out.contains("\"name\":\"张伟\""));
        assertTrue(out, out.contains("\"quality\":\"junk\""));
    }

    @Test
    public void dedupes() {
        String out = Crm.dedupe(null, "[{\"id\":\"a\",\"phone\":\"13912345670\",\"name\":\"张伟\"},"
                + "{\"id\":\"b\",\"phone\":\"+86 139 1234 5670\",\"name\":\"Wei Zhang\"}]");
        assertTrue(out, out.contains("{\"id\":\"b\",\"cluster\":\"a\"}"));
        assertTrue(out, out.contains("\"decision\":\"merge\""));
        assertTrue(Crm.defaultMatchConfig().contains("\"blocking\""));
        try {
            Crm.dedupe("{\"fields\": 1}", "[]");
            fail();
        } catch (InvalidInputException e) {
            assertEquals("fields: expected an array of 1 to 16 fields", e.getMessage());
        }
    }

    @Test
    public void matchesOnline() {
        try (Crm db = Crm.open(":memory:")) {
            db.enableMatching(null);
            IngestResult a = db.ingest("{\"channel\":\"website\",\"phone\":\"13912345670\",\"name\":\"张伟\",\"city\":\"上海\"}");
            IngestResult b = db.ingest("{\"channel\":\"website\",\"email\":\"zw@qq.com\",\"name\":\"Zhang Wei\",\"city\":\"上海\"}");
            assertEquals(IngestResult.Outcome.REVIEW, b.getOutcome());
            assertEquals(a.getId(), b.getDuplicateOf());
            String items = db.reviewsJson("pending", 10);
            assertTrue(items, items.contains("\"candidate_id\":\"" + a.getId() + "\""));
            String id = items.substring(items.indexOf("\"id\":\"") + 6, items.indexOf("\"id\":\"") + 42);
            db.decideReview(id, true);
            assertEquals("[]", db.reviewsJson("pending", 10));
            db.disableMatching();
        }
    }

    @Test
    public void badInputThrows() {
        try {
            Crm.clean("fax", "1");
            fail();
        } catch (InvalidInputException e) {
            assertTrue(e.getMessage().contains("kind: unknown cleaner"));
        }
        try {
            Crm.cleanLead("{\"phone\":1}");
            fail();
        } catch (InvalidInputException e) {
            assertEquals("phone: expected a string", e.getMessage());
        }
    }
    @Test
    public void indexMatchingReachesLeadsStoredBefore() {
        try (Crm db = Crm.open(":memory:")) {
            String a = db.ingest("{\"channel\":\"website\",\"phone\":\"13912345670\",\"name\":\"李娜\","
                                 + "\"city\":\"杭州\",\"email\":\"ln@qq.com\"}").getId();
            try {
                db.indexMatching();
                fail("indexed without matching on");
            } catch (InvalidInputException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("matching: not enabled"));
            }
            db.enableMatching(null);
            assertEquals(1L, db.indexMatching());
            IngestResult b = db.ingest("{\"channel\":\"dcc\",\"phone\":\"13800000001\",\"name\":\"李娜\","
                                       + "\"city\":\"杭州\",\"email\":\"ln@qq.com\"}");
            assertEquals(a, b.getDuplicateOf());
        }
    }
}
