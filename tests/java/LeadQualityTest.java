package io.crmcore;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Lead quality: set on ingest, on IngestResult and Lead, filtered on by LeadFilter. */
public class LeadQualityTest {
    static final long T0 = CrmTest.T0;
    static final long HOUR = CrmTest.HOUR;

    /* One document per case; the comment says why ingest gives that quality. */
    static final String JUNK = "{\"channel\": \"website\", \"phone\": \"13800138000\"}";           // test number
    static final String SUSPECT_NAME = "{\"channel\": \"website\", \"name\": \"测试\", \"phone\": \"13912345671\"}";
    static final String SUSPECT_VIRTUAL = "{\"channel\": \"website\", \"phone\": \"17012345679\"}"; // virtual
    static final String OK = "{\"channel\": \"website\", \"name\": \"张伟\", \"phone\": \"13912345670\", \"city\": \"上海市\"}";

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private Crm db;
    private final List<String> ids = new ArrayList<>();

    @Before
    public void open() {
        db = Crm.open(":memory:");
        String[] docs = { JUNK, SUSPECT_NAME, SUSPECT_VIRTUAL, OK };
        for (int i = 0; i < docs.length; i++) {
            db.setTime(T0 + i * HOUR);
            ids.add(db.ingest(docs[i]).getId());
        }
    }

    @After
    public void close() {
        db.close();
    }

    static List<String> qualities(LeadIterator it) {
        List<String> out = new ArrayList<>();
        try (it) {
            while (it.hasNext())
                out.add(it.next().getQuality());
        }
        return out;
    }

    @Test
    public void ingestResultHasQuality() {
        try (Crm d = Crm.open(":memory:")) {
            assertEquals("junk", d.ingest(JUNK).getQuality());
            assertEquals("suspect", d.ingest(SUSPECT_NAME).getQuality());
            assertEquals("suspect", d.ingest(SUSPECT_VIRTUAL).getQuality());
            IngestResult ok = d.ingest(OK);
            assertEquals("ok", ok.getQuality());
            assertTrue(ok.toString(), ok.toString().contains("quality=ok"));
        }
    }

    @Test
    public void duplicateReportsItsDocumentsQuality() {
        IngestResult dup = db.ingest("{\"channel\": \"douyin\", \"name\": \"测试\", \"phone\": \"13912345670\"}");
        assertTrue(dup.isDuplicate());
        assertEquals(ids.get(3), dup.getId());
        assertEquals("suspect", dup.getQuality());
        assertEquals("ok", db.getLead(ids.get(3)).getQuality());
    }

    @Test
    public void leadHasQuality() {
        assertEquals("junk", db.getLead(ids.get(0)).getQuality());
        assertEquals("suspect", db.getLead(ids.get(1)).getQuality());
        assertEquals("ok", db.getLead(ids.get(3)).getQuality());
        assertEquals(List.of("junk", "suspect", "suspect", "ok"), qualities(db.leads()));
        assertTrue(db.getLeadJson(ids.get(0)).replace(" ", "").contains("\"quality\":\"junk\""));
        assertTrue(db.getLead(ids.get(0)).toString().contains("quality=junk"));
    }

    @Test
    public void filterByQuality() {
        assertEquals(List.of(ids.get(0)), CrmTest.ids(db.leads(new LeadFilter().qualities("junk"))));
        assertEquals(List.of(ids.get(1), ids.get(2)), CrmTest.ids(db.leads(new LeadFilter().qualities("suspect"))));
        assertEquals(ids.subList(0, 3), CrmTest.ids(db.leads(new LeadFilter().qualities("suspect", "junk"))));
        // calls add up, as statuses() does
        assertEquals(List.of(ids.get(0), ids.get(3)),
                     CrmTest.ids(db.leads(new LeadFilter().qualities("ok").qualities("junk"))));
        // none given: every quality
        assertEquals(ids, CrmTest.ids(db.leads(new LeadFilter().qualities())));
        assertEquals(ids, CrmTest.ids(db.leads(new LeadFilter().qualities(Crm.leadQualities().toArray(new String[0])))));
    }

    @Test
    public void qualityFilterCombinesWithTheOthers() {
        assertEquals(List.of(ids.get(1)), CrmTest.ids(db.leads(new LeadFilter().qualities("suspect").limit(1))));
        assertEquals(List.of(ids.get(2)),
                     CrmTest.ids(db.leads(new LeadFilter().qualities("suspect").createdFrom(T0 + 2 * HOUR))));
        assertEquals(List.of(ids.get(3)),
                     CrmTest.ids(db.leads(new LeadFilter().qualities("ok").statuses(LeadStatus.NEW))));
        assertEquals(List.of(), CrmTest.ids(db.leads(new LeadFilter().qualities("ok").statuses(LeadStatus.LOST))));
        assertEquals(List.of(), CrmTest.ids(db.leads(new LeadFilter().qualities("junk").channel("douyin"))));
    }

    @Test
    public void unknownQualityIsRefusedNamingIt() {
        LeadFilter f = new LeadFilter().qualities("ok");
        for (String bad : new String[] { "bogus", "OK", "", "junk " }) {
            try {
                f.qualities("junk", bad);
                fail("accepted " + bad);
            } catch (InvalidInputException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("quality"));
                assertTrue(e.getMessage(), e.getMessage().contains("'" + bad + "'"));
            }
        }
        // the refused call changed nothing
        assertEquals(Set.of("ok"), f.getQualities());
        assertEquals(List.of(ids.get(3)), CrmTest.ids(db.leads(f)));
        try {
            new LeadFilter().qualities((String) null);
            fail("accepted null");
        } catch (InvalidInputException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("quality"));
        }
    }

    @Test
    public void getQualitiesIsACopyInOrder() {
        LeadFilter f = new LeadFilter().qualities("junk", "ok").qualities("junk");
        assertEquals(List.of("junk", "ok"), new ArrayList<>(f.getQualities()));
        f.getQualities().clear();
        assertEquals(2, f.getQualities().size());
    }

    @Test
    public void leadQualitiesNamesEveryQuality() {
        assertEquals(List.of("ok", "suspect", "junk"), Crm.leadQualities());
        try {
            Crm.leadQualities().add("x");
            fail("modifiable");
        } catch (UnsupportedOperationException expected) {
        }
    }

    static int qualityEvents(Crm d, String id) {
        int n = 0;
        try (EventIterator it = d.events(id)) {
            while (it.hasNext())
                n += "lead.quality".equals(it.next().getKind()) ? 1 : 0;
        }
        return n;
    }

    /* Leads stored without quality (the "old" leads judgeAll is for) need raw SQL on the file,
     * which Java tests have no way to run: tests/python and tests/cli cover that case. */
    @Test
    public void judgeAllOnLeadsJudgedOnIngestChangesNothing() {
        assertEquals(0L, db.judgeAll());
        assertEquals(List.of("junk", "suspect", "suspect", "ok"), qualities(db.leads()));
        for (String id : ids)
            assertEquals(id, 0, qualityEvents(db, id));
        db.setScope("D001");
        assertEquals(0L, db.judgeAll());
        db.setScope(null);
        try (Transaction tx = db.transaction()) {
            assertEquals(0L, db.judgeAll());
            assertEquals(1, db.getTransactionDepth());
            tx.commit();
        }
        assertEquals(0, db.getTransactionDepth());
        try (Crm d = Crm.open(":memory:")) {
            assertEquals(0L, d.judgeAll());
        }
    }

    @Test
    public void judgeAllOnAClosedDatabaseThrows() {
        Crm d = Crm.open(":memory:");
        d.ingest(JUNK);
        d.close();
        try {
            d.judgeAll();
            fail("judged on a closed handle");
        } catch (ConflictException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("closed"));
        }
    }

    @Test
    public void qualitySurvivesReopening() throws Exception {
        String path = new File(tmp.getRoot(), "q.db").getPath();
        String junk, ok;
        try (Crm d = Crm.open(path)) {
            junk = d.ingest(JUNK).getId();
            ok = d.ingest(OK).getId();
        }
        try (Crm d = Crm.open(path, 1000, false)) {
            assertEquals("junk", d.getLead(junk).getQuality());
            assertEquals(List.of(ok), CrmTest.ids(d.leads(new LeadFilter().qualities("ok"))));
        }
    }
}
