#!/usr/bin/env node
// SDK compatibility suite, roles and permissions: drives a running Roster server with the node
// `auth0` SDK (v7). Same environment and conventions as every suite here (harness.mjs: ROSTER_URL
// or PORT, CLIENT_ID, CLIENT_SECRET, SDK_NODE_DIR; `N passed, N failed` at the end, non-zero exit
// on failure). Covers roles (their offset pager, nameFilter), resource servers (by id and by
// identifier), role permissions, role users (the SDK's checkpoint pager), users.roles and
// users.permissions (with their sources), and the errors the SDK raises.

import { inspect } from "node:util";

import {
  AUDIENCE, CONNECTION, PASSWORD, RUN, Management, exchanges, last, lastJson, managementClient, state, show, eq, ok, test,
  expectError, all, begin, finish,
} from "./harness.mjs";

const ROLE_ID_RE = /^rol_[A-Za-z0-9]{16}$/;
const API = `https://node-api-${RUN}.example.com/`;

// The raw answer to the last request for page 0 of a listing (the SDK's pager asks on).
const firstPage = (pathEnd) => {
  const x = [...exchanges].reverse().find((e) => e.url.pathname.endsWith(pathEnd) && e.url.searchParams.get("page") === "0");
  if (!x) throw new Error(`no first page of ${pathEnd}`);
  return JSON.parse(x.text);
};

const perm = (name) => ({ resource_server_identifier: API, permission_name: name });

begin("roles and permissions");
const client = managementClient();

await test("resourceServers.create: 201 with Auth0's defaults", [], async () => {
  const rs = await client.resourceServers.create({
    identifier: API,
    name: `Node API ${RUN}`,
    scopes: [{ value: "read:things", description: "Read things" }, { value: "write:things", description: "Write things" }],
  });
  eq(last().status, 201, "status");
  eq(lastJson(), {
    id: rs.id, name: `Node API ${RUN}`, identifier: API,
    scopes: [{ value: "read:things", description: "Read things" }, { value: "write:things", description: "Write things" }],
    signing_alg: "RS256", allow_offline_access: false, token_lifetime: 86400, token_lifetime_for_web: 7200,
    skip_consent_for_verifiable_first_party_clients: false,
  }, "raw create answer");
  state.api = rs.id;
});

await test("resourceServers.get by id and by identifier; update; list", ["api"], async () => {
  eq((await client.resourceServers.get(state.api)).identifier, API, "get by id");
  eq((await client.resourceServers.get(API)).id, state.api, "get by identifier");
  const updated = await client.resourceServers.update(state.api, {
    token_lifetime: 3600,
    scopes: [{ value: "read:things", description: "Read things" }, { value: "write:things", description: "Write things" }, { value: "delete:things" }],
  });
  eq([updated.token_lifetime, updated.scopes.map((s) => s.value)], [3600, ["read:things", "write:things", "delete:things"]], "update");
  eq((await all(client.resourceServers.list({ identifiers: [API] }))).map((r) => r.id), [state.api], "list by identifier");
  const everything = await all(client.resourceServers.list({ per_page: 1 }));
  eq([everything[0].is_system, everything[0].identifier], [true, AUDIENCE], "the Management API comes first");
  ok(everything.some((r) => r.id === state.api), "the pager reaches the created server");
});

await test("resourceServers errors: 409 ConflictError, 400 BadRequestError, 404 NotFoundError", ["api"], async () => {
  const taken = await expectError(client.resourceServers.create({ identifier: API }), "create of a taken identifier");
  ok(taken instanceof Management.ConflictError, `not a ConflictError: ${inspect(taken)}`);
  const bad = await expectError(client.resourceServers.create({ identifier: `urn:${RUN}`, name: "<bad>" }), "create of a bad name");
  ok(bad instanceof Management.BadRequestError, `not a BadRequestError: ${inspect(bad)}`);
  eq(bad.body?.errorCode, "invalid_body", "400 errorCode");
  const missing = await expectError(client.resourceServers.get("000000000000000000000000"), "get of an unknown server");
  ok(missing instanceof Management.NotFoundError, `not a NotFoundError: ${inspect(missing)}`);
  eq(missing.body?.errorCode, "inexistent_resource_server", "404 errorCode");
});

await test("roles.create / get / update; conflict", [], async () => {
  const role = await client.roles.create({ name: `node-editor-${RUN}`, description: "Edits" });
  eq(last().status, 200, "create status (Auth0 answers 200)");
  ok(ROLE_ID_RE.test(role.id), `id ${role.id}`);
  eq(lastJson(), { id: role.id, name: `node-editor-${RUN}`, description: "Edits" }, "raw create answer");
  eq((await client.roles.get(role.id)).name, `node-editor-${RUN}`, "get");
  eq((await client.roles.update(role.id, { description: "Edits things" })).description, "Edits things", "update");
  const taken = await expectError(client.roles.create({ name: `node-editor-${RUN}` }), "create of a taken name");
  ok(taken instanceof Management.ConflictError, `not a ConflictError: ${inspect(taken)}`);
  eq(taken.body?.message, "The role already exists.", "409 message");
  state.role = role.id;
  state.admin = (await client.roles.create({ name: `node-admin-${RUN}` })).id;
});

await test("roles.list: the offset pager and name_filter", ["role"], async () => {
  const names = [0, 1, 2, 3, 4].map((i) => `node-many-${RUN}-${i}`);
  state.extraRoles = [];
  for (const name of names) state.extraRoles.push((await client.roles.create({ name })).id);
  const seen = (await all(client.roles.list({ per_page: 2, name_filter: `NODE-MANY-${RUN}` }))).map((r) => r.name);
  eq(seen, names, "every role, by name, across pages");
  eq(Object.keys(lastJson()).sort(), ["limit", "roles", "start", "total"], "wrapper keys");
});

await test("roles.permissions.add / list / delete", ["role", "api"], async () => {
  await client.roles.permissions.add(state.role, { permissions: [perm("write:things"), perm("read:things")] });
  eq(last().status, 201, "add status");
  const listed = await all(client.roles.permissions.list(state.role));
  eq(listed.map((p) => [p.permission_name, p.resource_server_identifier, p.description]),
    [["read:things", API, "Read things"], ["write:things", API, "Write things"]], "role permissions");
  await client.roles.permissions.delete(state.role, { permissions: [perm("write:things")] });
  eq(last().status, 204, "delete status");
  eq((await all(client.roles.permissions.list(state.role))).map((p) => p.permission_name), ["read:things"], "after delete");
  const e = await expectError(client.roles.permissions.add(state.role, { permissions: [perm("fly:things")] }), "unknown permission");
  ok(e instanceof Management.BadRequestError, `not a BadRequestError: ${inspect(e)}`);
});

await test("roles.users.assign and the checkpoint pager", ["role"], async () => {
  const users = [];
  for (const i of [0, 1, 2]) {
    users.push((await client.users.create({ connection: CONNECTION, email: `node.holder${i}.${RUN}@example.org`, password: PASSWORD })).user_id);
  }
  state.users = users;
  await client.roles.users.assign(state.role, { users });
  eq(last().status, 200, "assign status");
  const members = await all(client.roles.users.list(state.role, { take: 2 }));
  eq(members.map((m) => m.user_id).sort(), [...users].sort(), "members walked");
  ok(exchanges.some((x) => x.url.pathname.endsWith("/users") && x.url.searchParams.has("from")), "the pager followed `next`");
  ok(members.every((m) => typeof m.email === "string" && typeof m.picture === "string"), `member shape: ${show(members[0])}`);
});

await test("users.roles.assign / list / delete", ["users", "admin"], async () => {
  const user = state.users[0];
  await client.users.roles.assign(user, { roles: [state.admin] });
  eq(last().status, 204, "assign status");
  eq((await all(client.users.roles.list(user))).map((r) => r.name), [`node-admin-${RUN}`, `node-editor-${RUN}`], "by name");
  eq(Object.keys(lastJson()).sort(), ["limit", "roles", "start", "total"], "wrapper keys (no length)");
  await client.users.roles.delete(user, { roles: [state.admin] });
  eq(last().status, 204, "delete status");
  eq((await all(client.users.roles.list(user))).map((r) => r.id), [state.role], "after delete");
  const e = await expectError(client.users.roles.assign(user, { roles: ["rol_0000000000000000"] }), "unknown role");
  eq([e.statusCode, e.body?.message], [400, "One or more of the specified roles do not exist: rol_0000000000000000"], "unknown role");
});

await test("users.permissions.create / list (sources) / delete", ["users", "api"], async () => {
  const user = state.users[0];
  await client.users.permissions.create(user, { permissions: [perm("read:things"), perm("delete:things")] });
  eq([last().status, lastJson()], [201, {}], "create answer");
  eq((await all(client.users.permissions.list(user))).map((p) => p.permission_name), ["delete:things", "read:things"], "by name");
  eq(firstPage("/permissions").permissions[1].sources, [
    { source_id: "", source_name: "", source_type: "DIRECT" },
    { source_id: state.role, source_name: `node-editor-${RUN}`, source_type: "ROLE" },
  ], "read:things: direct and through the role");
  await client.users.permissions.delete(user, { permissions: [perm("read:things"), perm("delete:things")] });
  eq(last().status, 204, "delete status");
  eq((await all(client.users.permissions.list(user))).map((p) => p.permission_name), ["read:things"], "only what the role grants");
  const e = await expectError(client.users.permissions.list("auth0|000000000000000000000000"), "unknown user");
  eq([e.statusCode, e.body?.errorCode], [404, "inexistent_user"], "unknown user");
});

await test("deletes: a role and a resource server take their assignments with them", ["users", "api"], async () => {
  const user = state.users[0];
  await client.roles.delete(state.role);
  eq(last().status, 200, "role delete status");
  const missing = await expectError(client.roles.get(state.role), "get of a deleted role");
  ok(missing instanceof Management.NotFoundError, `not a NotFoundError: ${inspect(missing)}`);
  eq(missing.body, { statusCode: 404, error: "Not Found", message: "The role does not exist." }, "404 body");
  eq(await all(client.users.roles.list(user)), [], "the user's roles");
  eq(await all(client.users.permissions.list(user)), [], "the user's permissions");
  await client.users.permissions.create(user, { permissions: [perm("write:things")] });
  await client.resourceServers.delete(state.api);
  eq(last().status, 204, "resource server delete status");
  eq(await all(client.users.permissions.list(user)), [], "the API's permissions went");
  state.deleted = true;
});

for (const id of [...(state.extraRoles ?? []), state.admin, ...(state.deleted ? [] : [state.role])]) {
  if (id) await client.roles.delete(id).catch(() => {});
}
if (state.api && !state.deleted) await client.resourceServers.delete(state.api).catch(() => {});
for (const uid of state.users ?? []) await client.users.delete(uid).catch(() => {});

finish();
