-- pm-mcp's own tables (PostgreSQL).
CREATE TABLE users (
    id          UUID PRIMARY KEY,
    email       TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    is_admin    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    disabled_at TIMESTAMPTZ
);

CREATE TABLE user_mcp_api_keys (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    key_prefix   TEXT NOT NULL,
    key_hash     BYTEA NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    toolsets     TEXT,
    expires_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX user_mcp_api_keys_user_id ON user_mcp_api_keys (user_id);

CREATE TABLE pm_provider_connections (
    id                     UUID PRIMARY KEY,
    user_id                UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name                   TEXT NOT NULL,
    provider_type          TEXT NOT NULL,
    base_url               TEXT NOT NULL,
    auth_kind              TEXT NOT NULL,
    credentials_ciphertext BYTEA NOT NULL,
    key_id                 TEXT NOT NULL,
    config                 JSONB NOT NULL DEFAULT '{}'::jsonb,
    is_default             BOOLEAN NOT NULL DEFAULT FALSE,
    is_active              BOOLEAN NOT NULL DEFAULT TRUE,
    last_checked_at        TIMESTAMPTZ,
    last_error             TEXT,
    created_at             TIMESTAMPTZ NOT NULL,
    updated_at             TIMESTAMPTZ NOT NULL,
    UNIQUE (user_id, name)
);
CREATE UNIQUE INDEX pm_provider_connections_one_default
    ON pm_provider_connections (user_id) WHERE is_default;

-- History outlives the rows it names, so no foreign keys here; never arguments or secrets.
CREATE TABLE audit_events (
    id            UUID PRIMARY KEY,
    at            TIMESTAMPTZ NOT NULL,
    user_id       UUID,
    key_id        UUID,
    tool          TEXT NOT NULL,
    connection_id UUID,
    outcome       TEXT NOT NULL,
    duration_ms   BIGINT NOT NULL,
    error_kind    TEXT
);
CREATE INDEX audit_events_user_at ON audit_events (user_id, at);
