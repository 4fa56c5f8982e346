-- Admin tokens can be listed, expire and be revoked (issue 18): each gets a public id to be
-- named by (the token itself is never stored, only its hash), an optional name, an expiry, a
-- revocation time and a last use. Tokens made before keep working, with a new random id.
-- Rebuilt rather than altered, so that `id` is NOT NULL like the other columns that always
-- hold a value.
CREATE TABLE admin_tokens_v9 (
    tenant_id INTEGER NOT NULL REFERENCES tenants (id),
    token_hash BLOB NOT NULL,
    id TEXT NOT NULL,
    name TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER,
    last_used_at INTEGER,
    PRIMARY KEY (tenant_id, token_hash),
    UNIQUE (tenant_id, id)
);
INSERT INTO admin_tokens_v9 (tenant_id, token_hash, id, created_at)
    SELECT tenant_id, token_hash, 'adm_' || lower(hex(randomblob(8))), created_at
    FROM admin_tokens;
DROP TABLE admin_tokens;
ALTER TABLE admin_tokens_v9 RENAME TO admin_tokens;
-- A request names its token, not its tenant: tokens are found by hash alone.
CREATE INDEX admin_tokens_hash ON admin_tokens (token_hash);
