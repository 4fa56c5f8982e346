-- Leads and their signals (PostgreSQL; same name and meaning as the SQLite migration). A
-- lead's target org is not stored: it is the target org of the product org it is linked to.

CREATE TABLE leads (
    tenant_id BIGINT NOT NULL,
    lead_id TEXT COLLATE "C" NOT NULL,
    email TEXT,
    product_org_id TEXT COLLATE "C",
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, lead_id)
);
CREATE INDEX leads_product_org ON leads (tenant_id, product_org_id);

CREATE TABLE signals (
    tenant_id BIGINT NOT NULL,
    lead_id TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL,
    name TEXT,
    properties JSONB,
    custom_fields JSONB NOT NULL,
    product_org_id TEXT COLLATE "C",
    key_id TEXT NOT NULL,
    event_at TIMESTAMPTZ,
    received_at TIMESTAMPTZ NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, lead_id, seq)
);
CREATE INDEX signals_newest ON signals (tenant_id, lead_id, occurred_at DESC, seq DESC);
