#!/usr/bin/env node
// SDK compatibility suite, connections, clients and client grants: drives a running Roster server
// with the node `auth0` SDK (v7). Same environment and conventions as test_sdk.mjs (ROSTER_URL or
// PORT, CLIENT_ID, CLIENT_SECRET, SDK_NODE_DIR; `N passed, N failed` at the end, non-zero exit on
// failure). Covers connections (the checkpoint pager, a password policy that applies to the next
// user, enabled clients, deletion taking the users), clients (the offset pager, rotateSecret),
// client grants, and a new machine-to-machine client whose own ManagementClient gets a token with
// just its grant's scopes. Everything it creates is its own and is deleted at the end.

import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { isDeepStrictEqual, inspect } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const sdkDir = resolve(process.env.SDK_NODE_DIR ?? join(here, "..", "..", "..", ".sdk", "node"));
const require = createRequire(join(sdkDir, "package.json"));
const auth0 = require("auth0");
const sdkVersion = require("auth0/package.json").version;
const { ManagementClient, ManagementError, Management } = auth0;

const ROSTER_URL = (process.env.ROSTER_URL ?? `http://127.0.0.1:${process.env.PORT}`).replace(/\/+$/, "");
const CLIENT_ID = process.env.CLIENT_ID;
const CLIENT_SECRET = process.env.CLIENT_SECRET;
if (!CLIENT_ID || !CLIENT_SECRET || (!process.env.ROSTER_URL && !process.env.PORT)) {
  console.error("set ROSTER_URL (or PORT), CLIENT_ID and CLIENT_SECRET");
  process.exit(2);
}
const DOMAIN = new URL(ROSTER_URL).host;
const AUDIENCE = `https://${DOMAIN}/api/v2/`;
const RUN = randomBytes(4).toString("hex");
const DB = `node-db-${RUN}`;

// A fetch that rewrites https:// to http:// (the SDK hard-codes https) and records exchanges.
const exchanges = [];
const rewritingFetch = async (input, init = {}) => {
  const url = String(input instanceof Request ? input.url : input).replace(/^https:\/\//, "http://");
  const res = await fetch(url, init);
  exchanges.push({ method: init.method ?? "GET", url: new URL(url), status: res.status, text: await res.clone().text() });
  return res;
};
const last = () => exchanges[exchanges.length - 1];
const lastJson = () => JSON.parse(last().text);

const results = [];
const state = {};
const show = (v) => JSON.stringify(v);
function eq(actual, expected, what) {
  if (!isDeepStrictEqual(actual, expected)) throw new Error(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}
function ok(cond, msg) {
  if (!cond) throw new Error(msg);
}
async function test(name, needs, fn) {
  const missing = needs.filter((k) => !(k in state));
  if (missing.length) {
    console.log(`FAIL - ${name}: not run, prerequisite missing: ${missing.join(", ")}`);
    results.push(false);
    return;
  }
  try {
    await fn();
    console.log(`ok   - ${name}`);
    results.push(true);
  } catch (e) {
    const detail = e instanceof ManagementError ? `${e.constructor.name}: ${e.message}` : e?.message ?? String(e);
    console.log(`FAIL - ${name}: ${detail}`);
    if (!(e instanceof Error) || !/^[^:]+: expected /.test(e.message)) console.log(inspect(e, { depth: 4 }));
    results.push(false);
  }
}
async function expectError(promise, what) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error(`${what} succeeded: ${last().status} ${last().text}`);
}
async function all(pagePromise) {
  const items = [];
  for await (const item of await pagePromise) items.push(item);
  return items;
}
const managementFor = (clientId, clientSecret) =>
  new ManagementClient({ domain: DOMAIN, clientId, clientSecret, fetch: rewritingFetch });

console.log(`auth0 (node) ${sdkVersion} connections, clients and grants against ${ROSTER_URL}`);
const client = managementFor(CLIENT_ID, CLIENT_SECRET);

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
  eq((await all(client.connections.clients.get(state.db))).map((c) => c.client_id), [app.client_id], "enabled");
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
  ok(exchanges.some((x) => x.url.pathname === "/oauth/token" && x.status === 401), "the token request was refused");
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

const passed = results.filter(Boolean).length;
const failed = results.length - passed;
console.log(`node connections, clients and grants: ${passed} passed, ${failed} failed`);
process.exit(failed || results.length === 0 ? 1 : 0);
