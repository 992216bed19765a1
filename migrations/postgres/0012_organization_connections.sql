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
    document JSON NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (organization_id, connection_id)
);
CREATE INDEX organization_connections_connection ON organization_connections (connection_id);

INSERT INTO organization_connections (organization_id, connection_id, document, created_at)
SELECT o.id, e.value ->> 'connection_id', (e.value::jsonb - 'connection_id')::json, o.created_at
FROM organizations o, json_array_elements(o.document -> 'enabled_connections') AS e (value)
WHERE json_typeof(o.document -> 'enabled_connections') = 'array'
  AND EXISTS (SELECT 1 FROM connections c WHERE c.id = e.value ->> 'connection_id')
ON CONFLICT DO NOTHING;

-- Key by key, so the document keeps its order (json, not jsonb).
UPDATE organizations o
SET document = (SELECT COALESCE(json_object_agg(d.key, d.value), '{}'::json)
                FROM json_each(o.document) AS d WHERE d.key <> 'enabled_connections')
WHERE o.document -> 'enabled_connections' IS NOT NULL;

CREATE TABLE organization_client_grants (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    grant_id TEXT NOT NULL REFERENCES client_grants (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (organization_id, grant_id)
);
CREATE INDEX organization_client_grants_grant ON organization_client_grants (grant_id);
