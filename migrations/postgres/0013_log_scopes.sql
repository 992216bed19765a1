-- A Management API event (`sapi`, `fapi`) lists its caller's scopes, ~240 for a token of every
-- scope: most of the event's bytes, written with every write. A tenant's writes come from a
-- few tokens, so each scope array is kept once, by a digest of its text (`log_event::Scopes`),
-- and an event names it (`scopes_key`). Events written before keep their scopes in their
-- document. A retention delete leaves the arrays: a few, small.
CREATE TABLE log_scopes (
    key TEXT PRIMARY KEY,
    scopes JSON NOT NULL
);
ALTER TABLE logs ADD COLUMN scopes_key TEXT;
