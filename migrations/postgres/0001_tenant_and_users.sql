-- The PostgreSQL schema mirrors migrations/sqlite/ version for version, so that a migration
-- number means the same change on both stores.
--
-- Text columns that search or listings compare or order use COLLATE "C": byte order, as SQLite
-- compares, so both stores sort alike, and B-tree indexes serve prefix range scans whatever the
-- database's default locale. Timestamps are timestamptz (rendered by domain::time, so responses
-- match SQLite's byte for byte). Documents rendered back to clients (metadata, identities,
-- connection options) are `json`, which keeps their text, key order included; `jsonb` would
-- reorder keys. Metadata search uses the side table of migration 0002 instead.

-- The tenant: signing keys, connections, clients and their grants.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    private_key_pkcs8 BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE connections (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    strategy TEXT NOT NULL,
    options JSON NOT NULL,            -- Auth0's `options`
    enabled_clients JSONB NOT NULL,   -- array of client ids
    CONSTRAINT connections_name_key UNIQUE (name)
);

CREATE TABLE clients (
    client_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    client_secret TEXT NOT NULL,
    app_type TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX clients_name ON clients (name);

CREATE TABLE client_grants (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
    audience TEXT NOT NULL,
    scope JSONB NOT NULL,             -- array of scopes
    CONSTRAINT client_grants_client_audience_key UNIQUE (client_id, audience)
);

-- Users: one row per profile. Searchable attributes are columns.
CREATE TABLE users (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,   -- insertion order: the default listing order
    user_id TEXT COLLATE "C" NOT NULL,
    email TEXT COLLATE "C",
    email_verified BOOLEAN,
    username TEXT COLLATE "C",
    phone_number TEXT COLLATE "C",
    phone_verified BOOLEAN,
    name TEXT COLLATE "C",
    nickname TEXT COLLATE "C",
    given_name TEXT COLLATE "C",
    family_name TEXT COLLATE "C",
    picture TEXT,
    blocked BOOLEAN,
    app_metadata JSON,
    user_metadata JSON,
    identities JSON NOT NULL,
    multifactor JSON,
    multifactor_last_modified TIMESTAMPTZ,
    last_ip TEXT,
    last_login TIMESTAMPTZ,
    logins_count BIGINT,
    last_password_reset TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT users_user_id_key UNIQUE (user_id)
);

-- Credentials: one row per identity, holding what must be unique within a connection.
-- The unique indexes are what make concurrent duplicate creates fail; the store maps a
-- violation to the rule it broke by the index's name.
CREATE TABLE identities (
    provider TEXT NOT NULL,
    provider_user_id TEXT COLLATE "C" NOT NULL,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    connection TEXT NOT NULL,
    email TEXT,
    username TEXT,
    phone_number TEXT,
    password_hash TEXT,
    CONSTRAINT identities_pkey PRIMARY KEY (provider, provider_user_id)
);
CREATE UNIQUE INDEX identities_connection_email ON identities (connection, email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX identities_connection_username ON identities (connection, username) WHERE username IS NOT NULL;
CREATE UNIQUE INDEX identities_connection_phone ON identities (connection, phone_number) WHERE phone_number IS NOT NULL;
CREATE INDEX identities_user_id ON identities (user_id);
