-- The delivery log of each key: its newest requests (kept to 100 per key by the writers).
CREATE TABLE deliveries (
    tenant_id BIGINT NOT NULL REFERENCES tenants (id),
    key_id TEXT NOT NULL,
    id BIGINT GENERATED ALWAYS AS IDENTITY,
    at TIMESTAMPTZ NOT NULL,
    status INTEGER NOT NULL,
    subject TEXT,
    changed BOOLEAN,
    error TEXT,
    body TEXT,
    PRIMARY KEY (tenant_id, key_id, id)
);
