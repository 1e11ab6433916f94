-- Newest-first listings of the whole audit trail (`pm-mcp audit`) without a full scan.
CREATE INDEX audit_events_at ON audit_events (at);
