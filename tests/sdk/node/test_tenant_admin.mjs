#!/usr/bin/env node
// SDK compatibility suite, connections, clients and client grants: drives a running Roster server
// with the node `auth0` SDK (v7). Same environment and conventions as every suite here
// (harness.mjs: ROSTER_URL or PORT, CLIENT_ID, CLIENT_SECRET, SDK_NODE_DIR; `N passed, N failed` at
// the end, non-zero exit on failure). Covers connections (the checkpoint pager, a password policy
// that applies to the next user, enabled clients, deletion taking the users), clients (the offset
// pager, rotateSecret), client grants, and a new machine-to-machine client whose own
// ManagementClient gets a token with just its grant's scopes. Everything it creates is its own and
// is deleted at the end.

import { inspect } from "node:util";

import {
  BASE_PATH, AUDIENCE, CLIENT_ID, RUN, Management, exchanges, last, lastJson, managementClient, state, show, eq, ok, test,
  expectError, all, begin, finish,
} from "./harness.mjs";

const DB = `node-db-${RUN}`;
const managementFor = (clientId, clientSecret) => managementClient({ clientId, clientSecret });

begin("connections, clients and grants");
const client = managementClient();

await test("connections.list: the checkpoint pager and a strategy filter", [], async () => {
  const names = (await all(client.connections.list())).map((c) => c.name);
  ok(names.includes("Username-Password-Authentication"), `names: ${show(names)}`);
  const passwordless = (await all(client.connections.list({ strategy: ["email", "sms"] }))).map((c) => c.strategy).sort();
  eq(passwordless, ["email", "sms"], "strategies");
});

await test("connections.create / get / update; the policy applies to the next user", [], async () => {
  const created = await client.connections.create({ name: DB, strategy: "auth0", options: { passwordPolicy: "excellent" } });
  eq(last().status, 201, "status");
  ok(/^con_[A-Za-z0-9]{16}$/.test(created.id), `id ${created.id}`);
  eq([lastJson().options.passwordPolicy, lastJson().realms], ["excellent", [DB]], "raw answer");
  state.db = created.id;
  eq((await client.connections.get(created.id)).name, DB, "get");
  const disabled = await expectError(
    client.users.create({ connection: DB, email: `early-${RUN}@example.org`, password: "Corr3ct-Horse-Battery!" }),
    "a connection not enabled for the client",
  );
  eq(
    disabled.body?.message,
    `Connection must be enabled for this client to perform single user creation and signup operations (client_id: ${CLIENT_ID} - connection: ${DB})`,
    "400 message",
  );
  await client.connections.clients.update(created.id, [{ client_id: CLIENT_ID, status: true }]);
  const weak = await expectError(
    client.users.create({ connection: DB, email: `weak-${RUN}@example.org`, password: "Passw0rd!" }),
    "a weak password",
  );
  ok(weak instanceof Management.BadRequestError, `not a BadRequestError: ${inspect(weak)}`);
  eq(weak.body?.message, "PasswordStrengthError: Password is too weak", "400 message");
  state.user = (await client.users.create({ connection: DB, email: `strong-${RUN}@example.org`, password: "Corr3ct-Horse-Battery!" })).user_id;
  const updated = await client.connections.update(created.id, { options: { passwordPolicy: "none" }, display_name: "Node DB" });
  eq([updated.display_name, updated.options.passwordPolicy], ["Node DB", "none"], "updated");
  await client.users.delete((await client.users.create({ connection: DB, email: `any-${RUN}@example.org`, password: "x" })).user_id);
});

await test("connections.clients.update / get", ["db"], async () => {
  const app = await client.clients.create({ name: `Node App ${RUN}`, app_type: "non_interactive" });
  eq(last().status, 201, "client create status");
  ok(/^[A-Za-z0-9]{32}$/.test(app.client_id) && /^[A-Za-z0-9]{64}$/.test(app.client_secret), `ids: ${show(app)}`);
  state.app = app;
  await client.connections.clients.update(state.db, [{ client_id: app.client_id, status: true }]);
  eq(last().status, 204, "PATCH status");
  eq((await all(client.connections.clients.get(state.db))).map((c) => c.client_id), [CLIENT_ID, app.client_id], "enabled");
});

await test("clients.get / update / list; 404 NotFoundError", ["app"], async () => {
  const app = state.app;
  const updated = await client.clients.update(app.client_id, { description: "from node", jwt_configuration: { alg: "RS256" } });
  eq([updated.description, updated.jwt_configuration], ["from node", { secret_encoded: false, lifetime_in_seconds: 36000, alg: "RS256" }], "updated");
  eq((await client.clients.get(app.client_id)).description, "from node", "get");
  const listed = (await all(client.clients.list({ per_page: 1 }))).map((c) => c.client_id);
  ok(listed.includes(app.client_id) && listed.includes(CLIENT_ID), `listed: ${show(listed)}`);
  const missing = await expectError(client.clients.get(`nope${RUN}`), "get of an unknown client");
  ok(missing instanceof Management.NotFoundError, `not a NotFoundError: ${inspect(missing)}`);
  eq(missing.body, { statusCode: 404, error: "Not Found", message: "The client does not exist", errorCode: "inexistent_client" }, "404 body");
});

await test("clientGrants.create / list / update; the new client's own token", ["app"], async () => {
  const app = state.app;
  const grant = await client.clientGrants.create({ client_id: app.client_id, audience: AUDIENCE, scope: ["read:users"] });
  eq(lastJson(), { id: grant.id, client_id: app.client_id, audience: AUDIENCE, scope: ["read:users"] }, "raw create answer");
  state.grant = grant.id;
  eq((await all(client.clientGrants.list({ client_id: app.client_id }))).map((g) => g.id), [grant.id], "listed");
  const reader = managementFor(app.client_id, app.client_secret);
  await all(reader.users.list());
  const denied = await expectError(reader.users.create({ connection: DB, email: `denied-${RUN}@example.org`, password: "x" }), "create with read:users");
  ok(denied instanceof Management.ForbiddenError, `not a ForbiddenError: ${inspect(denied)}`);
  eq(denied.body?.message, "Insufficient scope, expected any of: create:users", "403 message");
  eq((await client.clientGrants.update(grant.id, { scope: ["read:users", "create:users"] })).scope, ["read:users", "create:users"], "widened");
});

await test("clients.rotateSecret: the old secret gets no token", ["grant"], async () => {
  const app = state.app;
  const rotated = await client.clients.rotateSecret(app.client_id);
  ok(/^[A-Za-z0-9]{64}$/.test(rotated.client_secret) && rotated.client_secret !== app.client_secret, "a new secret");
  await expectError(all(managementFor(app.client_id, app.client_secret).users.list()), "the old secret");
  ok(exchanges.some((x) => x.url.pathname === `${BASE_PATH}/oauth/token` && x.status === 401), "the token request was refused");
  await all(managementFor(app.client_id, rotated.client_secret).users.list());
});

await test("connections.delete: 202, and the connection's users are gone", ["db"], async () => {
  await client.connections.delete(state.db);
  eq([last().status, Object.keys(lastJson())], [202, ["deleted_at"]], "answer");
  const missing = await expectError(client.users.get(state.user), "get of a deleted connection's user");
  ok(missing instanceof Management.NotFoundError, `not a NotFoundError: ${inspect(missing)}`);
  delete state.db;
});

if (state.grant) await client.clientGrants.delete(state.grant).catch(() => {});
if (state.app) await client.clients.delete(state.app.client_id).catch(() => {});
if (state.db) await client.connections.delete(state.db).catch(() => {});

finish();
