-- The durable delivery log (SPEC §6): one entry per update and one per request refused before
-- its updates were read, written in the transaction that applies the request. It replaces
-- the log of each key's newest 100 requests, which was buffered in memory: its rows are of
-- another shape and only a help while they lasted, so they go.
DROP TABLE deliveries;
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL,
    key_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    idx INTEGER,
    received_at INTEGER NOT NULL,
    intake TEXT NOT NULL,
    status INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    code TEXT,
    message TEXT,
    product_org_id TEXT,
    lead_id TEXT,
    target_org_id INTEGER,
    changed INTEGER NOT NULL,
    unchanged_reason TEXT,
    warnings TEXT,
    template_version INTEGER NOT NULL,
    payload TEXT,
    replay_of INTEGER
);
-- A key's log, newest first; and the sweep of old entries, which ids order as time does.
CREATE INDEX deliveries_key ON deliveries (tenant_id, key_id, id);
