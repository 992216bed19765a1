-- The tenant: signing keys, connections, clients and their grants.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    private_key_pkcs8 BLOB NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE connections (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    strategy TEXT NOT NULL,
    options TEXT NOT NULL,          -- JSON object, Auth0's `options`
    enabled_clients TEXT NOT NULL   -- JSON array of client ids
);

CREATE TABLE clients (
    client_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    client_secret TEXT NOT NULL,
    app_type TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE client_grants (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    audience TEXT NOT NULL,
    scope TEXT NOT NULL,            -- JSON array of scopes
    UNIQUE (client_id, audience)
);

-- Users: one row per profile. Searchable attributes are columns; metadata and identities
-- are JSON text. Timestamps are ISO-8601 UTC text with milliseconds, which sorts correctly.
CREATE TABLE users (
    seq INTEGER PRIMARY KEY,        -- insertion order: the default listing order
    user_id TEXT NOT NULL UNIQUE,
    email TEXT,
    email_verified INTEGER,
    username TEXT,
    phone_number TEXT,
    phone_verified INTEGER,
    name TEXT,
    nickname TEXT,
    given_name TEXT,
    family_name TEXT,
    picture TEXT,
    blocked INTEGER,
    app_metadata TEXT,
    user_metadata TEXT,
    identities TEXT NOT NULL,
    multifactor TEXT,
    multifactor_last_modified TEXT,
    last_ip TEXT,
    last_login TEXT,
    logins_count INTEGER,
    last_password_reset TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Credentials: one row per identity, holding what must be unique within a connection.
-- The unique indexes are what make concurrent duplicate creates fail.
CREATE TABLE identities (
    provider TEXT NOT NULL,
    provider_user_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    connection TEXT NOT NULL,
    email TEXT,
    username TEXT,
    phone_number TEXT,
    password_hash TEXT,
    PRIMARY KEY (provider, provider_user_id)
);
CREATE UNIQUE INDEX identities_connection_email ON identities (connection, email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX identities_connection_username ON identities (connection, username) WHERE username IS NOT NULL;
CREATE UNIQUE INDEX identities_connection_phone ON identities (connection, phone_number) WHERE phone_number IS NOT NULL;
CREATE INDEX identities_user_id ON identities (user_id);
