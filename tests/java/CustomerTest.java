package io.crmcore;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import org.junit.Test;

/** Customers, members and points, tags and segments, vehicles from Java. */
public class CustomerTest {
    static final long T0 = 1714550400000L;
    static final String LOYALTY =
        "{\"tiers\":[{\"name\":\"silver\",\"min_points\":0},{\"name\":\"gold\",\"min_points\":100}]}";

    static String phone(String number) {
        return "{\"name\":\"张伟\",\"identities\":[{\"kind\":\"phone\",\"value\":\"" + number + "\"}]}";
    }

    static String customerId(String result) {
        int at = result.indexOf("\"customer_id\":\"") + 15;
        return result.substring(at, at + 36);
    }

    @Test
    public void resolveMergeAndUnmerge() {
        try (Crm db = Crm.open(":memory:")) {
            db.setTime(T0);
            String a = customerId(db.resolveCustomer(phone("13800000001"), null));
            String b = customerId(db.resolveCustomer(
                "{\"identities\":[{\"kind\":\"wechat_unionid\",\"value\":\"uX\"}]}", null));
            String m = db.resolveCustomer("{\"identities\":[{\"kind\":\"phone\",\"value\":\"13800000001\"},"
                                          + "{\"kind\":\"wechat_unionid\",\"value\":\"uX\"}]}", null);
            assertTrue(m, m.contains("\"outcome\":\"merged\""));
            assertEquals(a, db.findCustomer("wechat_unionid", "uX", null));
            assertTrue(db.customer(a).contains("\"name\":\"张伟\""));
            db.unmergeCustomer(b);
            assertEquals(b, db.findCustomer("wechat_unionid", "uX", null));
            try {
                db.resolveCustomer(phone("12"), null);
                fail();
            } catch (InvalidInputException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("customer.identities[0].value"));
            }
            try {
                db.findCustomer("phone", "13999999999", null);
                fail();
            } catch (NotFoundException e) {
                // expected
            }
        }
    }

    @Test
    public void pointsAreIdempotentAndNeverNegative() {
        try (Crm db = Crm.open(":memory:")) {
            db.setTime(T0);
            String c = customerId(db.resolveCustomer(phone("13800000001"), null));
            db.enrol(c, "M-1", LOYALTY);
            String a = db.accrue(c, 150, 0, "order-1", "购车", LOYALTY);
            assertTrue(a, a.contains("\"balance\":150") && a.contains("\"replayed\":false"));
            assertTrue(db.accrue(c, 150, 0, "order-1", "购车", LOYALTY).contains("\"replayed\":true"));
            assertTrue(db.member(c, LOYALTY).contains("\"tier\":\"gold\""));
            try {
                db.redeem(c, 151, "spend-1", null, null);
                fail();
            } catch (ConflictException e) {
                assertTrue(e.getMessage().contains("negative"));
            }
            assertTrue(db.redeem(c, 50, "spend-2", null, null).contains("\"balance\":100"));
            assertEquals(0, db.expirePoints());
            assertTrue(db.ledger(c).contains("\"kind\":\"redemption\""));
            assertFalse(db.evaluateTier(c, LOYALTY));
        }
    }

    @Test
    public void tagsSegmentsConsentAndVehicles() {
        try (Crm db = Crm.open(":memory:")) {
            db.setTime(T0);
            String a = customerId(db.resolveCustomer(phone("13800000001"), null));
            String b = customerId(db.resolveCustomer(phone("13800000002"), null));
            db.tag(a, "suv_intent", "campaign");
            db.tag(b, "suv_intent", "campaign");
            db.enrol(a, "M-1", null);
            assertEquals(1, db.defineRuleTag("members", "member"));
            assertEquals(1, db.segmentCount("suv_intent and not members"));
            db.setConsent(b, "sms", true);
            assertEquals("[\"" + b + "\"]", db.segment("suv_intent", "sms", 0));
            assertTrue(db.tags(a).contains("\"tag\":\"members\""));
            db.untag(a, "suv_intent");
            assertEquals(1, db.segmentCount("suv_intent"));
            assertEquals(1, db.refreshRuleTags());
            try {
                db.defineRuleTag("bad", "tier = gold");
                fail();
            } catch (InvalidInputException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("column 8"));
            }
            db.putVehicle("LSVAU218XN2183294", "星途 LX", 2025, 0, 0);
            db.relateVehicle("LSVAU218XN2183294", a, "owner", 0, 0);
            assertTrue(db.vehicle("LSVAU218XN2183294").contains(a));
            assertTrue(db.vehicles(a).contains("\"model\":\"星途 LX\""));
            try {
                db.putVehicle("LSVAU2180N2183294", "x", 2025, 0, 0);
                fail();
            } catch (InvalidInputException e) {
                assertTrue(e.getMessage().contains("check digit"));
            }
        }
    }
}
