-- An organization's connections and client grants, each a row that goes with the organization
-- and with what it names (deleting a connection or a client grant takes it off every
-- organization). `document` holds the flags as given (`assign_membership_on_login`,
-- `show_as_button`, `is_signup_enabled`, `is_enabled`, `organization_access_level`,
-- `organization_connection_name`), absent when never set.
--
-- Until now the connections a new organization enabled were kept in its document
-- (`enabled_connections`); they move here, those naming a connection that is gone are dropped.
CREATE TABLE organization_connections (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    document TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (organization_id, connection_id)
);
CREATE INDEX organization_connections_connection ON organization_connections (connection_id);

INSERT INTO organization_connections (organization_id, connection_id, document, created_at)
SELECT o.id, json_extract(e.value, '$.connection_id'), json_remove(e.value, '$.connection_id'), o.created_at
FROM organizations o, json_each(o.document, '$.enabled_connections') e
WHERE EXISTS (SELECT 1 FROM connections c WHERE c.id = json_extract(e.value, '$.connection_id'))
ON CONFLICT DO NOTHING;

UPDATE organizations SET document = json_remove(document, '$.enabled_connections')
WHERE json_type(document, '$.enabled_connections') IS NOT NULL;

CREATE TABLE organization_client_grants (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    grant_id TEXT NOT NULL REFERENCES client_grants (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (organization_id, grant_id)
);
CREATE INDEX organization_client_grants_grant ON organization_client_grants (grant_id);
