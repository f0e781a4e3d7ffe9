package io.crmcore;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/** The lead lifecycle from Java: transitions, a refused move, stages. */
public class LifecycleStagesTest {
    private Crm db;

    @Before
    public void open() {
        db = Crm.open(":memory:");
        db.setTime(CrmTest.T0);
    }

    @After
    public void close() {
        db.close();
    }

    @Test
    public void leadsAreRoutedAndRecycled() {
        String id = db.ingest("{\"channel\":\"dcc\",\"phone\":\"13800000301\",\"province\":\"上海\"}").getId();
        String out = db.routeJson("{\"dealers\":[{\"id\":\"D1\",\"regions\":[\"上海\"],\"capacity\":5}]}", null);
        assertTrue(out, out.startsWith("[{\"id\":\"" + id + "\",\"dealer_id\":\"D1\",\"owner_id\":null"));
        assertEquals("D1", db.getLead(id).getDealerId());
        db.setTime(CrmTest.T0 + 25 * CrmTest.HOUR);
        assertEquals(1L, db.recycleOverdue(24 * CrmTest.HOUR));
        assertEquals(null, db.getLead(id).getDealerId());
    }

    @Test
    public void leadsMoveAndKeepTheirStages() {
        String id = db.ingest(CrmTest.lead("13800000001")).getId();
        db.transition(id, "assigned", null, "D1", "S-1");
        db.setTime(CrmTest.T0 + CrmTest.HOUR);
        db.transition(id, "contacted", null, null, null);
        try {
            db.transition(id, "new", null, null, null);
            fail();
        } catch (ConflictException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("cannot go from contacted to new"));
        }
        db.transition(id, "lost", "no budget", null, null);
        String st = db.getStagesJson(id);
        assertTrue(st, st.startsWith("[{\"status\":\"new\""));
        assertTrue(st, st.contains("{\"status\":\"lost\",\"entered_at\":\"2024-05-01T09:00:00.000Z\",\"left_at\":null"));
        assertEquals("D1", db.getLead(id).getDealerId());
        String funnel = db.getFunnelJson("channel", 0, 0, 0);
        assertTrue(funnel, funnel.startsWith("{\"by\":\"channel\""));
        assertTrue(funnel, funnel.contains("\"reached\":{\"new\":1,\"assigned\":1,\"contacted\":1,\"visited\":0"));
        try {
            db.getFunnelJson("week", 0, 0, 0);
            fail();
        } catch (InvalidInputException e) {
            assertTrue(e.getMessage().contains("unknown grouping"));
        }
    }
}
