-- The durable delivery log (SPEC §6): one entry per update and one per request refused before
-- its updates were read, written in the transaction that applies the request. It replaces
-- the log of each key's newest 100 requests: its rows are of another shape and were only a
-- help while they lasted, so they go.
DROP TABLE deliveries;
-- The id alone is unique (an identity), but the primary key leads with tenant_id as every
-- tenant-owned table's does, so the table stays distributable by tenant.
CREATE TABLE deliveries (
    id BIGINT GENERATED ALWAYS AS IDENTITY,
    tenant_id BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    idx INTEGER,
    received_at TIMESTAMPTZ NOT NULL,
    intake TEXT NOT NULL,
    status INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    code TEXT,
    message TEXT,
    product_org_id TEXT,
    lead_id TEXT,
    target_org_id BIGINT,
    changed BOOLEAN NOT NULL,
    unchanged_reason TEXT,
    warnings TEXT,
    template_version BIGINT NOT NULL,
    payload TEXT,
    replay_of BIGINT,
    PRIMARY KEY (tenant_id, id)
);
-- A key's log, newest first, a page at a time; and the sweep's cut of each key to its newest.
CREATE INDEX deliveries_key ON deliveries (tenant_id, key_id, id);
