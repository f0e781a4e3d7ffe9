package io.crmcore;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.Test;

/** Lead merges from Java: rules, the record of what was done, unmerge, refusals. */
public class MergeTest {
    private static String member(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\":\"([^\"]*)\"").matcher(json);
        assertTrue(name + " in " + json, m.find());
        return m.group(1);
    }

    @Test
    public void mergeThenUnmergeRestoresTheLeads() {
        try (Crm db = Crm.open(":memory:")) {
            db.setTime(1767225600000L);
            String s = db.ingest("{\"channel\":\"website\",\"phone\":\"13900000001\",\"name\":\"张伟\"}").getId();
            String o = db.ingest("{\"channel\":\"walk_in\",\"phone\":\"13800000002\",\"name\":\"张大伟\"}").getId();
            String before = db.getLeadJson(s);
            String merge = db.mergeJson(s, o, "{\"fields\":{\"name\":\"longest\"}}");
            String id = member(merge, "id");
            assertTrue(merge, merge.contains("\"rule\":\"longest\",\"value\":\"张大伟\",\"from\":\"other\""));
            assertEquals("张大伟", db.getLead(s).getName());
            assertEquals(s, member(db.getLeadJson(o), "merged_into"));
            assertEquals(s, db.getLead(o).getMergedInto());
            assertTrue(db.mergesJson(s, 10).contains(id));
            assertTrue(db.getMergeJson(id).contains("\"undone_at\":null"));

            db.unmerge(id);
            assertEquals(before, db.getLeadJson(s));
            assertTrue(db.getLeadJson(o).contains("\"merged_into\":null"));
            assertEquals(null, db.getLead(o).getMergedInto());
            try {
                db.unmerge(id);
                fail("a second unmerge went through");
            } catch (ConflictException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("already undone"));
            }
            assertTrue(CrmNative.mergeDefaultRules().contains("\"phone\":\"keep_all\""));
        }
    }

    @Test
    public void badRulesNameThePath() {
        try (Crm db = Crm.open(":memory:")) {
            String s = db.ingest(CrmTest.lead("13900000001")).getId();
            String o = db.ingest(CrmTest.lead("13900000002")).getId();
            try {
                db.mergeJson(s, o, "{\"fields\":{\"name\":\"foo\"}}");
                fail("a bad rule went through");
            } catch (InvalidInputException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("rules.fields.name: unknown rule 'foo'"));
            }
            assertEquals("[]", db.mergesJson(null, 10));
        }
    }
    @Test
    public void storedLeadsDeduplicatedInBatch() {
        try (Crm db = Crm.open(":memory:")) {
            db.setTime(1767225600000L);
            String a = db.ingest("{\"channel\":\"website\",\"phone\":\"13912345670\",\"name\":\"李娜\",\"city\":\"杭州\"}").getId();
            db.setTime(1767225601000L);
            String b = db.ingest("{\"channel\":\"dcc\",\"phone\":\"13912345679\",\"name\":\"李娜\",\"city\":\"杭州\"}").getId();
            String dry = db.dedupeLeadsJson(null, false);
            assertTrue(dry, dry.contains("{\"id\":\"" + b + "\",\"cluster\":\"" + a + "\"}"));
            assertTrue(dry, !dry.contains("\"merges\""));
            String done = db.dedupeLeadsJson(null, true);
            assertTrue(done, done.contains("\"merges\":[\""));
            assertEquals(a, db.getLead(b).getMergedInto());
            try {
                db.dedupeLeadsJson("{\"fields\":[]}", false);
                fail("an empty configuration was taken");
            } catch (InvalidInputException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("fields"));
            }
        }
    }
}
