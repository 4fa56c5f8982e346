-- The fields an applied update of an existing product org changed (a JSON array of their
-- names as history names them), kept with its log entry: key health counts them from the log
-- it already reads instead of looking up each org's history. NULL for every other entry, and
-- for the entries logged before this column (key health then counts them as changing nothing
-- for the day they stay in its window).
ALTER TABLE deliveries ADD COLUMN changed_fields text;
