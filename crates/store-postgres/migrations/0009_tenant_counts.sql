-- What the web UI's overview and org list read on every view, kept on write instead of counted
-- over the whole tenant per view (1M product orgs: 0.5–2.7 s a view; bench/RESULTS.md).

-- How many product orgs, target orgs and leads each tenant has, in shards: one row per
-- tenant would make every writer that creates a row wait for the others' commits. A writer
-- adds to the shard of its backend (so two writers rarely share one); a read sums the shards.
-- Rows are never deleted, so each count only grows, by the triggers below: every statement
-- that creates rows is covered, whatever it is.
CREATE TABLE tenant_counts (
    tenant_id BIGINT NOT NULL,
    shard INTEGER NOT NULL,
    product_orgs BIGINT NOT NULL DEFAULT 0,
    target_orgs BIGINT NOT NULL DEFAULT 0,
    leads BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, shard)
);
INSERT INTO tenant_counts (tenant_id, shard, product_orgs, target_orgs, leads)
SELECT t.id, 0,
       (SELECT count(*) FROM product_orgs WHERE tenant_id = t.id),
       (SELECT count(*) FROM target_orgs WHERE tenant_id = t.id),
       (SELECT count(*) FROM leads WHERE tenant_id = t.id)
FROM tenants t;

-- Statement triggers over the rows a statement inserted (an upsert's updated rows are not in
-- them): one call per statement, not per row. Tenants in order, so that two writers that do
-- share a shard take its rows in the same order.
CREATE FUNCTION count_created_product_orgs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenant_counts AS c (tenant_id, shard, product_orgs)
    SELECT tenant_id, pg_backend_pid() % 16, count(*) FROM created
    GROUP BY tenant_id ORDER BY tenant_id
    ON CONFLICT (tenant_id, shard) DO UPDATE SET product_orgs = c.product_orgs + excluded.product_orgs;
    RETURN NULL;
END $$;
CREATE TRIGGER product_orgs_counted AFTER INSERT ON product_orgs
    REFERENCING NEW TABLE AS created FOR EACH STATEMENT
    EXECUTE FUNCTION count_created_product_orgs();

CREATE FUNCTION count_created_target_orgs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenant_counts AS c (tenant_id, shard, target_orgs)
    SELECT tenant_id, pg_backend_pid() % 16, count(*) FROM created
    GROUP BY tenant_id ORDER BY tenant_id
    ON CONFLICT (tenant_id, shard) DO UPDATE SET target_orgs = c.target_orgs + excluded.target_orgs;
    RETURN NULL;
END $$;
CREATE TRIGGER target_orgs_counted AFTER INSERT ON target_orgs
    REFERENCING NEW TABLE AS created FOR EACH STATEMENT
    EXECUTE FUNCTION count_created_target_orgs();

CREATE FUNCTION count_created_leads() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenant_counts AS c (tenant_id, shard, leads)
    SELECT tenant_id, pg_backend_pid() % 16, count(*) FROM created
    GROUP BY tenant_id ORDER BY tenant_id
    ON CONFLICT (tenant_id, shard) DO UPDATE SET leads = c.leads + excluded.leads;
    RETURN NULL;
END $$;
CREATE TRIGGER leads_counted AFTER INSERT ON leads
    REFERENCING NEW TABLE AS created FOR EACH STATEMENT
    EXECUTE FUNCTION count_created_leads();

-- The folded ids (trailspark_core::ids::FOLDED_ID_SQL) that more than one product org of the
-- tenant has: the org list's "possible duplicates". The writer adds one when a new org's
-- folded-id lookup, which it runs for every new org anyway, finds another (under the advisory
-- lock of the folded id, so two writers creating `ws_a` and `WS_A` at once cannot both miss
-- the other); ids never change and orgs are not deleted, so the set only grows.
CREATE TABLE product_org_duplicates (
    tenant_id BIGINT NOT NULL,
    folded TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, folded)
);
INSERT INTO product_org_duplicates (tenant_id, folded)
SELECT tenant_id, translate(btrim(product_org_id, E' \t\n\r'),
           'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
FROM product_orgs
GROUP BY 1, 2
HAVING count(*) > 1;
