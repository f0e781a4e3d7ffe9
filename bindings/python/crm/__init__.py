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
    "check_rule",
    "check_vin",
    "clean",
    "clean_lead",
    "dedupe",
    "default_match_config",
    "default_merge_rules",
    "Db",
    "LeadIterator",
    "EventIterator",
    "STATUSES",
    "QUALITIES",
    "WORKORDER_STATUSES",
    "calendar_due",
    "calendar_minutes",
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


def default_merge_rules():
    """The default survivorship rules of :meth:`Db.merge`, as a dict."""
    return _json.loads(_core.merge_default_rules())


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


def _qualities():
    names = []
    while True:
        name = _core.quality_name(len(names))
        if name is None:
            return tuple(names)
        names.append(name)


#: Every lead quality, best first: ("ok", "suspect", "junk").
QUALITIES = _qualities()

#: Work order statuses, in life order.
WORKORDER_STATUSES = ("new", "assigned", "in_progress", "waiting_customer", "resolved", "closed")

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


def _name_bits(value, what, parse):
    """The library's bitmask (1 << number per name) of a name or an iterable
    of names; 0 (all) for None. An unknown name raises InvalidInputError."""
    if value is None:
        names = ()
    elif isinstance(value, str):
        names = (value,)
    else:
        names = tuple(value)
    bits = 0
    for name in names:
        if not isinstance(name, str):
            raise TypeError("%s: expected a %s name, not %s" % (what, what, type(name).__name__))
        bits |= 1 << parse(name)
    return bits


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


def _train_options(holdout, seed, l2, alpha, bins, crosses):
    # The C layer reads a negative holdout or seed, or 0, as "the default".
    if crosses is not None and not isinstance(crosses, str):
        crosses = ",".join(crosses)
    return (-1.0 if holdout is None else float(holdout), -1 if seed is None else int(seed),
            0.0 if l2 is None else float(l2), 0.0 if alpha is None else float(alpha),
            0 if bins is None else int(bins), crosses)


def train(columns, kinds, rows, labels, *, kind="logistic", name=None, holdout=None,
          seed=None, l2=None, alpha=None, bins=None, crosses=None):
    """Train a scoring model in C on any table; returns its document (a dict).

    ``columns``: names; ``kinds``: "category" or "number" per column; ``rows``:
    sequences of values (str, int, float or None for missing); ``labels``: 1
    converted, 0 not. ``kind``: "logistic" (L2 logistic regression) or
    "naive_bayes"; ``holdout``: fraction held back to measure ``auc``
    (default 0.2); ``seed``: which rows; ``l2``: penalty (default 1);
    ``alpha``: naive Bayes smoothing (default 1); ``bins``: quantile bins per
    number (default 10); ``crosses``: pairs of category columns to cross,
    as ["month*day", ...] or "month*day,job*education" (each becomes one
    more category feature "month*day", built again when scoring).
    """
    data = {"columns": list(columns), "kinds": list(kinds),
            "rows": [list(r) for r in rows], "labels": [int(y) for y in labels]}
    text = _json.dumps(data, ensure_ascii=False)
    return _json.loads(_core.train_rows(text, kind, name, *_train_options(holdout, seed, l2, alpha, bins, crosses)))


def score_values(model, values):
    """Score one row (values in the model's column order) with a trained
    model; returns ``{"score", "grade", "probability", "reasons"}``."""
    return _json.loads(_core.score_values(_model_text(model), _json.dumps(list(values), ensure_ascii=False)))


def _doc(value):
    """A JSON document from a dict (or a str / bytes already JSON)."""
    if isinstance(value, (dict, list)):
        return _json.dumps(value, ensure_ascii=False)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8")
    return value


def calendar_due(start, minutes, calendar=None):
    """The due time (Unix ms) ``minutes`` business minutes after ``start``
    (Unix ms or datetime) on a business calendar (a dict or JSON; None: the
    built-in China calendar, Mon-Fri 09:00-18:00 UTC+8 with holidays and
    make-up workdays)."""
    return _core.calendarDue(_doc(calendar), _to_ms(start, "start"), int(minutes))


def calendar_minutes(start, end, calendar=None):
    """Business minutes between two times on a calendar (see calendar_due)."""
    return _core.calendarMinutes(_doc(calendar), _to_ms(start, "start"), _to_ms(end, "end"))


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
            try:
                self._h.commit()
            except BaseException:
                # A commit refused (say, after a storage failure during an
                # ingest rolled the transaction back) must not leave the
                # level open: every later write would be refused.
                if self._h.is_open() and self._h.transaction_depth() > 0:
                    self._h.rollback()
                raise

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

    def index_matching(self):
        """Store the matching keys (of the configuration enabled by
        :meth:`enable_matching`) for every lead this handle can see, so that
        leads stored before matching was on are found too. Idempotent, one
        transaction; returns the number of leads indexed. InvalidInputError
        when matching is not enabled."""
        return self._h.index_matching()

    def disable_matching(self):
        """Back to exact-phone duplicates on ingest."""
        self._h.disable_matching()

    # -- scoring on ingest ---------------------------------------------------

    def enable_scoring(self, model):
        """Score every lead that :meth:`ingest` stores with ``model`` (a dict
        or JSON text, e.g. from :meth:`load_model`), in the same transaction
        as its insert: the lead keeps the score and grade, its "lead.created"
        event records the model, score, grade and top reasons, and the
        result of ingest has "score" and "grade". Duplicates are not scored.
        InvalidInputError naming the JSON path for a bad model (the earlier
        setting stays)."""
        self._h.enable_scoring(_model_text(model))

    def disable_scoring(self):
        """Stop scoring on ingest."""
        self._h.disable_scoring()

    def reviews(self, status="pending", limit=100):
        """The queue of possible duplicates (oldest first, within the scope):
        a list of dicts with id, lead_id, candidate_id, probability, evidence
        (a dict, field by field), status, created_at, decided_at, decided_by,
        merge_id (the merge an accept made, else None).
        ``status`` is "pending", "accepted", "rejected" or None for all."""
        return _json.loads(self._h.reviews(status, limit))

    def accept_review(self, review_id):
        """The two leads of a pending review are one person: the new lead is
        merged into the candidate with the default rules, in the same
        transaction, and the item keeps the merge's id ("merge_id")."""
        self._h.review_decide(review_id, 1)

    def reject_review(self, review_id):
        """The two leads of a pending review are two people (audited)."""
        self._h.review_decide(review_id, 0)

    # -- merges --------------------------------------------------------------

    def merge(self, survivor_id, other_id, rules=None):
        """Merge lead ``other_id`` into ``survivor_id``: each field of the
        survivor by its survivorship rule, the other marked merged (lists
        skip it), its match keys moved to the survivor; audited, in one
        transaction. ``rules`` is a dict or JSON text
        (``{"fields": {"name": "longest"}, "channel_trust": [...]}``) or
        None for :func:`default_merge_rules`. Returns what the merge did: a
        dict with id, survivor_id, other_id, rules, fields (per field the
        rule, the value, and the lead it came from), phones, keys_moved,
        created_at, actor. InvalidInputError names the JSON path of a bad
        rule; NotFoundError for a lead outside the scope; ConflictError for
        a lead merged away already."""
        text = rules if rules is None or isinstance(rules, str) else _json.dumps(rules, ensure_ascii=False)
        return _json.loads(self._h.merge(survivor_id, other_id, text))

    def unmerge(self, merge_id):
        """Undo a merge: both leads, their match keys and a review item it
        accepted go back exactly as they were. ConflictError when it was
        undone already, a lead changed since, or a later merge involves
        them (undo that first)."""
        self._h.unmerge(merge_id)

    def get_merge(self, merge_id):
        """What a merge did, as :meth:`merge` returns it, with undone_at
        and undone_by once undone."""
        return _json.loads(self._h.merge_get(merge_id))

    def merges(self, lead_id=None, limit=100):
        """Merges within the scope, newest first (a list of dicts as
        :meth:`get_merge` gives); ``lead_id`` keeps those of one lead."""
        return _json.loads(self._h.merges(lead_id, limit))

    def dedupe_leads(self, config=None, apply=False):
        """Deduplicate the stored leads this handle can see in one batch
        run: ``config`` is a match configuration (dict or JSON text; None
        for the default for leads; fields without m and u get them by EM).
        Returns a dict: "clusters" (the leads whose cluster has more than
        one, each {"id", "cluster"}, a cluster named by its oldest lead),
        "pairs" (merged or for review, with the evidence), "stats" and
        "config" (with the weights used). With ``apply=True`` each cluster
        is merged into its oldest lead, all in one transaction, and
        "merges" lists the merge ids (each undone by :meth:`unmerge`)."""
        text = config if config is None or isinstance(config, str) else _json.dumps(config, ensure_ascii=False)
        return _json.loads(self._h.dedupe_leads(text, 1 if apply else 0))

    # -- leads ---------------------------------------------------------------

    def ingest(self, lead):
        """Ingest one lead: a dict, or a JSON object as str or bytes.

        Returns ``{"outcome": "created"|"duplicate"|"review", "id": ...,
        "duplicate_of": None|id, "reason": ..., "score": None|0..100, "grade":
        None|"A".."D", "quality": "ok"|"suspect"|"junk"}`` (score and grade
        when scoring is on, see :meth:`enable_scoring`; quality is the
        document's, also for a duplicate). Raises InvalidInputError naming
        the field at fault, PermissionDeniedError for a dealer outside the
        scope.
        """
        if isinstance(lead, dict):
            lead = _json.dumps(lead, ensure_ascii=False)
        elif isinstance(lead, (bytearray, memoryview)):
            lead = bytes(lead)
        return self._h.ingest(lead)

    def judge_all(self):
        """Judge the quality of every lead this handle can see again ("ok",
        "suspect" or "junk", by the cleaners, as :meth:`ingest` does), for
        leads stored before quality existed (they read as "ok") or before
        the cleaners learnt more. One transaction; only the leads whose
        quality changes are written, each with a "lead.quality" event
        (data: from, to, quality_reasons); merged-away leads are left as
        they are. Returns how many leads changed (0 on a second run)."""
        return self._h.judge_all()

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
                    l2=None, alpha=None, bins=None, crosses=None):
        """Train on the stored leads with an outcome (ordered or delivered:
        converted; lost: not); returns the document, not saved. ``kind``:
        "logistic" or "naive_bayes"; other options as crm.train."""
        return _json.loads(self._h.model_train_leads(kind, name, *_train_options(holdout, seed, l2, alpha, bins, crosses)))

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
              created_from=None, created_to=None, limit=None, quality=None):
        """Stream leads (dicts), oldest first, within the scope.

        ``status``: a name or an iterable of names (see STATUSES);
        ``quality``: a name or an iterable of names (see QUALITIES: "ok",
        "suspect", "junk"; InvalidInputError for another);
        ``created_from`` (inclusive) / ``created_to`` (exclusive): Unix ms or
        datetimes (naive means UTC); ``limit``: at most this many.
        The result is an iterator, also a context manager that closes it.
        """
        bits = _name_bits(status, "status", _core.status_parse)
        quality_bits = _name_bits(quality, "quality", _core.quality_parse)
        if limit is None:
            limit = 0
        elif isinstance(limit, bool) or not isinstance(limit, int):
            raise TypeError("limit: expected an int, not %s" % type(limit).__name__)
        elif limit == 0:
            # 0 means "no limit" to the library; here it means what it says
            return LeadIterator(self, None)
        cursor = self._h.leads(bits, dealer, channel,
                               _to_ms(created_from, "created_from"),
                               _to_ms(created_to, "created_to"), limit, quality_bits)
        return LeadIterator(self, cursor)

    def events(self, entity_id):
        """Stream the audit events (dicts) of a record, oldest first."""
        return EventIterator(self, self._h.events(entity_id))

    # -- work orders and SLAs ------------------------------------------------

    def create_workorder(self, workorder):
        """Create a work order from a dict (or JSON): type and subject are
        required. Returns its id."""
        return self._h.workorderCreate(_doc(workorder))

    def assign_workorder(self, workorder_id, assignee, queue=None):
        """Assign a new work order, or hand an open one to someone else."""
        self._h.workorderAssign(workorder_id, assignee, queue)

    def move_workorder(self, workorder_id, status, note=None):
        """Move to a status (see WORKORDER_STATUSES). An illegal move raises
        ConflictError naming both states."""
        self._h.workorderMove(workorder_id, status, note)

    def comment_workorder(self, workorder_id, body, public=False):
        """Add a comment (internal unless public); returns its id."""
        return self._h.workorderComment(workorder_id, body, bool(public))

    def workorder(self, workorder_id):
        """One work order as a dict."""
        return _json.loads(self._h.workorderJson(workorder_id))

    def workorders(self, status=None, queue=None, assignee=None, type=None, limit=None):  # noqa: A002
        """Work orders (a list of dicts), oldest first, within the scope."""
        if isinstance(status, str):
            status = [status]
        statuses = ",".join(status) if status else None
        return _json.loads(self._h.workordersJson(statuses, queue, assignee, type, int(limit or 0)))

    def workorder_comments(self, workorder_id):
        """The comments of a work order, oldest first (list of dicts)."""
        return _json.loads(self._h.workorderCommentsJson(workorder_id))

    def escalate(self, policy, as_of=None):
        """Run the SLA escalation with a policy (dict or JSON) as of a time
        (Unix ms or datetime; None: now). Returns the counts; running it
        again as of the same time changes nothing."""
        return _json.loads(self._h.slaEscalateJson(_doc(policy), _to_ms(as_of, "as_of")))

    def workorder_events(self, kind, since=None):
        """Stream the events of one kind ("workorder.sla_notify", ...) across
        work orders, at or after ``since`` (Unix ms or datetime), in append
        order: how a host consumes escalation notifications."""
        return EventIterator(self, self._h.eventsOfKindRaw(kind, _to_ms(since, "since")))

    def sla_report(self, policy, by="none", as_of=None, created_from=None, created_to=None):
        """SLA analytics (dict) grouped by none, queue, dealer, type or month."""
        return _json.loads(self._h.slaReportJson(_doc(policy), by, _to_ms(as_of, "as_of"),
                                                 _to_ms(created_from, "created_from"),
                                                 _to_ms(created_to, "created_to")))

    # -- customers, members, points, tags, segments, vehicles -----------------

    def _call(self, op, **args):
        return _json.loads(self._h.call(op, _json.dumps(args, ensure_ascii=False)))

    def resolve_customer(self, doc, merge_rules=None):
        """Resolve identities to one customer: create, link or merge.

        ``doc``: {"name": ..., "dealer_id": ..., "identities": [{"kind":
        "phone", "value": ...}, {"kind": "wechat_openid", "app_id": ...,
        "value": ...}]} (a dict or JSON text); ``merge_rules``: {"merge_on":
        [kinds]} or None for the defaults. Returns {"outcome": "created" |
        "linked" | "merged", "customer_id", "identities_added", "merged"}.
        """
        return self._call("customer.resolve", doc=doc, merge_rules=merge_rules)

    def resolve_lead(self, lead_id, merge_rules=None):
        """Resolve a lead's identities to a customer and set its customer_id."""
        return self._call("customer.resolve_lead", lead_id=lead_id, merge_rules=merge_rules)

    def customer(self, customer_id):
        """The customer 360 view: identities, leads, member, tags, vehicles."""
        return self._call("customer.view", id=customer_id)

    def find_customer(self, kind, value, app_id=None):
        """The id of the customer an identity belongs to (NotFoundError if none)."""
        return self._call("customer.find", kind=kind, value=value, app_id=app_id)

    def unmerge_customer(self, customer_id):
        """Undo the merge of a customer that was merged into another."""
        self._call("customer.unmerge", id=customer_id)

    def set_consent(self, customer_id, channel, granted=True):
        """Record a customer's marketing consent for a channel ("sms", "wechat", ...)."""
        self._call("customer.consent", id=customer_id, channel=channel, granted=1 if granted else 0)

    def enrol(self, customer_id, member_no, rules=None):
        """Enrol a customer as a member; ``rules``: the loyalty rules (dict or JSON)."""
        self._call("member.enrol", customer_id=customer_id, member_no=member_no, rules=rules)

    def member(self, customer_id, rules=None):
        """A member as a dict (with qualifying_points and benefits when rules are given)."""
        return self._call("member.get", customer_id=customer_id, rules=rules)

    def evaluate_tier(self, customer_id, rules):
        """Re-evaluate a member's tier now; True when it changed."""
        return self._call("member.retier", customer_id=customer_id, rules=rules)

    def accrue(self, customer_id, points, key, expires_at=None, reason=None, rules=None):
        """Accrue points in a batch that expires at ``expires_at`` (ms or datetime; None: never).

        ``key`` is the idempotency key: a retry returns the first result with
        "replayed": True. Returns {"txn_id", "balance", "replayed"}.
        """
        return self._call("points.accrue", customer_id=customer_id, points=points, key=key,
                          expires_at=_to_ms(expires_at, "expires_at"), reason=reason, rules=rules)

    def redeem(self, customer_id, points, key, reason=None, rules=None):
        """Redeem points, earliest-expiring first; ConflictError when the balance is short."""
        return self._call("points.redeem", customer_id=customer_id, points=points, key=key,
                          reason=reason, rules=rules)

    def reverse(self, txn_id, key, reason=None, rules=None):
        """Reverse an accrual or a redemption (once)."""
        return self._call("points.reverse", txn_id=txn_id, key=key, reason=reason, rules=rules)

    def expire_points(self):
        """The expiry run; returns how many batches expired."""
        return self._call("points.expire")

    def ledger(self, customer_id):
        """A member's points ledger: a list of transactions, oldest first."""
        return self._call("points.ledger", customer_id=customer_id)

    def tag(self, customer_id, tag, source):
        """Assign a manual tag, with its source."""
        self._call("tag.assign", customer_id=customer_id, tag=tag, source=source)

    def untag(self, customer_id, tag):
        """Remove a manual tag."""
        self._call("tag.remove", customer_id=customer_id, tag=tag)

    def define_rule_tag(self, tag, rule):
        """Define a rule tag and compute it now; returns how many customers have it."""
        return self._call("tag.rule", tag=tag, rule=rule)

    def refresh_rule_tags(self):
        """Compute every rule tag again; returns how many."""
        return self._call("tag.refresh")

    def tags(self, customer_id):
        """A customer's tags: [{"tag", "kind", "source", "assigned_at"}]."""
        return self._call("tag.list", customer_id=customer_id)

    def segment_count(self, expr):
        """How many customers a segment (tags with and/or/not) has."""
        return self._call("segment.count", expr=expr)

    def segment(self, expr, consent=None, limit=None):
        """The customer ids of a segment; with ``consent``, only who consented to that channel."""
        return self._call("segment.export", expr=expr, consent=consent, limit=limit or 0)

    def put_vehicle(self, vin, model, year, purchased_at=None, serviced_at=None):
        """Register or update a vehicle (the VIN is validated)."""
        self._call("vehicle.put", vin=vin, model=model, year=year,
                   purchased_at=_to_ms(purchased_at, "purchased_at"),
                   serviced_at=_to_ms(serviced_at, "serviced_at"))

    def relate_vehicle(self, vin, customer_id, role, since=None, until=None):
        """Relate a customer to a vehicle as "owner" or "driver"."""
        self._call("vehicle.relate", vin=vin, customer_id=customer_id, role=role,
                   since=_to_ms(since, "since"), until=_to_ms(until, "until"))

    def vehicle(self, vin):
        """A vehicle and its people."""
        return self._call("vehicle.get", vin=vin)

    def vehicles(self, customer_id):
        """A customer's vehicles."""
        return self._call("vehicle.list", customer_id=customer_id)


def check_rule(rule):
    """Check a rule tag's expression; InvalidInputError names the column."""
    with open(":memory:") as db:
        db._call("tag.check", rule=rule)


def check_vin(vin):
    """Validate a VIN (17 characters, no I/O/Q, check digit); InvalidInputError says why."""
    with open(":memory:") as db:
        db._call("vehicle.check", vin=vin)


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
