"""The lead lifecycle from Python: transitions, refusals, stage times."""
import pytest

import crm
from conftest import T0, lead

HOUR = 3600 * 1000


def test_transitions_and_stages(db):
    lead_id = db.ingest(lead("13800000001"))["id"]
    db.set_time(T0 + HOUR)
    db.transition(lead_id, "assigned", dealer="D1", owner="S-1")
    db.set_time(T0 + 2 * HOUR)
    db.transition(lead_id, "visited")
    with pytest.raises(crm.ConflictError, match="cannot go from visited to contacted"):
        db.transition(lead_id, "contacted")
    with pytest.raises(crm.InvalidInputError, match="reason: required"):
        db.transition(lead_id, "lost")
    with pytest.raises(crm.InvalidInputError, match="unknown status"):
        db.transition(lead_id, "flying")
    db.transition(lead_id, "lost", reason="太贵")
    st = db.stages(lead_id)
    assert [s["status"] for s in st] == ["new", "assigned", "visited", "lost"]
    assert st[1]["entered_at"] == "2024-05-01T09:00:00.000Z" and st[1]["left_at"] == "2024-05-01T10:00:00.000Z"
    assert st[-1]["left_at"] is None and st[-1]["reason"] == "太贵"
    got = db.get(lead_id)
    assert (got["status"], got["dealer_id"], got["owner_id"]) == ("lost", "D1", "S-1")
    with pytest.raises(crm.NotFoundError):
        db.stages("00000000-0000-7000-8000-000000000000")


def test_funnel_rows(db):
    ids = [db.ingest(lead("1380000010%d" % i, channel=ch))["id"] for i, ch in enumerate(["dcc", "dcc", "website"])]
    db.set_time(T0 + HOUR)
    db.transition(ids[0], "assigned", dealer="D1")
    db.set_time(T0 + 4 * HOUR)
    db.transition(ids[0], "test_drive")
    db.transition(ids[1], "invalid")
    rows = db.funnel(by="channel")
    if not isinstance(rows, list):  # pandas is installed: a DataFrame
        rows = rows.to_dict("records")
    assert [r["group"] for r in rows] == ["dcc", "website"]
    dcc = rows[0]
    assert (dcc["new"], dcc["assigned"], dcc["contacted"], dcc["visited"], dcc["test_drive"], dcc["ordered"]) == \
        (2, 1, 1, 1, 1, 0)
    assert dcc["conv_assigned"] == 0.5 and dcc["invalid"] == 1 and dcc["lost"] == 0
    assert dcc["responded"] == 1 and dcc["avg_response_hours"] == 3.0
    assert dcc["hours_assigned"] == 3.0 and dcc["hours_test_drive"] is None
    with pytest.raises(crm.InvalidInputError, match="unknown grouping"):
        db.funnel(by="week")


def test_route_and_recycle(db):
    rules = {"dealers": [{"id": "D1", "regions": ["上海"], "capacity": 1,
                          "consultants": [{"id": "S1", "capacity": 3}]}]}
    a = db.ingest(lead("13800000201", province="上海"))["id"]
    b = db.ingest(lead("13800000202", province="上海"))["id"]
    out = db.route(rules)
    assert out[0]["id"] == a and out[0]["dealer_id"] == "D1" and out[0]["owner_id"] == "S1"
    assert "territory 上海: D1" in out[0]["reason"]
    assert out[1]["id"] == b and "no dealer with room" in out[1]["error"]
    assert db.get(a)["status"] == "assigned" and db.get(b)["status"] == "new"
    db.set_time(T0 + 25 * HOUR)
    assert db.recycle(24) == 1
    got = db.get(a)
    assert (got["status"], got["dealer_id"]) == ("new", None)
    assert db.stages(a)[-1]["reason"].startswith("recycled")
    assert db.route(rules, ids=[a])[0]["dealer_id"] == "D1"  # a new day: room again
    with pytest.raises(crm.InvalidInputError, match="dealers"):
        db.route({"dealers": []})
