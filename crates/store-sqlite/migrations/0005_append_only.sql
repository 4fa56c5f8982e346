-- The ingest path's own tables, reshaped so that an update writes one page it cannot choose
-- (its product org's row) and appends the rest.

-- History rows in arrival order, each pointing at the previous row of its product org; the
-- product org points at its newest. Keyed by org, every history row landed on a page of its
-- own, picked at random by the org id.
CREATE TABLE product_org_history_v5 (
    id INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL,
    product_org_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    prev INTEGER,
    changes TEXT NOT NULL,
    key_id TEXT NOT NULL,
    event_at INTEGER,
    received_at INTEGER NOT NULL
);
INSERT INTO product_org_history_v5
    (id, tenant_id, product_org_id, version, prev, changes, key_id, event_at, received_at)
SELECT n, tenant_id, product_org_id, version,
       CASE WHEN prev_tenant = tenant_id AND prev_org = product_org_id THEN n - 1 END,
       changes, key_id, event_at, received_at
FROM (
    SELECT *, row_number() OVER w AS n,
           lag(tenant_id) OVER w AS prev_tenant, lag(product_org_id) OVER w AS prev_org
    FROM product_org_history
    WINDOW w AS (ORDER BY tenant_id, product_org_id, version)
);
DROP TABLE product_org_history;
ALTER TABLE product_org_history_v5 RENAME TO product_org_history;

ALTER TABLE product_orgs ADD COLUMN history_head INTEGER;
UPDATE product_orgs SET history_head = h.id
FROM (SELECT tenant_id, product_org_id, max(id) AS id FROM product_org_history
      GROUP BY tenant_id, product_org_id) AS h
WHERE product_orgs.tenant_id = h.tenant_id AND product_orgs.product_org_id = h.product_org_id;

-- Dedupe rows in one B-tree by their key: the table, its unique index and its index by age
-- were three trees to write at every update. The messageId leads the key after the tenant:
-- ids that grow with time (as Segment's SDKs make them) are appended near each other, and a
-- probe compares the messageId before the key id, which all of one key's rows share. Expired
-- rows are swept in key order.
CREATE TABLE processed_messages_v5 (
    tenant_id INTEGER NOT NULL,
    key_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    processed_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, message_id, key_id)
) WITHOUT ROWID;
INSERT INTO processed_messages_v5 (tenant_id, key_id, message_id, outcome, processed_at)
SELECT tenant_id, key_id, message_id, outcome, processed_at FROM processed_messages;
DROP TABLE processed_messages;
ALTER TABLE processed_messages_v5 RENAME TO processed_messages;
