"""Work orders, SLAs and calendars from Python (issue 6)."""
import datetime as dt

import pytest

import crm

CN = dt.timezone(dt.timedelta(hours=8))
MON_10 = dt.datetime(2025, 11, 24, 10, 0, tzinfo=CN)

POLICY = {
    "rules": [{
        "name": "complaints", "match": {"type": "complaint"},
        "first_response_minutes": 60, "resolution_minutes": 480, "warning_percent": 80,
        "escalations": [
            {"after_minutes": 0, "actions": [{"action": "notify", "to": "supervisor"}]},
            {"after_minutes": 240, "actions": [{"action": "reassign", "assignee": "lead-1"},
                                               {"action": "raise_priority"}]},
        ],
    }],
}


def ms(d):
    return int(d.timestamp() * 1000)


@pytest.fixture
def db():
    with crm.open(":memory:") as d:
        d.set_time(MON_10)
        yield d


def test_lifecycle_comments_history(db):
    db.actor = "dcc-01"
    wid = db.create_workorder({"type": "complaint", "subject": "刹车异响", "queue": "l1", "priority": 2})
    db.assign_workorder(wid, "agent-1")
    db.move_workorder(wid, "in_progress", note="开始处理")
    cid = db.comment_workorder(wid, "您好", public=True)
    db.comment_workorder(wid, "内部")
    db.move_workorder(wid, "waiting_customer")
    w = db.workorder(wid)
    assert w["status"] == "waiting_customer" and w["assignee"] == "agent-1" and w["priority"] == 2
    assert w["paused_since"] is not None
    comments = db.workorder_comments(wid)
    assert [c["id"] for c in comments][0] == cid
    assert [c["visibility"] for c in comments] == ["public", "internal"]
    kinds = [e["kind"] for e in db.events(wid)]
    assert kinds[:3] == ["workorder.created", "workorder.assigned", "workorder.moved"]
    assert all(e["actor"] == "dcc-01" for e in db.events(wid))
    assert crm.WORKORDER_STATUSES[3] == "waiting_customer"


def test_errors_are_exceptions(db):
    wid = db.create_workorder({"type": "enquiry", "subject": "x"})
    with pytest.raises(crm.ConflictError, match="cannot move from new to resolved"):
        db.move_workorder(wid, "resolved")
    with pytest.raises(crm.InvalidInputError, match="status: unknown"):
        db.move_workorder(wid, "done")
    with pytest.raises(crm.InvalidInputError, match="subject: required"):
        db.create_workorder({"type": "x"})
    with pytest.raises(crm.NotFoundError):
        db.workorder("00000000-0000-7000-8000-000000000000")
    with pytest.raises(crm.InvalidInputError, match=r"policy.rules\[0\].resolution_minutes"):
        db.escalate({"rules": [{}]})


def test_list_filters(db):
    a = db.create_workorder({"type": "repair", "subject": "a", "queue": "svc"})
    db.create_workorder({"type": "complaint", "subject": "b", "queue": "l1", "assignee": "x"})
    assert [w["id"] for w in db.workorders(queue="svc")] == [a]
    assert [w["subject"] for w in db.workorders(status=["assigned"])] == ["b"]
    assert len(db.workorders(limit=1)) == 1
    assert len(db.workorders()) == 2


def test_escalation_is_idempotent_and_report(db):
    wid = db.create_workorder({"type": "complaint", "subject": "x", "assignee": "agent-1", "priority": 3})
    as_of = dt.datetime(2025, 11, 25, 13, 1, tzinfo=CN)
    first = db.escalate(POLICY, as_of=as_of)
    assert first == {"scanned": 1, "warnings": 0, "breaches": 2, "escalations": 2, "changed": 1}
    assert db.escalate(POLICY, as_of=as_of)["changed"] == 0
    w = db.workorder(wid)
    assert (w["assignee"], w["priority"], w["escalation_level"]) == ("lead-1", 2, 2)
    notes = list(db.workorder_events("workorder.sla_notify", since=MON_10))
    assert [(n["entity_id"], n["data"]["to"]) for n in notes] == [(wid, "supervisor")]
    rep = db.sla_report(POLICY, by="queue", as_of=as_of)
    assert rep["groups"][0]["first_response"]["breached"] == 1


def test_calendar_arithmetic():
    # Tue 30 Sep 2025 17:00 + 120 business minutes: National Day closes 1-8 Oct.
    start = dt.datetime(2025, 9, 30, 17, 0, tzinfo=CN)
    assert crm.calendar_due(start, 120) == ms(dt.datetime(2025, 10, 9, 10, 0, tzinfo=CN))
    # Sunday 28 Sep is a make-up workday.
    assert crm.calendar_minutes(dt.datetime(2025, 9, 28, 0, 0, tzinfo=CN),
                                dt.datetime(2025, 9, 29, 0, 0, tzinfo=CN)) == 540
    sat = {"national_holidays": "none", "hours": {"sat": ["09:00-12:00"]}}
    assert crm.calendar_minutes(dt.datetime(2025, 9, 27, tzinfo=CN), dt.datetime(2025, 9, 28, tzinfo=CN), sat) == 180
    with pytest.raises(crm.InvalidInputError, match=r"calendar.hours.sat\[0\]"):
        crm.calendar_due(start, 1, {"hours": {"sat": ["9-12"]}})
