-- crmcore schema 6: match keys stored compactly.
-- A key row was (kind, key, entity_id) as text, about 80 bytes; online
-- matching writes three to five of them per lead at random places in the
-- index, so each commit rewrote most of its pages (docs/benchmarks.md).
-- Now a row is a 64-bit hash of kind and key and the record's UUID as 16
-- bytes (other ids stay text), about 30 bytes. crm_key_hash and crm_id_blob
-- are SQL functions the SQLite backend registers on every connection; the
-- hash is part of the file format (docs/storage.md) and never changes.
-- A hash may collide: key_find can then return a record of another key,
-- which every caller compares before it believes.

CREATE TABLE match_key_compact (
    h      INTEGER NOT NULL,  -- crm_key_hash(kind, key)
    entity BLOB NOT NULL,     -- crm_id_blob(record id)
    PRIMARY KEY (h, entity)
) WITHOUT ROWID;

INSERT OR IGNORE INTO match_key_compact (h, entity)
    SELECT crm_key_hash(kind, key), crm_id_blob(entity_id) FROM match_key;
DROP TABLE match_key;
ALTER TABLE match_key_compact RENAME TO match_key;
