-- The HTTP request a tool call came in (its X-Request-Id), to join audit rows with log lines;
-- NULL for stdio and legacy SSE calls and for rows written before it existed.
ALTER TABLE audit_events ADD COLUMN request_id TEXT;
