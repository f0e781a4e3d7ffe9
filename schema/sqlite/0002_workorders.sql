-- crmcore schema 2: work orders and their comments (issue 6).
-- The history of a work order is its audit trail in the event table.

CREATE TABLE workorder (
    id                TEXT PRIMARY KEY,
    type              TEXT NOT NULL,
    category          TEXT,
    priority          INTEGER NOT NULL,
    channel           TEXT,
    customer_id       TEXT,
    lead_id           TEXT,
    vin               TEXT,
    dealer_id         TEXT,
    queue             TEXT,
    assignee          TEXT,
    subject           TEXT NOT NULL,
    description       TEXT,
    attributes        TEXT,
    status            INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    first_response_at INTEGER NOT NULL DEFAULT 0,
    resolved_at       INTEGER NOT NULL DEFAULT 0,
    closed_at         INTEGER NOT NULL DEFAULT 0,
    paused_since      INTEGER NOT NULL DEFAULT 0,
    pauses            TEXT,
    sla_flags         INTEGER NOT NULL DEFAULT 0,
    escalation_level  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE INDEX workorder_created ON workorder (created_at, id);
CREATE INDEX workorder_dealer_created ON workorder (dealer_id, created_at, id);

CREATE TABLE wo_comment (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    workorder_id TEXT NOT NULL,
    dealer_id    TEXT,
    at           INTEGER NOT NULL,
    author       TEXT NOT NULL,
    visibility   INTEGER NOT NULL,
    body         TEXT NOT NULL
);

CREATE INDEX wo_comment_workorder ON wo_comment (workorder_id, seq);

-- Hosts consume escalation notifications ("workorder.sla_notify") and the
-- like by kind, since a time, across work orders.
CREATE INDEX event_kind_at ON event (kind, at);
