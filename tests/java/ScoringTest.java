package io.crmcore;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.Random;

import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/** Scoring from Java: rule models stored by version, leads scored, training in C. */
public class ScoringTest {
    static final String RULES = "{\"type\":\"rules\",\"name\":\"default\",\"grades\":{\"A\":40,\"B\":20,\"C\":10},"
        + "\"groups\":{\"channel\":{\"points\":{\"walk_in\":30,\"*\":5}},\"intent\":{\"model\":10}}}";

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
    public void rulesAreSavedAndLeadsScored() {
        assertTrue(db.saveModel(RULES).contains("\"version\":1"));
        assertTrue(db.saveModel(RULES).contains("\"version\":2"));
        assertTrue(db.loadModel("default", 1).contains("\"version\":1"));
        String id = db.ingest("{\"channel\":\"walk_in\",\"phone\":\"13800000001\",\"model\":\"EX5\"}").getId();
        String s = db.scoreLead(RULES, id);
        assertTrue(s, s.startsWith("{\"score\":40,\"grade\":\"A\""));
        assertTrue(s, s.contains("{\"group\":\"channel\",\"item\":\"walk_in\",\"points\":30}"));
        assertEquals(40, db.getLead(id).getScore());
        db.ingest("{\"channel\":\"douyin\",\"phone\":\"13800000002\"}");
        assertEquals(1L, db.rescoreAll(db.loadModel("default", 0)));
        assertEquals(0L, db.rescoreAll(RULES));
    }

    @Test
    public void badDocumentsNameThePath() {
        try {
            db.saveModel("{\"type\":\"rules\",\"groups\":{\"recency\":{\"points\":5}}}");
            fail();
        } catch (InvalidInputException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("groups.recency.half_life_days: required"));
        }
        try {
            db.loadModel("missing", 0);
            fail();
        } catch (NotFoundException e) {
            assertTrue(e.getMessage().contains("not found"));
        }
    }

    @Test
    public void trainsOnRowsAndScoresValues() {
        Random rnd = new Random(3);
        StringBuilder rows = new StringBuilder(), labels = new StringBuilder();
        for (int i = 0; i < 2000; i++) {
            boolean walk = rnd.nextBoolean();
            if (i > 0) {
                rows.append(',');
                labels.append(',');
            }
            rows.append("[\"").append(walk ? "walk_in" : "website").append("\",").append(20 + rnd.nextInt(40)).append(']');
            labels.append(rnd.nextDouble() < (walk ? 0.6 : 0.1) ? 1 : 0);
        }
        String data = "{\"columns\":[\"channel\",\"age\"],\"kinds\":[\"category\",\"number\"],\"rows\":[" + rows
            + "],\"labels\":[" + labels + "]}";
        String model = Crm.trainRows(data, "logistic", "t", -1, -1, 0, 0, 0);
        assertTrue(model.startsWith("{\"type\":\"logistic\",\"name\":\"t\""));
        String s = Crm.scoreValues(model, "[\"walk_in\", 30]");
        assertTrue(s, s.contains("\"item\":\"walk_in\""));
        try {
            Crm.trainRows(data, "forest", null, -1, -1, 0, 0, 0);
            fail();
        } catch (InvalidInputException e) {
            assertTrue(e.getMessage().contains("kind: expected"));
        }
    }

    @Test
    public void trainsWithACrossAndRefusesABadOne() {
        String data = "{\"columns\":[\"a\",\"b\",\"n\"],\"kinds\":[\"category\",\"category\",\"number\"],\"rows\":["
            + "[\"x\",\"x\",1],[\"x\",\"y\",2],[\"y\",\"x\",3],[\"y\",\"y\",4],"
            + "[\"x\",\"x\",5],[\"x\",\"y\",6],[\"y\",\"x\",7],[\"y\",\"y\",8]],"
            + "\"labels\":[1,0,0,1,1,0,0,1]}";
        String model = Crm.trainRows(data, "logistic", null, 0, -1, 0, 0, 0, "a*b");
        assertTrue(model, model.contains("\"cross\":[\"a\",\"b\"]"));
        String s = Crm.scoreValues(model, "[\"y\",\"y\",4]");
        assertTrue(s, s.contains("\"group\":\"a*b\",\"item\":\"y*y\""));
        try {
            Crm.trainRows(data, "logistic", null, 0, -1, 0, 0, 0, "a*n");
            fail();
        } catch (InvalidInputException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("options.crosses[0]: feature 'n' is not a category"));
        }
    }

    @Test
    public void scoresOnIngest() {
        db.enableScoring(RULES);
        IngestResult r = db.ingest("{\"channel\":\"walk_in\",\"phone\":\"13800000001\",\"model\":\"EX5\"}");
        assertTrue(r.isScored());
        assertEquals(40, r.getScore());
        assertEquals("A", r.getGrade());
        assertEquals(40, db.getLead(r.getId()).getScore());
        try (EventIterator it = db.events(r.getId())) {
            Event created = it.next();
            assertEquals("lead.created", created.getKind());
            assertTrue(created.getData(), created.getData().contains("\"score\":40"));
        }
        IngestResult dup = db.ingest("{\"channel\":\"dcc\",\"phone\":\"13800000001\"}");
        assertTrue(dup.isDuplicate());
        assertEquals(-1, dup.getScore());
        try {
            db.enableScoring("{\"type\":\"rules\",\"groups\":{\"channel\":{\"points\":{\"x\":\"y\"}}}}");
            fail();
        } catch (InvalidInputException e) {
            assertTrue(e.getMessage().contains("groups.channel.points.x"));
        }
        db.disableScoring();
        assertEquals(-1, db.ingest("{\"channel\":\"walk_in\",\"phone\":\"13800000002\"}").getScore());
    }
}
