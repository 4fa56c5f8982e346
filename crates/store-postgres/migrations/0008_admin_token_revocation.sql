-- Admin tokens can be listed, expire and be revoked (issue 18): each gets a public id to be
-- named by (the token itself is never stored, only its hash), an optional name, an expiry, a
-- revocation time and a last use. Tokens made before keep working, with a new random id.
ALTER TABLE admin_tokens
    ADD COLUMN id TEXT,
    ADD COLUMN name TEXT,
    ADD COLUMN expires_at TIMESTAMPTZ,
    ADD COLUMN revoked_at TIMESTAMPTZ,
    ADD COLUMN last_used_at TIMESTAMPTZ;
UPDATE admin_tokens
    SET id = 'adm_' || left(md5(random()::text || clock_timestamp()::text
                                || encode(token_hash, 'hex')), 16);
ALTER TABLE admin_tokens ALTER COLUMN id SET NOT NULL;
-- Unique per tenant (the schema stays distributable by tenant); ids are random anyway.
CREATE UNIQUE INDEX admin_tokens_id ON admin_tokens (tenant_id, id);
