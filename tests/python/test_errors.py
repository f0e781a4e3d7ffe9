"""Every library error code becomes its own exception class, with the code and
a message that names what was wrong."""
import pickle
import sqlite3

import pytest

import crm
from crm import core
from conftest import lead

CLASSES = {
    -1: crm.NotFoundError,
    -2: crm.ExistsError,
    -3: crm.InvalidInputError,
    -4: crm.ConflictError,
    -5: crm.PermissionDeniedError,
    -6: crm.StorageError,
    -7: crm.BusyError,
    -8: crm.OutOfMemoryError,
}


@pytest.mark.parametrize("code,cls", sorted(CLASSES.items()))
def test_every_code_maps_to_its_class(code, cls):
    # through the extension's %exception, as a failing library call would
    with pytest.raises(cls) as info:
        core._fail_for_test(code, "what went wrong: 出错")
    e = info.value
    assert type(e) is cls
    assert isinstance(e, crm.Error)
    assert e.code == code == cls.code
    assert str(e) == e.message == "what went wrong: 出错"


def test_unknown_code_is_base_error():
    with pytest.raises(crm.Error) as info:
        core._fail_for_test(-99, "odd")
    assert type(info.value) is crm.Error
    assert info.value.code == -99


def test_builtin_bases():
    assert issubclass(crm.InvalidInputError, ValueError)
    assert issubclass(crm.NotFoundError, LookupError)
    assert issubclass(crm.Error, Exception)


def test_errors_pickle():
    e = pickle.loads(pickle.dumps(crm.NotFoundError("lead x", -1)))
    assert type(e) is crm.NotFoundError and e.code == -1 and str(e) == "lead x"


def test_invalid_input_names_the_field(db):
    with pytest.raises(crm.InvalidInputError) as info:
        db.ingest({"channel": "website", "phone": 13812345678})
    assert "lead.phone" in str(info.value)
    assert info.value.code == -3


def test_invalid_input_unknown_field(db):
    with pytest.raises(crm.InvalidInputError, match=r"lead\.phon"):
        db.ingest({"channel": "website", "phon": "13812345678"})


def test_invalid_input_missing_channel(db):
    with pytest.raises(crm.InvalidInputError, match="channel"):
        db.ingest({"phone": "13812345678"})


def test_invalid_json_text(db):
    with pytest.raises(crm.InvalidInputError, match="lead"):
        db.ingest('{"channel": "website", ')


def test_invalid_utf8_bytes(db):
    with pytest.raises(crm.InvalidInputError):
        db.ingest(b'{"channel": "website", "phone": "13812345678", "name": "\xff\xfe"}')


def test_embedded_nul_is_refused_not_truncated(db):
    with pytest.raises(crm.InvalidInputError):
        db.ingest(b'{"channel": "website", "phone": "13812345678"}\x00junk')


def test_invalid_status_name(db):
    with pytest.raises(crm.InvalidInputError):
        db.leads(status="bogus")


def test_not_found(db):
    with pytest.raises(crm.NotFoundError) as info:
        db.get("00000000-0000-7000-8000-000000000000")
    assert info.value.code == -1


def test_get_malformed_id(db):
    with pytest.raises(crm.InvalidInputError, match="id"):
        db.get("not-a-uuid")


def test_open_missing_file_without_create(tmp_path):
    with pytest.raises(crm.NotFoundError):
        crm.open(tmp_path / "missing.db", create=False)


def test_conflict_commit_without_begin(db):
    with pytest.raises(crm.ConflictError, match="transaction"):
        db.commit()
    with pytest.raises(crm.ConflictError):
        db.rollback()


def test_permission_with_scope(db):
    other = db.ingest(lead("13900000002", dealer_id="D002"))
    db.scope = "D001"
    # a lead for another dealer is refused...
    with pytest.raises(crm.PermissionDeniedError) as info:
        db.ingest(lead("13900000001", dealer_id="D002"))
    assert info.value.code == -5
    assert "dealer_id" in str(info.value)
    # ...another dealer's lead is invisible...
    with pytest.raises(crm.NotFoundError):
        db.get(other["id"])
    assert list(db.leads()) == []
    # ...and a lead without a dealer gets the scope's
    mine = db.ingest(lead("13900000003"))
    assert db.get(mine["id"])["dealer_id"] == "D001"
    db.scope = None
    assert {x["dealer_id"] for x in db.leads()} == {"D001", "D002"}


def test_bad_scope(db):
    with pytest.raises(crm.InvalidInputError):
        db.scope = ""


def test_storage_error_for_foreign_sqlite_file(tmp_path):
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("create table t(x)")
    con.commit()
    con.close()
    with pytest.raises(crm.StorageError) as info:
        crm.open(path)
    assert info.value.code == -6


def test_storage_error_for_garbage_file(tmp_path):
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(crm.StorageError):
        crm.open(path)


def test_busy(tmp_path):
    path = tmp_path / "busy.db"
    with crm.open(path) as a, crm.open(path, busy_timeout_ms=0) as b:
        a.begin()
        a.ingest(lead("13900000001"))          # a holds the write lock
        with pytest.raises(crm.BusyError) as info:
            b.ingest(lead("13900000002"))
        assert info.value.code == -7
        a.commit()
        assert b.ingest(lead("13900000002"))["outcome"] == "created"
