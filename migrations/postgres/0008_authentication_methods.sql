-- Issue 9: a user's MFA and passwordless authentication methods, and the moment their
-- remembered browsers stopped counting. See migrations/sqlite/0008 for the design.
CREATE TABLE authentication_methods (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    confirmed BOOLEAN NOT NULL,
    document JSON NOT NULL,
    secret TEXT,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX authentication_methods_user ON authentication_methods (user_id, seq);

ALTER TABLE users ADD COLUMN remember_browser_invalidated_at TIMESTAMPTZ;
