"""crmcore for Python: leads, their audit trail and dealer scopes.

    import crm
    with crm.open("crm.db") as db:
        r = db.ingest({"channel": "website", "phone": "138 1234 5678", "name": "张伟"})
        lead = db.get(r["id"])
        for lead in db.leads(status="new", channel="website"):
            ...

Leads and events are plain dicts, decoded from the library's JSON (times as
ISO-8601 strings, attributes as a dict). Scoring models are their JSON
documents as dicts (``db.save_model``, ``db.train_model``, ``crm.train``),
scores are dicts with score, grade, probability and reasons (``db.score``). Errors raise ``crm.Error``
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
    "train",
    "score_values",
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


def _model_text(model):
    if isinstance(model, dict):
        return _json.dumps(model, ensure_ascii=False)
    if isinstance(model, str):
        return model
    raise TypeError("a model must be a dict or a JSON str, not %s" % type(model).__name__)


def _train_options(holdout, seed, l2, alpha, bins):
    # The C layer reads a negative holdout or seed, or 0, as "the default".
    return (-1.0 if holdout is None else float(holdout), -1 if seed is None else int(seed),
            0.0 if l2 is None else float(l2), 0.0 if alpha is None else float(alpha),
            0 if bins is None else int(bins))


def train(columns, kinds, rows, labels, *, kind="logistic", name=None, holdout=None,
          seed=None, l2=None, alpha=None, bins=None):
    """Train a scoring model in C on any table; returns its document (a dict).

    ``columns``: names; ``kinds``: "category" or "number" per column; ``rows``:
    sequences of values (str, int, float or None for missing); ``labels``: 1
    converted, 0 not. ``kind``: "logistic" (L2 logistic regression) or
    "naive_bayes"; ``holdout``: fraction held back to measure ``auc``
    (default 0.2); ``seed``: which rows; ``l2``: penalty (default 1);
    ``alpha``: naive Bayes smoothing (default 1); ``bins``: quantile bins per
    number (default 10).
    """
    data = {"columns": list(columns), "kinds": list(kinds),
            "rows": [list(r) for r in rows], "labels": [int(y) for y in labels]}
    text = _json.dumps(data, ensure_ascii=False)
    return _json.loads(_core.train_rows(text, kind, name, *_train_options(holdout, seed, l2, alpha, bins)))


def score_values(model, values):
    """Score one row (values in the model's column order) with a trained
    model; returns ``{"score", "grade", "probability", "reasons"}``."""
    return _json.loads(_core.score_values(_model_text(model), _json.dumps(list(values), ensure_ascii=False)))


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

    # -- lifecycle ---------------------------------------------------------

    def transition(self, lead_id, to, reason=None, dealer=None, owner=None):
        """Move a lead to state ``to`` ("assigned", "contacted", "visited",
        "test_drive", "ordered", "delivered", "lost", "invalid"). ``reason``
        is required for lost; ``dealer`` and ``owner`` go with assignment.
        A refused move raises ConflictError naming both states."""
        self._h.transition(lead_id, to, reason, dealer, owner)

    def stages(self, lead_id):
        """The stages a lead went through, oldest first: dicts with status,
        entered_at, left_at (None for the current one), actor, reason."""
        return _json.loads(self._h.stages_json(lead_id))

    def funnel(self, by="all", created_from=None, created_to=None, tz_offset_minutes=0):
        """The conversion funnel, one row per group (``by``: "all",
        "channel", "campaign", "dealer", "model" or "month").

        Each row has: group; the leads that reached each stage (new,
        assigned, ..., delivered; a skipped stage counts as reached);
        conv_<stage> (from the stage before); lost, invalid; hours_<stage>
        (mean time in the stage, None when nobody left it); responded and
        avg_response_hours (assignment to first contact). Returns a pandas
        DataFrame when pandas is installed, else a list of dicts.
        """
        doc = _json.loads(self._h.funnel_json(by, _to_ms(created_from, "created_from"),
                                              _to_ms(created_to, "created_to"), int(tz_offset_minutes)))
        rows = []
        for r in doc["rows"]:
            row = {"group": r["group"]}
            row.update(r["reached"])
            row.update({"conv_" + s: r["conversion"][s] for s in doc["stages"][1:]})
            row.update({"lost": r["lost"], "invalid": r["invalid"]})
            row.update({"hours_" + s: r["avg_stage_hours"][s] for s in doc["stages"]})
            row.update({"responded": r["responded"], "avg_response_hours": r["avg_response_hours"]})
            rows.append(row)
        try:
            import pandas
        except ImportError:
            return rows
        return pandas.DataFrame(rows)

    def route(self, rules, ids=None):
        """Route leads with routing rules (dict or JSON text; see the user's
        guide) and assign them: the given ids, or every new lead in the scope.
        Returns one dict per lead: id, dealer_id, owner_id, reason, or id and
        error when it could not be routed (no room left, not new)."""
        ids_json = None if ids is None else _json.dumps(list(ids))
        return _json.loads(self._h.route_json(_model_text(rules), ids_json))

    def recycle(self, follow_up_hours):
        """Return to the recycle pool (公海池) the assigned leads not contacted
        within follow_up_hours of assignment; returns how many."""
        return self._h.recycle(int(follow_up_hours * 3600 * 1000))

    # -- scoring -----------------------------------------------------------

    def save_model(self, model):
        """Store a model document (dict or JSON text) as the next version of
        its name; returns the saved document (with its version). Rule models
        are written by hand (see docs/guide.md); trained ones come from
        train_model or crm.train. PermissionDeniedError for a scoped handle."""
        return _json.loads(self._h.model_save(_model_text(model)))

    def load_model(self, name="default", version=0):
        """A stored model's document; version 0 is the newest."""
        return _json.loads(self._h.model_load(name, version))

    def train_model(self, kind="logistic", name=None, holdout=None, seed=None,
                    l2=None, alpha=None, bins=None):
        """Train on the stored leads with an outcome (ordered or delivered:
        converted; lost: not); returns the document, not saved. ``kind``:
        "logistic" or "naive_bayes"; other options as crm.train."""
        return _json.loads(self._h.model_train_leads(kind, name, *_train_options(holdout, seed, l2, alpha, bins)))

    def score(self, lead_id, model):
        """Score a stored lead with a model (dict or JSON text) and keep the
        score and grade on it. Returns ``{"score", "grade", "probability",
        "reasons": [{"group", "item", "points"}, ...]}``."""
        return _json.loads(self._h.lead_score(_model_text(model), lead_id))

    def rescore_all(self, model):
        """Score every lead in the scope again; returns how many changed."""
        return self._h.rescore_all(_model_text(model))

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
