-- 0003_acknowledged_index: `check` skips what the head of sales acknowledged; this keeps finding
-- those few rows cheap however long the violation history grows.
CREATE INDEX violations_acknowledged ON violations (tenant) WHERE resolution = 'acknowledged';
