-- trailspark schema, version 1. Timestamps are microseconds since the Unix epoch (UTC).
-- Every tenant-owned table leads its primary key with tenant_id.

CREATE TABLE tenants (
    id INTEGER PRIMARY KEY,
    subdomain TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    -- Target org ids are numbered per tenant; the counter lives here so that allocating one
    -- is a single-row update inside the creating transaction.
    next_target_org_id INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE api_keys (
    tenant_id INTEGER NOT NULL REFERENCES tenants (id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    endpoint_type TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash BLOB NOT NULL,
    template TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER,
    last_used_at INTEGER,
    secret_hash BLOB,
    hmac_secret_sealed BLOB,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, key_hash)
);
-- A request names its key, not its tenant: keys are found by hash alone.
CREATE INDEX api_keys_hash ON api_keys (key_hash);

CREATE TABLE admin_tokens (
    tenant_id INTEGER NOT NULL REFERENCES tenants (id),
    token_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, token_hash)
);
CREATE INDEX admin_tokens_hash ON admin_tokens (token_hash);

-- Counters that servers poll to learn that cached data (API keys) changed.
CREATE TABLE revisions (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO revisions (name, value) VALUES ('api_keys', 0);

CREATE TABLE target_orgs (
    tenant_id INTEGER NOT NULL REFERENCES tenants (id),
    id INTEGER NOT NULL,
    name TEXT NOT NULL,
    -- CRM fields as a JSON object; NULL until set.
    firmographics TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE product_orgs (
    tenant_id INTEGER NOT NULL,
    product_org_id TEXT NOT NULL,
    target_org_id INTEGER NOT NULL,
    -- Kept beside `fields` for search.
    name TEXT,
    fields TEXT NOT NULL,
    field_clock TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, product_org_id),
    FOREIGN KEY (tenant_id, target_org_id) REFERENCES target_orgs (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX product_orgs_target ON product_orgs (tenant_id, target_org_id);

CREATE TABLE product_org_history (
    tenant_id INTEGER NOT NULL,
    product_org_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    changes TEXT NOT NULL,
    key_id TEXT NOT NULL,
    event_at INTEGER,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, product_org_id, version)
) WITHOUT ROWID;

-- The first outcome (as the webhook's JSON) of each messageId, per key, for 24 hours.
CREATE TABLE processed_messages (
    tenant_id INTEGER NOT NULL,
    key_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    processed_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX processed_messages_key ON processed_messages (tenant_id, key_id, message_id);
CREATE INDEX processed_messages_age ON processed_messages (processed_at);

-- Standard Webhooks ids seen recently, per key, to refuse replays.
CREATE TABLE webhook_ids (
    tenant_id INTEGER NOT NULL,
    key_id TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    seen_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX webhook_ids_key ON webhook_ids (tenant_id, key_id, webhook_id);
CREATE INDEX webhook_ids_age ON webhook_ids (seen_at);
