-- Web UI users and their sessions. Sessions are found by the hash of their token, like API
-- keys: the token itself is only ever in the browser's cookie.

CREATE TABLE users (
    tenant_id INTEGER NOT NULL REFERENCES tenants (id),
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, email)
) WITHOUT ROWID;

CREATE TABLE sessions (
    tenant_id INTEGER NOT NULL REFERENCES tenants (id),
    token_hash BLOB NOT NULL,
    email TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, token_hash)
);
CREATE INDEX sessions_hash ON sessions (token_hash);
