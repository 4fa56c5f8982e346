-- The sweep of signals by age (--signal-retention) finds the old ones by a block range index,
-- as history's does: signals are appended in arrival order, and the index costs an insert
-- next to nothing.
CREATE INDEX signals_received ON signals USING brin (received_at);
