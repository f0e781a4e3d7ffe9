package io.crmcore;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/** Work orders, SLA escalation and report, calendars from Java (issue 6). */
public class WorkOrderTest {
    /** 2025-11-24T10:00:00+08:00, a Monday */
    static final long MON_10 = 1763949600000L;
    static final long MIN = 60_000L;
    static final String POLICY = "{\"rules\":[{\"name\":\"complaints\",\"match\":{\"type\":\"complaint\"},"
        + "\"first_response_minutes\":60,\"resolution_minutes\":480,\"warning_percent\":80,"
        + "\"escalations\":[{\"after_minutes\":0,\"actions\":[{\"action\":\"notify\",\"to\":\"supervisor\"}]},"
        + "{\"after_minutes\":240,\"actions\":[{\"action\":\"reassign\",\"assignee\":\"lead-1\"}]}]}]}";

    private Crm db;

    @Before
    public void open() {
        db = Crm.open(":memory:");
        db.setTime(MON_10);
    }

    @After
    public void close() {
        db.close();
    }

    @Test
    public void lifecycleWithCommentsAndHistory() {
        db.setActor("dcc-01");
        String id = db.workorderCreate("{\"type\":\"complaint\",\"subject\":\"刹车异响 🚗\",\"queue\":\"l1\"}");
        db.workorderAssign(id, "agent-1", null);
        db.workorderMove(id, "in_progress", "开始处理");
        String cid = db.workorderComment(id, "您好", true);
        db.workorderMove(id, "resolved", null);
        String json = db.workorderJson(id);
        assertTrue(json, json.contains("\"status\":\"resolved\""));
        assertTrue(json, json.contains("\"subject\":\"刹车异响 🚗\""));
        String comments = db.workorderCommentsJson(id);
        assertTrue(comments, comments.contains(cid) && comments.contains("\"visibility\":\"public\""));
        int n = 0;
        try (EventIterator it = db.events(id)) {
            while (it.hasNext()) {
                Event e = it.next();
                assertEquals("dcc-01", e.getActor());
                n++;
            }
        }
        assertEquals(5, n);
        String list = db.workordersJson("resolved", null, null, null, 0);
        assertTrue(list, list.startsWith("[{") && list.contains(id));
        assertEquals("[]", db.workordersJson("new", null, null, null, 0));
    }

    @Test
    public void illegalMoveNamesBothStates() {
        String id = db.workorderCreate("{\"type\":\"enquiry\",\"subject\":\"x\"}");
        try {
            db.workorderMove(id, "closed", null);
            fail("moved");
        } catch (ConflictException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("cannot move from new to closed"));
        }
        try {
            db.workorderCreate("{\"type\":\"enquiry\",\"subject\":\"x\",\"priority\":9}");
            fail("created");
        } catch (InvalidInputException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("priority"));
        }
    }

    @Test
    public void escalationIsIdempotent() {
        String id = db.workorderCreate("{\"type\":\"complaint\",\"subject\":\"x\",\"assignee\":\"agent-1\"}");
        long asOf = MON_10 + 27 * 60 * MIN + MIN; /* Tue 13:01 */
        String first = db.slaEscalateJson(POLICY, asOf);
        assertEquals("{\"scanned\":1,\"warnings\":0,\"breaches\":2,\"escalations\":2,\"changed\":1}", first);
        String again = db.slaEscalateJson(POLICY, asOf);
        assertTrue(again, again.endsWith("\"changed\":0}"));
        assertTrue(db.workorderJson(id).contains("\"assignee\":\"lead-1\""));
        int notes = 0;
        try (EventIterator it = db.workorderEvents("workorder.sla_notify", MON_10)) {
            while (it.hasNext()) {
                assertEquals(id, it.next().getEntityId());
                notes++;
            }
        }
        assertEquals(1, notes);
        String report = db.slaReportJson(POLICY, "type", asOf, 0, 0);
        assertTrue(report, report.contains("\"key\":\"complaint\""));
        try {
            db.slaEscalateJson("{\"rules\":[{\"resolution_minutes\":0}]}", asOf);
            fail("accepted");
        } catch (InvalidInputException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("policy.rules[0].resolution_minutes"));
        }
    }

    @Test
    public void calendarArithmetic() {
        /* Tue 30 Sep 2025 17:00 +08:00 + 120 min: National Day, due Thu 9 Oct 10:00. */
        long start = 1759222800000L;
        assertEquals(1759975200000L, Crm.calendarDue(null, start, 120));
        assertEquals(60, Crm.calendarMinutes(null, start, start + 3 * 3600_000L));
    }
}
