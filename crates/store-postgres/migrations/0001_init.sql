-- trailspark schema, version 1 (PostgreSQL; same name and meaning as the SQLite migration).
-- Every tenant-owned table leads its primary key and unique indexes with tenant_id, and no
-- query joins across tenants, so the schema can be distributed by tenant_id (Citus). Ids sort
-- byte-wise (COLLATE "C"), as in SQLite, so lists and cursors agree across backends.

CREATE TABLE tenants (
    id BIGSERIAL PRIMARY KEY,
    subdomain TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- Target org ids come from one sequence: unique within every tenant, and taking one locks
-- nothing, so new orgs of one tenant are created in parallel across connections and
-- instances (a per-tenant counter row would serialise them behind each commit).
CREATE SEQUENCE target_org_ids;

-- Looked up by key hash alone (a request names no tenant): on a distributed database this
-- small table is a reference table, replicated to every node.
CREATE TABLE api_keys (
    tenant_id BIGINT NOT NULL REFERENCES tenants (id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    endpoint_type TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash BYTEA NOT NULL,
    template TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    secret_hash BYTEA,
    hmac_secret_sealed BYTEA,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, key_hash)
);
-- A request names its key, not its tenant: keys are found by hash alone.
CREATE INDEX api_keys_hash ON api_keys (key_hash);

CREATE TABLE admin_tokens (
    tenant_id BIGINT NOT NULL REFERENCES tenants (id),
    token_hash BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, token_hash)
);
CREATE INDEX admin_tokens_hash ON admin_tokens (token_hash);

CREATE TABLE revisions (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO revisions (name, value) VALUES ('api_keys', 0);

CREATE TABLE target_orgs (
    tenant_id BIGINT NOT NULL,
    id BIGINT NOT NULL,
    name TEXT NOT NULL,
    firmographics JSONB,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE product_orgs (
    tenant_id BIGINT NOT NULL,
    product_org_id TEXT COLLATE "C" NOT NULL,
    target_org_id BIGINT NOT NULL,
    name TEXT,
    fields JSONB NOT NULL,
    field_clock JSONB NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, product_org_id),
    FOREIGN KEY (tenant_id, target_org_id) REFERENCES target_orgs (tenant_id, id)
);
CREATE INDEX product_orgs_target ON product_orgs (tenant_id, target_org_id);

CREATE TABLE product_org_history (
    tenant_id BIGINT NOT NULL,
    product_org_id TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    changes JSONB NOT NULL,
    key_id TEXT NOT NULL,
    event_at TIMESTAMPTZ,
    received_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, product_org_id, version)
);

CREATE TABLE processed_messages (
    tenant_id BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    outcome JSONB NOT NULL,
    processed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, key_id, message_id)
);
CREATE INDEX processed_messages_age ON processed_messages (processed_at);

CREATE TABLE webhook_ids (
    tenant_id BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    seen_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, key_id, webhook_id)
);
CREATE INDEX webhook_ids_age ON webhook_ids (seen_at);
