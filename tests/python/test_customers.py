"""Customers, members and points, tags and segments, vehicles from Python."""
import pytest

import crm
from conftest import T0

DAY = 86400 * 1000
LOYALTY = {"tiers": [{"name": "silver", "min_points": 0},
                     {"name": "gold", "min_points": 1000, "benefits": {"free_wash": 4}}]}


def phone(number, **extra):
    return dict(extra, identities=[{"kind": "phone", "value": number}])


def test_resolve_merge_unmerge_and_the_360_view(db):
    a = db.resolve_customer(phone("13800000001", name="张伟"))
    assert a["outcome"] == "created"
    b = db.resolve_customer({"identities": [{"kind": "wechat_openid", "app_id": "wxmp", "value": "oAbC"}]})
    m = db.resolve_customer({"identities": [{"kind": "phone", "value": "13800000001"},
                                            {"kind": "wechat_openid", "app_id": "wxmp", "value": "oAbC"}]})
    assert m == {"outcome": "merged", "customer_id": a["customer_id"], "identities_added": 0, "merged": 1}
    assert db.find_customer("wechat_openid", "oAbC", app_id="wxmp") == a["customer_id"]
    view = db.customer(a["customer_id"])
    assert view["name"] == "张伟"
    assert [i["kind"] for i in view["identities"]] == ["phone", "wechat_openid"]
    assert view["member"] is None and view["tags"] == [] and view["vehicles"] == []
    db.unmerge_customer(b["customer_id"])
    assert db.find_customer("wechat_openid", "oAbC", app_id="wxmp") == b["customer_id"]
    with pytest.raises(crm.ConflictError):
        db.unmerge_customer(b["customer_id"])
    # Email does not merge by default; rules can allow it.
    e = db.resolve_customer({"identities": [{"kind": "email", "value": "f@example.com"}]})
    tie = {"identities": [{"kind": "phone", "value": "13800000001"}, {"kind": "email", "value": "f@example.com"}]}
    with pytest.raises(crm.ConflictError, match=r"identities\[1\]"):
        db.resolve_customer(tie)
    assert db.resolve_customer(tie, merge_rules={"merge_on": ["phone", "email"]})["merged"] == 1
    assert db.customer(e["customer_id"])["merged_into"] == a["customer_id"]
    with pytest.raises(crm.InvalidInputError, match=r"customer\.identities\[0\]\.value"):
        db.resolve_customer(phone("12"))
    with pytest.raises(crm.InvalidInputError, match=r"merge_rules\.merge_on\[0\]"):
        db.resolve_customer(tie, merge_rules={"merge_on": ["fax"]})
    with pytest.raises(crm.NotFoundError):
        db.find_customer("phone", "13999999999")


def test_resolve_a_lead(db):
    r = db.ingest({"channel": "dcc", "phone": "13800000002", "name": "李娜"})
    c = db.resolve_lead(r["id"])
    assert c["outcome"] == "created"
    assert db.get(r["id"])["customer_id"] == c["customer_id"]
    assert db.customer(c["customer_id"])["leads"][0]["id"] == r["id"]


def test_points_ledger_idempotency_and_tiers(db):
    c = db.resolve_customer(phone("13800000001"))["customer_id"]
    db.enrol(c, "M-0001", rules=LOYALTY)
    a = db.accrue(c, 600, key="order-1", expires_at=T0 + 30 * DAY, rules=LOYALTY)
    assert a["balance"] == 600 and not a["replayed"]
    assert db.accrue(c, 600, key="order-1", expires_at=T0 + 30 * DAY, rules=LOYALTY)["replayed"]
    with pytest.raises(crm.ConflictError, match="idempotency_key"):
        db.accrue(c, 700, key="order-1")
    db.accrue(c, 500, key="order-2", rules=LOYALTY)
    member = db.member(c, rules=LOYALTY)
    assert member["tier"] == "gold" and member["benefits"] == {"free_wash": 4}
    r = db.redeem(c, 700, key="spend-1", reason="保养")
    assert r["balance"] == 400
    with pytest.raises(crm.ConflictError, match="negative"):
        db.redeem(c, 401, key="spend-2")
    assert db.reverse(r["txn_id"], key="undo-1")["balance"] == 1100
    db.set_time(T0 + 31 * DAY)
    assert db.expire_points() == 1
    ledger = db.ledger(c)
    assert [t["kind"] for t in ledger] == ["accrual", "accrual", "redemption", "reversal", "expiry"]
    assert sum(t["points"] for t in ledger) == db.member(c)["balance"] == 500
    assert db.evaluate_tier(c, LOYALTY) is False
    with pytest.raises(crm.InvalidInputError, match=r"loyalty\.tiers\[0\]\.min_points"):
        db.member(c, rules={"tiers": [{"name": "a", "min_points": 3}]})


def test_tags_segments_and_consent(db):
    ids = [db.resolve_customer(phone("1380000000%d" % i))["customer_id"] for i in range(4)]
    db.enrol(ids[0], "M-1")
    for c in ids[:3]:
        db.tag(c, "suv_intent", source="campaign")
    assert db.define_rule_tag("members", "member") == 1
    assert db.segment_count("suv_intent and not members") == 2
    db.set_consent(ids[2], "sms")
    assert db.segment("suv_intent and not members", consent="sms") == [ids[2]]
    assert len(db.segment("suv_intent", limit=2)) == 2
    assert {t["tag"] for t in db.tags(ids[0])} == {"suv_intent", "members"}
    db.untag(ids[0], "suv_intent")
    assert db.segment_count("suv_intent") == 2
    assert db.refresh_rule_tags() == 1
    with pytest.raises(crm.InvalidInputError, match="column 8"):
        db.define_rule_tag("bad", "tier = gold")
    with pytest.raises(crm.InvalidInputError, match="column 1: unknown field"):
        crm.check_rule("tierr = \"gold\"")
    crm.check_rule("last_lead_at >= now - 30d")
    db.scope = "D1"
    with pytest.raises(crm.PermissionDeniedError):
        db.segment_count("suv_intent")


def test_vehicles(db):
    c = db.resolve_customer(phone("13800000001"))["customer_id"]
    db.put_vehicle("LSVAU218XN2183294", "星途 LX", 2025, purchased_at=T0)
    db.relate_vehicle("LSVAU218XN2183294", c, "owner")
    v = db.vehicle("LSVAU218XN2183294")
    assert v["model"] == "星途 LX" and v["people"][0]["customer_id"] == c
    assert db.vehicles(c)[0]["vin"] == "LSVAU218XN2183294"
    with pytest.raises(crm.InvalidInputError, match="check digit"):
        crm.check_vin("LSVAU2180N2183294")
    with pytest.raises(crm.InvalidInputError, match="role"):
        db.relate_vehicle("LSVAU218XN2183294", c, "passenger")
    with pytest.raises(crm.NotFoundError):
        db.vehicle("1M8GDM9AXKP042788")
