#!/usr/bin/env python3
"""crmcore analytics example: train a scoring model, score, draw the funnel.

Builds a database of synthetic leads (seeded, so every run is the same),
walks them through the lifecycle with outcomes that depend on channel and
purchase timeline, trains a logistic regression on the won and lost leads
(in C, with reasons), scores every lead with it, and draws two charts:

    funnel.png        leads reaching each stage, overall and by channel
    scores.png        the distribution of scores, coloured by grade

Run from a build (Debian's python3-matplotlib needed):

    PYTHONPATH=BUILD/bindings/python /usr/bin/python3 examples/python/analytics.py [OUT_DIR]
"""
import os
import random
import sys

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

import crm  # noqa: E402

T0 = 1767225600000  # 2026-01-01T00:00:00Z
HOUR = 3600 * 1000
CHANNELS = {"walk_in": 0.45, "dcc": 0.30, "autohome": 0.18, "website": 0.12, "douyin": 0.08}
TIMELINES = {"within_1m": 2.0, "1_3m": 1.3, "3_6m": 0.8, "over_6m": 0.4}
STAGES = ["assigned", "contacted", "visited", "test_drive", "ordered", "delivered"]


def build(db, n, rnd):
    """Ingest n leads and move each as far as its luck takes it."""
    for i in range(n):
        channel = rnd.choice(list(CHANNELS))
        timeline = rnd.choice(list(TIMELINES))
        db.set_time(T0 + i * 60 * 1000)
        lead_id = db.ingest({
            "channel": channel, "phone": "139%08d" % i, "province": rnd.choice(["上海", "江苏", "浙江"]),
            "model": rnd.choice(["EX5", "LX", "TX"]), "purchase_timeline": timeline,
            "test_drive": rnd.random() < 0.4,
        })["id"]
        p = min(0.95, CHANNELS[channel] * TIMELINES[timeline])
        at = T0 + i * 60 * 1000
        for stage in STAGES:
            at += rnd.randint(1, 48) * HOUR
            db.set_time(at)
            if rnd.random() > p ** (1 / len(STAGES)) and stage != "assigned":
                if rnd.random() < 0.8:
                    db.transition(lead_id, "lost", reason=rnd.choice(["太贵", "已购竞品", "联系不上"]))
                break
            db.transition(lead_id, stage, dealer="D3101001" if stage == "assigned" else None)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "analytics-out"
    os.makedirs(out, exist_ok=True)
    rnd = random.Random(20261125)
    with crm.open(":memory:") as db:
        build(db, 3000, rnd)
        model = db.train_model(kind="logistic", name="history")
        db.save_model(model)
        print("trained %s: held-back AUC %.3f on %d rows" % (model["type"], model["auc"], model["holdout_rows"]))
        db.set_time(T0 + 400 * 24 * HOUR)
        print("scored: %d leads changed" % db.rescore_all(db.load_model("history")))
        funnel = db.funnel()
        by_channel = db.funnel(by="channel")
        if not isinstance(funnel, list):  # pandas installed: DataFrames
            funnel, by_channel = funnel.to_dict("records"), by_channel.to_dict("records")
        scores = [(lead["score"], lead["grade"]) for lead in db.leads()]

    stages = ["new"] + STAGES
    fig, ax = plt.subplots(figsize=(9, 5))
    width = 0.8 / (1 + len(by_channel))
    for k, row in enumerate([funnel[0]] + by_channel):
        ax.bar([i + k * width for i in range(len(stages))], [row[s] for s in stages], width,
               label=row["group"])
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(stages))], stages)
    ax.set_ylabel("leads reaching the stage")
    ax.set_title("Conversion funnel, overall and by channel")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "funnel.png"), dpi=100)

    fig, ax = plt.subplots(figsize=(9, 5))
    for grade, colour in zip("ABCD", ["#2a9d8f", "#8ab17d", "#e9c46a", "#e76f51"]):
        ax.hist([s for s, g in scores if g == grade], bins=range(0, 102, 2), color=colour, label="grade " + grade)
    ax.set_xlabel("score (probability x 100)")
    ax.set_ylabel("leads")
    ax.set_title("Scores from the trained logistic regression")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "scores.png"), dpi=100)
    print("wrote %s and %s" % (os.path.join(out, "funnel.png"), os.path.join(out, "scores.png")))


if __name__ == "__main__":
    main()
