-- Browser logins (/authorize, the login form, logout). A session's cookie carries its id and a
-- secret; only the secret's SHA-256 is kept (`cookie_hash`), so the id that ID tokens
-- (`sid`) and the Management API show cannot be turned into a cookie. Sessions made before
-- this migration (none: password grants open none) have no cookie.
--
-- An authorization code waits here, by its SHA-256, until it is exchanged once or expires;
-- what `/authorize` was asked (redirect_uri, PKCE challenge, scope, audience, nonce) is its
-- `document`. Number 0010 is taken by another branch's migration.
ALTER TABLE sessions ADD COLUMN cookie_hash TEXT;

CREATE TABLE authorization_codes (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    session_id TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE INDEX authorization_codes_expiry ON authorization_codes (expires_at);
