"""Fixtures for the crm Python binding tests (run by `meson test --suite python`)."""
import pytest

import crm

# 2024-05-01T08:00:00Z: every test that stores leads starts on a fixed clock
T0 = 1714550400000


@pytest.fixture
def db():
    with crm.open(":memory:") as d:
        d.set_time(T0)
        yield d


@pytest.fixture
def file_db(tmp_path):
    path = tmp_path / "crm.db"
    with crm.open(path) as d:
        d.set_time(T0)
        yield d


def lead(phone, **fields):
    doc = {"channel": "website", "phone": phone}
    doc.update(fields)
    return doc
