"""Lead quality: set on ingest, in the result and the lead dicts, filtered on."""
import gc

import pytest

import crm
from crm import core
from conftest import T0, lead

HOUR = 3600 * 1000

# One document per quality, and the quality ingest gives it.
JUNK = {"channel": "website", "phone": "13800138000"}               # the well-known test number
SUSPECT_NAME = {"channel": "website", "name": "测试", "phone": "13912345671"}  # placeholder name
SUSPECT_VIRTUAL = {"channel": "website", "phone": "17012345679"}    # virtual segment
OK = {"channel": "website", "name": "张伟", "phone": "13912345670", "city": "上海市"}


@pytest.fixture
def mixed(db):
    """Four leads an hour apart: junk, suspect, suspect, ok."""
    ids = []
    for i, doc in enumerate([JUNK, SUSPECT_NAME, SUSPECT_VIRTUAL, OK]):
        db.set_time(T0 + i * HOUR)
        ids.append(db.ingest(doc)["id"])
    return db, ids


def test_qualities_constant():
    assert crm.QUALITIES == ("ok", "suspect", "junk")
    assert "QUALITIES" in crm.__all__


@pytest.mark.parametrize("doc, quality", [
    (JUNK, "junk"),
    (SUSPECT_NAME, "suspect"),
    (SUSPECT_VIRTUAL, "suspect"),
    (OK, "ok"),
])
def test_ingest_result_has_quality(db, doc, quality):
    r = db.ingest(doc)
    assert r["outcome"] == "created"
    assert r["quality"] == quality
    # the stored lead keeps it, read one by one and through a listing
    assert db.get(r["id"])["quality"] == quality
    assert [x["quality"] for x in db.leads()] == [quality]


def test_ingest_result_quality_from_json_text_and_bytes(db):
    import json
    assert db.ingest(json.dumps(JUNK))["quality"] == "junk"
    assert db.ingest(json.dumps(OK, ensure_ascii=False).encode("utf-8"))["quality"] == "ok"


def test_duplicate_reports_its_documents_quality(db):
    first = db.ingest(OK)
    dup = db.ingest({"channel": "douyin", "name": "测试", "phone": "13912345670"})
    assert dup["outcome"] == "duplicate" and dup["id"] == first["id"]
    assert dup["quality"] == "suspect"
    # the existing lead is not changed by the duplicate's document
    assert db.get(first["id"])["quality"] == "ok"


def test_every_lead_dict_has_quality(mixed):
    db, ids = mixed
    listed = list(db.leads())
    assert [x["quality"] for x in listed] == ["junk", "suspect", "suspect", "ok"]
    for x in listed:
        assert x == db.get(x["id"])
    assert '"quality":"junk"' in db.get_json(ids[0]).replace(" ", "")


def test_filter_by_one_quality(mixed):
    db, ids = mixed
    assert [x["id"] for x in db.leads(quality="junk")] == [ids[0]]
    assert [x["id"] for x in db.leads(quality="suspect")] == [ids[1], ids[2]]
    assert [x["id"] for x in db.leads(quality="ok")] == [ids[3]]


def test_filter_by_several_qualities(mixed):
    db, ids = mixed
    assert [x["id"] for x in db.leads(quality=("suspect", "junk"))] == ids[:3]
    assert [x["id"] for x in db.leads(quality=["ok", "junk"])] == [ids[0], ids[3]]
    assert [x["id"] for x in db.leads(quality=iter(["ok"]))] == [ids[3]]
    assert [x["id"] for x in db.leads(quality=crm.QUALITIES)] == ids
    # None and an empty list mean every quality, as for status
    assert [x["id"] for x in db.leads(quality=None)] == ids
    assert [x["id"] for x in db.leads(quality=[])] == ids


def test_quality_filter_combines_with_the_others(mixed):
    db, ids = mixed
    assert [x["id"] for x in db.leads(quality="suspect", limit=1)] == [ids[1]]
    assert [x["id"] for x in db.leads(quality="suspect", created_from=T0 + 2 * HOUR)] == [ids[2]]
    assert [x["id"] for x in db.leads(quality="ok", status="new")] == [ids[3]]
    assert list(db.leads(quality="ok", status="lost")) == []
    assert list(db.leads(quality="junk", channel="douyin")) == []


def test_quality_filter_within_dealer_scope(db):
    junk = db.ingest(dict(JUNK, dealer_id="D001"))["id"]
    ok = db.ingest(dict(OK, dealer_id="D002"))["id"]
    db.scope = "D002"
    assert list(db.leads(quality="junk")) == []
    assert [x["id"] for x in db.leads(quality=("ok", "junk"))] == [ok]
    db.scope = None
    assert [x["id"] for x in db.leads(quality="junk")] == [junk]
    assert [x["id"] for x in db.leads(quality="junk", dealer="D002")] == []


@pytest.mark.parametrize("bad", ["bogus", "OK", "", "junk ", "good"])
def test_unknown_quality_is_refused_naming_it(mixed, bad):
    db, _ = mixed
    with pytest.raises(crm.InvalidInputError) as e:
        db.leads(quality=bad)
    assert "quality" in str(e.value)
    assert "'%s'" % bad in str(e.value)
    # also inside a list, even after good names
    with pytest.raises(crm.InvalidInputError) as e:
        db.leads(quality=["ok", bad])
    assert "'%s'" % bad in str(e.value)


def test_quality_must_be_names(mixed):
    db, _ = mixed
    with pytest.raises(TypeError, match="quality"):
        db.leads(quality=[2])
    with pytest.raises(TypeError, match="quality"):
        db.leads(quality=[None])


def test_bad_quality_refused_even_with_limit_zero(mixed):
    db, _ = mixed
    with pytest.raises(crm.InvalidInputError):
        db.leads(quality="bogus", limit=0)
    assert list(db.leads(quality="junk", limit=0)) == []


def test_quality_survives_reopening(tmp_path):
    path = tmp_path / "q.db"
    with crm.open(path) as d:
        junk = d.ingest(JUNK)["id"]
        ok = d.ingest(OK)["id"]
    with crm.open(path) as d:
        assert d.get(junk)["quality"] == "junk"
        assert [x["id"] for x in d.leads(quality="ok")] == [ok]


def test_low_level_quality_helpers():
    assert [core.quality_name(i) for i in range(3)] == ["ok", "suspect", "junk"]
    assert core.quality_name(3) is None and core.quality_name(-1) is None
    assert [core.quality_parse(n) for n in ("ok", "suspect", "junk")] == [0, 1, 2]
    with pytest.raises(crm.InvalidInputError, match="nope"):
        core.quality_parse("nope")
    with pytest.raises(crm.InvalidInputError):
        core.quality_parse(None)


def test_low_level_unknown_quality_bits_refused():
    h = core.Database(":memory:", 5000, 1)
    h.ingest('{"channel": "website", "phone": "13800138000"}')
    with pytest.raises(crm.InvalidInputError, match="qualities"):
        h.leads(0, None, None, 0, 0, 0, 1 << 3)
    c = h.leads(0, None, None, 0, 0, 0, 1 << 2)
    assert '"junk"' in c.next_json()
    assert c.next_json() is None
    del c
    h.close()
    del h
    gc.collect()


# -- judging stored leads again (db.judge_all) --------------------------------

SUSPECT_TEST = {"channel": "app", "name": "test", "phone": "13912345671"}   # placeholder name


def _forget_quality(path):
    """Every lead ok, as leads stored before quality existed read."""
    import sqlite3
    raw = sqlite3.connect(str(path))
    with raw:
        raw.execute("UPDATE lead SET quality = 0")
    raw.close()


def _old_leads(path, *docs):
    """Leads ingested into a file database whose quality is then forgotten; their ids."""
    with crm.open(path) as d:
        d.set_time(T0)
        ids = [d.ingest(doc)["id"] for doc in docs]
    _forget_quality(path)
    return ids


def _quality_events(db, lead_id):
    return [e for e in db.events(lead_id) if e["kind"] == "lead.quality"]


def test_judge_all_finds_what_older_leads_hid(tmp_path):
    path = tmp_path / "old.db"
    ok, junk, suspect = _old_leads(path, {"channel": "app", "name": "张伟", "phone": "13912345670"},
                                   {"channel": "app", "phone": "13800138000"}, SUSPECT_TEST)
    with crm.open(path) as db:
        db.actor = "judge"
        assert [db.get(i)["quality"] for i in (ok, junk, suspect)] == ["ok", "ok", "ok"]
        n = db.judge_all()
        assert type(n) is int and n == 2
        assert [db.get(i)["quality"] for i in (ok, junk, suspect)] == ["ok", "junk", "suspect"]
        assert [x["id"] for x in db.leads(quality="junk")] == [junk]
        (e,) = _quality_events(db, junk)
        assert e["actor"] == "judge" and e["entity_id"] == junk
        assert e["data"] == {"from": "ok", "to": "junk",
                             "quality_reasons": {"phone": "test_number", "contact": "no_usable_contact"}}
        (e,) = _quality_events(db, suspect)
        assert (e["data"]["from"], e["data"]["to"]) == ("ok", "suspect")
        assert "name" in e["data"]["quality_reasons"]
        assert _quality_events(db, ok) == []          # unchanged: not written
        assert db.judge_all() == 0                     # a second run changes nothing
        assert len(_quality_events(db, junk)) == 1
    with crm.open(path) as db:                         # kept
        assert db.get(junk)["quality"] == "junk"


def test_judge_all_on_leads_judged_on_ingest_changes_nothing(mixed):
    db, ids = mixed
    assert db.judge_all() == 0
    assert [x["quality"] for x in db.leads()] == ["junk", "suspect", "suspect", "ok"]
    assert all(_quality_events(db, i) == [] for i in ids)


def test_judge_all_on_an_empty_database(db):
    assert db.judge_all() == 0


def test_judge_all_stays_within_the_scope(tmp_path):
    path = tmp_path / "old.db"
    # two junk leads (different phones: the same one would be a duplicate)
    d1, d2 = _old_leads(path, dict(JUNK, dealer_id="D001"), dict(JUNK, dealer_id="D002", phone="13333333333"))
    assert d1 != d2
    with crm.open(path) as db:
        db.scope = "D002"
        assert db.judge_all() == 1
        db.scope = None
        assert db.get(d1)["quality"] == "ok"           # out of scope: untouched
        assert db.get(d2)["quality"] == "junk"
        assert db.judge_all() == 1
        assert db.get(d1)["quality"] == "junk"


def test_judge_all_is_undone_by_the_enclosing_rollback(tmp_path):
    path = tmp_path / "old.db"
    (junk,) = _old_leads(path, JUNK)
    with crm.open(path) as db:
        db.begin()
        assert db.judge_all() == 1
        assert db.get(junk)["quality"] == "junk"
        db.rollback()
        assert db.get(junk)["quality"] == "ok"
        assert _quality_events(db, junk) == []
        assert db.judge_all() == 1
