-- crmcore schema 7: lead merges and their undo (issue 3).

-- A merged-away lead stays, marked with the lead it was merged into, so an
-- unmerge can bring it back as it was; lists skip it so it is not counted
-- twice.
ALTER TABLE lead ADD COLUMN merged_into TEXT;

-- The review item an accept merged, so the queue shows what was done.
ALTER TABLE match_review ADD COLUMN merge_id TEXT;

-- One row per merge. `before` holds every row the merge changed as it was
-- (both leads, the merged-away lead's match keys, the review item), so an
-- unmerge restores them exactly; `after` holds the two leads as the merge
-- left them (an unmerge refuses when they changed since) and what each
-- field's rule decided.
CREATE TABLE lead_merge (
    id          TEXT PRIMARY KEY,
    survivor_id TEXT NOT NULL,
    other_id    TEXT NOT NULL,
    dealer_id   TEXT,                      -- the survivor's dealer, for scope
    rules       TEXT NOT NULL,             -- the rules in force, as JSON
    before      TEXT NOT NULL,
    after       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    undone_at   INTEGER NOT NULL DEFAULT 0, -- 0 while in force
    undone_by   TEXT
) WITHOUT ROWID;

CREATE INDEX lead_merge_survivor ON lead_merge (survivor_id, id);
CREATE INDEX lead_merge_other ON lead_merge (other_id, id);
CREATE INDEX lead_merge_dealer ON lead_merge (dealer_id, id);

-- An unmerge finds the keys of one record.
CREATE INDEX match_key_entity ON match_key (entity);
