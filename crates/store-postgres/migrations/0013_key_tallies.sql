-- What key health and the overview count, per key and hour (trailspark_store::tally): each
-- transaction that writes log entries adds them here. Counted from the log, a busy key's day
-- came up short (the log keeps each key's newest --deliveries-per-key entries) and a page read
-- the whole of it. Filled from the log when this migration runs (the store's code, after this
-- file: db::after_migration).
--
-- In shards, as tenant_counts (0009): one row per key and hour would make every writer of a
-- busy key wait for the others' commits. A writer adds to the shard of its backend; a read
-- adds the shards up.
CREATE TABLE key_tallies (
    tenant_id BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    -- Hours since the Unix epoch (UTC).
    hour BIGINT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    shard INTEGER NOT NULL,
    count BIGINT NOT NULL,
    only_change BIGINT NOT NULL,
    example_id BIGINT,
    example_message TEXT,
    PRIMARY KEY (tenant_id, key_id, hour, kind, name, shard)
);
