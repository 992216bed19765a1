-- User search (issue 3): case-folded copies of the case-insensitive attributes, B-tree indexes
-- for equality, prefixes and ranges, a trigram index for suffix and contains patterns, and a
-- side table of metadata leaves for metadata equality. The store fills the new columns and the
-- side table on every write, and rebuilds them on start when `search_index_version` is behind.

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

ALTER TABLE users ADD COLUMN email_ci TEXT;
ALTER TABLE users ADD COLUMN email_domain_ci TEXT;
ALTER TABLE users ADD COLUMN name_ci TEXT;
ALTER TABLE users ADD COLUMN given_name_ci TEXT;
ALTER TABLE users ADD COLUMN family_name_ci TEXT;
ALTER TABLE users ADD COLUMN nickname_ci TEXT;

CREATE INDEX users_email_ci ON users (email_ci);
CREATE INDEX users_email_domain_ci ON users (email_domain_ci);
CREATE INDEX users_name_ci ON users (name_ci);
CREATE INDEX users_given_name_ci ON users (given_name_ci);
CREATE INDEX users_family_name_ci ON users (family_name_ci);
CREATE INDEX users_nickname_ci ON users (nickname_ci);
CREATE INDEX users_username ON users (username);
CREATE INDEX users_phone_number ON users (phone_number);
CREATE INDEX users_created_at ON users (created_at);
CREATE INDEX users_updated_at ON users (updated_at);
CREATE INDEX users_last_login ON users (last_login);
CREATE INDEX users_logins_count ON users (logins_count);

CREATE INDEX identities_connection ON identities (connection, user_id);
CREATE INDEX identities_provider_user_id ON identities (provider_user_id);

-- Metadata leaves: one row per scalar, with arrays flattened (`addresses.city` for
-- `{"addresses":[{"city":"Paris"}]}`), as Auth0 indexes them. `source` 0 = app, 1 = user.
CREATE TABLE user_metadata_values (
    seq INTEGER NOT NULL REFERENCES users (seq) ON DELETE CASCADE,
    source INTEGER NOT NULL,
    path TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX user_metadata_values_lookup ON user_metadata_values (source, path, value, seq);
CREATE INDEX user_metadata_values_seq ON user_metadata_values (seq);

-- Trigram index over the attributes that take `*suffix` and `*contains*` patterns. It reads
-- its content from `users` (no second copy) and follows it through these triggers.
CREATE VIRTUAL TABLE users_trigram USING fts5 (
    user_id, email_ci, name_ci, given_name_ci, family_name_ci, nickname_ci, username, phone_number,
    content = 'users', content_rowid = 'seq', tokenize = 'trigram case_sensitive 1'
);
CREATE TRIGGER users_trigram_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_trigram (rowid, user_id, email_ci, name_ci, given_name_ci, family_name_ci, nickname_ci, username, phone_number)
    VALUES (new.seq, new.user_id, new.email_ci, new.name_ci, new.given_name_ci, new.family_name_ci, new.nickname_ci, new.username, new.phone_number);
END;
CREATE TRIGGER users_trigram_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_trigram (users_trigram, rowid, user_id, email_ci, name_ci, given_name_ci, family_name_ci, nickname_ci, username, phone_number)
    VALUES ('delete', old.seq, old.user_id, old.email_ci, old.name_ci, old.given_name_ci, old.family_name_ci, old.nickname_ci, old.username, old.phone_number);
END;
CREATE TRIGGER users_trigram_update AFTER UPDATE ON users BEGIN
    INSERT INTO users_trigram (users_trigram, rowid, user_id, email_ci, name_ci, given_name_ci, family_name_ci, nickname_ci, username, phone_number)
    VALUES ('delete', old.seq, old.user_id, old.email_ci, old.name_ci, old.given_name_ci, old.family_name_ci, old.nickname_ci, old.username, old.phone_number);
    INSERT INTO users_trigram (rowid, user_id, email_ci, name_ci, given_name_ci, family_name_ci, nickname_ci, username, phone_number)
    VALUES (new.seq, new.user_id, new.email_ci, new.name_ci, new.given_name_ci, new.family_name_ci, new.nickname_ci, new.username, new.phone_number);
END;
