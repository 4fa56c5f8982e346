-- What key health and the overview count, per key and hour (trailspark_store::tally): the
-- writer adds each commit's log entries here as it writes them. Counted from the log, a
-- busy key's day came up short (the log keeps each key's newest --deliveries-per-key
-- entries) and a page read the whole of it. Filled from the log when this migration runs
-- (the store's code, after this file: db::after_migration).
CREATE TABLE key_tallies (
    tenant_id INTEGER NOT NULL,
    key_id TEXT NOT NULL,
    -- Hours since the Unix epoch (UTC).
    hour INTEGER NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    count INTEGER NOT NULL,
    only_change INTEGER NOT NULL,
    example_id INTEGER,
    example_message TEXT,
    PRIMARY KEY (tenant_id, key_id, hour, kind, name)
) WITHOUT ROWID;
