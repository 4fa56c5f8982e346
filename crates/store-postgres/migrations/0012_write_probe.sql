-- The table that `/readyz` writes to while the store's writes fail, to find out whether they
-- commit again when no update comes to show it (trailspark_store_postgres::transactions): each
-- probe empties it and fills new pages with rows (see there why).
CREATE TABLE write_probe (
    probed_at TIMESTAMPTZ NOT NULL
);
