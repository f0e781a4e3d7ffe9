"""crmcore for Python: leads, their audit trail and dealer scopes.

    import crm
    with crm.open("crm.db") as db:
        r = db.ingest({"channel": "website", "phone": "138 1234 5678", "name": "张伟"})
        lead = db.get(r["id"])
        for lead in db.leads(status="new", channel="website"):
            ...

Leads and events are plain dicts, decoded from the library's JSON (times as
ISO-8601 strings, attributes as a dict). Errors raise ``crm.Error``
subclasses, one per library error code. See docs/python.md.
"""

import datetime as _dt
import json as _json
import os as _os
from contextlib import contextmanager as _contextmanager

from . import core as _core
from ._errors import (
    BusyError,
    ConflictError,
    Error,
    ExistsError,
    InvalidInputError,
    NotFoundError,
    OutOfMemoryError,
    PermissionDeniedError,
    StorageError,
)

__all__ = [
    "open",
    "version",
    "clean",
    "clean_lead",
    "dedupe",
    "default_match_config",
    "Db",
    "LeadIterator",
    "EventIterator",
    "STATUSES",
    "Error",
    "NotFoundError",
    "ExistsError",
    "InvalidInputError",
    "ConflictError",
    "PermissionDeniedError",
    "StorageError",
    "BusyError",
    "OutOfMemoryError",
]


def version():
    """The version of the crmcore library in use."""
    return _core.version()


__version__ = version()


def clean(kind, value):
    """Clean one value with the cleaner named by ``kind``: "phone", "name",
    "email", "region", "id_card" or "vin". Returns a dict: ``value`` (None when
    invalid, empty or a placeholder), ``flags`` and ``reasons`` (lists of
    str), and ``salutation``, ``key`` (the pinyin match key of a name),
    ``province``, ``city`` (GB/T 2260 codes) when they apply.
    """
    return _json.loads(_core.clean(kind, value))


def clean_lead(lead):
    """Clean a lead (a dict or a JSON string): returns the lead as a dict with
    clean values and a ``clean`` report (per field flags and reasons, and
    ``quality``: "ok", "suspect" or "junk")."""
    text = lead if isinstance(lead, str) else _json.dumps(lead, ensure_ascii=False)
    return _json.loads(_core.clean_lead(text))


def default_match_config():
    """The default match configuration for leads, as a dict."""
    return _json.loads(_core.match_default_config())


def dedupe(records, config=None):
    """Find the records that are the same entity.

    ``records`` is a list of dicts (``"id"`` names a record, else its index;
    the other keys are columns, str or number or None); ``config`` a match
    configuration (dict or JSON text), or None for the default for leads.
    Returns a dict: ``clusters`` (a list of {"id", "cluster"}, the cluster
    named by its first record), ``pairs`` (the pairs merged or for review,
    each with its evidence field by field), ``stats`` and ``config`` (with
    the weights used, to give to the next run).
    """
    if config is not None and not isinstance(config, str):
        config = _json.dumps(config, ensure_ascii=False)
    return _json.loads(_core.dedupe(config, _json.dumps(list(records), ensure_ascii=False)))


def _statuses():
    names = []
    i = 0
    while True:
        name = _core.status_name(i)
        if name is None:
            return tuple(names)
        names.append(name)
        i += 1


#: Every lead status, in life order: ("new", "assigned", ..., "invalid").
STATUSES = _statuses()

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def _to_ms(value, what):
    """Unix milliseconds from an int or a datetime (naive means UTC)."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise TypeError("%s: expected an int (Unix ms) or a datetime, not bool" % what)
    if isinstance(value, int):
        return value
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return (value - _EPOCH) // _dt.timedelta(milliseconds=1)
    raise TypeError(
        "%s: expected an int (Unix ms) or a datetime, not %s" % (what, type(value).__name__)
    )


def _decode_lead(text):
    lead = _json.loads(text)
    attrs = lead.get("attributes")
    if isinstance(attrs, str):
        lead["attributes"] = _json.loads(attrs)
    return lead


def _decode_event(text):
    event = _json.loads(text)
    data = event.get("data")
    if isinstance(data, str):
        try:
            event["data"] = _json.loads(data)
        except ValueError:
            pass
    return event


def open(uri, *, create=True, busy_timeout_ms=5000):  # noqa: A001 - like io.open
    """Open (and if needed create and migrate) a database.

    ``uri`` is a file path (str or os.PathLike), ``"sqlite:PATH"`` or
    ``":memory:"``. With ``create=False`` a missing file raises
    NotFoundError. The result is a :class:`Db`, also a context manager that
    closes it.
    """
    return Db(uri, create=create, busy_timeout_ms=busy_timeout_ms)


class Db:
    """An open crmcore database. Use one Db from one thread at a time.

    ``close()`` is idempotent and ends the iterators still open on it; any
    other use after close raises ConflictError. Garbage collection closes a
    forgotten Db.
    """

    __slots__ = ("_h", "_uri", "__weakref__")

    def __init__(self, uri, *, create=True, busy_timeout_ms=5000):
        if isinstance(uri, bytes):
            uri = _os.fsdecode(uri)
        elif not isinstance(uri, str):
            uri = _os.fspath(uri)
        self._uri = uri
        self._h = _core.Database(uri, int(busy_timeout_ms), 1 if create else 0)

    # -- lifetime ------------------------------------------------------------

    def close(self):
        """Close the database (idempotent), rolling back an open transaction."""
        self._h.close()

    @property
    def closed(self):
        """True once closed."""
        return not self._h.is_open()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        state = "closed" if self.closed else "open"
        return "<crm.Db %r %s>" % (self._uri, state)

    # -- handle settings -----------------------------------------------------

    @property
    def schema_version(self):
        """The number of the last schema migration applied."""
        return self._h.schema_version()

    @property
    def scope(self):
        """The dealer the handle is restricted to, or None for every dealer."""
        return self._h.scope()

    @scope.setter
    def scope(self, dealer_id):
        self._h.set_scope(dealer_id)

    @property
    def actor(self):
        """Who is acting, written into audit events ("system" by default)."""
        return self._h.actor()

    @actor.setter
    def actor(self, actor):
        self._h.set_actor(actor)

    def set_time(self, when):
        """Fix the handle's clock (Unix ms or a datetime); 0 or None returns
        to the system clock."""
        self._h.set_time(_to_ms(when, "time"))

    def now(self):
        """The handle's current time, Unix milliseconds UTC."""
        return self._h.now()

    # -- transactions --------------------------------------------------------

    def begin(self):
        """Begin a transaction; transactions nest (savepoints)."""
        self._h.begin()

    def commit(self):
        """Commit the innermost transaction (ConflictError when none is open)."""
        self._h.commit()

    def rollback(self):
        """Roll back the innermost transaction (ConflictError when none is open)."""
        self._h.rollback()

    @property
    def in_transaction(self):
        """True while a transaction is open."""
        return self._h.transaction_depth() > 0

    @_contextmanager
    def transaction(self):
        """``with db.transaction():`` commits at the end of the block, rolls
        back when it raises. Nests."""
        self._h.begin()
        try:
            yield self
        except BaseException:
            if self._h.is_open():
                self._h.rollback()
            raise
        else:
            self._h.commit()

    # -- matching -------------------------------------------------------------

    def enable_matching(self, config=None):
        """Match leads online on :meth:`ingest` with a match configuration
        (dict or JSON text; None for the default for leads, see
        :func:`default_match_config`). A probable duplicate gives outcome
        "duplicate" (evidence in the existing lead's "lead.duplicate" event),
        a possible one outcome "review" (the lead is stored; a
        "lead.possible_duplicate" event carries the candidate and the evidence).
        Every field needs m and u."""
        if config is not None and not isinstance(config, str):
            config = _json.dumps(config, ensure_ascii=False)
        self._h.enable_matching(config)

    def disable_matching(self):
        """Back to exact-phone duplicates on ingest."""
        self._h.disable_matching()

    def reviews(self, status="pending", limit=100):
        """The queue of possible duplicates (oldest first, within the scope):
        a list of dicts with id, lead_id, candidate_id, probability, evidence
        (a dict, field by field), status, created_at, decided_at, decided_by.
        ``status`` is "pending", "accepted", "rejected" or None for all."""
        return _json.loads(self._h.reviews(status, limit))

    def accept_review(self, review_id):
        """The two leads of a pending review are one person (audited)."""
        self._h.review_decide(review_id, 1)

    def reject_review(self, review_id):
        """The two leads of a pending review are two people (audited)."""
        self._h.review_decide(review_id, 0)

    # -- leads ---------------------------------------------------------------

    def ingest(self, lead):
        """Ingest one lead: a dict, or a JSON object as str or bytes.

        Returns ``{"outcome": "created"|"duplicate", "id": ..., "duplicate_of":
        None|id, "reason": ...}``. Raises InvalidInputError naming the field
        at fault, PermissionDeniedError for a dealer outside the scope.
        """
        if isinstance(lead, dict):
            lead = _json.dumps(lead, ensure_ascii=False)
        elif isinstance(lead, (bytearray, memoryview)):
            lead = bytes(lead)
        return self._h.ingest(lead)

    def get(self, lead_id):
        """One lead as a dict; NotFoundError when missing or out of scope."""
        return _decode_lead(self._h.get_json(lead_id))

    def get_json(self, lead_id):
        """One lead as the library's JSON text."""
        return self._h.get_json(lead_id)

    def leads(self, status=None, dealer=None, channel=None,
              created_from=None, created_to=None, limit=None):
        """Stream leads (dicts), oldest first, within the scope.

        ``status``: a name or an iterable of names (see STATUSES);
        ``created_from`` (inclusive) / ``created_to`` (exclusive): Unix ms or
        datetimes (naive means UTC); ``limit``: at most this many.
        The result is an iterator, also a context manager that closes it.
        """
        if status is None:
            names = ()
        elif isinstance(status, str):
            names = (status,)
        else:
            names = tuple(status)
        bits = 0
        for name in names:
            if not isinstance(name, str):
                raise TypeError("status: expected a status name, not %s" % type(name).__name__)
            bits |= 1 << _core.status_parse(name)
        if limit is None:
            limit = 0
        elif isinstance(limit, bool) or not isinstance(limit, int):
            raise TypeError("limit: expected an int, not %s" % type(limit).__name__)
        elif limit == 0:
            # 0 means "no limit" to the library; here it means what it says
            return LeadIterator(self, None)
        cursor = self._h.leads(bits, dealer, channel,
                               _to_ms(created_from, "created_from"),
                               _to_ms(created_to, "created_to"), limit)
        return LeadIterator(self, cursor)

    def events(self, entity_id):
        """Stream the audit events (dicts) of a record, oldest first."""
        return EventIterator(self, self._h.events(entity_id))


class _Iterator:
    __slots__ = ("_db", "_cursor")
    _decode = None

    def __init__(self, db, cursor):
        self._db = db          # keeps the Db alive while iterating
        self._cursor = cursor

    def __iter__(self):
        return self

    def __next__(self):
        cursor = self._cursor
        if cursor is None:
            raise StopIteration
        text = cursor.next_json()   # raises ConflictError once the Db is closed
        if text is None:
            self.close()
            raise StopIteration
        return type(self)._decode(text)

    def close(self):
        """Stop early and release the iterator (idempotent)."""
        cursor, self._cursor = self._cursor, None
        if cursor is not None:
            cursor.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class LeadIterator(_Iterator):
    """Leads streamed from the database, as dicts."""

    __slots__ = ()
    _decode = staticmethod(_decode_lead)


class EventIterator(_Iterator):
    """Audit events streamed from the database, as dicts."""

    __slots__ = ()
    _decode = staticmethod(_decode_event)
