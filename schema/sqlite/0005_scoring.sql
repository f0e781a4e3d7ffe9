-- crmcore schema 5: scoring models and the lead lifecycle (issue 4).
-- One row per saved version of a named model. Models are OEM-wide
-- configuration, so the table has no dealer key; the body is the model's
-- JSON document, the other columns are what a listing shows without
-- parsing it.
CREATE TABLE score_model (
    name       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    id         TEXT NOT NULL,
    kind       TEXT NOT NULL,
    trained_at INTEGER NOT NULL,
    saved_at   INTEGER NOT NULL,
    auc        REAL,              -- NULL: no rows were held back
    features   TEXT NOT NULL,     -- JSON array of feature names
    body       TEXT NOT NULL,
    PRIMARY KEY (name, version)
) WITHOUT ROWID;

-- The lead lifecycle (issue 4): one row per stage a lead entered, in order.
-- A lead's "new" stage is its created_at and has no row.
CREATE TABLE lead_stage (
    lead_id    TEXT NOT NULL,
    seq        INTEGER NOT NULL,  -- 1, 2, ... per lead
    status     INTEGER NOT NULL,  -- crm_lead_status
    entered_at INTEGER NOT NULL,
    dealer_id  TEXT,
    owner_id   TEXT,              -- the consultant after the move
    actor      TEXT NOT NULL,
    reason     TEXT,
    PRIMARY KEY (lead_id, seq)
) WITHOUT ROWID;

-- Routing reads the day's assignments to honour capacity across processes.
CREATE INDEX lead_stage_entered ON lead_stage (status, entered_at);
