-- The sweep of signals by age (--signal-retention) finds the old ones by this index: signals
-- are kept in lead order (WITHOUT ROWID), so nothing else orders them by time. Each signal
-- adds its entry at the index's newest end, a page the writer already has.
CREATE INDEX signals_received ON signals (received_at);
