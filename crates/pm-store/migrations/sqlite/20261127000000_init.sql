-- pm-mcp's own tables (SQLite). Ids are UUIDs stored as 16-byte blobs; times are RFC 3339 text.
CREATE TABLE users (
    id          BLOB PRIMARY KEY NOT NULL,
    email       TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    is_admin    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    disabled_at TEXT
);

CREATE TABLE user_mcp_api_keys (
    id           BLOB PRIMARY KEY NOT NULL,
    user_id      BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    key_prefix   TEXT NOT NULL,
    key_hash     BLOB NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    toolsets     TEXT,
    expires_at   TEXT,
    last_used_at TEXT,
    revoked_at   TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX user_mcp_api_keys_user_id ON user_mcp_api_keys (user_id);

CREATE TABLE pm_provider_connections (
    id                     BLOB PRIMARY KEY NOT NULL,
    user_id                BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name                   TEXT NOT NULL,
    provider_type          TEXT NOT NULL,
    base_url               TEXT NOT NULL,
    auth_kind              TEXT NOT NULL,
    credentials_ciphertext BLOB NOT NULL,
    key_id                 TEXT NOT NULL,
    config                 TEXT NOT NULL DEFAULT '{}',
    is_default             BOOLEAN NOT NULL DEFAULT FALSE,
    is_active              BOOLEAN NOT NULL DEFAULT TRUE,
    last_checked_at        TEXT,
    last_error             TEXT,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL,
    UNIQUE (user_id, name)
);
CREATE UNIQUE INDEX pm_provider_connections_one_default
    ON pm_provider_connections (user_id) WHERE is_default;

-- History outlives the rows it names, so no foreign keys here; never arguments or secrets.
CREATE TABLE audit_events (
    id            BLOB PRIMARY KEY NOT NULL,
    at            TEXT NOT NULL,
    user_id       BLOB,
    key_id        BLOB,
    tool          TEXT NOT NULL,
    connection_id BLOB,
    outcome       TEXT NOT NULL,
    duration_ms   BIGINT NOT NULL,
    error_kind    TEXT
);
CREATE INDEX audit_events_user_at ON audit_events (user_id, at);
