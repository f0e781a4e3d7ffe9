package io.crmcore;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Ingest, get, list, events, scopes, transactions and the exception mapping. */
public class CrmTest {
    /** 2024-05-01T08:00:00Z */
    static final long T0 = 1714550400000L;
    static final long HOUR = 3600L * 1000;

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private Crm db;

    @Before
    public void open() {
        db = Crm.open(":memory:");
        db.setTime(T0);
    }

    @After
    public void close() {
        db.close();
    }

    static String lead(String phone) {
        return "{\"channel\": \"website\", \"phone\": \"" + phone + "\"}";
    }

    static String lead(String phone, String channel, String dealer) {
        return "{\"channel\": \"" + channel + "\", \"phone\": \"" + phone + "\""
            + (dealer != null ? ", \"dealer_id\": \"" + dealer + "\"" : "") + "}";
    }

    static List<String> ids(LeadIterator it) {
        List<String> out = new ArrayList<>();
        try (it) {
            while (it.hasNext())
                out.add(it.next().getId());
        }
        return out;
    }

    @Test
    public void version() {
        assertEquals(3, Crm.version().split("\\.").length);
    }

    @Test
    public void openFileAndReopen() throws IOException {
        String path = new File(tmp.getRoot(), "crm.db").getPath();
        String id;
        try (Crm d = Crm.open(path)) {
            assertTrue(d.getSchemaVersion() >= 1);
            id = d.ingest("{\"channel\": \"website\", \"phone\": \"13812345678\", \"name\": \"张伟\"}").getId();
        }
        try (Crm d = Crm.open(path, 1000, false)) {
            assertEquals("张伟", d.getLead(id).getName());
        }
    }

    @Test
    public void ingestGetRoundtripChinese() {
        IngestResult r = db.ingest("{\"channel\": \"website\", \"phone\": \"138 1234 5678\","
            + " \"name\": \"张伟\", \"city\": \"上海\", \"model\": \"汉EV\","
            + " \"test_drive\": true, \"purchase_timeline\": \"1_3m\","
            + " \"attributes\": {\"备注\": \"周末试驾\"}}");
        assertEquals(IngestResult.Outcome.CREATED, r.getOutcome());
        assertEquals("created", r.getOutcome().wireName());
        assertFalse(r.isDuplicate());
        assertNull(r.getDuplicateOf());
        assertEquals(36, r.getId().length());

        Lead l = db.getLead(r.getId());
        assertEquals(r.getId(), l.getId());
        assertEquals("website", l.getChannel());
        assertEquals("13812345678", l.getPhone());
        assertEquals("张伟", l.getName());
        assertEquals("上海", l.getCity());
        assertEquals("汉EV", l.getModel());
        assertEquals(LeadStatus.NEW, l.getStatus());
        assertEquals(Boolean.TRUE, l.getTestDrive());
        assertEquals(PurchaseTimeline.IN_1_3M, l.getPurchaseTimeline());
        assertEquals(T0, l.getCreatedAt());
        assertEquals(T0, l.getUpdatedAt());
        assertNull(l.getEmail());
        assertNull(l.getDealerId());
        assertTrue(l.getAttributes().contains("周末试驾"));

        String json = db.getLeadJson(r.getId());
        assertTrue(json.contains("\"张伟\""));
        assertTrue(json.contains("2024-05-01T08:00:00.000Z"));
    }

    @Test
    public void textOutsideTheBmp() {
        // surrogate pairs in Java, 4-byte UTF-8 in the library
        String name = "𠮷野 😀";
        IngestResult r = db.ingest("{\"channel\": \"website\", \"phone\": \"13900000009\", \"name\": \"" + name + "\"}");
        assertEquals(name, db.getLead(r.getId()).getName());
        assertTrue(db.getLeadJson(r.getId()).contains(name));
    }

    @Test
    public void duplicateOutcome() {
        IngestResult first = db.ingest(lead("13812345678"));
        IngestResult second = db.ingest(lead("+86 138-1234-5678", "douyin", null));
        assertEquals(IngestResult.Outcome.DUPLICATE, second.getOutcome());
        assertTrue(second.isDuplicate());
        assertEquals(first.getId(), second.getDuplicateOf());
        assertEquals(first.getId(), second.getId());
        assertTrue(second.getReason().contains(first.getId()));
        assertEquals(1, ids(db.leads()).size());
    }

    @Test
    public void events() {
        db.setActor("alice");
        assertEquals("alice", db.getActor());
        String id = db.ingest(lead("13812345678")).getId();
        db.setActor("bob");
        db.ingest(lead("13812345678"));
        List<Event> events = new ArrayList<>();
        try (EventIterator it = db.events(id)) {
            while (it.hasNext())
                events.add(it.next());
        }
        assertEquals(2, events.size());
        assertEquals("lead.created", events.get(0).getKind());
        assertEquals("lead.duplicate", events.get(1).getKind());
        assertEquals("alice", events.get(0).getActor());
        assertEquals("bob", events.get(1).getActor());
        assertEquals(id, events.get(0).getEntityId());
        assertEquals("lead", events.get(0).getEntityType());
        assertEquals(T0, events.get(0).getAt());
        assertNotNull(events.get(1).getData());   // the duplicate document
    }

    private List<String> seed() {
        String[][] rows = {
            {"13900000001", "website", "D001"},
            {"13900000002", "douyin", "D001"},
            {"13900000003", "website", "D002"},
            {"13900000004", "autohome", "D002"},
            {"13900000005", "website", "D001"},
            {"13900000006", "douyin", null},
        };
        List<String> out = new ArrayList<>();
        for (int i = 0; i < rows.length; i++) {
            db.setTime(T0 + i * HOUR);
            out.add(db.ingest(lead(rows[i][0], rows[i][1], rows[i][2])).getId());
        }
        return out;
    }

    @Test
    public void leadsWithFilters() {
        List<String> all = seed();
        assertEquals(all, ids(db.leads()));
        assertEquals(all, ids(db.leads(null)));
        assertEquals(List.of(all.get(0), all.get(2), all.get(4)),
                     ids(db.leads(new LeadFilter().channel("website"))));
        assertEquals(List.of(all.get(2), all.get(3)), ids(db.leads(new LeadFilter().dealerId("D002"))));
        assertEquals(6, ids(db.leads(new LeadFilter().statuses(LeadStatus.NEW, LeadStatus.ASSIGNED))).size());
        assertEquals(0, ids(db.leads(new LeadFilter().statuses(LeadStatus.LOST))).size());
        assertEquals(List.of(all.get(1), all.get(2)),
                     ids(db.leads(new LeadFilter().createdFrom(T0 + HOUR).createdTo(T0 + 3 * HOUR))));
        assertEquals(all.subList(0, 2), ids(db.leads(new LeadFilter().limit(2))));
        assertEquals(List.of(all.get(4)), ids(db.leads(new LeadFilter()
            .statuses(LeadStatus.NEW).dealerId("D001").channel("website").createdFrom(T0 + HOUR))));
    }

    @Test
    public void leadIteratorProtocol() {
        seed();
        try (LeadIterator it = db.leads(new LeadFilter().limit(1))) {
            assertTrue(it.hasNext());
            assertTrue(it.hasNext());    // idempotent
            assertNotNull(it.next());
            assertFalse(it.hasNext());
            try {
                it.next();
                fail();
            } catch (java.util.NoSuchElementException expected) {
            }
        }
    }

    @Test
    public void scope() {
        String other = db.ingest(lead("13900000002", "website", "D002")).getId();
        assertNull(db.getScope());
        db.setScope("D001");
        assertEquals("D001", db.getScope());
        try {
            db.ingest(lead("13900000001", "website", "D002"));
            fail();
        } catch (PermissionDeniedException e) {
            assertEquals(CrmException.PERMISSION, e.getCode());
            assertTrue(e.getMessage(), e.getMessage().contains("dealer_id"));
        }
        try {
            db.getLead(other);
            fail();
        } catch (NotFoundException e) {
            assertEquals(CrmException.NOT_FOUND, e.getCode());
        }
        assertEquals(0, ids(db.leads()).size());
        String mine = db.ingest(lead("13900000003")).getId();
        assertEquals("D001", db.getLead(mine).getDealerId());
        db.setScope(null);
        assertEquals(2, ids(db.leads()).size());
    }

    @Test
    public void transactionRollbackLeavesNothing() {
        String id;
        try (Transaction tx = db.transaction()) {
            assertEquals(1, db.getTransactionDepth());
            id = db.ingest(lead("13900000001")).getId();
            db.ingest(lead("13900000002"));
            // no commit: close rolls back
        }
        assertEquals(0, db.getTransactionDepth());
        assertEquals(0, ids(db.leads()).size());
        try {
            db.getLead(id);
            fail();
        } catch (NotFoundException expected) {
        }
        try (EventIterator it = db.events(id)) {
            assertFalse(it.hasNext());
        }
    }

    @Test
    public void transactionCommitAndManual() {
        try (Transaction tx = db.transaction()) {
            db.ingest(lead("13900000001"));
            tx.commit();
        }
        db.begin();
        db.ingest(lead("13900000002"));
        db.rollback();
        db.begin();
        db.ingest(lead("13900000003"));
        db.commit();
        assertEquals(2, ids(db.leads()).size());
    }

    @Test
    public void transactionRollbackOnException() {
        try (Transaction tx = db.transaction()) {
            db.ingest(lead("13900000001"));
            db.ingest("{\"channel\": \"website\", \"phone\": 5}");
            tx.commit();
            fail();
        } catch (InvalidInputException expected) {
        }
        assertEquals(0, ids(db.leads()).size());
    }

    /* ---- the exception mapping ---------------------------------------- */

    @Test
    public void everyCodeMapsToItsClass() {
        Object[][] cases = {
            {-1, NotFoundException.class},
            {-2, ExistsException.class},
            {-3, InvalidInputException.class},
            {-4, ConflictException.class},
            {-5, PermissionDeniedException.class},
            {-6, StorageException.class},
            {-7, BusyException.class},
            {-8, OutOfMemoryException.class},
            {-99, CrmException.class},
        };
        for (Object[] c : cases) {
            int code = (Integer) c[0];
            try {
                CrmNative.failForTest(code, "what went wrong: 出错 😀");
                fail("no exception for " + code);
            } catch (CrmException e) {
                assertSame(c[1], e.getClass());
                assertEquals(code, e.getCode());
                assertEquals("what went wrong: 出错 😀", e.getMessage());
            }
        }
    }

    @Test
    public void invalidInputNamesTheField() {
        try {
            db.ingest("{\"channel\": \"website\", \"phone\": 13812345678}");
            fail();
        } catch (InvalidInputException e) {
            assertEquals(CrmException.INVALID, e.getCode());
            assertTrue(e.getMessage(), e.getMessage().contains("lead.phone"));
        }
        try {
            db.ingest("{\"channel\": \"website\", ");
            fail();
        } catch (InvalidInputException expected) {
        }
        try {
            db.ingest(null);
            fail();
        } catch (InvalidInputException expected) {
        }
        try {
            db.getLead("not-a-uuid");
            fail();
        } catch (InvalidInputException expected) {
        }
        try {
            db.leads(new LeadFilter().limit(-1)).close();
            fail();
        } catch (InvalidInputException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("limit"));
        }
    }

    @Test
    public void notFound() {
        try {
            db.getLeadJson("00000000-0000-7000-8000-000000000000");
            fail();
        } catch (NotFoundException e) {
            assertEquals(CrmException.NOT_FOUND, e.getCode());
        }
        try {
            Crm.open(new File(tmp.getRoot(), "missing.db").getPath(), 1000, false);
            fail();
        } catch (NotFoundException expected) {
        }
    }

    @Test
    public void conflict() {
        try {
            db.commit();
            fail();
        } catch (ConflictException e) {
            assertEquals(CrmException.CONFLICT, e.getCode());
        }
    }

    @Test
    public void storage() throws IOException {
        File f = tmp.newFile("garbage.db");
        Files.write(f.toPath(), "this is not a database at all".repeat(100).getBytes(StandardCharsets.UTF_8));
        try {
            Crm.open(f.getPath());
            fail();
        } catch (StorageException e) {
            assertEquals(CrmException.STORAGE, e.getCode());
        }
    }

    @Test
    public void busy() {
        String path = new File(tmp.getRoot(), "busy.db").getPath();
        try (Crm a = Crm.open(path); Crm b = Crm.open(path, 0, true)) {
            a.begin();
            a.ingest(lead("13900000001"));
            try {
                b.ingest(lead("13900000002"));
                fail();
            } catch (BusyException e) {
                assertEquals(CrmException.BUSY, e.getCode());
            }
            a.commit();
            assertFalse(b.ingest(lead("13900000002")).isDuplicate());
        }
    }

    @Test
    public void statusNames() {
        assertEquals("test_drive", LeadStatus.TEST_DRIVE.wireName());
        assertEquals(LeadStatus.LOST, LeadStatus.fromWireName("lost"));
        assertEquals(LeadStatus.INVALID, LeadStatus.fromCode(8));
    }
}
