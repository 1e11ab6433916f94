-- The web console. A session is a row (any replica serves it): the cookie holds a random token,
-- the row only its SHA-256; issued_by names the administrator whose sign-in link opened it (their
-- changes in it are audited with that administrator as the actor). A ticket is a one-time sign-in
-- link (kind 'link', for user_id; data names the administrator who made it, if one did) or an
-- OpenID Connect sign-in under way (kind 'oidc': its PKCE verifier and nonce in data), used at
-- most once before it expires.
CREATE TABLE console_sessions (
    token_hash  BYTEA PRIMARY KEY NOT NULL,
    user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issued_by   UUID,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX console_sessions_user_id ON console_sessions (user_id);

CREATE TABLE console_tickets (
    token_hash  BYTEA PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL,
    user_id     UUID REFERENCES users (id) ON DELETE CASCADE,
    data        TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);
CREATE INDEX console_tickets_expires_at ON console_tickets (expires_at);
