-- crmcore schema 8: a lead's quality (issue 3), set on ingest from the
-- cleaners: 0 ok, 1 suspect, 2 junk (crm_lead_quality). Leads stored before
-- this migration read as ok; nothing re-judges them.
ALTER TABLE lead ADD COLUMN quality INTEGER NOT NULL DEFAULT 0;
