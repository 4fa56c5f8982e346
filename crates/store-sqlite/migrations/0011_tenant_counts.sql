-- What the web UI's overview and org list read on every view, kept on write instead of counted
-- over the whole tenant per view (1M product orgs: 0.2 s a view; bench/RESULTS.md).

-- How many product orgs, target orgs and leads each tenant has. Rows are never deleted, so
-- each count only grows: one `+ 1` per row created, by the triggers below (every write path
-- that creates a row is covered, whatever it is).
CREATE TABLE tenant_counts (
    tenant_id INTEGER PRIMARY KEY,
    product_orgs INTEGER NOT NULL DEFAULT 0,
    target_orgs INTEGER NOT NULL DEFAULT 0,
    leads INTEGER NOT NULL DEFAULT 0
);
INSERT INTO tenant_counts (tenant_id, product_orgs, target_orgs, leads)
SELECT t.id,
       (SELECT count(*) FROM product_orgs WHERE tenant_id = t.id),
       (SELECT count(*) FROM target_orgs WHERE tenant_id = t.id),
       (SELECT count(*) FROM leads WHERE tenant_id = t.id)
FROM tenants t;

CREATE TRIGGER product_orgs_counted AFTER INSERT ON product_orgs BEGIN
    INSERT INTO tenant_counts (tenant_id, product_orgs) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET product_orgs = product_orgs + 1;
END;
CREATE TRIGGER target_orgs_counted AFTER INSERT ON target_orgs BEGIN
    INSERT INTO tenant_counts (tenant_id, target_orgs) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET target_orgs = target_orgs + 1;
END;
CREATE TRIGGER leads_counted AFTER INSERT ON leads BEGIN
    INSERT INTO tenant_counts (tenant_id, leads) VALUES (NEW.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET leads = leads + 1;
END;

-- The folded ids (trailspark_core::ids::FOLDED_ID_SQL) that more than one product org of the
-- tenant has: the org list's "possible duplicates". The writer adds one when a new org's
-- folded-id probe, which it runs for every new org anyway, finds another; ids never change and
-- orgs are not deleted, so the set only grows.
CREATE TABLE product_org_duplicates (
    tenant_id INTEGER NOT NULL,
    folded TEXT NOT NULL,
    PRIMARY KEY (tenant_id, folded)
) WITHOUT ROWID;
INSERT INTO product_org_duplicates (tenant_id, folded)
SELECT tenant_id, lower(trim(product_org_id, ' ' || char(9, 10, 13)))
FROM product_orgs
GROUP BY tenant_id, lower(trim(product_org_id, ' ' || char(9, 10, 13)))
HAVING count(*) > 1;
