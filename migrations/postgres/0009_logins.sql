-- Issue 10: what logins produce. See migrations/sqlite/0009 for the design.

CREATE TABLE sessions (
    id TEXT COLLATE "C" PRIMARY KEY,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    authenticated_at TIMESTAMPTZ NOT NULL,
    last_interacted_at TIMESTAMPTZ NOT NULL,
    idle_expires_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    document JSON NOT NULL
);
-- A user's sessions in id order: the order of the checkpoint listing.
CREATE INDEX sessions_user ON sessions (user_id, id);

-- A refresh token as the Management API lists it. The token the client holds is only stored
-- as its SHA-256 (`token_hash`); a rotating token gets a new one at each exchange and its
-- previous hashes are kept as spent, so a spent token presented again is recognised as reuse.
-- `session_id` is not a foreign key: ending a session does not revoke the token (Auth0's
-- `DELETE /sessions/{id}`; `POST /sessions/{id}/revoke` does both).
CREATE TABLE refresh_tokens (
    id TEXT COLLATE "C" PRIMARY KEY,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    client_id TEXT COLLATE "C" NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    session_id TEXT COLLATE "C",
    token_hash TEXT NOT NULL UNIQUE,
    rotating BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    idle_expires_at TIMESTAMPTZ,
    expires_at TIMESTAMPTZ,
    last_exchanged_at TIMESTAMPTZ,
    document JSON NOT NULL
);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id, id);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE spent_refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    refresh_token_id TEXT COLLATE "C" NOT NULL REFERENCES refresh_tokens (id) ON DELETE CASCADE,
    spent_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX spent_refresh_tokens_token ON spent_refresh_tokens (refresh_token_id);

-- Brute-force protection: failed logins in a row, per user and IP address, and when the pair
-- was blocked. A successful login or an unblock deletes the row.
CREATE TABLE login_failures (
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    ip TEXT NOT NULL,
    connection TEXT NOT NULL,
    identifier TEXT NOT NULL,
    failures BIGINT NOT NULL,
    blocked_at TIMESTAMPTZ,
    PRIMARY KEY (user_id, ip)
);

-- The log: append-only, and the table that grows fastest. `seq` is the order events were
-- written, which the checkpoint listing (`from`/`take`) follows; `date` bounds retention.
CREATE TABLE logs (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    log_id TEXT COLLATE "C" NOT NULL UNIQUE,
    date TIMESTAMPTZ NOT NULL,
    type TEXT NOT NULL,
    user_id TEXT COLLATE "C",
    client_id TEXT COLLATE "C",
    connection TEXT,
    ip TEXT,
    user_name TEXT,
    document JSON NOT NULL
);
CREATE INDEX logs_user ON logs (user_id, date);
CREATE INDEX logs_date ON logs (date);
CREATE INDEX logs_type ON logs (type, seq);
CREATE INDEX logs_client ON logs (client_id, seq);
