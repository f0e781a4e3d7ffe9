"""Lead merges from Python: rules as dicts, what a merge did, unmerge, the review queue."""
import pytest

import crm
from conftest import lead


def test_merge_by_rules_and_unmerge(file_db):
    db = file_db
    s = db.ingest(lead("13900000001", name="张伟", city="上海"))["id"]
    db.set_time(db.now() + 1000)
    o = db.ingest(lead("13800000002", channel="walk_in", name="张大伟", email="zdw@qq.com"))["id"]
    before = [db.get(s), db.get(o)]

    m = db.merge(s, o, {"fields": {"city": "longest"}, "channel_trust": ["walk_in"]})
    fields = {f["field"]: f for f in m["fields"]}
    assert (fields["name"]["value"], fields["name"]["from"], fields["name"]["lead_id"]) == ("张大伟", "other", o)
    assert fields["city"] == {"field": "city", "rule": "longest", "value": "上海", "from": "survivor",
                              "lead_id": s}
    assert m["phones"] == ["13800000002"]
    assert m["rules"]["fields"]["phone"] == "keep_all"
    assert m["undone_at"] is None
    assert db.get(s)["email"] == "zdw@qq.com"
    assert db.get(o)["merged_into"] == s
    assert [x["id"] for x in db.leads()] == [s]
    assert [x["id"] for x in db.merges(lead_id=o)] == [m["id"]]

    db.unmerge(m["id"])
    assert [db.get(s), db.get(o)] == before
    assert db.get_merge(m["id"])["undone_by"] == "system"
    with pytest.raises(crm.ConflictError, match="already undone"):
        db.unmerge(m["id"])


def test_bad_rules_name_the_path(db):
    s = db.ingest(lead("13900000001"))["id"]
    o = db.ingest(lead("13900000002"))["id"]
    with pytest.raises(crm.InvalidInputError, match=r"rules\.fields\.name: unknown rule 'foo'"):
        db.merge(s, o, {"fields": {"name": "foo"}})
    with pytest.raises(crm.InvalidInputError, match=r"rules\.channel_trust\[0\]"):
        db.merge(s, o, '{"channel_trust": [1]}')
    assert db.merges() == []
    assert crm.default_merge_rules()["fields"]["name"] == "most_trusted_channel"


def test_scope_and_refusals(db):
    a = db.ingest(lead("13900000001", dealer_id="D1"))["id"]
    b = db.ingest(lead("13900000002", dealer_id="D2"))["id"]
    db.scope = "D1"
    with pytest.raises(crm.NotFoundError):
        db.merge(a, b)
    db.scope = None
    m = db.merge(a, b)
    with pytest.raises(crm.ConflictError, match="already merged into"):
        db.merge(a, b)
    db.transition(a, "assigned")
    with pytest.raises(crm.ConflictError, match="changed since the merge"):
        db.unmerge(m["id"])


def test_review_accept_merges(db):
    db.enable_matching()
    a = db.ingest({"channel": "website", "phone": "13912345670", "name": "刘敏", "city": "广州"})["id"]
    b = db.ingest({"channel": "website", "email": "lm@qq.com", "name": "刘敏", "city": "广州"})
    assert b["outcome"] == "review"
    (item,) = db.reviews()
    db.accept_review(item["id"])
    (done,) = db.reviews("accepted")
    assert db.get_merge(done["merge_id"])["survivor_id"] == a
    assert db.get(b["id"])["merged_into"] == a
    db.unmerge(done["merge_id"])
    (again,) = db.reviews()
    assert (again["id"], again["merge_id"], again["decided_by"]) == (item["id"], None, None)


def test_stored_leads_deduplicated_in_batch(db):
    a = db.ingest(lead("13912345670", name="李娜", city="杭州"))["id"]
    db.set_time(db.now() + 1000)
    b = db.ingest(lead("13912345679", channel="dcc", name="李娜", city="杭州"))["id"]
    c = db.ingest(lead("13787651234", name="王芳", city="北京"))["id"]
    dry = db.dedupe_leads()
    assert dry["clusters"] == [{"id": a, "cluster": a}, {"id": b, "cluster": a}]
    assert dry["stats"]["records"] == 3 and dry["stats"]["merge_pairs"] == 1
    assert [(p["a"], p["b"], p["decision"]) for p in dry["pairs"]] == [(a, b, "merge")]
    assert "merges" not in dry
    assert db.get(b)["merged_into"] is None

    done = db.dedupe_leads(apply=True)
    assert len(done["merges"]) == 1
    assert db.get(b)["merged_into"] == a
    assert sorted(x["id"] for x in db.leads()) == sorted([a, c])
    db.unmerge(done["merges"][0])
    assert db.get(b)["merged_into"] is None

    with pytest.raises(crm.InvalidInputError, match=r"fields\[0\]\.column: 'budget' is not a text field"):
        db.dedupe_leads({"fields": [{"name": "x", "column": "budget", "comparator": "exact"}],
                         "blocking": [["x"]]})
