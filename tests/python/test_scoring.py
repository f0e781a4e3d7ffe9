"""Scoring from Python: rule models, training in C, scores on stored leads."""
import random

import pytest

import crm
from conftest import lead

RULES = {
    "type": "rules", "name": "default",
    "groups": {
        "channel": {"cap": 30, "points": {"walk_in": 30, "*": 5}},
        "completeness": {"fields": {"name": 5}},
        "intent": {"model": 10, "test_drive": 10},
    },
    "grades": {"A": 40, "B": 20, "C": 10},
}


def test_rule_model_saved_and_leads_scored(db):
    saved = db.save_model(RULES)
    assert saved["version"] == 1 and saved["type"] == "rules"
    assert db.save_model(RULES)["version"] == 2
    assert db.load_model("default", 1)["version"] == 1
    a = db.ingest(lead("13800000001", channel="walk_in", name="王伟", model="EX5", test_drive=True))["id"]
    b = db.ingest(lead("13800000002"))["id"]
    s = db.score(a, RULES)
    assert (s["score"], s["grade"]) == (55, "A")
    assert s["reasons"][0] == {"group": "channel", "item": "walk_in", "points": 30}
    assert db.get(a)["score"] == 55 and db.get(a)["grade"] == "A"
    assert db.rescore_all(db.load_model()) == 1  # only b changes
    assert db.get(b)["grade"] == "D"
    assert db.rescore_all(RULES) == 0


def test_bad_documents_raise_with_the_path(db):
    with pytest.raises(crm.InvalidInputError, match=r"groups\.channel\.points\.x: expected a number"):
        db.save_model({"type": "rules", "groups": {"channel": {"points": {"x": "y"}}}})
    with pytest.raises(crm.NotFoundError):
        db.load_model("missing")
    with pytest.raises(TypeError):
        db.score("x", 42)
    db.scope = "D1"
    with pytest.raises(crm.PermissionDeniedError):
        db.save_model(RULES)


def test_scoring_on_ingest(db):
    db.enable_scoring(RULES)
    r = db.ingest(lead("13800000001", channel="walk_in", name="王伟", model="EX5", test_drive=True))
    assert (r["outcome"], r["score"], r["grade"]) == ("created", 55, "A")
    assert db.get(r["id"])["score"] == 55 and db.get(r["id"])["grade"] == "A"
    created = next(iter(db.events(r["id"])))
    assert created["kind"] == "lead.created"
    assert created["data"]["score"] == 55 and created["data"]["model"] == "default"
    assert created["data"]["reasons"][0] == {"group": "channel", "item": "walk_in", "points": 30}
    dup = db.ingest(lead("13800000001"))
    assert (dup["outcome"], dup["score"], dup["grade"]) == ("duplicate", None, None)
    with pytest.raises(crm.InvalidInputError, match=r"groups\.channel\.points\.x"):
        db.enable_scoring({"type": "rules", "groups": {"channel": {"points": {"x": "y"}}}})
    db.disable_scoring()
    r = db.ingest(lead("13800000002", channel="walk_in"))
    assert r["score"] is None and db.get(r["id"])["score"] is None


def test_train_and_score_values():
    rnd = random.Random(5)
    rows, labels = [], []
    for _ in range(3000):
        ch = rnd.choice(["walk_in", "website"])
        age = rnd.randint(20, 60)
        rows.append([ch, age if rnd.random() > 0.05 else None])
        labels.append(int(rnd.random() < (0.6 if ch == "walk_in" else 0.1)))
    for kind in ("logistic", "naive_bayes"):
        m = crm.train(["channel", "age"], ["category", "number"], rows, labels, kind=kind, name="t", bins=5)
        assert m["type"] == kind and m["name"] == "t" and m["auc"] > 0.7
        hi = crm.score_values(m, ["walk_in", 30])
        lo = crm.score_values(m, ["website", "30"])
        assert hi["probability"] > 0.4 > 0.2 > lo["probability"]
        assert hi["reasons"][0]["group"] == "channel" and hi["reasons"][0]["item"] == "walk_in"
    with pytest.raises(crm.InvalidInputError, match="row 0, column age: expected a number"):
        crm.train(["channel", "age"], ["category", "number"], [["a", "old"]], [1])
    with pytest.raises(crm.InvalidInputError, match="values: expected an array of 2"):
        crm.score_values(m, ["walk_in"])


def test_train_with_a_cross():
    rnd = random.Random(7)
    rows, labels = [], []
    for _ in range(2000):
        a, b = rnd.choice("xy"), rnd.choice("xy")
        rows.append([a, b])
        labels.append(int(rnd.random() < (0.8 if a == b else 0.1)))
    m = crm.train(["a", "b"], ["category", "category"], rows, labels, crosses=["a*b"])
    assert m["features"][2]["name"] == "a*b" and m["features"][2]["cross"] == ["a", "b"]
    assert m["auc"] > 0.8
    s = crm.score_values(m, ["y", "y"])
    assert s["probability"] > 0.7 and s["reasons"][0] == {**s["reasons"][0], "group": "a*b", "item": "y*y"}
    with pytest.raises(crm.InvalidInputError, match=r"options.crosses\[0\]: unknown feature 'c'"):
        crm.train(["a", "b"], ["category", "category"], rows, labels, crosses="a*c")


def test_train_on_stored_outcomes_needs_both(db):
    with pytest.raises(crm.InvalidInputError, match="need both kinds"):
        db.train_model()
