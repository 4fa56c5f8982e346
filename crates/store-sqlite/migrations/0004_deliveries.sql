-- The delivery log of each key: its newest requests (kept to 100 per key by the writer).
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants (id),
    key_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    status INTEGER NOT NULL,
    subject TEXT,
    changed INTEGER,
    error TEXT,
    body TEXT
);
CREATE INDEX deliveries_key ON deliveries (tenant_id, key_id, id);
