-- What moving from the reference server (and serving its agent backend) needs.
-- external_id: the id another system gives a connection (the agent backend's backend_provider_id),
-- unique per user; display_name: a free-form name ("My JIRA") beside the handle.
ALTER TABLE pm_provider_connections ADD COLUMN external_id TEXT;
ALTER TABLE pm_provider_connections ADD COLUMN display_name TEXT;
CREATE UNIQUE INDEX pm_provider_connections_external_id
    ON pm_provider_connections (user_id, external_id) WHERE external_id IS NOT NULL;
-- The cache of a user's connections is keyed on these too.
DROP TRIGGER auth_epoch_connection_changed;
CREATE TRIGGER auth_epoch_connection_changed AFTER UPDATE OF user_id, name, provider_type, base_url, auth_kind, credentials_ciphertext, key_id, config, is_default, is_active, external_id, display_name
    ON pm_provider_connections
BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
-- A key imported from the reference server (`pm-mcp import`): it keeps working as the same string,
-- of which only the hash is stored here, like every key.
ALTER TABLE user_mcp_api_keys ADD COLUMN imported_at TEXT;
-- A tool call a service key made for a named user (X-PM-MCP-Act-As): user_id is that user,
-- actor_user_id the key's owner. NULL when the caller acted as themselves.
ALTER TABLE audit_events ADD COLUMN actor_user_id BLOB;
