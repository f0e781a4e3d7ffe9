-- crmcore schema 4: the review queue of possible duplicates (issue 3).
-- Online matching also stores more kinds of match_key ("match:phone",
-- "match:name:key+city", ...); they need no schema of their own.

CREATE TABLE match_review (
    id           TEXT PRIMARY KEY,
    lead_id      TEXT NOT NULL,   -- the new lead
    candidate_id TEXT NOT NULL,   -- the existing lead it may duplicate
    dealer_id    TEXT,            -- the new lead's dealer, for scope
    probability  REAL NOT NULL,
    evidence     TEXT NOT NULL,   -- JSON: per field values, level, weight
    status       INTEGER NOT NULL DEFAULT 0,  -- 0 pending, 1 accepted, 2 rejected
    created_at   INTEGER NOT NULL,
    decided_at   INTEGER,
    decided_by   TEXT
) WITHOUT ROWID;

CREATE INDEX match_review_status ON match_review (status, created_at, id);
CREATE INDEX match_review_dealer ON match_review (dealer_id, status, created_at, id);
