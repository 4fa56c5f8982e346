-- Web UI users and their sessions. Sessions are found by the hash of their token, like API
-- keys: the token itself is only ever in the browser's cookie.

CREATE TABLE users (
    tenant_id BIGINT NOT NULL REFERENCES tenants (id),
    email TEXT COLLATE "C" NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, email)
);

CREATE TABLE sessions (
    tenant_id BIGINT NOT NULL REFERENCES tenants (id),
    token_hash BYTEA NOT NULL,
    email TEXT COLLATE "C" NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, token_hash)
);
CREATE INDEX sessions_hash ON sessions (token_hash);
