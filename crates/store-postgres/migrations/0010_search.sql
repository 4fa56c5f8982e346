-- Trigram indexes for the lists' search (issue 19). A search is `ILIKE '%term%'`; a term that
-- few rows hold never fills a page, so the list walked the tenant's whole table (1.9 s for
-- the web UI's search at 1M rows). pg_trgm's GIN indexes serve `ILIKE` as the lists write
-- it, with its `\` escapes, and recheck each row, so the result is the same; the planner
-- takes them for a rare term and keeps the walk in key order for a common one (reads.rs,
-- `search_page`, plans each search for its term).
--
-- pg_trgm is a trusted extension: the database's owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX product_orgs_id_trgm ON product_orgs USING gin (product_org_id gin_trgm_ops);
CREATE INDEX product_orgs_name_trgm ON product_orgs USING gin (name gin_trgm_ops);
CREATE INDEX target_orgs_name_trgm ON target_orgs USING gin (name gin_trgm_ops);
CREATE INDEX leads_id_trgm ON leads USING gin (lead_id gin_trgm_ops);
CREATE INDEX leads_email_trgm ON leads USING gin (email gin_trgm_ops);
