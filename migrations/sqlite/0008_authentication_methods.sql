-- Issue 9: a user's MFA and passwordless authentication methods, and the moment their
-- remembered browsers stopped counting.
--
-- A method's Auth0 attributes that are only stored and shown (name, email, phone number, key
-- ids, ...) are its JSON `document`, unmasked; masking happens when it is rendered. `secret`
-- holds what a later login checks and no response ever shows: a TOTP method's shared secret,
-- or the SHA-256 of a recovery code. Deleting a user deletes its methods.
CREATE TABLE authentication_methods (
    seq INTEGER PRIMARY KEY,        -- creation order: the listing order
    id TEXT NOT NULL UNIQUE,        -- `<type>|dev_<16 alphanumerics>`
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    confirmed INTEGER NOT NULL,
    document TEXT NOT NULL,
    secret TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX authentication_methods_user ON authentication_methods (user_id, seq);

ALTER TABLE users ADD COLUMN remember_browser_invalidated_at TEXT;
