-- Issue 5: the tenant objects behind a user's roles, permissions and organizations.
--
-- Every assignment references what it assigns with ON DELETE CASCADE, so deleting a role, a
-- permission (a resource server's scope), a resource server, an organization or a user removes
-- every assignment that pointed at it: nothing dangles. Consequence for writers: changing a
-- resource server's scopes must delete only the scopes that went away (deleting them all and
-- inserting again would drop every assignment of the ones that stayed).
--
-- Attributes that are only stored and returned (token settings, branding, metadata) live in a
-- JSON `document`; what is looked up, unique or ordered has a column.

CREATE TABLE resource_servers (
    id TEXT PRIMARY KEY,                 -- 24 hex characters, as Auth0's
    identifier TEXT NOT NULL UNIQUE,     -- the audience
    name TEXT NOT NULL,
    document TEXT NOT NULL,              -- JSON object: the other attributes
    created_at TEXT NOT NULL
);

-- A resource server's scopes are the permissions roles and users can be given.
CREATE TABLE resource_server_scopes (
    resource_server_id TEXT NOT NULL REFERENCES resource_servers (id) ON DELETE CASCADE,
    value TEXT NOT NULL,
    description TEXT,
    position INTEGER NOT NULL,           -- order as given
    PRIMARY KEY (resource_server_id, value)
);

CREATE TABLE roles (
    id TEXT PRIMARY KEY,                 -- rol_ + 16 alphanumerics
    name TEXT NOT NULL UNIQUE,
    description TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE role_permissions (
    role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    resource_server_id TEXT NOT NULL,
    permission_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (role_id, resource_server_id, permission_name),
    FOREIGN KEY (resource_server_id, permission_name)
        REFERENCES resource_server_scopes (resource_server_id, value) ON DELETE CASCADE
);
CREATE INDEX role_permissions_scope ON role_permissions (resource_server_id, permission_name);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_role ON user_roles (role_id, user_id);

CREATE TABLE user_permissions (
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    resource_server_id TEXT NOT NULL,
    permission_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, resource_server_id, permission_name),
    FOREIGN KEY (resource_server_id, permission_name)
        REFERENCES resource_server_scopes (resource_server_id, value) ON DELETE CASCADE
);
CREATE INDEX user_permissions_scope ON user_permissions (resource_server_id, permission_name);

CREATE TABLE organizations (
    id TEXT PRIMARY KEY,                 -- org_ + 16 alphanumerics
    name TEXT NOT NULL UNIQUE,
    display_name TEXT,
    document TEXT NOT NULL,              -- JSON object: branding, metadata, ...
    created_at TEXT NOT NULL
);

CREATE TABLE organization_members (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX organization_members_user ON organization_members (user_id, organization_id);

CREATE TABLE organization_member_roles (
    organization_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (organization_id, user_id, role_id),
    FOREIGN KEY (organization_id, user_id)
        REFERENCES organization_members (organization_id, user_id) ON DELETE CASCADE
);
CREATE INDEX organization_member_roles_role ON organization_member_roles (role_id);
