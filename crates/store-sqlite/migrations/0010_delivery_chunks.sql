-- The delivery log in chunks: the entries a transaction writes for one key are one row (a JSON
-- array), not one row each with an entry in a (tenant, key, id) index. A row and an index
-- entry per update were a fifth of the writer thread's work at full load (SPEC §6 allows the
-- log under 10 % of ingest); a chunk costs that once per key and commit. An entry's id is its
-- chunk's id × 4096 + its place in the chunk; a chunk holds at most 4096 entries. A swept
-- entry becomes null, so the others keep their places and ids. The newest chunk is never
-- deleted (a sweep empties it instead), so no id is given twice and an old link never shows
-- another entry (AUTOINCREMENT would do the same at a write per chunk).
-- An entry is a JSON array of its fields: see `trailspark_store_sqlite::deliveries::Entry`.
CREATE TABLE delivery_chunks (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL,
    key_id TEXT NOT NULL,
    -- The oldest and newest receive time of its entries (a replay keeps the original time).
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    -- Entries not swept, and how many of them were refused (a refused-only read skips the rest).
    live INTEGER NOT NULL,
    refused INTEGER NOT NULL,
    entries TEXT NOT NULL
);
CREATE INDEX delivery_chunks_key ON delivery_chunks (tenant_id, key_id, id);
-- The payloads kept, by entry id: apart, so reading a key's log reads none of them.
CREATE TABLE delivery_payloads (
    id INTEGER PRIMARY KEY,
    payload TEXT NOT NULL
);
-- Each entry logged so far becomes a chunk of one, at the same chunk id (its id × 4096).
INSERT INTO delivery_chunks (id, tenant_id, key_id, first_at, last_at, live, refused, entries)
SELECT id, tenant_id, key_id, received_at, received_at, 1, outcome = 'refused',
       json_array(json_array(
           request_id, idx, received_at, intake, status, outcome, code, message,
           product_org_id, lead_id, target_org_id,
           json(CASE WHEN changed THEN 'true' ELSE 'false' END),
           unchanged_reason, warnings, template_version,
           json(CASE WHEN payload IS NULL THEN 'false' ELSE 'true' END), replay_of * 4096))
FROM deliveries;
INSERT INTO delivery_payloads (id, payload)
SELECT id * 4096, payload FROM deliveries WHERE payload IS NOT NULL;
DROP TABLE deliveries;
