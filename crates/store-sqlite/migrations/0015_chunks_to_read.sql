-- A key's refusals and its kept payloads, read without walking its whole log. The overview's
-- recent refusals, the key page's sample payload and replay read only those; with neither
-- in a busy key's newest chunks, a read filtered by `refused > 0` in the (tenant, key, id)
-- index walked every chunk of the key written since the last sweep (a key page took 300 ms
-- under load). Each is a partial index holding only the chunks that have some, which the
-- read names by the same condition.
ALTER TABLE delivery_chunks ADD COLUMN kept INTEGER NOT NULL DEFAULT 0;
UPDATE delivery_chunks SET kept = (
    SELECT count(*) FROM delivery_payloads
    WHERE delivery_payloads.id BETWEEN delivery_chunks.id * 4096 AND delivery_chunks.id * 4096 + 4095
);
CREATE INDEX delivery_chunks_refused ON delivery_chunks (tenant_id, key_id, id) WHERE refused > 0;
CREATE INDEX delivery_chunks_kept ON delivery_chunks (tenant_id, key_id, id) WHERE kept > 0;
