-- Browser logins: session cookies and authorization codes. See migrations/sqlite/0011.
ALTER TABLE sessions ADD COLUMN cookie_hash TEXT;

CREATE TABLE authorization_codes (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT COLLATE "C" NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    session_id TEXT COLLATE "C" NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    document JSON NOT NULL
);
CREATE INDEX authorization_codes_expiry ON authorization_codes (expires_at);
