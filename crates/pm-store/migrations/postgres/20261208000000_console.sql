-- The web console. A session is a row (any replica serves it): the cookie holds a random token,
-- the row only its SHA-256. A ticket is a one-time sign-in link (kind 'link', for user_id) or an
-- OpenID Connect sign-in under way (kind 'oidc': its PKCE verifier, nonce and return path in
-- data), used at most once before it expires.
CREATE TABLE console_sessions (
    token_hash  BYTEA PRIMARY KEY NOT NULL,
    user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
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
