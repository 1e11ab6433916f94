-- A counter that moves whenever anything authentication (or a user's connection list) depends on changes (a key revoked,
-- re-scoped, re-dated or deleted; a user disabled, changed or deleted), whoever writes it: the
-- server, the CLI, another replica, an operator's SQL. Servers cache verified keys and drop the
-- cache when the counter moves. Using a key (last_used_at) does not move it.
CREATE TABLE auth_epoch (
    id    INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO auth_epoch (id, value) VALUES (1, 0);

CREATE TRIGGER auth_epoch_key_changed AFTER UPDATE OF revoked_at, expires_at, scopes, toolsets, key_hash, user_id
    ON user_mcp_api_keys
BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER auth_epoch_key_deleted AFTER DELETE ON user_mcp_api_keys
BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER auth_epoch_user_changed AFTER UPDATE OF disabled_at, is_admin, email ON users
BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER auth_epoch_user_deleted AFTER DELETE ON users
BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;

-- A user's tracker connections are cached the same way (added, removed, re-pointed, re-keyed,
-- made default); recording a connection test does not move the epoch.
CREATE TRIGGER auth_epoch_connection_added AFTER INSERT ON pm_provider_connections
BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER auth_epoch_connection_changed AFTER UPDATE OF user_id, name, provider_type, base_url, auth_kind, credentials_ciphertext, key_id, config, is_default, is_active
    ON pm_provider_connections
BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
CREATE TRIGGER auth_epoch_connection_deleted AFTER DELETE ON pm_provider_connections
BEGIN
    UPDATE auth_epoch SET value = value + 1 WHERE id = 1;
END;
