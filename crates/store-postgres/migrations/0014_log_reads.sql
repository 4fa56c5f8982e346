-- A key's refusals and its kept payloads, read without walking its whole log. The overview's
-- recent refusals, the key page's sample payload and replay read only those; with neither
-- among a busy key's newest entries, a read that filtered them out of the (tenant, key, id)
-- index walked every entry the key kept. Each is a partial index of only those entries, which
-- the read names by the same condition, written out (a parameter would not match it).
CREATE INDEX deliveries_refused ON deliveries (tenant_id, key_id, id) WHERE outcome = 'refused';
CREATE INDEX deliveries_kept ON deliveries (tenant_id, key_id, id) WHERE payload IS NOT NULL;
