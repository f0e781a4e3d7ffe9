"""Tests of the `crm` command: run the built binary on temporary databases.

The binary comes from $CRM_BIN (set by meson test); run by hand with
    CRM_BIN=/path/to/build/examples/cli/crm /usr/bin/python3 -m pytest -q tests/cli
"""
import json
import os
import re
import subprocess
import unicodedata
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
CRM = os.environ.get("CRM_BIN")

pytestmark = pytest.mark.skipif(not CRM, reason="CRM_BIN is not set")

MISSING_ID = "00000000-0000-7000-8000-000000000000"


def run(*args, db=None, stdin=None, env=None, check=None):
    """Run crm with args; --db DB goes first when given. Returns CompletedProcess."""
    cmd = [CRM]
    if db is not None:
        cmd += ["--db", str(db)]
    cmd += [str(a) for a in args]
    full_env = {k: v for k, v in os.environ.items() if k != "CRM_DB"}
    if env:
        full_env.update(env)
    p = subprocess.run(cmd, input=stdin, capture_output=True, env=full_env, timeout=120)
    p.out = p.stdout.decode("utf-8")
    p.err = p.stderr.decode("utf-8")
    if check is not None:
        assert p.returncode == check, (cmd, p.returncode, p.out, p.err)
    return p


def summary(p):
    """The --json summary of an import (the last line of stdout)."""
    return json.loads(p.out.strip().splitlines()[-1])


def leads_json(db, *args):
    p = run("leads", "--json", *args, db=db, check=0)
    return [json.loads(line) for line in p.out.splitlines()]


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "crm.db"
    run("init", db=path, check=0)
    return path


@pytest.fixture
def loaded(db):
    run("import", "--json", DATA / "leads.ndjson", db=db, check=0)
    return db


# ---- options, help, exit codes ----

COMMANDS = ["init", "import", "leads", "show", "model", "score", "status", "stages", "report", "route", "recycle"]


def test_version():
    p = run("--version", check=0)
    assert re.match(r"crm \d+\.\d+\.\d+ \(crmcore library \d+\.\d+\.\d+", p.out)


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_main_help(flag):
    p = run(flag, check=0)
    assert p.out.startswith("usage: crm")
    for cmd in COMMANDS:
        assert cmd in p.out
    # The exit codes are documented.
    for code in "01234":
        assert re.search(rf"^\s+{code}\s+\S", p.out, re.M), code


@pytest.mark.parametrize("cmd", COMMANDS)
def test_command_help(cmd, tmp_path):
    # --help works without any database and wherever it appears.
    p = run(cmd, "--help", check=0)
    assert p.out.startswith("usage: crm"), p.out
    assert f" {cmd}" in p.out.splitlines()[0]
    assert "Exit status" in p.out
    p2 = run("help", cmd, check=0)
    assert p2.out == p.out
    assert not (tmp_path / "crm.db").exists()


def test_help_command():
    assert run("help", check=0).out.startswith("usage: crm")


def test_no_command_is_usage_error():
    p = run(check=2)
    assert "usage: crm" in p.err


@pytest.mark.parametrize("args", [
    ["--bogus", "leads"],
    ["leads", "--bogus"],
    ["init", "--bogus"],
    ["import", "--bogus", "x.ndjson"],
    ["show", "--bogus", MISSING_ID],
    ["frobnicate"],
    ["help", "frobnicate"],
    ["show"],                       # missing id
    ["import"],                     # missing file
    ["leads", "--limit"],           # missing value
    ["leads", "--limit", "ten"],
    ["leads", "--status", "nosuch"],
    ["leads", "--since", "yesterday"],
    ["leads", "--until", "2024-13-01"],
    ["import", "--format", "xml", "x"],
    ["leads", "extra"],
])
def test_usage_errors_exit_2(args, db):
    p = run(*args, db=db, check=2)
    assert p.err.startswith("crm"), p.err
    assert p.out == ""


# ---- init ----

def test_init_prints_path_and_version(tmp_path):
    path = tmp_path / "new.db"
    p = run("init", db=path, check=0)
    assert f"database: {path}" in p.out
    m = re.search(r"schema version: (\d+)", p.out)
    assert m and int(m.group(1)) >= 1
    assert path.exists()
    # Again: nothing to migrate, same version.
    p2 = run("init", db=path, check=0)
    assert p2.out == p.out


def test_db_from_environment(tmp_path):
    path = tmp_path / "env.db"
    p = run("init", env={"CRM_DB": str(path)}, check=0)
    assert str(path) in p.out
    assert path.exists()


def test_db_option_after_command(tmp_path):
    path = tmp_path / "after.db"
    run("init", "--db", path, check=0)
    assert path.exists()


def test_leads_on_missing_database_fails(tmp_path):
    path = tmp_path / "nope.db"
    p = run("leads", db=path, check=1)
    assert p.err.startswith("crm: ")
    assert not path.exists()


def test_not_a_database_is_an_error(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database at all" * 100)
    p = run("leads", db=path)
    assert p.returncode == 1
    assert p.err.startswith("crm: open ")


# ---- import ----

def test_import_ndjson_summary(db):
    p = run("import", DATA / "leads.ndjson", db=db, check=0)
    m = re.search(r"(\d+) read, (\d+) created, (\d+) duplicates, (\d+) rejected in "
                  r"[\d.]+ s \(\d+ records/s\)", p.out)
    assert m, p.out
    assert tuple(map(int, m.groups())) == (6, 6, 0, 0)
    assert p.err == ""  # no progress when stderr is not a terminal


def test_import_json_summary_and_reimport_duplicates(db):
    s = summary(run("import", "--json", DATA / "leads.ndjson", db=db, check=0))
    assert (s["read"], s["created"], s["duplicates"], s["rejected"]) == (6, 6, 0, 0)
    assert s["elapsed_s"] >= 0 and s["rate"] >= 0
    s = summary(run("import", "--json", DATA / "leads.ndjson", db=db, check=0))
    assert (s["read"], s["created"], s["duplicates"], s["rejected"]) == (6, 0, 6, 0)
    assert len(leads_json(db)) == 6


def test_duplicates_within_one_file(db, tmp_path):
    f = tmp_path / "dups.ndjson"
    f.write_text('{"channel":"website","phone":"13500000001"}\n'
                 '{"channel":"douyin","phone":"13500000001"}\n'
                 '{"channel":"dcc","phone":"+8613500000001"}\n', encoding="utf-8")
    s = summary(run("import", "--json", f, db=db, check=0))
    assert (s["read"], s["created"], s["duplicates"], s["rejected"]) == (3, 1, 2, 0)


def test_bad_line_rejected_rest_imported(db):
    p = run("import", "--json", DATA / "bad.ndjson", db=db, check=3)
    s = summary(p)
    assert (s["read"], s["created"], s["duplicates"], s["rejected"]) == (6, 4, 0, 2)
    lines = [l for l in p.err.splitlines() if "line " in l]
    assert len(lines) == 2, p.err
    assert re.search(r"\bline 3: \S*phone\S*: ", lines[0]), lines[0]
    assert re.search(r"\bline 5: .*dealer_idd", lines[1]), lines[1]
    names = {l["name"] for l in leads_json(db)}
    assert names == {"好的一", "好的二", "好的三", "好的四"}


def test_errors_file(db, tmp_path):
    errs = tmp_path / "errors.txt"
    p = run("import", "--errors", errs, DATA / "bad.ndjson", db=db, check=3)
    text = errs.read_text(encoding="utf-8").splitlines()
    assert len(text) == 2
    assert text[0].startswith("line 3: ") and "phone" in text[0]
    assert text[1].startswith("line 5: ")
    assert "line 3" not in p.err  # listed in the file, not on stderr


def test_only_first_ten_errors_on_stderr(db, tmp_path):
    f = tmp_path / "many.ndjson"
    f.write_text("".join('{"channel":"website","phone":%d}\n' % (13000000000 + i)
                         for i in range(15)), encoding="utf-8")
    p = run("import", "--json", f, db=db, check=3)
    assert summary(p)["rejected"] == 15
    assert len(re.findall(r"\bline \d+: ", p.err)) == 10
    assert "5 more rejected" in p.err


def test_import_csv(db):
    s = summary(run("import", "--json", DATA / "leads.csv", db=db, check=0))
    assert (s["read"], s["created"], s["duplicates"], s["rejected"]) == (4, 4, 0, 0)
    leads = {l["phone"]: l for l in leads_json(db)}
    assert set(leads) == {"13700000001", "13700000002", "13700000003", "13700000004"}
    a, b, c, d = (leads["1370000000%d" % i] for i in range(1, 5))
    assert a["name"] == "Smith, John"          # quoted comma
    assert a["test_drive"] is True
    assert b["name"] == 'He said "hi"'         # doubled quotes
    assert b["test_drive"] is False            # 否
    assert a["campaign"] == "spring, 2024"
    battrs = b["attributes"]
    if isinstance(battrs, str):
        battrs = json.loads(battrs)
    assert battrs == {"note": "line one"}     # a quoted cell over two lines
    assert c["test_drive"] is True             # 1
    assert c.get("city") in (None, "")         # empty cell = absent
    attrs = c["attributes"]
    if isinstance(attrs, str):
        attrs = json.loads(attrs)
    assert attrs == {"color": "红色", "seats": 7}
    assert d["test_drive"] is False            # 0
    assert a["created_at"].startswith("2024-05-01T09:00:00")


def test_csv_bad_records_have_physical_line_numbers(db):
    p = run("import", "--json", DATA / "bad.csv", db=db, check=3)
    s = summary(p)
    assert (s["read"], s["created"], s["rejected"]) == (5, 3, 2)
    lines = [l for l in p.err.splitlines() if "line " in l]
    assert re.search(r"\bline 3: lead\.test_drive: .*maybe", lines[0]), lines
    assert re.search(r"\bline 6: lead\.attributes: ", lines[1]), lines
    names = sorted(l["name"] for l in leads_json(db))
    assert names == sorted(["甲", "丙", "戊"])


def test_csv_wrong_field_count(db, tmp_path):
    f = tmp_path / "short.csv"
    f.write_text("channel,phone,name\nwebsite,13400000001\nwebsite,13400000002,x\n",
                 encoding="utf-8")
    p = run("import", "--json", f, db=db, check=3)
    assert summary(p)["created"] == 1
    assert re.search(r"line 2: .*2 fields.*3", p.err)


def test_csv_unterminated_quote(db, tmp_path):
    f = tmp_path / "open.csv"
    f.write_text('channel,phone,name\nwebsite,13400000003,ok\nwebsite,13400000004,"oops\n'
                 'website,13400000005,lost\n', encoding="utf-8")
    p = run("import", "--json", f, db=db, check=3)
    s = summary(p)
    assert (s["created"], s["rejected"]) == (1, 1)
    assert re.search(r"line 3: unterminated", p.err)


def test_csv_with_bom_and_format_option(db, tmp_path):
    f = tmp_path / "excel.txt"
    f.write_bytes(b"\xef\xbb\xbfchannel,phone\r\nwalk_in,13400000006\r\n")
    s = summary(run("import", "--json", "--format", "csv", f, db=db, check=0))
    assert s["created"] == 1
    # The same without --format: not '{' so CSV is guessed.
    s = summary(run("import", "--json", f, db=db, check=0))
    assert s["duplicates"] == 1


def test_import_from_stdin_detects_format(db):
    ndjson = (DATA / "leads.ndjson").read_bytes()
    s = summary(run("import", "--json", "-", stdin=ndjson, db=db, check=0))
    assert s["created"] == 6 and s["file"] == "<stdin>"
    csv = (DATA / "leads.csv").read_bytes()
    s = summary(run("import", "--json", "-", stdin=csv, db=db, check=0))
    assert s["created"] == 4


def test_import_small_batches(db):
    s = summary(run("import", "--json", "--batch", "2", DATA / "bad.ndjson", db=db, check=3))
    assert (s["read"], s["created"], s["rejected"]) == (6, 4, 2)
    assert len(leads_json(db)) == 4


def test_import_progress_flag(db):
    p = run("import", "--progress", DATA / "leads.ndjson", db=db, check=0)
    assert "importing" in p.err and "6 records" in p.err
    assert "\r" in p.err


def test_import_missing_file(db, tmp_path):
    p = run("import", tmp_path / "nope.ndjson", db=db, check=1)
    assert p.err.startswith("crm: import: ")


def test_import_empty_input(db, tmp_path):
    f = tmp_path / "empty.csv"
    f.write_text("", encoding="utf-8")
    s = summary(run("import", "--json", f, db=db, check=0))
    assert s["read"] == 0


def test_import_with_dealer_scope(db, tmp_path):
    f = tmp_path / "scoped.ndjson"
    f.write_text('{"channel":"walk_in","phone":"13300000001"}\n'
                 '{"channel":"walk_in","phone":"13300000002","dealer_id":"D999"}\n',
                 encoding="utf-8")
    p = run("--dealer", "D777", "import", "--json", f, db=db, check=3)
    s = summary(p)
    assert (s["created"], s["rejected"]) == (1, 1)
    assert "line 2: " in p.err
    (lead,) = leads_json(db)
    assert lead["dealer_id"] == "D777"


def test_actor_recorded_in_events(db, tmp_path):
    f = tmp_path / "one.ndjson"
    f.write_text('{"channel":"website","phone":"13300000009"}\n', encoding="utf-8")
    run("--actor", "tester@example", "import", f, db=db, check=0)
    (lead,) = leads_json(db)
    shown = json.loads(run("show", "--json", lead["id"], db=db, check=0).out)
    assert shown["events"] and shown["events"][0]["actor"] == "tester@example"


# ---- leads ----

def test_leads_json_lines(loaded):
    p = run("leads", "--json", db=loaded, check=0)
    lines = p.out.splitlines()
    assert len(lines) == 6
    leads = [json.loads(l) for l in lines]
    assert [l["name"] for l in leads] == ["张伟", "李娜", "Wang Fang", "欧阳娜娜", "陈静", "赵磊"]
    assert leads[1]["phone"] == "13800000002"  # normalised


def test_leads_filters(loaded):
    def names(*args):
        return [l["name"] for l in leads_json(loaded, *args)]

    assert names("--dealer", "D001") == ["张伟", "李娜", "赵磊"]
    assert names("--channel", "website") == ["张伟", "陈静"]
    assert names("--since", "2024-05-10") == ["欧阳娜娜", "陈静", "赵磊"]
    assert names("--until", "2024-05-02") == ["张伟", "李娜"]          # whole day included
    assert names("--until", "2024-05-02T10:30:00Z") == ["张伟"]        # exclusive instant
    assert names("--since", "2024-05-02T18:30:00+08:00") == names("--since", "2024-05-02T10:30Z")
    assert names("--since", "2024-05-01", "--until", "2024-05-31") == \
        ["张伟", "李娜", "Wang Fang", "欧阳娜娜"]
    assert names("--until", "2024-06-15") == names()                   # 23:59:59 is inside
    assert names("--limit", "2") == ["张伟", "李娜"]
    assert names("--limit", "0") == names()
    assert names("--status", "new,assigned,contacted,visited,test_drive,ordered,delivered,"
                 "lost,invalid") == names()
    assert names("--status", "delivered") == []
    assert names("--dealer", "D001", "--channel", "dcc") == ["赵磊"]


def test_leads_status_filter_matches_status(loaded):
    statuses = {l["status"] for l in leads_json(loaded)}
    for st in statuses:
        got = leads_json(loaded, "--status", st)
        assert got and all(l["status"] == st for l in got)


def test_global_dealer_scope(loaded):
    p = run("--dealer", "D002", "leads", "--json", db=loaded, check=0)
    assert sorted(json.loads(l)["name"] for l in p.out.splitlines()) == ["Wang Fang", "欧阳娜娜"]


def display_width(s):
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def test_leads_table_aligned_by_display_width(loaded):
    p = run("leads", db=loaded, check=0)
    lines = p.out.splitlines()
    header, rows, footer = lines[0], lines[1:-1], lines[-1]
    assert footer == "(6 leads)"
    assert len(rows) == 6
    titles = ["ID", "CREATED (UTC)", "CHANNEL", "NAME", "PHONE", "CITY", "DEALER", "STATUS"]
    starts = [header.index(t) for t in titles]  # header is ASCII: index == column
    for row in rows:
        # Every column starts at the same display column as its title,
        # right after two spaces.
        boundaries = {}
        width = 0
        for i, ch in enumerate(row):
            boundaries[width] = i
            width += display_width(ch)
        for t, col in zip(titles[1:], starts[1:]):
            assert col in boundaries, (t, row)
            i = boundaries[col]
            assert row[i - 2:i] == "  ", (t, row)
    assert "欧阳娜娜" in p.out and "乌鲁木齐" in p.out
    assert "2024-05-10 08:00:00" in p.out


def test_leads_table_cuts_long_cjk_values(db, tmp_path):
    f = tmp_path / "long.ndjson"
    long_name = "很长的名字" * 4  # 40 columns, 60 bytes
    f.write_text(json.dumps({"channel": "website", "phone": "13200000001", "name": long_name},
                            ensure_ascii=False) + "\n", encoding="utf-8")
    run("import", f, db=db, check=0)
    out = run("leads", db=db, check=0).out
    row = out.splitlines()[1]
    assert long_name not in row
    assert "~" in row
    row.encode("utf-8")  # no broken sequences (decode already succeeded)
    assert "很长的名字" in row


def test_leads_table_rows_after_the_measured_ones(db, tmp_path):
    # Widths come from the first 200 rows; a wider value later is cut to fit.
    f = tmp_path / "many.ndjson"
    with f.open("w", encoding="utf-8") as out:
        for i in range(205):
            name = "宽宽宽宽宽宽宽宽宽宽宽宽" if i == 204 else "n%d" % i
            out.write(json.dumps({"channel": "website", "phone": "131%08d" % i, "name": name,
                                  "created_at": "2024-01-01T00:%02d:%02dZ" % (i // 60, i % 60)},
                                 ensure_ascii=False) + "\n")
    run("import", f, db=db, check=0)
    lines = run("leads", db=db, check=0).out.splitlines()
    assert lines[-1] == "(205 leads)"
    phone_col = lines[0].index("PHONE")
    last = lines[-2]
    width = 0
    for i, ch in enumerate(last):
        if width >= phone_col:
            break
        width += display_width(ch)
    assert width == phone_col and last[i:i + 11] == "13100000204", last
    assert "~" in last


def test_leads_empty(db):
    p = run("leads", db=db, check=0)
    assert p.out.splitlines()[-1] == "(0 leads)"
    assert run("leads", "--json", db=db, check=0).out == ""


# ---- show ----

def test_show_text(loaded):
    lead = leads_json(loaded, "--channel", "autohome")[0]
    p = run("show", lead["id"], db=loaded, check=0)
    assert re.search(r"^id:\s+" + re.escape(lead["id"]) + "$", p.out, re.M)
    assert re.search(r"^name:\s+欧阳娜娜$", p.out, re.M)
    assert re.search(r"^city:\s+乌鲁木齐$", p.out, re.M)
    assert re.search(r"^created_at:\s+2024-05-10 08:00:00 UTC$", p.out, re.M)
    assert "history:" in p.out
    hist = p.out.split("history:", 1)[1]
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\s+lead\.\w+\s+by \S+", hist)


def test_show_json_with_events(loaded):
    lead = leads_json(loaded, "--channel", "douyin")[0]
    p = run("show", "--json", lead["id"], db=loaded, check=0)
    doc = json.loads(p.out)
    assert doc["id"] == lead["id"] and doc["name"] == "Wang Fang"
    assert isinstance(doc["events"], list) and len(doc["events"]) >= 1
    assert all(e.get("entity_id", lead["id"]) == lead["id"] for e in doc["events"])


def test_show_duplicate_recorded_in_history(loaded):
    run("import", DATA / "leads.ndjson", db=loaded, check=0)
    lead = leads_json(loaded, "--channel", "dcc")[0]
    doc = json.loads(run("show", "--json", lead["id"], db=loaded, check=0).out)
    assert len(doc["events"]) >= 2


def test_show_missing_id_exits_4(loaded):
    p = run("show", MISSING_ID, db=loaded, check=4)
    assert p.err.startswith("crm: show: ") and MISSING_ID in p.err
    run("show", "--json", MISSING_ID, db=loaded, check=4)


def test_show_other_dealer_is_not_found(loaded):
    lead = leads_json(loaded, "--dealer", "D002")[0]
    run("--dealer", "D001", "show", lead["id"], db=loaded, check=4)
    run("--dealer", "D002", "show", lead["id"], db=loaded, check=0)


# ---- scoring: model save / train / show, score (issue 4) ----

RULES = {
    "type": "rules", "name": "default",
    "groups": {
        "channel": {"cap": 30, "points": {"walk_in": 30, "dcc": 20, "*": 5}},
        "completeness": {"fields": {"name": 5, "city": 5}},
        "intent": {"model": 10, "purchase_timeline": {"within_1m": 15}},
    },
}


def ingest(db, *docs):
    data = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs).encode()
    run("import", "-", db=db, stdin=data, check=0)
    return [l["id"] for l in leads_json(db)]


def test_model_save_show_and_score(db, tmp_path):
    ids = ingest(db,
                 {"channel": "walk_in", "phone": "13800000001", "name": "王伟", "city": "上海",
                  "model": "EX5", "purchase_timeline": "within_1m"},
                 {"channel": "douyin", "phone": "13800000002"})
    doc = tmp_path / "rules.json"
    doc.write_text(json.dumps(RULES, ensure_ascii=False))
    p = run("model", "save", doc, db=db, check=0)
    assert "version: 1" in p.out and "kind: rules" in p.out
    p = run("model", "save", "-", db=db, stdin=doc.read_bytes(), check=0)
    assert "version: 2" in p.out
    shown = json.loads(run("model", "show", "--json", db=db, check=0).out)
    assert shown["version"] == 2 and shown["groups"]["channel"]["points"]["walk_in"] == 30
    assert json.loads(run("model", "show", "default", "--version", "1", "--json", db=db, check=0).out)["version"] == 1

    # 30 channel + 5 + 5 completeness + 10 model + 15 timeline = 65, grade B
    p = run("score", "--json", ids[0], db=db, check=0)
    s = json.loads(p.out)
    assert (s["score"], s["grade"]) == (65, "B")
    assert s["reasons"][0] == {"group": "channel", "item": "walk_in", "points": 30}
    assert [r["points"] for r in s["reasons"]] == sorted((r["points"] for r in s["reasons"]), reverse=True)
    stored = json.loads(run("show", "--json", ids[0], db=db, check=0).out)
    assert (stored["score"], stored["grade"]) == (65, "B")
    assert any(e["kind"] == "lead.scored" for e in stored["events"])

    # --all: the other lead changes, the first one is already up to date
    assert json.loads(run("score", "--all", "--json", db=db, check=0).out)["changed"] == 1
    p = run("score", ids[1], db=db, check=0)
    assert "score   5  grade D" in p.out and "channel: *" in p.out


def test_model_errors(db, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"type":"rules","groups":{"channel":{"points":{"dcc":"ten"}}}}')
    p = run("model", "save", bad, db=db, check=1)
    assert "groups.channel.points.dcc: expected a number" in p.err
    p = run("model", "show", "nothing", db=db, check=4)
    assert "not found" in p.err
    p = run("score", "--all", db=db, check=4)
    p = run("score", db=db, check=2)
    p = run("model", "fly", db=db, check=2)
    p = run("model", "train", db=db, check=1)
    assert "need both kinds" in p.err
    good = tmp_path / "rules.json"
    good.write_text(json.dumps(RULES))
    run("model", "save", good, db=db, check=0)
    p = run("score", MISSING_ID, db=db, check=4)
    p = run("--dealer", "D1", "model", "save", good, db=db, check=1)
    assert "OEM-wide" in p.err


# ---- lifecycle: status / stages (issue 4) ----

def test_status_moves_and_stages(db):
    (lead_id,) = ingest(db, {"channel": "website", "phone": "13800000009"})
    run("status", lead_id, "assigned", "--to-dealer", "D1", "--owner", "S-7", db=db, check=0)
    p = run("status", lead_id, "contacted", db=db, check=0)
    assert p.out.strip() == f"{lead_id}: contacted"
    p = run("status", lead_id, "assigned", db=db, check=1)
    assert "cannot go from contacted to assigned" in p.err
    p = run("status", lead_id, "lost", db=db, check=1)
    assert "transition.reason: required" in p.err
    run("status", lead_id, "lost", "--reason", "已购竞品 \"X\"", db=db, check=0)
    p = run("status", lead_id, "flying", db=db, check=2)
    run("status", MISSING_ID, "contacted", db=db, check=4)
    stages = [json.loads(l) for l in run("stages", "--json", lead_id, db=db, check=0).out.splitlines()]
    assert [s["status"] for s in stages] == ["new", "assigned", "contacted", "lost"]
    assert stages[-1]["reason"] == '已购竞品 "X"' and stages[-1]["duration_ms"] is None
    assert all(isinstance(s["duration_ms"], int) for s in stages[:-1])
    p = run("stages", lead_id, db=db, check=0)
    assert p.out.splitlines()[-1].startswith("lost") and "(current)" in p.out
    shown = json.loads(run("show", "--json", lead_id, db=db, check=0).out)
    assert shown["status"] == "lost" and shown["dealer_id"] == "D1" and shown["owner_id"] == "S-7"
    assert [e["kind"] for e in shown["events"]].count("lead.status") == 3


def test_report_funnel(db):
    ids = ingest(db, {"channel": "dcc", "phone": "13800000021"}, {"channel": "website", "phone": "13800000022"},
                 {"channel": "website", "phone": "13800000023", "campaign": "双11, \"试驾\""})
    run("status", ids[0], "assigned", db=db, check=0)
    run("status", ids[0], "contacted", db=db, check=0)
    run("status", ids[1], "lost", "--reason", "x", db=db, check=0)
    p = run("report", "funnel", "--by", "channel", db=db, check=0)
    lines = p.out.splitlines()
    assert lines[0].split()[:3] == ["GROUP", "NEW", "ASSIGNED"]
    assert lines[1].split()[:4] == ["dcc", "1", "1", "100.0%"]
    doc = json.loads(run("report", "funnel", "--json", db=db, check=0).out)
    row = doc["rows"][0]
    assert doc["by"] == "all" and row["reached"]["new"] == 3 and row["reached"]["contacted"] == 1
    assert row["lost"] == 1 and row["responded"] == 1
    csv_text = run("report", "funnel", "--by", "campaign", "--csv", db=db, check=0).out
    import csv as _csv
    import io
    table = list(_csv.reader(io.StringIO(csv_text)))
    assert table[0][:3] == ["group", "new", "assigned"]
    assert sorted(r[0] for r in table[1:]) == ["(none)", '双11, "试驾"']
    run("report", "funnel", "--by", "week", db=db, check=2)
    run("report", "sales", db=db, check=2)
    run("report", "funnel", "--json", "--csv", db=db, check=2)


# ---- routing and the recycle pool (issue 4) ----

ROUTING = {"tz_offset_minutes": 480, "dealers": [
    {"id": "D1", "regions": ["上海"], "capacity": 2, "consultants": [{"id": "S1", "capacity": 5}]},
    {"id": "D9", "regions": ["*"], "capacity": 1}]}


def test_route_and_recycle(db, tmp_path):
    ids = ingest(db, *({"channel": "dcc", "phone": "1380000003%d" % i, "province": "上海"} for i in range(3)),
                 {"channel": "dcc", "phone": "13800000040", "province": "西藏"})
    rules = tmp_path / "routing.json"
    rules.write_text(json.dumps(ROUTING, ensure_ascii=False))
    p = run("route", "--rules", rules, "--json", db=db, check=3)  # one 上海 lead finds no room
    out = [json.loads(l) for l in p.out.splitlines()]
    assert [o.get("dealer_id") for o in out] == ["D1", "D1", None, "D9"]
    assert out[0]["owner_id"] == "S1" and "territory 上海: D1" in out[0]["reason"]
    assert "no dealer with room" in out[2]["error"]
    assert "any-region dealers: D9" in out[3]["reason"]
    stages = [json.loads(l) for l in run("stages", "--json", ids[0], db=db, check=0).out.splitlines()]
    assert stages[1]["status"] == "assigned" and stages[1]["reason"] == out[0]["reason"]
    p = run("recycle", "--hours", "24", db=db, check=0)
    assert p.out.strip() == "recycled: 0"  # nothing is overdue yet
    run("recycle", db=db, check=2)
    bad = tmp_path / "bad.json"
    bad.write_text('{"dealers":[{"id":"D1","regions":["x"],"capacity":0}]}')
    p = run("route", "--rules", bad, db=db, check=1)
    assert "dealers[0].capacity: expected a positive integer" in p.err
    run("route", db=db, check=2)
