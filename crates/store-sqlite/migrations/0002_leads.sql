-- Leads and their signals. A lead's target org is not stored: it is the target org of the
-- product org it is linked to, so a pending link resolves the moment that product org is
-- created, and moving a product org moves its leads.

CREATE TABLE leads (
    tenant_id INTEGER NOT NULL REFERENCES tenants (id),
    lead_id TEXT NOT NULL,
    email TEXT,
    -- The product org of the latest signal that named one (may not exist yet).
    product_org_id TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, lead_id)
) WITHOUT ROWID;
CREATE INDEX leads_product_org ON leads (tenant_id, product_org_id);

CREATE TABLE signals (
    tenant_id INTEGER NOT NULL,
    lead_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    name TEXT,
    properties TEXT,
    custom_fields TEXT NOT NULL,
    product_org_id TEXT,
    key_id TEXT NOT NULL,
    event_at INTEGER,
    received_at INTEGER NOT NULL,
    -- event_at, or received_at for signals without one: "newest first" orders by this.
    occurred_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, lead_id, seq)
) WITHOUT ROWID;
CREATE INDEX signals_newest ON signals (tenant_id, lead_id, occurred_at DESC, seq DESC);
