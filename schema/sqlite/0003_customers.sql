-- crmcore schema 3: customers and their identities (issue 5).

-- num is a dense number per customer: tag and segment bitmaps hold it.
CREATE TABLE customer (
    num         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    name        TEXT,
    dealer_id   TEXT,
    merged_into TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- An identity belongs to one customer at a time. origin_id is the customer
-- it first belonged to, so that an unmerge can send it back.
CREATE TABLE customer_identity (
    kind        INTEGER NOT NULL,
    app_id      TEXT NOT NULL,
    value       TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    origin_id   TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (kind, app_id, value)
) WITHOUT ROWID;

CREATE INDEX customer_identity_customer ON customer_identity (customer_id, origin_id);

-- The 360 view and merges read a customer's leads.
CREATE INDEX lead_customer ON lead (customer_id, created_at) WHERE customer_id IS NOT NULL;

-- Members and their points ledger. A member is keyed by its customer.
CREATE TABLE member (
    customer_id TEXT PRIMARY KEY,
    member_no   TEXT NOT NULL UNIQUE,
    tier        TEXT,
    tier_since  INTEGER NOT NULL,
    enrolled_at INTEGER NOT NULL,
    balance     INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- The ledger, read per member in append order (seq). An accrual is also a
-- batch: remaining is what is left of it, expires_at 0 means never.
CREATE TABLE points_txn (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    customer_id     TEXT NOT NULL,
    kind            INTEGER NOT NULL,
    points          INTEGER NOT NULL,
    remaining       INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    reverses        TEXT,
    reversed_by     TEXT,
    reason          TEXT,
    created_at      INTEGER NOT NULL
);

CREATE INDEX points_txn_customer ON points_txn (customer_id, seq);
CREATE INDEX points_batch_live ON points_txn (customer_id, expires_at) WHERE remaining > 0;
CREATE INDEX points_batch_due ON points_txn (expires_at) WHERE remaining > 0 AND expires_at > 0;

-- Which batches a redemption (or an accrual's reversal) drew on, so that a
-- reversal gives the points back where they came from.
CREATE TABLE points_use (
    txn_id   TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    points   INTEGER NOT NULL,
    PRIMARY KEY (txn_id, batch_id)
) WITHOUT ROWID;

-- Tags: each tag's set of customers is a serialised compressed bitmap
-- (CRoaring, portable format) of customer.num, written by the core in the
-- same transaction as the assignments. Manual tags also keep one row per
-- assignment, with its source and time.
CREATE TABLE tag (
    name       TEXT PRIMARY KEY,
    kind       INTEGER NOT NULL,
    rule       TEXT,
    updated_at INTEGER NOT NULL,
    bitmap     BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE tag_assignment (
    customer_id TEXT NOT NULL,
    tag         TEXT NOT NULL,
    source      TEXT NOT NULL,
    assigned_at INTEGER NOT NULL,
    PRIMARY KEY (customer_id, tag)
) WITHOUT ROWID;

-- Vehicles and who owns or drives them.
CREATE TABLE vehicle (
    vin           TEXT PRIMARY KEY,
    model         TEXT NOT NULL,
    year          INTEGER NOT NULL,
    purchased_at  INTEGER NOT NULL,
    serviced_at   INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE vehicle_person (
    vin         TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    role        INTEGER NOT NULL,
    since       INTEGER NOT NULL,
    until       INTEGER NOT NULL,
    PRIMARY KEY (vin, customer_id, role)
) WITHOUT ROWID;

CREATE INDEX vehicle_person_customer ON vehicle_person (customer_id, vin);
