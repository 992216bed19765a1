-- Issue 5: connections, clients and client grants as the Management API manages them.
--
-- Each table gets a JSON `document` for the Auth0 attributes that are only stored and shown
-- (a connection's display_name, realms and metadata; a client's grant_types, callbacks and
-- token settings; a grant's subject_type and organization settings); what is looked up, unique
-- or ordered keeps its column.
--
-- The clients default is the document of the management client the tenant creates on first
-- start, a machine-to-machine application (`domain::client::management_client_attributes`, a
-- unit test keeps the two equal): clients that exist when this migration runs are that client,
-- and the tenant bootstrap inserts it without a document. Clients created through the API
-- always write their own.

ALTER TABLE connections ADD COLUMN document TEXT NOT NULL DEFAULT '{}';
ALTER TABLE clients ADD COLUMN document TEXT NOT NULL DEFAULT '{"is_first_party":true,"is_token_endpoint_ip_header_trusted":false,"oidc_conformant":false,"jwt_configuration":{"secret_encoded":false,"lifetime_in_seconds":36000},"sso_disabled":false,"cross_origin_authentication":false,"grant_types":["client_credentials"],"custom_login_page_on":true,"refresh_token":{"rotation_type":"non-rotating","expiration_type":"non-expiring","leeway":0,"token_lifetime":31557600,"infinite_token_lifetime":true,"infinite_idle_token_lifetime":true,"idle_token_lifetime":2592000},"token_endpoint_auth_method":"client_secret_post"}';
ALTER TABLE client_grants ADD COLUMN document TEXT NOT NULL DEFAULT '{}';
