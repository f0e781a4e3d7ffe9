"""Listing leads with filters, and transactions."""
import datetime as dt

import pytest

import crm
from conftest import T0, lead

HOUR = 3600 * 1000


@pytest.fixture
def seeded(db):
    """Six leads, one an hour apart, over two dealers and three channels."""
    rows = [
        ("13900000001", "website", "D001"),
        ("13900000002", "douyin", "D001"),
        ("13900000003", "website", "D002"),
        ("13900000004", "autohome", "D002"),
        ("13900000005", "website", "D001"),
        ("13900000006", "douyin", None),
    ]
    ids = []
    for i, (phone, channel, dealer) in enumerate(rows):
        db.set_time(T0 + i * HOUR)
        doc = lead(phone, channel=channel)
        if dealer:
            doc["dealer_id"] = dealer
        ids.append(db.ingest(doc)["id"])
    return db, ids


def test_all_oldest_first(seeded):
    db, ids = seeded
    got = [x["id"] for x in db.leads()]
    assert got == ids


def test_leads_are_dicts_with_every_field(seeded):
    db, ids = seeded
    first = next(iter(db.leads()))
    assert first == db.get(ids[0])


def test_filter_channel(seeded):
    db, ids = seeded
    assert [x["id"] for x in db.leads(channel="website")] == [ids[0], ids[2], ids[4]]


def test_filter_dealer(seeded):
    db, ids = seeded
    assert [x["id"] for x in db.leads(dealer="D002")] == [ids[2], ids[3]]


def test_filter_status(seeded):
    db, ids = seeded
    assert len(list(db.leads(status="new"))) == 6
    assert len(list(db.leads(status=["new", "assigned"]))) == 6
    assert list(db.leads(status="assigned")) == []
    assert list(db.leads(status=("lost", "invalid"))) == []


def test_filter_time_ms_and_datetime(seeded):
    db, ids = seeded
    got = [x["id"] for x in db.leads(created_from=T0 + HOUR, created_to=T0 + 3 * HOUR)]
    assert got == [ids[1], ids[2]]
    start = dt.datetime(2024, 5, 1, 9, 0, tzinfo=dt.timezone.utc)      # T0 + 1h
    end = dt.datetime(2024, 5, 1, 19, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # 11:00Z
    assert [x["id"] for x in db.leads(created_from=start, created_to=end)] == [ids[1], ids[2]]


def test_filter_limit(seeded):
    db, ids = seeded
    assert [x["id"] for x in db.leads(limit=2)] == ids[:2]
    assert list(db.leads(limit=0)) == []
    with pytest.raises(crm.InvalidInputError, match="limit"):
        db.leads(limit=-1)
    with pytest.raises(TypeError):
        db.leads(limit="2")


def test_filters_combine(seeded):
    db, ids = seeded
    got = [x["id"] for x in db.leads(status="new", dealer="D001", channel="website",
                                     created_from=T0 + HOUR, limit=5)]
    assert got == [ids[4]]


def test_filter_bad_times(seeded):
    db, _ = seeded
    with pytest.raises(crm.InvalidInputError):
        db.leads(created_from=-5)
    with pytest.raises(TypeError):
        db.leads(created_from="yesterday")


def test_iterator_streams_and_closes(seeded):
    db, ids = seeded
    it = db.leads()
    assert iter(it) is it
    assert next(it)["id"] == ids[0]
    it.close()
    it.close()
    assert list(it) == []
    with db.leads() as it2:
        assert next(it2)["id"] == ids[0]
    assert list(it2) == []


def test_transaction_commit(db):
    with db.transaction():
        assert db.in_transaction
        r = db.ingest(lead("13900000001"))
    assert not db.in_transaction
    assert db.get(r["id"])["phone"] == "13900000001"


def test_transaction_rollback_leaves_nothing(db):
    with pytest.raises(RuntimeError):
        with db.transaction():
            r = db.ingest(lead("13900000001", name="张伟"))
            db.ingest(lead("13900000002"))
            raise RuntimeError("boom")
    assert not db.in_transaction
    assert list(db.leads()) == []
    with pytest.raises(crm.NotFoundError):
        db.get(r["id"])
    assert list(db.events(r["id"])) == []


def test_transaction_nested(db):
    with db.transaction():
        a = db.ingest(lead("13900000001"))
        with pytest.raises(KeyError):
            with db.transaction():
                b = db.ingest(lead("13900000002"))
                raise KeyError("inner")
        c = db.ingest(lead("13900000003"))
    got = {x["id"] for x in db.leads()}
    assert got == {a["id"], c["id"]}
    assert b["id"] not in got


def test_begin_commit_rollback(db):
    db.begin()
    r = db.ingest(lead("13900000001"))
    db.rollback()
    with pytest.raises(crm.NotFoundError):
        db.get(r["id"])
    db.begin()
    r = db.ingest(lead("13900000001"))
    db.commit()
    assert db.get(r["id"])["id"] == r["id"]


def test_failed_ingest_inside_transaction_changes_nothing(db):
    with db.transaction():
        a = db.ingest(lead("13900000001"))
        with pytest.raises(crm.InvalidInputError):
            db.ingest({"channel": "website", "phone": []})
    assert [x["id"] for x in db.leads()] == [a["id"]]


def test_close_rolls_back_open_transaction(tmp_path):
    path = tmp_path / "t.db"
    db = crm.open(path)
    db.begin()
    db.ingest(lead("13900000001"))
    db.close()
    with crm.open(path) as db2:
        assert list(db2.leads()) == []
