"""Open/close, ingest/get round trips, duplicates, events, handle settings."""
import datetime as dt
import json

import pytest

import crm
from conftest import T0, lead


def test_version():
    assert crm.version() == crm.__version__
    assert crm.version().count(".") == 2


def test_statuses():
    assert crm.STATUSES[0] == "new"
    assert "test_drive" in crm.STATUSES
    assert len(crm.STATUSES) == 9


def test_open_memory_and_context_manager():
    with crm.open(":memory:") as db:
        assert not db.closed
        assert db.schema_version >= 1
        assert "open" in repr(db)
    assert db.closed
    assert "closed" in repr(db)


def test_open_file_persists(tmp_path):
    path = tmp_path / "leads.db"
    with crm.open(path) as db:
        r = db.ingest(lead("13812345678", name="张伟"))
    with crm.open(str(path), create=False) as db:
        assert db.get(r["id"])["name"] == "张伟"


def test_ingest_get_roundtrip_chinese(db):
    r = db.ingest({
        "channel": "website",
        "phone": "138 1234 5678",
        "name": "张伟",
        "city": "上海",
        "province": "上海市",
        "model": "汉EV",
        "attributes": {"备注": "周末试驾", "n": 2},
        "test_drive": True,
        "purchase_timeline": "1_3m",
    })
    assert r["outcome"] == "created"
    assert r["duplicate_of"] is None
    assert isinstance(r["reason"], str) and r["reason"]
    got = db.get(r["id"])
    assert got["id"] == r["id"]
    assert got["name"] == "张伟"
    assert got["city"] == "上海"
    assert got["model"] == "汉EV"
    assert got["phone"] == "13812345678"     # digits only
    assert got["status"] == "new"
    assert got["test_drive"] is True
    assert got["purchase_timeline"] == "1_3m"
    assert got["attributes"] == {"备注": "周末试驾", "n": 2}
    assert got["created_at"] == "2024-05-01T08:00:00.000Z"
    for field in ("email", "wechat_openid", "dealer_id", "owner_id", "grade", "customer_id",
                  "campaign", "updated_at", "score"):
        assert field in got


def test_ingest_accepts_str_and_bytes(db):
    doc = json.dumps(lead("13900000001", name="李娜"), ensure_ascii=False)
    assert db.ingest(doc)["outcome"] == "created"
    assert db.ingest(doc.encode("utf-8"))["outcome"] == "duplicate"
    r = db.ingest(bytearray(json.dumps(lead("13900000002")).encode()))
    assert r["outcome"] == "created"


def test_ingest_non_bmp_text(db):
    r = db.ingest(lead("13900000003", name="𠮷野 😀"))
    assert db.get(r["id"])["name"] == "𠮷野 😀"


def test_ingest_rejects_wrong_type(db):
    with pytest.raises(TypeError):
        db.ingest(42)


def test_duplicate_outcome(db):
    first = db.ingest(lead("138 1234 5678", name="张伟"))
    second = db.ingest(lead("+86 138-1234-5678", channel="douyin"))
    assert second["outcome"] == "duplicate"
    assert second["duplicate_of"] == first["id"]
    assert second["id"] == first["id"]
    assert first["id"] in second["reason"]
    assert len(list(db.leads())) == 1


def test_events(db):
    db.actor = "alice"
    r = db.ingest(lead("13812345678"))
    db.actor = "bob"
    db.ingest(lead("13812345678", channel="dcc"))
    events = list(db.events(r["id"]))
    assert [e["kind"] for e in events] == ["lead.created", "lead.duplicate"]
    assert [e["actor"] for e in events] == ["alice", "bob"]
    assert all(e["entity_id"] == r["id"] for e in events)
    assert all(e["entity_type"] == "lead" for e in events)
    assert isinstance(events[1]["data"], dict)      # the duplicate document


def test_events_of_unknown_record_is_empty(db):
    assert list(db.events("00000000-0000-7000-8000-000000000000")) == []


def test_actor_and_time(db):
    assert db.actor == "system"
    db.actor = "张三"
    assert db.actor == "张三"
    assert db.now() == T0
    db.set_time(dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc))
    assert db.now() == 1717200000000
    db.set_time(dt.datetime(2024, 6, 1))            # naive means UTC
    assert db.now() == 1717200000000
    db.set_time(0)                                  # back to the system clock
    assert db.now() > T0


def test_scope_property(db):
    assert db.scope is None
    db.scope = "D001"
    assert db.scope == "D001"
    db.scope = None
    assert db.scope is None
