-- crmcore schema 1: leads, match keys, audit events.
-- Every table carries dealer_id where records belong to a dealer, so that
-- scoping is a plain indexed predicate (and PostgreSQL can distribute on it).

CREATE TABLE lead (
    id                TEXT PRIMARY KEY,
    channel           TEXT NOT NULL,
    campaign          TEXT,
    name              TEXT,
    phone             TEXT,
    email             TEXT,
    wechat_openid     TEXT,
    wechat_unionid    TEXT,
    province          TEXT,
    city              TEXT,
    dealer_id         TEXT,
    owner_id          TEXT,
    model             TEXT,
    purchase_timeline INTEGER NOT NULL DEFAULT 0,
    test_drive        INTEGER NOT NULL DEFAULT -1,
    status            INTEGER NOT NULL DEFAULT 0,
    score             INTEGER NOT NULL DEFAULT -1,
    grade             TEXT,
    customer_id       TEXT,
    attributes        TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX lead_created ON lead (created_at, id);
CREATE INDEX lead_dealer_created ON lead (dealer_id, created_at, id);

-- Keys the core computes for matching; the backend never interprets them.
CREATE TABLE match_key (
    kind      TEXT NOT NULL,
    key       TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    PRIMARY KEY (kind, key, entity_id)
) WITHOUT ROWID;

-- Events are read per record in append order (seq); their ids are
-- time-ordered UUIDs and need no index of their own.
CREATE TABLE event (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL,
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    dealer_id   TEXT,
    actor       TEXT NOT NULL,
    data        TEXT
);

CREATE INDEX event_entity ON event (entity_id, seq);
