-- Issue 10: what logins produce. Sessions, refresh tokens, brute-force counters and the log.
--
-- A session or refresh token's attributes that are only stored and shown (device, clients,
-- authentication methods, resource servers) are its JSON `document`; what is looked up,
-- ordered or expires has a column. Deleting a user deletes its sessions, refresh tokens and
-- counters, but not its log events: Auth0 keeps a deleted user's logs until they age out.

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    authenticated_at TEXT NOT NULL,
    last_interacted_at TEXT NOT NULL,
    idle_expires_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    document TEXT NOT NULL
);
-- A user's sessions in id order: the order of the checkpoint listing.
CREATE INDEX sessions_user ON sessions (user_id, id);

-- A refresh token as the Management API lists it. The token the client holds is only stored
-- as its SHA-256 (`token_hash`); a rotating token gets a new one at each exchange and its
-- previous hashes are kept as spent, so a spent token presented again is recognised as reuse.
-- `session_id` is not a foreign key: ending a session does not revoke the token (Auth0's
-- `DELETE /sessions/{id}`; `POST /sessions/{id}/revoke` does both).
CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    session_id TEXT,
    token_hash TEXT NOT NULL UNIQUE,
    rotating INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    idle_expires_at TEXT,
    expires_at TEXT,
    last_exchanged_at TEXT,
    document TEXT NOT NULL
);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id, id);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE spent_refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    refresh_token_id TEXT NOT NULL REFERENCES refresh_tokens (id) ON DELETE CASCADE,
    spent_at TEXT NOT NULL
);
CREATE INDEX spent_refresh_tokens_token ON spent_refresh_tokens (refresh_token_id);

-- Brute-force protection: failed logins in a row, per user and IP address, and when the pair
-- was blocked. A successful login or an unblock deletes the row.
CREATE TABLE login_failures (
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    ip TEXT NOT NULL,
    connection TEXT NOT NULL,
    identifier TEXT NOT NULL,
    failures INTEGER NOT NULL,
    blocked_at TEXT,
    PRIMARY KEY (user_id, ip)
);

-- The log: append-only, and the table that grows fastest. `seq` is the order events were
-- written, which the checkpoint listing (`from`/`take`) follows; `date` bounds retention.
CREATE TABLE logs (
    seq INTEGER PRIMARY KEY,
    log_id TEXT NOT NULL UNIQUE,
    date TEXT NOT NULL,
    type TEXT NOT NULL,
    user_id TEXT,
    client_id TEXT,
    connection TEXT,
    ip TEXT,
    user_name TEXT,
    document TEXT NOT NULL
);
CREATE INDEX logs_user ON logs (user_id, date);
CREATE INDEX logs_date ON logs (date);
CREATE INDEX logs_type ON logs (type, seq);
CREATE INDEX logs_client ON logs (client_id, seq);

-- A login rewrites `last_login`, `last_ip` and `logins_count`; the trigram index only needs
-- rewriting when a column it holds changes.
DROP TRIGGER users_trigram_update;
CREATE TRIGGER users_trigram_update
AFTER UPDATE OF user_id, email_ci, name_ci, given_name_ci, family_name_ci, nickname_ci, username, phone_number ON users
BEGIN
    INSERT INTO users_trigram (users_trigram, rowid, user_id, email_ci, name_ci, given_name_ci, family_name_ci, nickname_ci, username, phone_number)
    VALUES ('delete', old.seq, old.user_id, old.email_ci, old.name_ci, old.given_name_ci, old.family_name_ci, old.nickname_ci, old.username, old.phone_number);
    INSERT INTO users_trigram (rowid, user_id, email_ci, name_ci, given_name_ci, family_name_ci, nickname_ci, username, phone_number)
    VALUES (new.seq, new.user_id, new.email_ci, new.name_ci, new.given_name_ci, new.family_name_ci, new.nickname_ci, new.username, new.phone_number);
END;
