-- The sweep of history by age (--history-retention-days) finds the old rows by a block range
-- index: history is appended in arrival order, so each range of the table's blocks holds a
-- narrow span of times, and the index costs an update next to nothing (a B-tree by time would
-- be one more tree written at every change).
CREATE INDEX product_org_history_age ON product_org_history USING brin (received_at);
