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

COMMANDS = ["init", "import", "leads", "show", "judge", "customer", "member", "points", "tag", "segment", "vehicle",
            "model", "score", "status", "stages", "report", "route", "recycle", "review", "merge", "unmerge",
            "merges"]


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
    ["leads", "--quality", "nosuch"],
    ["leads", "--quality", "ok,"],
    ["leads", "--quality"],           # missing value
    ["leads", "--since", "yesterday"],
    ["leads", "--until", "2024-13-01"],
    ["import", "--format", "xml", "x"],
    ["leads", "extra"],
    ["customer"],                   # missing action
    ["customer", "frob"],
    ["customer", "find", "fax", "1"],
    ["customer", "consent", MISSING_ID, "sms", "maybe"],
    ["points", "accrue", MISSING_ID, "10"],          # no --key
    ["points", "accrue", MISSING_ID, "ten", "--key", "k"],
    ["points", "accrue", MISSING_ID, "10", "--key", "k", "--expires", "soon"],
    ["tag", "add", MISSING_ID, "vip"],               # no --source
    ["segment", "count"],
    ["segment", "export", "vip", "--limit", "-1"],
    ["vehicle", "add", "LSVAU218XN2183294"],          # no --model/--year
    ["vehicle", "relate", "LSVAU218XN2183294", MISSING_ID, "passenger"],
    ["member", "enrol", MISSING_ID],
    ["merge", MISSING_ID],                           # no OTHER
    ["merge", MISSING_ID, MISSING_ID, "extra"],
    ["merge", MISSING_ID, MISSING_ID, "--rules"],    # missing value
    ["unmerge"],
    ["merges", "--limit", "0"],
    ["merges", "--lead", "nope"],
    ["judge", "--bogus"],
    ["judge", "extra"],
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
    # 陈静's e-mail is at example.com, a test domain: her lead is suspect
    m = re.search(r"(\d+) read, (\d+) created \((\d+) junk, (\d+) suspect\), (\d+) duplicates, "
                  r"(\d+) rejected in [\d.]+ s \(\d+ records/s\)", p.out)
    assert m, p.out
    assert tuple(map(int, m.groups())) == (6, 6, 0, 1, 0, 0)
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


# ---- lead quality ----

QUALITY_LEADS = [
    # junk: the well-known test number and no other contact
    {"channel": "website", "name": "甲", "phone": "13800138000", "created_at": "2024-05-01T09:00:00Z"},
    # suspect: a placeholder name with a good phone
    {"channel": "website", "name": "测试", "phone": "13912345671", "created_at": "2024-05-01T10:00:00Z"},
    # suspect: a virtual-segment mobile
    {"channel": "douyin", "name": "乙", "phone": "17012345679", "created_at": "2024-05-01T11:00:00Z"},
    # ok
    {"channel": "website", "name": "张伟", "phone": "13912345670", "city": "上海市",
     "created_at": "2024-05-01T12:00:00Z"},
]


@pytest.fixture
def mixed(db, tmp_path):
    f = tmp_path / "mixed.ndjson"
    f.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in QUALITY_LEADS), encoding="utf-8")
    s = summary(run("import", "--json", f, db=db, check=0))
    assert (s["created"], s["junk"], s["suspect"]) == (4, 1, 2)
    return db


def test_leads_json_has_quality(mixed):
    assert [(l["name"], l["quality"]) for l in leads_json(mixed)] == \
        [("甲", "junk"), ("测试", "suspect"), ("乙", "suspect"), ("张伟", "ok")]


def test_leads_quality_filter(mixed):
    def names(*args):
        return [l["name"] for l in leads_json(mixed, *args)]

    assert names("--quality", "junk") == ["甲"]
    assert names("--quality", "suspect") == ["测试", "乙"]
    assert names("--quality", "ok") == ["张伟"]
    assert names("--quality", "suspect,junk") == ["甲", "测试", "乙"]
    assert names("--quality=junk, ok") == ["甲", "张伟"]
    assert names("--quality", "ok,suspect,junk") == names()
    assert names("--quality", "suspect", "--channel", "douyin") == ["乙"]
    assert names("--quality", "suspect", "--limit", "1") == ["测试"]
    assert names("--quality", "ok", "--status", "lost") == []
    # the table filters the same way
    out = run("leads", "--quality", "junk", db=mixed, check=0).out
    assert out.splitlines()[-1] == "(1 lead)" and "13800138000" in out


def test_leads_quality_unknown_names_the_value(mixed):
    p = run("leads", "--quality", "ok,rubbish", db=mixed, check=2)
    assert p.out == ""
    assert "rubbish" in p.err and "ok, suspect or junk" in p.err
    assert "--help" in p.err
    p = run("leads", "--quality", "ok,,junk", db=mixed, check=2)
    assert "--quality" in p.err


def test_leads_table_shows_quality(mixed):
    lines = run("leads", db=mixed, check=0).out.splitlines()
    header, rows = lines[0], lines[1:-1]
    assert header.rstrip().endswith("QUALITY")
    assert header.index("STATUS") < header.index("QUALITY")
    assert [r.split()[-1] for r in rows] == ["junk", "suspect", "suspect", "ok"]
    # the quality column starts at its title's display column
    col = header.index("QUALITY")
    for row in rows:
        width = 0
        for i, ch in enumerate(row):
            if width >= col:
                break
            width += display_width(ch)
        assert width == col and row[i - 2:i] == "  ", row


def test_show_has_quality(mixed):
    junk = leads_json(mixed, "--quality", "junk")[0]
    p = run("show", junk["id"], db=mixed, check=0)
    assert re.search(r"^quality:\s+junk$", p.out, re.M), p.out
    ok = leads_json(mixed, "--quality", "ok")[0]
    assert re.search(r"^quality:\s+ok$", run("show", ok["id"], db=mixed, check=0).out, re.M)
    doc = json.loads(run("show", "--json", junk["id"], db=mixed, check=0).out)
    assert doc["quality"] == "junk" and doc["events"]


def test_import_summary_counts_junk_and_suspect(db, tmp_path):
    f = tmp_path / "mixed.ndjson"
    f.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in QUALITY_LEADS), encoding="utf-8")
    p = run("import", f, db=db, check=0)
    assert re.search(r": 4 read, 4 created \(1 junk, 2 suspect\), 0 duplicates, 0 rejected in ", p.out), p.out
    # duplicates are not counted: nothing new was imported
    p = run("import", f, db=db, check=0)
    assert re.search(r": 4 read, 0 created, 4 duplicates, 0 rejected in ", p.out), p.out
    s = summary(run("import", "--json", f, db=db, check=0))
    assert (s["created"], s["junk"], s["suspect"], s["duplicates"]) == (0, 0, 0, 4)


def test_import_summary_without_junk_or_suspect_is_unchanged(db, tmp_path):
    f = tmp_path / "ok.ndjson"
    f.write_text(json.dumps(QUALITY_LEADS[-1], ensure_ascii=False) + "\n", encoding="utf-8")
    p = run("import", f, db=db, check=0)
    assert re.search(r": 1 read, 1 created, 0 duplicates, 0 rejected in ", p.out), p.out
    assert "junk" not in p.out


def test_import_summary_quality_with_scoring(db, tmp_path):
    model = tmp_path / "rules.json"
    model.write_text(json.dumps(RULES, ensure_ascii=False), encoding="utf-8")  # RULES: see the scoring tests
    run("model", "save", model, db=db, check=0)
    f = tmp_path / "mixed.ndjson"
    f.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in QUALITY_LEADS), encoding="utf-8")
    p = run("import", "--score-model", "default", f, db=db, check=0)
    assert "4 created (4 scored with default; 1 junk, 2 suspect), 0 duplicates" in p.out, p.out
    s = summary(run("import", "--json", "--score-model", "default", f, db=db, check=0))
    assert (s["created"], s["scored"], s["junk"], s["suspect"]) == (0, 0, 0, 0)


def forget_quality(db):
    """Every lead ok, as leads stored before quality existed read."""
    import sqlite3
    raw = sqlite3.connect(str(db))
    with raw:
        raw.execute("UPDATE lead SET quality = 0")
    raw.close()


def test_judge_finds_what_older_leads_hid(db):
    ok, junk, suspect = ingest(db, {"channel": "app", "name": "张伟", "phone": "13912345670"},
                               {"channel": "app", "phone": "13800138000"},
                               {"channel": "app", "name": "test", "phone": "13912345671"})
    forget_quality(db)
    assert [l["quality"] for l in leads_json(db)] == ["ok", "ok", "ok"]
    p = run("--actor", "cleaner", "judge", db=db, check=0)
    assert p.out == "judged again: 2 leads changed quality\n"
    assert p.err == ""
    assert [(l["id"], l["quality"]) for l in leads_json(db)] == [(ok, "ok"), (junk, "junk"), (suspect, "suspect")]
    events = json.loads(run("show", "--json", junk, db=db, check=0).out)["events"]
    (e,) = [e for e in events if e["kind"] == "lead.quality"]
    assert e["actor"] == "cleaner"
    assert e["data"] == {"from": "ok", "to": "junk",
                         "quality_reasons": {"phone": "test_number", "contact": "no_usable_contact"}}
    events = json.loads(run("show", "--json", ok, db=db, check=0).out)["events"]
    assert [e for e in events if e["kind"] == "lead.quality"] == []   # unchanged: not written
    # again: nothing changes
    assert run("judge", db=db, check=0).out == "judged again: 0 leads changed quality\n"
    assert json.loads(run("judge", "--json", db=db, check=0).out) == {"changed": 0}


def test_judge_json_and_dealer_scope(db):
    d1, d2 = ingest(db, {"channel": "app", "phone": "13800138000", "dealer_id": "D001"},
                    {"channel": "app", "phone": "13333333333", "dealer_id": "D002"})
    forget_quality(db)
    assert json.loads(run("--dealer", "D002", "judge", "--json", db=db, check=0).out) == {"changed": 1}
    assert [(l["id"], l["quality"]) for l in leads_json(db)] == [(d1, "ok"), (d2, "junk")]
    assert json.loads(run("judge", "--json", "--db", db, check=0).out) == {"changed": 1}
    assert [l["quality"] for l in leads_json(db)] == ["junk", "junk"]


def test_judge_on_missing_database_fails(tmp_path):
    p = run("judge", db=tmp_path / "none.db", check=1)
    assert "no such database" in p.err and p.out == ""
    assert not (tmp_path / "none.db").exists()


def test_leads_and_import_help_mention_quality():
    out = run("leads", "--help", check=0).out
    assert "--quality Q[,Q...]" in out
    for q in ("ok", "suspect", "junk"):
        assert q in out
    assert "junk or suspect" in run("import", "--help", check=0).out


# ---- work orders (issue 6) ----

POLICY = {
    "rules": [{
        "name": "complaints", "match": {"type": "complaint"},
        "first_response_minutes": 60, "resolution_minutes": 480, "warning_percent": 80,
        "escalations": [
            {"after_minutes": 0, "actions": [{"action": "notify", "to": "supervisor"}]},
            {"after_minutes": 240, "actions": [{"action": "reassign", "assignee": "lead-1", "queue": "l2"},
                                               {"action": "raise_priority"}]},
        ],
    }, {"name": "rest", "resolution_minutes": 2400}],
}


@pytest.fixture
def policy(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(POLICY), encoding="utf-8")
    return path


def wo_create(db, doc, **kw):
    return run("wo", "create", json.dumps(doc, ensure_ascii=False), db=db, check=0, **kw).out.strip()


def wo_show(db, wid):
    return json.loads(run("wo", "show", wid, db=db, check=0).out)


@pytest.mark.parametrize("cmd", [["wo"], ["report"]])
def test_wo_and_report_help(cmd):
    p = run(*cmd, "--help", check=0)
    assert p.out.startswith("usage: crm") and "Exit status" in p.out
    assert run("help", *cmd, check=0).out == p.out
    assert cmd[0] in run("--help", check=0).out


def test_wo_lifecycle_with_history(db):
    wid = wo_create(db, {"type": "complaint", "subject": "刹车异响", "queue": "l1",
                         "vin": "LVSHCAMB1CE012345", "attributes": {"km": 12000}}, env=None)
    assert re.fullmatch(r"[0-9a-f-]{36}", wid)
    run("--actor", "sup", "wo", "assign", wid, "agent-1", "--queue", "l1", db=db, check=0)
    run("--actor", "agent-1", "wo", "move", wid, "in_progress", "--note", "开始处理", db=db, check=0)
    cid = run("wo", "comment", wid, "您好，已安排检修", "--public", db=db, check=0).out.strip()
    run("wo", "comment", wid, "内部备注", db=db, check=0)
    run("wo", "move", wid, "waiting_customer", db=db, check=0)
    run("wo", "move", wid, "resolved", db=db, check=0)
    w = wo_show(db, wid)
    assert w["status"] == "resolved" and w["assignee"] == "agent-1" and w["attributes"] == {"km": 12000}
    assert [c["visibility"] for c in w["comments"]] == ["public", "internal"]
    assert w["comments"][0]["id"] == cid
    assert len(w["pauses"]) == 1
    kinds = [e["kind"] for e in w["history"]]
    assert kinds == ["workorder.created", "workorder.assigned", "workorder.moved", "workorder.commented",
                     "workorder.commented", "workorder.moved", "workorder.moved"]
    assert w["history"][1]["actor"] == "sup"
    assert w["history"][2]["data"] == {"from": "assigned", "to": "in_progress", "note": "开始处理"}


def test_wo_illegal_move_names_both_states(db):
    wid = wo_create(db, {"type": "enquiry", "subject": "x"})
    p = run("wo", "move", wid, "closed", db=db, check=1)
    assert "cannot move from new to closed" in p.err
    assert wo_show(db, wid)["status"] == "new"


def test_wo_errors(db):
    p = run("wo", "create", '{"type":"complaint"}', db=db, check=1)
    assert "subject: required" in p.err
    p = run("wo", "create", '{"type":"complaint","subject":"x","vin":"SHORT"}', db=db, check=1)
    assert "vin: expected 17 characters" in p.err
    run("wo", "show", MISSING_ID, db=db, check=4)
    run("wo", "assign", MISSING_ID, "a", db=db, check=4)
    for args in (["wo", "move", MISSING_ID, "done"], ["wo", "frobnicate"], ["wo", "list", "--limit", "x"],
                 ["wo", "escalate"], ["report", "sla"], ["report", "sla", "--policy", "p", "--by", "week"],
                 ["wo", "list", "--status", "open"], ["wo", "assign", MISSING_ID]):
        p = run(*args, db=db, check=2)
        assert p.err.startswith("crm"), (args, p.err)


def test_wo_create_from_stdin_and_list(db):
    doc = {"type": "repair", "subject": "保养", "queue": "svc", "priority": 2}
    wid = run("wo", "create", "-", db=db, stdin=json.dumps(doc).encode(), check=0).out.strip()
    wo_create(db, {"type": "complaint", "subject": "y", "queue": "l1"})
    rows = [json.loads(line) for line in run("wo", "list", "--json", db=db, check=0).out.splitlines()]
    assert [r["type"] for r in rows] == ["repair", "complaint"]
    rows = [json.loads(line) for line in run("wo", "list", "--json", "--queue", "svc", db=db, check=0).out.splitlines()]
    assert [r["id"] for r in rows] == [wid]
    table = run("wo", "list", "--status", "new,assigned", db=db, check=0).out.splitlines()
    assert table[0].startswith("ID") and len(table) == 3 and "保养" in table[1]


def test_wo_dealer_scope(db):
    wid = wo_create(db, {"type": "repair", "subject": "x", "dealer_id": "D2"})
    run("--dealer", "D1", "wo", "show", wid, db=db, check=4)
    p = run("--dealer", "D1", "wo", "create", '{"type":"repair","subject":"x","dealer_id":"D2"}', db=db, check=1)
    assert "outside this handle's scope" in p.err


def test_wo_escalate_is_idempotent_and_report(db, policy):
    wid = wo_create(db, {"type": "complaint", "subject": "x", "assignee": "agent-1", "priority": 3,
                         "created_at": "2025-11-24T10:00+08:00"})
    wo_create(db, {"type": "enquiry", "subject": "y", "created_at": "2025-11-24T10:00+08:00"})
    p = run("wo", "escalate", "--policy", policy, "--as-of", "2025-11-24T10:50+08:00", "--json", db=db, check=0)
    assert json.loads(p.out) == {"scanned": 2, "warnings": 1, "breaches": 0, "escalations": 0, "changed": 1}
    p = run("wo", "escalate", "--policy", policy, "--as-of", "2025-11-25T13:01+08:00", "--json", db=db, check=0)
    assert json.loads(p.out) == {"scanned": 2, "warnings": 0, "breaches": 2, "escalations": 2, "changed": 1}
    again = run("wo", "escalate", "--policy", policy, "--as-of", "2025-11-25T13:01+08:00", "--json", db=db, check=0)
    assert json.loads(again.out)["changed"] == 0
    w = wo_show(db, wid)
    assert (w["assignee"], w["queue"], w["priority"], w["escalation_level"]) == ("lead-1", "l2", 2, 2)
    assert [e["data"]["to"] for e in w["history"] if e["kind"] == "workorder.sla_notify"] == ["supervisor"]
    p = run("wo", "events", "workorder.sla_notify", "--since", "2025-11-24", db=db, check=0)
    assert [json.loads(line)["entity_id"] for line in p.out.splitlines()] == [wid]
    assert run("wo", "events", "workorder.sla_notify", "--since", "2030-01-01", db=db, check=0).out == ""
    rep = json.loads(run("report", "sla", "--policy", policy, "--by", "type", "--as-of", "2025-11-25T13:01+08:00",
                         db=db, check=0).out)
    assert rep["group_by"] == "type"
    groups = {g["key"]: g for g in rep["groups"]}
    assert groups["complaint"]["first_response"]["breached"] == 1
    assert groups["enquiry"]["resolution"]["breached"] == 0
    assert groups["enquiry"]["backlog_by_age"]["1-3d"] == 1


def test_bad_policy_names_the_path(db, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"rules":[{"resolution_minutes":-5}]}')
    p = run("wo", "escalate", "--policy", bad, db=db, check=1)
    assert "policy.rules[0].resolution_minutes: expected a positive integer" in p.err
# ---- customers, members, points, tags, segments, vehicles ----

def out_json(*args, db):
    return json.loads(run(*args, db=db, check=0).out)


def resolve(db, *identities, **extra):
    doc = dict(extra, identities=[dict(kind=k, value=v) for k, v in identities])
    return out_json("customer", "resolve", json.dumps(doc, ensure_ascii=False), db=db)


def test_customer_resolve_merge_and_unmerge(db):
    a = resolve(db, ("phone", "13800000001"), name="张伟")
    assert a["outcome"] == "created"
    b = resolve(db, ("wechat_unionid", "uX1"))
    m = resolve(db, ("phone", "13800000001"), ("wechat_unionid", "uX1"))
    assert m == {"outcome": "merged", "customer_id": a["customer_id"], "identities_added": 0, "merged": 1}
    assert run("customer", "find", "wechat_unionid", "uX1", db=db, check=0).out.strip() == a["customer_id"]
    view = out_json("customer", "show", a["customer_id"], db=db)
    assert view["name"] == "张伟"
    assert {i["kind"] for i in view["identities"]} == {"phone", "wechat_unionid"}
    run("customer", "unmerge", b["customer_id"], db=db, check=0)
    assert run("customer", "find", "wechat_unionid", "uX1", db=db, check=0).out.strip() == b["customer_id"]
    # Rules from a file: email may merge too.
    p = run("customer", "resolve", "-", db=db, stdin=b'{"identities":[{"kind":"email","value":"x@example.com"}]}', check=0)
    assert json.loads(p.out)["outcome"] == "created"
    p = run("customer", "resolve", json.dumps({"identities": [{"kind": "phone", "value": "12"}]}), db=db, check=1)
    assert "customer.identities[0].value" in p.err
    run("customer", "show", MISSING_ID, db=db, check=4)
    run("customer", "find", "phone", "13999999999", db=db, check=4)


def test_customer_resolve_lead(db, tmp_path):
    lead = tmp_path / "lead.ndjson"
    lead.write_text('{"channel":"dcc","phone":"13800000009","name":"李娜"}\n', encoding="utf-8")
    run("import", lead, db=db, check=0)
    lead_id = leads_json(db)[0]["id"]
    r = out_json("customer", "resolve-lead", lead_id, db=db)
    assert r["outcome"] == "created"
    assert leads_json(db)[0]["customer_id"] == r["customer_id"]
    assert out_json("customer", "show", r["customer_id"], db=db)["leads"][0]["id"] == lead_id


def test_member_points_and_tiers(db, tmp_path):
    rules = tmp_path / "loyalty.json"
    rules.write_text(json.dumps({"tiers": [{"name": "silver", "min_points": 0},
                                           {"name": "gold", "min_points": 100, "benefits": {"free_wash": 4}}]}))
    c = resolve(db, ("phone", "13800000001"))["customer_id"]
    run("member", "enrol", c, "M-0001", "--rules", rules, db=db, check=0)
    a = out_json("points", "accrue", c, "120", "--key", "order-1", "--expires", "2099-01-01", "--rules", rules, db=db)
    assert a["balance"] == 120 and a["replayed"] is False
    again = out_json("points", "accrue", c, "120", "--key", "order-1", "--expires", "2099-01-01", db=db)
    assert again == dict(a, replayed=True)
    member = out_json("member", "show", c, "--rules", rules, db=db)
    assert member["tier"] == "gold" and member["benefits"] == {"free_wash": 4}
    p = run("points", "redeem", c, "500", "--key", "r1", db=db, check=1)
    assert "negative" in p.err
    r = out_json("points", "redeem", c, "20", "--key", "r2", "--reason", "保养", db=db)
    assert r["balance"] == 100
    rv = out_json("points", "reverse", r["txn_id"], "--key", "r3", db=db)
    assert rv["balance"] == 120
    ledger = out_json("points", "ledger", c, db=db)
    assert [t["kind"] for t in ledger] == ["accrual", "redemption", "reversal"]
    assert sum(t["points"] for t in ledger) == 120
    assert run("points", "expire", db=db, check=0).out.strip() == "expired batches: 0"
    assert run("member", "retier", c, "--rules", rules, db=db, check=0).out.strip() == "tier unchanged"
    bad = tmp_path / "bad.json"
    bad.write_text('{"tiers":[{"name":"a","min_points":5}]}')
    p = run("member", "show", c, "--rules", bad, db=db, check=1)
    assert "loyalty.tiers[0].min_points" in p.err


def test_tags_segments_and_audiences(db):
    ids = [resolve(db, ("phone", f"1380000000{i}"))["customer_id"] for i in range(4)]
    run("member", "enrol", ids[0], "M-1", db=db, check=0)
    for c in ids[:3]:
        run("tag", "add", c, "suv_intent", "--source", "campaign", db=db, check=0)
    assert run("tag", "rule", "members", "member", db=db, check=0).out.strip() == "members: 1 customers"
    assert run("segment", "count", "suv_intent and not members", db=db, check=0).out.strip() == "2"
    run("customer", "consent", ids[1], "sms", "grant", db=db, check=0)
    assert out_json("segment", "export", "suv_intent and not members", "--consent", "sms", db=db) == [ids[1]]
    assert len(out_json("segment", "export", "suv_intent", "--limit", "2", db=db)) == 2
    tags = out_json("tag", "list", ids[0], db=db)
    assert {(t["tag"], t["kind"]) for t in tags} == {("suv_intent", "manual"), ("members", "rule")}
    p = run("tag", "rule", "bad", "tier = gold", db=db, check=1)
    assert "column 8" in p.err
    assert run("tag", "check", "leads > 0 and last_lead_at >= now - 30d", check=0).out.strip() == "ok"
    p = run("segment", "count", "suv_intent and nope", db=db, check=1)
    assert "unknown tag 'nope'" in p.err
    assert run("tag", "refresh", db=db, check=0).out.strip() == "rule tags computed: 1"
    run("tag", "remove", ids[2], "suv_intent", db=db, check=0)
    assert run("segment", "count", "suv_intent", db=db, check=0).out.strip() == "2"
    p = run("--dealer", "D1", "segment", "count", "suv_intent", db=db, check=1)
    assert "scoped" in p.err


def test_vehicles(db):
    c = resolve(db, ("phone", "13800000001"))["customer_id"]
    run("vehicle", "add", "lsvau218xn2183294", "--model", "星途 LX", "--year", "2025", "--purchased", "2025-12-01",
        db=db, check=0)
    run("vehicle", "relate", "LSVAU218XN2183294", c, "owner", "--since", "2025-12-01", db=db, check=0)
    v = out_json("vehicle", "show", "LSVAU218XN2183294", db=db)
    assert v["model"] == "星途 LX" and v["people"][0]["customer_id"] == c and v["people"][0]["role"] == "owner"
    assert out_json("vehicle", "list", c, db=db)[0]["vin"] == "LSVAU218XN2183294"
    p = run("vehicle", "check", "LSVAU2180N2183294", check=1)
    assert "check digit is 0, expected X" in p.err
    run("vehicle", "show", "1M8GDM9AXKP042788", db=db, check=4)
# ---- clean ----------------------------------------------------------------


def test_clean_ndjson(tmp_path):
    src = tmp_path / "in.ndjson"
    src.write_text('{"channel":"web","phone":"+86 139 1234 5670","name":"张伟先生","region":"沪"}\n'
                   "\n"
                   "not json\n"
                   '{"phone":"13800138000"}\n', encoding="utf-8")
    p = run("clean", src, check=3)
    lines = [json.loads(x) for x in p.out.splitlines()]
    assert len(lines) == 2
    assert lines[0]["phone"] == "13912345670"
    assert lines[0]["name"] == "张伟"
    assert (lines[0]["province"], lines[0]["city"]) == ("310000", "310100")
    assert lines[0]["clean"]["name"]["salutation"] == "先生"
    assert lines[0]["clean"]["quality"] == "ok"
    assert lines[1]["clean"]["quality"] == "junk"
    assert f"{src}:3: lead: expected a JSON object" in p.err


def test_clean_stdin_to_output(tmp_path):
    out = tmp_path / "out.ndjson"
    run("clean", "-", "--output", out, stdin='{"email":" A@QQ.COM "}\n'.encode(), check=0)
    assert json.loads(out.read_text())["email"] == "a@qq.com"


def test_clean_values():
    p = run("clean", "--kind", "name", "张伟", "Wei Zhang", check=0)
    assert [json.loads(x)["key"] for x in p.out.splitlines()] == ["weizhang", "weizhang"]
    p = run("clean", "--kind", "fax", "1", check=2)
    assert "kind: unknown cleaner 'fax'" in p.err
    run("clean", "--kind", check=2)
    run("clean", "--bogus", check=2)


# ---- dedupe ---------------------------------------------------------------


def test_dedupe_default_config(tmp_path):
    src = tmp_path / "leads.csv"
    src.write_text("lead_id,name,phone,city\n"
                   "a,张伟,13912345670,上海\n"
                   "b,Wei Zhang,+86 139 1234 5670,上海市\n"
                   "c,李娜,13712345678,北京\n", encoding="utf-8")
    p = run("dedupe", src, "--id-column", "lead_id", "--pairs", "--weights", tmp_path / "w.json", check=0)
    lines = [json.loads(x) for x in p.out.splitlines()]
    assert lines[:3] == [{"id": "a", "cluster": "a"}, {"id": "b", "cluster": "a"},
                         {"id": "c", "cluster": "c"}]
    pair = lines[3]
    assert (pair["a"], pair["b"], pair["decision"]) == ("a", "b", "merge")
    assert {"field": "phone", "a": "13912345670", "b": "13912345670", "level": "agree",
            "weight": pytest.approx(13.168, abs=0.01)} in pair["fields"]
    assert "3 records, 1 candidate pairs, 1 merged, 0 for review, 2 clusters" in p.err
    weights = json.loads((tmp_path / "w.json").read_text())
    assert weights["fields"][0]["m"] == [0.92, 0.07, 0.01]


def test_dedupe_errors(tmp_path):
    src = tmp_path / "x.csv"
    src.write_text("a,b\n1,2\n")
    cfg = tmp_path / "cfg.json"
    cfg.write_text('{"fields": [{"name": "a", "comparator": "soundex"}], "blocking": [["a"]]}')
    p = run("dedupe", src, "--config", cfg, check=1)
    assert "fields[0].comparator: expected one of" in p.err
    p = run("dedupe", src, check=1)
    assert "columns: none of the configuration's columns (phone, ...) is present" in p.err
    run("dedupe", check=2)
    p = run("dedupe", src, "--id-column", "zz", "--config", cfg, check=1)


# ---- import --match and review --------------------------------------------


def test_import_match_and_review(db, tmp_path):
    src = tmp_path / "m.ndjson"
    src.write_text('{"channel":"website","phone":"13912345670","name":"刘敏","city":"广州"}\n'
                   '{"channel":"website","email":"lm@qq.com","name":"刘敏","city":"广州"}\n'
                   '{"channel":"douyin","phone":"+86 139 1234 5670","name":"Liu Min"}\n',
                   encoding="utf-8")
    s = summary(run("import", "--json", "--match", src, db=db, check=0))
    assert (s["created"], s["duplicates"]) == (2, 1)
    items = [json.loads(x) for x in run("review", "--json", db=db, check=0).out.splitlines()]
    assert len(items) == 1
    item = items[0]
    assert item["status"] == "pending"
    assert item["evidence"]["decision"] == "review"
    assert "may duplicate" in run("review", db=db, check=0).out
    p = run("--actor", "dcc:wang", "review", "accept", item["id"], db=db, check=0)
    assert p.out.strip() == f"{item['id']} accepted"
    p = run("review", "reject", item["id"], db=db, check=1)
    assert "already accepted" in p.err
    done = [json.loads(x) for x in run("review", "--json", "--status", "accepted", db=db, check=0).out.splitlines()]
    assert done[0]["decided_by"] == "dcc:wang"
    assert run("review", "--status", "pending", db=db, check=0).out == ""
    run("review", "accept", MISSING_ID, db=db, check=4)
    run("review", "--status", "maybe", db=db, check=2)
    run("review", "--limit", "0", db=db, check=2)
    run("review", "accept", db=db, check=2)
    # The accept merged the new lead into the candidate.
    (m,) = [json.loads(x) for x in run("merges", "--json", db=db, check=0).out.splitlines()]
    assert (m["survivor_id"], m["other_id"], m["review_id"]) == (item["candidate_id"], item["lead_id"], item["id"])
    assert done[0]["merge_id"] == m["id"]


def test_import_match_index_reaches_earlier_leads(db, tmp_path):
    first = tmp_path / "first.ndjson"
    first.write_text('{"channel":"website","phone":"13912345670","name":"李娜","city":"杭州","email":"ln@qq.com"}\n',
                     encoding="utf-8")
    later = tmp_path / "later.ndjson"
    later.write_text('{"channel":"dcc","phone":"13800000001","name":"李娜","city":"杭州","email":"ln@qq.com"}\n',
                     encoding="utf-8")
    assert summary(run("import", "--json", first, db=db, check=0))["created"] == 1
    assert "--index needs --match" in run("import", "--index", later, db=db, check=2).err
    s = summary(run("import", "--json", "--match", "--index", "--progress", later, db=db, check=0))
    assert s["created"] == 0                       # found through the e-mail key --index stored
    assert "match keys stored for 1 leads" in run("import", "--match", "--index", "--progress", later,
                                                  db=db, check=0).err


# ---- merge, unmerge, merges ----------------------------------------------


def shown_lead(db, lead_id):
    """The lead as crm show --json prints it, without its (growing) events."""
    doc = json.loads(run("show", "--json", lead_id, db=db, check=0).out)
    del doc["events"]
    return doc


def test_merge_unmerge_and_list(db, tmp_path):
    ids = ingest(db, {"channel": "website", "phone": "13900000001", "name": "张伟", "created_at": "2024-05-01T09:00:00Z"},
                 {"channel": "walk_in", "phone": "13800000002", "name": "张大伟", "email": "z@qq.com",
                  "created_at": "2024-05-02T09:00:00Z"})
    s, o = ids
    before = [shown_lead(db, i) for i in ids]
    p = run("merge", s, o, db=db, check=0)
    merge_id = p.out.split()[0]
    assert f"merged {o} into {s}" in p.out.splitlines()[0]
    assert re.search(r"^  name\s+most_trusted_channel\s+other\s+张大伟$", p.out, re.M), p.out
    assert "phones kept: [\"13800000002\"]" in p.out
    assert [l["id"] for l in leads_json(db)] == [s]
    assert re.search(rf"^merged_into:\s+{s}$", run("show", o, db=db, check=0).out, re.M)
    # A later import of the merged-away phone is a duplicate of the survivor.
    src = tmp_path / "again.ndjson"
    src.write_text('{"channel":"dcc","phone":"13800000002"}\n', encoding="utf-8")
    assert summary(run("import", "--json", src, db=db, check=0))["duplicates"] == 1
    (listed,) = [json.loads(x) for x in run("merges", "--json", "--lead", o, db=db, check=0).out.splitlines()]
    assert listed["id"] == merge_id and listed["undone_at"] is None
    assert merge_id in run("merges", db=db, check=0).out
    run("merge", s, o, db=db, check=1)                  # merged away already
    run("merge", s, MISSING_ID, db=db, check=4)
    assert run("--dealer", "D9", "unmerge", merge_id, db=db, check=4).err

    assert run("unmerge", merge_id, db=db, check=0).out.strip() == f"{merge_id} undone"
    assert [shown_lead(db, i) for i in ids] == before
    p = run("unmerge", merge_id, db=db, check=1)
    assert "already undone" in p.err
    assert "undone" in run("merges", db=db, check=0).out


def test_dedupe_stored_leads_and_apply(db):
    a, b, c = ingest(db, {"channel": "website", "phone": "13912345670", "name": "李娜", "city": "杭州",
                          "created_at": "2024-05-01T09:00:00Z"},
                     {"channel": "dcc", "phone": "13912345679", "name": "李娜", "city": "杭州",
                      "created_at": "2024-05-02T09:00:00Z"},
                     {"channel": "website", "phone": "13787651234", "name": "王芳", "city": "北京",
                      "created_at": "2024-05-03T09:00:00Z"})
    p = run("dedupe", "--stored", db=db, check=0)
    lines = [json.loads(x) for x in p.out.splitlines()]
    assert lines[:2] == [{"id": a, "cluster": a}, {"id": b, "cluster": a}]
    assert (lines[2]["a"], lines[2]["b"], lines[2]["decision"]) == (a, b, "merge")
    assert len(lines) == 3 and "3 leads" in p.err
    assert [l["id"] for l in leads_json(db)] == [a, b, c]   # a dry run changes nothing

    p = run("dedupe", "--stored", "--apply", db=db, check=0)
    (merge,) = [x for x in map(json.loads, p.out.splitlines()) if set(x) == {"merge"}]
    assert [l["id"] for l in leads_json(db)] == [a, c]
    assert run("unmerge", merge["merge"], db=db, check=0).out.strip() == f"{merge['merge']} undone"
    assert [l["id"] for l in leads_json(db)] == [a, b, c]

    assert "--apply needs --stored" in run("dedupe", "x.csv", "--apply", db=db, check=2).err
    assert "--stored reads the database" in run("dedupe", "--stored", "x.csv", db=db, check=2).err


def test_merge_rules_file(db, tmp_path):
    s, o = ingest(db, {"channel": "website", "phone": "13900000001", "city": "苏州"},
                  {"channel": "website", "phone": "13800000002", "city": "苏州市"})
    rules = tmp_path / "rules.json"
    rules.write_text('{"fields": {"city": "longest", "phone": "survivor"}}', encoding="utf-8")
    m = json.loads(run("merge", s, o, "--rules", rules, "--json", db=db, check=0).out)
    fields = {f["field"]: f for f in m["fields"]}
    assert (fields["city"]["value"], fields["city"]["from"]) == ("苏州市", "other")
    assert m["phones"] is None
    rules.write_text('{"fields": {"city": "foo"}}', encoding="utf-8")
    run("unmerge", m["id"], db=db, check=0)
    p = run("merge", s, o, "--rules", rules, db=db, check=1)
    assert "rules.fields.city: unknown rule 'foo'" in p.err


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


def test_import_scores_with_a_stored_model(db, tmp_path):
    doc = tmp_path / "rules.json"
    doc.write_text(json.dumps(RULES, ensure_ascii=False))
    data = (json.dumps({"channel": "walk_in", "phone": "13800000001", "name": "王伟", "city": "上海",
                        "model": "EX5", "purchase_timeline": "within_1m"}, ensure_ascii=False) + "\n"
            + json.dumps({"channel": "douyin", "phone": "13800000002"}) + "\n"
            + json.dumps({"channel": "dcc", "phone": "13800000001"}) + "\n").encode()
    p = run("import", "--score-model", "default", "-", db=db, stdin=data, check=4)
    assert "not found" in p.err and leads_json(db) == []
    run("model", "save", doc, db=db, check=0)
    s = summary(run("import", "--json", "--score-model", "default", "-", db=db, stdin=data, check=0))
    assert (s["created"], s["duplicates"], s["scored"]) == (2, 1, 2)
    by_phone = {l["phone"]: l for l in leads_json(db)}
    assert (by_phone["13800000001"]["score"], by_phone["13800000001"]["grade"]) == (65, "B")
    assert (by_phone["13800000002"]["score"], by_phone["13800000002"]["grade"]) == (5, "D")
    shown = json.loads(run("show", "--json", by_phone["13800000001"]["id"], db=db, check=0).out)
    created = next(e for e in shown["events"] if e["kind"] == "lead.created")
    assert created["data"]["score"] == 65 and created["data"]["reasons"][0]["item"] == "walk_in"
    p = run("import", "--score-model", "default", "-", db=db, stdin=data, check=0)
    assert "0 created (0 scored with default), 3 duplicates" in p.out


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


def test_model_train_with_a_cross(db):
    ids = ingest(db, *({"channel": ch, "phone": "1380000001%d" % i, "model": "EX5"}
                       for i, ch in enumerate(["walk_in", "walk_in", "website", "website"])))
    by_channel = {l["id"]: l["channel"] for l in leads_json(db)}
    for lead_id in ids:
        if by_channel[lead_id] == "website":
            run("status", lead_id, "lost", "--reason", "no answer", db=db, check=0)
            continue
        run("status", lead_id, "assigned", "--to-dealer", "D1", db=db, check=0)
        for status in ("contacted", "visited", "test_drive", "ordered"):
            run("status", lead_id, status, db=db, check=0)
    p = run("model", "train", "--cross", "channel*nothing", db=db, check=1)
    assert "options.crosses[0]: unknown feature 'nothing'" in p.err
    p = run("model", "train", "--cross", "channel*model", "--cross", "city*model", db=db, check=2)
    assert "--cross: given twice" in p.err
    run("model", "train", "--holdout", "0", "--cross", "channel*model", db=db, check=0)
    shown = json.loads(run("model", "show", "--json", db=db, check=0).out)
    cross = next(f for f in shown["features"] if f["name"] == "channel*model")
    assert cross["cross"] == ["channel", "model"] and "walk_in*EX5" in cross["values"]
    s = json.loads(run("score", "--json", ids[0], db=db, check=0).out)
    assert any(r["group"] == "channel*model" for r in s["reasons"])


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


def test_demo_script_runs_end_to_end():
    """The README's first command (tools/demo.sh) over this build's crm:
    import, listing, scope, cleaning, lifecycle, funnel, merge and unmerge."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, CRM_DEMO_CLI=CRM)
    p = subprocess.run(["bash", os.path.join(root, "tools", "demo.sh")], env=env,
                       capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "rejected" in p.stdout                   # the two bad records are refused
    assert re.search(r"^douyin\s+\d+\s+6\s", p.stdout, re.M)  # the funnel row of the six moved leads
    assert re.search(r"merged \S+ into \S+", p.stdout)
    assert re.search(r"^\S+ undone$", p.stdout, re.M)
