package io.crmcore;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.ArrayList;
import java.util.List;

import org.junit.Test;

/** Handles are freed exactly once; a closed handle throws instead of crashing. */
public class LifecycleTest {
    interface Use {
        void run(Crm db);
    }

    @Test
    public void closeIsIdempotent() {
        Crm db = Crm.open(":memory:");
        assertFalse(db.isClosed());
        db.close();
        db.close();
        db.delete();
        assertTrue(db.isClosed());
    }

    @Test
    public void useAfterCloseThrows() {
        Use[] uses = {
            d -> d.ingest(CrmTest.lead("13900000001")),
            d -> d.getLead("00000000-0000-7000-8000-000000000000"),
            d -> d.getLeadJson("00000000-0000-7000-8000-000000000000"),
            d -> d.leads(),
            d -> d.events("00000000-0000-7000-8000-000000000000"),
            d -> d.begin(),
            d -> d.commit(),
            d -> d.rollback(),
            d -> d.getSchemaVersion(),
            d -> d.getTransactionDepth(),
            d -> d.getScope(),
            d -> d.setScope("D001"),
            d -> d.getActor(),
            d -> d.setActor("alice"),
            d -> d.setTime(1),
            d -> d.now(),
            d -> d.judgeAll(),
            d -> d.transaction(),
        };
        for (int i = 0; i < uses.length; i++) {
            Crm db = Crm.open(":memory:");
            db.close();
            try {
                uses[i].run(db);
                fail("use " + i + " after close did not throw");
            } catch (ConflictException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("closed"));
            }
        }
    }

    @Test
    public void iteratorAfterDatabaseCloseThrows() {
        Crm db = Crm.open(":memory:");
        for (int i = 0; i < 3; i++)
            db.ingest(CrmTest.lead("1390000000" + i));
        LeadIterator leads = db.leads();
        String id = leads.next().getId();
        EventIterator events = db.events(id);
        db.close();
        try {
            leads.hasNext();
            fail();
        } catch (ConflictException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("closed"));
        }
        try {
            events.next();
            fail();
        } catch (ConflictException expected) {
        }
        leads.close();
        leads.close();
        events.close();
    }

    @Test
    public void iteratorClosedFirst() {
        try (Crm db = Crm.open(":memory:")) {
            db.ingest(CrmTest.lead("13900000001"));
            LeadIterator it = db.leads();
            it.close();
            try {
                it.hasNext();
                fail();
            } catch (ConflictException expected) {
            }
            // the database is unaffected
            try (LeadIterator again = db.leads()) {
                assertTrue(again.hasNext());
            }
        }
    }

    @Test
    public void manyIteratorsInAnyOrder() {
        Crm db = Crm.open(":memory:");
        db.ingest(CrmTest.lead("13900000001"));
        List<LeadIterator> its = new ArrayList<>();
        for (int i = 0; i < 50; i++)
            its.add(db.leads());
        for (int i = 0; i < 50; i += 2)
            its.get(i).next();
        for (int i = 0; i < 50; i += 3)
            its.get(i).close();
        db.close();
        int threw = 0;
        for (LeadIterator it : its) {
            try {
                it.hasNext();
            } catch (ConflictException e) {
                threw++;
            }
            it.close();
        }
        assertEquals(50, threw);
    }

    @Test
    public void exhaustedIteratorAfterClose() {
        Crm db = Crm.open(":memory:");
        db.ingest(CrmTest.lead("13900000001"));
        LeadIterator it = db.leads();
        assertTrue(it.hasNext());
        it.next();
        assertFalse(it.hasNext());   // exhausted: released at once
        db.close();
        assertFalse(it.hasNext());
        it.close();
    }

    @Test
    public void transactionClosedAfterDatabase() {
        Crm db = Crm.open(":memory:");
        Transaction tx = db.transaction();
        db.close();
        tx.close();    // no rollback on a closed database, no exception
    }

    @Test
    public void transactionTwiceCommitted() {
        try (Crm db = Crm.open(":memory:")) {
            Transaction tx = db.transaction();
            tx.commit();
            try {
                tx.commit();
                fail();
            } catch (ConflictException expected) {
            }
            tx.close();
            assertEquals(0, db.getTransactionDepth());
        }
    }

    @Test
    public void manyOpenCloseCycles() {
        for (int i = 0; i < 200; i++) {
            try (Crm db = Crm.open(":memory:"); LeadIterator it = db.leads()) {
                assertFalse(it.hasNext());
            }
        }
    }

    @Test
    public void closeFromAnotherThreadWhileIterating() throws InterruptedException {
        for (int round = 0; round < 20; round++) {
            Crm db = Crm.open(":memory:");
            for (int i = 0; i < 20; i++)
                db.ingest(CrmTest.lead(String.format("139%08d", i)));
            LeadIterator it = db.leads();
            Thread closer = new Thread(db::close);
            closer.start();
            int seen = 0;
            try {
                while (it.hasNext()) {
                    it.next();
                    seen++;
                }
                assertEquals(20, seen);   // finished before the close
            } catch (ConflictException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("closed"));
            }
            closer.join();
            it.close();
            assertTrue(db.isClosed());
        }
    }
}
