-- The row that `/readyz` rewrites while the store's writes fail, to find out whether they
-- commit again when no update comes to show it (trailspark_store_sqlite::writer::probe). One
-- row, made by the first probe; `room` is rewritten whole by each (see there why).
CREATE TABLE write_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    probes INTEGER NOT NULL,
    room BLOB NOT NULL
);
