-- Trigram indexes for the lists' search (issue 19). A search is `LIKE '%term%'`; a term that
-- few rows hold never fills a page, so the list walked the tenant's whole table (0.2–0.3 s of
-- CPU per list at 1M rows). An FTS5 phrase query on a trigram table finds the rows that may
-- hold a term in a few milliseconds: reads.rs (`search_page`) asks it for the keys of those
-- rows, then runs the list's own query, LIKE and all, on just them.
--
-- So a table here only has to hold every row's current text, and may hold more: its case
-- folding is broader than LIKE's (ASCII only), and the LIKE drops what it adds. Rows are
-- therefore only ever added: a changed name or email adds a row with the new text, and the
-- row with the old one stays behind as a candidate the LIKE drops. That keeps each write one
-- insert, with no table mapping each org or lead to its row here (product orgs and leads have
-- no rowid); names and emails change rarely. Nothing deletes product orgs, target orgs or
-- leads; if something comes to, its rows here name a key that no longer exists, and the
-- list's query finds nothing for it.
--
-- The triggers do not write to the trigram tables: FTS5 writes what it holds in memory to disk
-- at every statement's savepoint, so a row added by a trigger became a segment of its own and
-- a new org cost four times what it did (47–53 → 203–234 µs, measured at 1M). They stage the
-- rows in `search_pending`, which the writer moves into the trigram tables in one statement
-- each just before it commits (trailspark_store_sqlite::writer::search): every write goes
-- through the writer, so a reader never sees a staged row.
--
-- `columnsize=0`: no per-row sizes, which only ranking (bm25) reads. Each table is filled in
-- one statement, then merged into one segment ('optimize'): left as the fill wrote it, the
-- many segments are merged little by little by the writes that follow, and the first ones
-- paid for it (ten times the cost of a new org, measured at 1M).

-- `list`: 1 product orgs (`id` the product org id, `text` its name), 2 target orgs (`id` the
-- target org id, `text` its name), 3 leads (`id` the lead id, `text` its email).
CREATE TABLE search_pending (
    list INTEGER NOT NULL,
    tenant_id INTEGER NOT NULL,
    id NOT NULL,
    text TEXT
);

CREATE VIRTUAL TABLE product_orgs_search USING fts5(
    tenant_id UNINDEXED, product_org_id, name, tokenize = 'trigram', columnsize = 0);
INSERT INTO product_orgs_search (tenant_id, product_org_id, name)
SELECT tenant_id, product_org_id, name FROM product_orgs;
INSERT INTO product_orgs_search (product_orgs_search) VALUES ('optimize');
CREATE TRIGGER product_orgs_searched AFTER INSERT ON product_orgs BEGIN
    INSERT INTO search_pending (list, tenant_id, id, text)
    VALUES (1, NEW.tenant_id, NEW.product_org_id, NEW.name);
END;
-- Every update of an org's fields sets its name, changed or not: only a change adds a row.
CREATE TRIGGER product_orgs_renamed AFTER UPDATE OF name ON product_orgs
WHEN NEW.name IS NOT OLD.name BEGIN
    INSERT INTO search_pending (list, tenant_id, id, text)
    VALUES (1, NEW.tenant_id, NEW.product_org_id, NEW.name);
END;

-- A target org's id is its key, not searched.
CREATE VIRTUAL TABLE target_orgs_search USING fts5(
    tenant_id UNINDEXED, id UNINDEXED, name, tokenize = 'trigram', columnsize = 0);
INSERT INTO target_orgs_search (tenant_id, id, name)
SELECT tenant_id, id, name FROM target_orgs;
INSERT INTO target_orgs_search (target_orgs_search) VALUES ('optimize');
CREATE TRIGGER target_orgs_searched AFTER INSERT ON target_orgs BEGIN
    INSERT INTO search_pending (list, tenant_id, id, text)
    VALUES (2, NEW.tenant_id, NEW.id, NEW.name);
END;
-- Nothing renames target orgs today; should something come to, the new name is found.
CREATE TRIGGER target_orgs_renamed AFTER UPDATE OF name ON target_orgs
WHEN NEW.name IS NOT OLD.name BEGIN
    INSERT INTO search_pending (list, tenant_id, id, text)
    VALUES (2, NEW.tenant_id, NEW.id, NEW.name);
END;

CREATE VIRTUAL TABLE leads_search USING fts5(
    tenant_id UNINDEXED, lead_id, email, tokenize = 'trigram', columnsize = 0);
INSERT INTO leads_search (tenant_id, lead_id, email)
SELECT tenant_id, lead_id, email FROM leads;
INSERT INTO leads_search (leads_search) VALUES ('optimize');
CREATE TRIGGER leads_searched AFTER INSERT ON leads BEGIN
    INSERT INTO search_pending (list, tenant_id, id, text)
    VALUES (3, NEW.tenant_id, NEW.lead_id, NEW.email);
END;
-- Every signal of a known lead sets its email (an upsert): only a change adds a row.
CREATE TRIGGER leads_email_changed AFTER UPDATE OF email ON leads
WHEN NEW.email IS NOT OLD.email BEGIN
    INSERT INTO search_pending (list, tenant_id, id, text)
    VALUES (3, NEW.tenant_id, NEW.lead_id, NEW.email);
END;
