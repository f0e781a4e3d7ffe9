-- crmcore schema 5: customers and their identities (issue 5).

CREATE TABLE customer (
    id          TEXT PRIMARY KEY,
    name        TEXT,
    dealer_id   TEXT,
    merged_into TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) WITHOUT ROWID;

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
