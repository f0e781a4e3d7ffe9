"""Matching from Python: pairs and clusters as dicts."""
import pytest

import crm

LEADS = [
    {"id": "a", "name": "张伟", "phone": "13912345670", "city": "上海"},
    {"id": "b", "name": "Wei Zhang", "phone": "+86 139 1234 5670", "city": "上海市"},
    {"id": "c", "name": "李娜", "phone": "13712345678", "city": "北京"},
]


def test_dedupe_default():
    out = crm.dedupe(LEADS)
    assert out["clusters"] == [{"id": "a", "cluster": "a"}, {"id": "b", "cluster": "a"},
                               {"id": "c", "cluster": "c"}]
    (pair,) = out["pairs"]
    assert (pair["a"], pair["b"], pair["decision"]) == ("a", "b", "merge")
    by_field = {f["field"]: f for f in pair["fields"]}
    assert by_field["name"]["level"] == "agree"
    assert by_field["email"]["level"] == "missing"
    assert out["stats"]["clusters"] == 2


def test_dedupe_custom_config_and_weights():
    config = {"fields": [{"name": "first", "comparator": "jaro_winkler"},
                         {"name": "last", "comparator": "jaro_winkler"},
                         {"name": "dob", "comparator": "date"}],
              "swap": [["first", "last"]],
              "blocking": [["dob"]],
              "thresholds": {"merge": 0.9, "review": 0.3}}
    rows = [{"first": f, "last": l, "dob": d} for f, l, d in [
        ("wei", "zhang", "19800101"), ("zhang", "wei", "19800101"), ("na", "li", "19810202"),
        ("na", "lie", "19810202"), ("fang", "wang", "19820303"), ("min", "liu", "19820303")]]
    out = crm.dedupe(rows, config)
    clusters = [c["cluster"] for c in out["clusters"]]
    assert clusters[:4] == ["0", "0", "2", "2"]
    assert clusters[4] != clusters[5]
    assert len(out["config"]["fields"][0]["m"]) == 3
    assert crm.default_match_config()["fields"][0]["name"] == "phone"


def test_dedupe_errors():
    with pytest.raises(crm.InvalidInputError, match=r"fields\[0\].comparator"):
        crm.dedupe([], {"fields": [{"name": "a", "comparator": "x"}], "blocking": [["a"]]})
    with pytest.raises(crm.InvalidInputError, match=r"records\[1\].phone: expected a string"):
        crm.dedupe([{"phone": "1"}, {"phone": [1]}])


def test_online_matching(db):
    db.enable_matching()
    a = db.ingest({"channel": "website", "phone": "13912345670", "name": "张伟", "city": "上海"})
    b = db.ingest({"channel": "douyin", "phone": "+86 139 1234 5670", "name": "Wei Zhang"})
    assert (b["outcome"], b["duplicate_of"]) == ("duplicate", a["id"])
    c = db.ingest({"channel": "website", "email": "zw@qq.com", "name": "张伟", "city": "上海市"})
    assert (c["outcome"], c["duplicate_of"]) == ("review", a["id"])
    kinds = [e["kind"] for e in db.events(c["id"])]
    assert kinds == ["lead.created", "lead.possible_duplicate"]
    db.disable_matching()
    d = db.ingest({"channel": "website", "email": "other@qq.com", "name": "张伟", "city": "上海"})
    assert d["outcome"] == "created"
    with pytest.raises(crm.InvalidInputError, match=r"fields\[0\]: online matching needs m and u"):
        db.enable_matching({"fields": [{"name": "phone", "comparator": "phone"}], "blocking": [["phone"]]})


def test_review_queue(db):
    db.enable_matching()
    a = db.ingest({"channel": "website", "phone": "13912345670", "name": "张伟", "city": "上海"})
    c = db.ingest({"channel": "website", "email": "zw@qq.com", "name": "张伟", "city": "上海"})
    (item,) = db.reviews()
    assert (item["lead_id"], item["candidate_id"]) == (c["id"], a["id"])
    assert item["evidence"]["decision"] == "review"
    db.reject_review(item["id"])
    assert db.reviews() == []
    assert db.reviews(status=None)[0]["status"] == "rejected"
    with pytest.raises(crm.ConflictError, match="already rejected"):
        db.accept_review(item["id"])
    with pytest.raises(crm.InvalidInputError, match="status: expected"):
        db.reviews(status="maybe")


def test_index_matching_reaches_leads_stored_before():
    with crm.open(":memory:") as db:
        a = db.ingest({"channel": "website", "phone": "13912345670", "name": "李娜", "city": "杭州",
                       "email": "ln@qq.com"})["id"]
        with pytest.raises(crm.InvalidInputError, match="matching: not enabled"):
            db.index_matching()
        db.enable_matching()
        assert db.index_matching() == 1
        b = db.ingest({"channel": "dcc", "phone": "13800000001", "name": "李娜", "city": "杭州",
                       "email": "ln@qq.com"})
        assert b["outcome"] != "created" and b["duplicate_of"] == a
