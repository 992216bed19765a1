-- User search (issue 3), as migrations/sqlite/0002: case-folded copies of the case-insensitive
-- attributes, B-tree indexes for equality, prefixes and ranges, trigram (pg_trgm) GIN indexes
-- for suffix and contains patterns, and a side table of metadata leaves for metadata equality.
-- The store fills the new columns and the side table on every write, and rebuilds them on
-- start when `search_index_version` is behind.
--
-- B-tree indexes are declared NULLS FIRST so that one index serves both listing orders the
-- store uses (ASC NULLS FIRST forwards, DESC NULLS LAST backwards), which are SQLite's orders.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

ALTER TABLE users
    ADD COLUMN email_ci TEXT COLLATE "C",
    ADD COLUMN email_domain_ci TEXT COLLATE "C",
    ADD COLUMN name_ci TEXT COLLATE "C",
    ADD COLUMN given_name_ci TEXT COLLATE "C",
    ADD COLUMN family_name_ci TEXT COLLATE "C",
    ADD COLUMN nickname_ci TEXT COLLATE "C";

CREATE INDEX users_email_ci ON users (email_ci NULLS FIRST);
CREATE INDEX users_email_domain_ci ON users (email_domain_ci NULLS FIRST);
CREATE INDEX users_name_ci ON users (name_ci NULLS FIRST);
CREATE INDEX users_given_name_ci ON users (given_name_ci NULLS FIRST);
CREATE INDEX users_family_name_ci ON users (family_name_ci NULLS FIRST);
CREATE INDEX users_nickname_ci ON users (nickname_ci NULLS FIRST);
CREATE INDEX users_username ON users (username NULLS FIRST);
CREATE INDEX users_phone_number ON users (phone_number NULLS FIRST);
CREATE INDEX users_created_at ON users (created_at NULLS FIRST);
CREATE INDEX users_updated_at ON users (updated_at NULLS FIRST);
CREATE INDEX users_last_login ON users (last_login NULLS FIRST);
CREATE INDEX users_logins_count ON users (logins_count NULLS FIRST);

CREATE INDEX identities_connection ON identities (connection, user_id);
CREATE INDEX identities_provider_user_id ON identities (provider_user_id);

-- Metadata leaves: one row per scalar, with arrays flattened (`addresses.city` for
-- `{"addresses":[{"city":"Paris"}]}`), as Auth0 indexes them. `source` 0 = app, 1 = user.
CREATE TABLE user_metadata_values (
    seq BIGINT NOT NULL REFERENCES users (seq) ON DELETE CASCADE,
    source SMALLINT NOT NULL,
    path TEXT COLLATE "C" NOT NULL,
    value TEXT COLLATE "C" NOT NULL
);
CREATE INDEX user_metadata_values_lookup ON user_metadata_values (source, path, value, seq);
CREATE INDEX user_metadata_values_seq ON user_metadata_values (seq);

-- Trigram indexes over the attributes that take `*suffix` and `*contains*` patterns (the
-- columns SQLite's users_trigram FTS5 table covers). pg_trgm folds case when it extracts
-- trigrams, so a LIKE on a case-sensitive column uses the index to find candidates and
-- rechecks them.
CREATE INDEX users_user_id_trgm ON users USING gin (user_id gin_trgm_ops);
CREATE INDEX users_email_ci_trgm ON users USING gin (email_ci gin_trgm_ops);
CREATE INDEX users_name_ci_trgm ON users USING gin (name_ci gin_trgm_ops);
CREATE INDEX users_given_name_ci_trgm ON users USING gin (given_name_ci gin_trgm_ops);
CREATE INDEX users_family_name_ci_trgm ON users USING gin (family_name_ci gin_trgm_ops);
CREATE INDEX users_nickname_ci_trgm ON users USING gin (nickname_ci gin_trgm_ops);
CREATE INDEX users_username_trgm ON users USING gin (username gin_trgm_ops);
CREATE INDEX users_phone_number_trgm ON users USING gin (phone_number gin_trgm_ops);
