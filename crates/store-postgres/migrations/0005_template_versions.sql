-- Every version of each key's payload template (SPEC §6): version 1 is the template the key
-- was created with, each change adds the next. The key's row keeps its current template and
-- version, so the webhook's key lookup reads one row as before. Keyed by tenant first, as
-- every tenant-owned table.
CREATE TABLE template_versions (
    tenant_id BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    template TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key_id, version),
    FOREIGN KEY (tenant_id, key_id) REFERENCES api_keys (tenant_id, id)
);

ALTER TABLE api_keys ADD COLUMN template_version BIGINT NOT NULL DEFAULT 1;

-- Keys made before versions: their one template is version 1, from when the key was made.
INSERT INTO template_versions (tenant_id, key_id, version, template, created_at, created_by)
SELECT tenant_id, id, 1, template, created_at, 'key creation' FROM api_keys;
