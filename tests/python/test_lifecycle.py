"""Handles are freed exactly once, whichever side lets go first; using a
closed handle raises instead of crashing."""
import gc
import subprocess
import sys
import weakref

import pytest

import crm
from crm import core
from conftest import lead


def test_close_twice_is_a_noop():
    db = crm.open(":memory:")
    db.close()
    db.close()
    assert db.closed


@pytest.mark.parametrize("use", [
    lambda db: db.ingest(lead("13900000001")),
    lambda db: db.get("00000000-0000-7000-8000-000000000000"),
    lambda db: db.get_json("00000000-0000-7000-8000-000000000000"),
    lambda db: db.leads(),
    lambda db: db.events("00000000-0000-7000-8000-000000000000"),
    lambda db: db.begin(),
    lambda db: db.commit(),
    lambda db: db.rollback(),
    lambda db: db.schema_version,
    lambda db: db.scope,
    lambda db: setattr(db, "scope", "D001"),
    lambda db: db.actor,
    lambda db: setattr(db, "actor", "alice"),
    lambda db: db.set_time(1),
    lambda db: db.now(),
    lambda db: db.judge_all(),
    lambda db: db.in_transaction,
])
def test_use_after_close_raises(use):
    db = crm.open(":memory:")
    db.close()
    with pytest.raises(crm.ConflictError, match="closed"):
        use(db)


def test_transaction_block_after_close_inside():
    db = crm.open(":memory:")
    with pytest.raises(RuntimeError):
        with db.transaction():
            db.close()
            raise RuntimeError("x")      # rollback is skipped on a closed db


def test_iterator_after_close_raises_not_crashes():
    db = crm.open(":memory:")
    for i in range(3):
        db.ingest(lead("1390000000%d" % i))
    leads = db.leads()
    events = db.events(next(db.leads())["id"])
    assert next(leads)["phone"] == "13900000000"
    db.close()
    with pytest.raises(crm.ConflictError, match="closed"):
        next(leads)
    with pytest.raises(crm.ConflictError):
        next(events)
    leads.close()      # still fine
    events.close()


def test_many_iterators_then_close():
    db = crm.open(":memory:")
    db.ingest(lead("13900000001"))
    its = [db.leads() for _ in range(50)]
    for it in its[::2]:
        next(it)
    for it in its[::3]:
        it.close()
    db.close()
    for it in its:
        try:
            next(it)
        except (crm.ConflictError, StopIteration):
            pass


def test_exhausted_iterator_then_close():
    db = crm.open(":memory:")
    db.ingest(lead("13900000001"))
    it = db.leads()
    assert len(list(it)) == 1
    db.close()
    assert list(it) == []


def test_low_level_cursor_outliving_its_handle():
    # the SWIG proxy of a cursor does not keep its handle alive: when the
    # handle is collected first, the C layer ends the cursor, which then
    # raises (and is freed once, later)
    h = core.Database(":memory:", 5000, 1)
    h.ingest('{"channel": "website", "phone": "13900000001"}')
    c = h.leads(0, None, None, 0, 0, 0)
    del h
    gc.collect()
    with pytest.raises(crm.ConflictError):
        c.next_json()
    del c
    gc.collect()


def test_garbage_collection_frees_db_and_iterators():
    db = crm.open(":memory:")
    db.ingest(lead("13900000001"))
    it = db.leads()
    next(it)
    ref = weakref.ref(db)
    # a cycle, so that only the cycle collector can free them, in its own order
    holder = {"db": db, "it": it}
    holder["self"] = holder
    del db, it, holder
    gc.collect()
    assert ref() is None


def test_iterator_keeps_db_alive():
    db = crm.open(":memory:")
    db.ingest(lead("13900000001"))
    it = db.leads()
    ref = weakref.ref(db)
    del db
    gc.collect()
    assert ref() is not None
    assert next(it)["phone"] == "13900000001"
    del it
    gc.collect()
    assert ref() is None


def test_interpreter_exit_with_open_handles():
    # handles and iterators left open at exit are torn down without a crash
    code = (
        "import crm\n"
        "db = crm.open(':memory:')\n"
        "db.ingest({'channel': 'website', 'phone': '13900000001'})\n"
        "it = db.leads()\n"
        "next(it)\n"
        "other = crm.open(':memory:')\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
