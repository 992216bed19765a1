#!/usr/bin/env node
// SDK compatibility suite: drives a running Roster server with the node `auth0` SDK (v7).
//
// Environment:
//   ROSTER_URL     base URL of the server, e.g. http://127.0.0.1:8080 (or set PORT)
//   PORT           used when ROSTER_URL is unset (host 127.0.0.1)
//   CLIENT_ID      client id the server was started with
//   CLIENT_SECRET  client secret the server was started with
//   SDK_NODE_DIR   folder whose node_modules holds `auth0` (default: <repo>/.sdk/node)
//
// Self-contained (no test framework): every check throws on mismatch, every test
// prints `ok` or `FAIL` with the server's answer, the script ends with the line
// `N passed, N failed` and exits non-zero when anything failed.
//
// How the SDK is pointed at plain http (verified against auth0@7.1.0):
//   new ManagementClient({ domain: "127.0.0.1:PORT", clientId, clientSecret, fetch })
//   The client hard-codes https:// for the API base URL *and* for the token
//   endpoint; the `fetch` option is used for both (API calls and TokenProvider),
//   so a fetch that rewrites https:// to http:// is enough. The token is fetched
//   form-encoded with audience https://127.0.0.1:PORT/api/v2/.

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

// ---------------------------------------------------------------------------
// configuration

const ROSTER_URL = (process.env.ROSTER_URL ?? `http://127.0.0.1:${process.env.PORT}`).replace(/\/+$/, "");
const CLIENT_ID = process.env.CLIENT_ID;
const CLIENT_SECRET = process.env.CLIENT_SECRET;
if (!CLIENT_ID || !CLIENT_SECRET || (!process.env.ROSTER_URL && !process.env.PORT)) {
  console.error("set ROSTER_URL (or PORT), CLIENT_ID and CLIENT_SECRET");
  process.exit(2);
}
const DOMAIN = new URL(ROSTER_URL).host; // "127.0.0.1:PORT"
const AUDIENCE = `https://${DOMAIN}/api/v2/`;
const CONNECTION = "Username-Password-Authentication";
const PASSWORD = "Sdk-Test-Passw0rd!" + randomBytes(4).toString("hex");
const RUN = randomBytes(4).toString("hex");
const USER_ID_RE = /^auth0\|[0-9a-f]{24}$/;

// ---------------------------------------------------------------------------
// fetch that rewrites https:// -> http:// and records every exchange, so raw
// JSON (absent vs null, wrapper keys) and what was sent can be checked.

const exchanges = [];
const rewritingFetch = async (input, init = {}) => {
  const url = String(input instanceof Request ? input.url : input).replace(/^https:\/\//, "http://");
  const res = await fetch(url, init);
  const text = await res.clone().text();
  const headers = new Headers(init.headers ?? {});
  exchanges.push({
    method: init.method ?? "GET",
    url: new URL(url),
    reqHeaders: Object.fromEntries(headers.entries()),
    reqBody: typeof init.body === "string" ? init.body : init.body == null ? null : "<non-string body>",
    status: res.status,
    text,
  });
  return res;
};
const last = () => {
  if (!exchanges.length) throw new Error("no HTTP exchange was recorded");
  return exchanges[exchanges.length - 1];
};
const lastJson = () => {
  const x = last();
  try {
    return JSON.parse(x.text);
  } catch {
    throw new Error(`response to ${x.method} ${x.url} is not JSON: ${x.status} ${JSON.stringify(x.text)}`);
  }
};

// ---------------------------------------------------------------------------
// tiny harness

const results = [];
const state = {};

const show = (v) => JSON.stringify(v);
function eq(actual, expected, what) {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new Error(`${what}: expected ${show(expected)}, got ${show(actual)}`);
  }
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

function checkUserShape(u, email, what) {
  ok(u && typeof u === "object" && !Array.isArray(u), `${what}: user is not an object: ${show(u)}`);
  eq(u.email, email.toLowerCase(), `${what}: email (lower-cased)`);
  eq(u.name, email.toLowerCase(), `${what}: name defaults to email`);
  eq(u.nickname, email.toLowerCase().split("@")[0], `${what}: nickname = e-mail local part`);
  ok(USER_ID_RE.test(String(u.user_id)), `${what}: user_id ${show(u.user_id)} is not auth0|<24 hex>`);
  eq(u.email_verified, false, `${what}: email_verified`);
  ok(Array.isArray(u.identities) && u.identities.length === 1, `${what}: identities: ${show(u.identities)}`);
  const id0 = u.identities[0];
  eq(id0.connection, CONNECTION, `${what}: identities[0].connection`);
  eq(id0.provider, "auth0", `${what}: identities[0].provider`);
  eq(id0.user_id, u.user_id.split("|")[1], `${what}: identities[0].user_id`);
  eq(id0.isSocial, false, `${what}: identities[0].isSocial`);
  for (const k of ["created_at", "updated_at"]) {
    ok(typeof u[k] === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(u[k]), `${what}: ${k} is not ISO-8601: ${show(u[k])}`);
  }
  const nulls = Object.keys(u).filter((k) => u[k] === null).sort();
  eq(nulls, [], `${what}: fields present as null instead of absent`);
  for (const k of ["given_name", "family_name", "password", "connection"]) {
    ok(!(k in u), `${what}: unexpected key ${k} present: ${show(u[k])}`);
  }
}

const newClient = (extra = {}) =>
  new ManagementClient({ domain: DOMAIN, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, fetch: rewritingFetch, ...extra });

console.log(`auth0 (node) ${sdkVersion} against ${ROSTER_URL} (audience ${AUDIENCE})`);

// ---------------------------------------------------------------------------
// token

await test("token: client credentials via ManagementClient (form-encoded, https audience)", [], async () => {
  const client = newClient();
  const page = await client.users.list({ page: 0, per_page: 1 });
  const tok = exchanges.find((x) => x.url.pathname === "/oauth/token");
  ok(tok, "no request to /oauth/token was made");
  eq(tok.status, 200, `token status (body ${tok.text})`);
  eq(tok.reqHeaders["content-type"], "application/x-www-form-urlencoded", "token request content-type");
  const form = Object.fromEntries(new URLSearchParams(tok.reqBody));
  eq(form, { grant_type: "client_credentials", client_id: CLIENT_ID, audience: AUDIENCE, client_secret: CLIENT_SECRET }, "token form");
  const body = JSON.parse(tok.text);
  ok(typeof body.access_token === "string" && body.access_token.length > 0, `no access_token: ${tok.text}`);
  eq(String(body.token_type).toLowerCase(), "bearer", "token_type");
  ok(Number.isInteger(body.expires_in) && body.expires_in > 0, `expires_in: ${tok.text}`);
  eq(last().reqHeaders.authorization, `Bearer ${body.access_token}`, "API call carries the token");
  ok(Array.isArray(page.data), "list returned no data array");
  state.client = client;
});

await test("token: http:// audience is accepted too", [], async () => {
  const client = newClient({ audience: `http://${DOMAIN}/api/v2/` });
  await client.users.list({ page: 0, per_page: 1 });
  eq(last().status, 200, "list status");
});

await test("token: wrong client secret -> ManagementError 401 access_denied", [], async () => {
  const client = newClient({ clientSecret: "wrong-" + CLIENT_SECRET });
  const e = await expectError(client.users.list({ page: 0, per_page: 1 }), "list with a wrong client secret");
  ok(e instanceof ManagementError, `not a ManagementError: ${inspect(e)}`);
  eq(e.statusCode, 401, "statusCode");
  eq(e.body?.error, "access_denied", "body.error");
});

function tampered(token) {
  const parts = token.split(".");
  if (parts.length !== 3) throw new Error(`access_token is not a JWT (header.payload.signature): ${token.slice(0, 40)}...`);
  // random bytes of the same decoded length, canonically base64url-encoded
  const sig = randomBytes(Math.floor((parts[2].length * 3) / 4)).toString("base64url");
  return [parts[0], parts[1], sig].join(".");
}

await test("api: malformed (non-JWT) bearer -> BadRequestError 400 'Bad HTTP authentication header format'", [], async () => {
  // Auth0 answers a bearer value that is not a JWT with a 400, not a 401.
  const client = new ManagementClient({ domain: DOMAIN, token: "not-a-valid-token", fetch: rewritingFetch });
  const e = await expectError(client.users.list({ page: 0, per_page: 1 }), "list with a malformed token");
  ok(e instanceof Management.BadRequestError, `not a BadRequestError: ${inspect(e)}`);
  eq(e.statusCode, 400, "statusCode");
  eq(e.body?.statusCode, 400, "body.statusCode");
  eq(e.body?.error, "Bad Request", "body.error");
  eq(e.body?.message, "Bad HTTP authentication header format", "body.message");
  eq(e.body?.errorCode, "Bearer", "body.errorCode");
});

await test("api: JWT with a forged signature -> UnauthorizedError 401", ["client"], async () => {
  const tok = exchanges.find((x) => x.url.pathname === "/oauth/token" && x.status === 200);
  const client = new ManagementClient({ domain: DOMAIN, token: tampered(JSON.parse(tok.text).access_token), fetch: rewritingFetch });
  const e = await expectError(client.users.list({ page: 0, per_page: 1 }), "list with a forged token");
  ok(e instanceof Management.UnauthorizedError, `not an UnauthorizedError: ${inspect(e)}`);
  eq(e.statusCode, 401, "statusCode");
  eq(e.body?.statusCode, 401, "body.statusCode");
  eq(e.body?.error, "Unauthorized", "body.error");
});

// ---------------------------------------------------------------------------
// create / read

await test("create user (201, defaults, metadata)", ["client"], async () => {
  const email = `Node.Main.${RUN}@Example.COM`;
  const { data, rawResponse } = await state.client.users
    .create({
      connection: CONNECTION,
      email,
      password: PASSWORD,
      user_metadata: { theme: "dark", lang: "en" },
      app_metadata: { plan: "free", roles: ["admin", "dev"] },
    })
    .withRawResponse();
  eq(rawResponse.status, 201, "HTTP status");
  const raw = lastJson();
  // record the user before checking its shape, so one wrong field does not
  // hide what the later tests would say about the server
  state.email = email;
  state.user = raw;
  (state.cleanup ??= []).push(raw.user_id);
  checkUserShape(raw, email, "create response");
  eq(raw.user_metadata, { theme: "dark", lang: "en" }, "create: user_metadata");
  eq(raw.app_metadata, { plan: "free", roles: ["admin", "dev"] }, "create: app_metadata");
  eq(data, raw, "SDK result equals the raw JSON");
});

await test("get user by id", ["user"], async () => {
  const u = state.user;
  const got = await state.client.users.get(u.user_id);
  eq(last().status, 200, "HTTP status");
  checkUserShape(got, state.email, "get response");
  for (const k of ["user_id", "created_at", "user_metadata", "app_metadata", "identities"]) {
    eq(got[k], u[k], `get: ${k} same as on create`);
  }
});

await test("get user with fields (include_fields=true / false)", ["user"], async () => {
  const uid = state.user.user_id;
  const a = await state.client.users.get(uid, { fields: "email,user_id", include_fields: true });
  eq(last().url.searchParams.get("fields"), "email,user_id", "fields sent as one comma-separated parameter");
  eq(last().url.searchParams.get("include_fields"), "true", "include_fields sent");
  eq(Object.keys(a).sort(), ["email", "user_id"], "include_fields=true: exactly the requested keys");
  eq(a.user_id, uid, "user_id");
  const b = await state.client.users.get(uid, { fields: "identities,app_metadata,user_metadata", include_fields: false });
  for (const k of ["identities", "app_metadata", "user_metadata"]) {
    ok(!(k in b), `include_fields=false: excluded key ${k} still present: ${show(b)}`);
  }
  eq(b.user_id, uid, "include_fields=false: user_id still there");
  eq(b.email, state.email.toLowerCase(), "include_fields=false: email still there");
  ok("name" in b && "created_at" in b, `include_fields=false removed too much: ${show(b)}`);
});

// ---------------------------------------------------------------------------
// update (metadata merge semantics)

await test("update: user_metadata first-level merge", ["user"], async () => {
  const uid = state.user.user_id;
  const before = state.user.updated_at;
  const u = await state.client.users.update(uid, { user_metadata: { lang: "fr", prefs: { a: 1, b: 2 } } });
  eq(last().status, 200, "HTTP status");
  eq(u.user_metadata, { theme: "dark", lang: "fr", prefs: { a: 1, b: 2 } }, "merged user_metadata");
  eq(u.app_metadata, { plan: "free", roles: ["admin", "dev"] }, "app_metadata untouched");
  eq(u.email, state.email.toLowerCase(), "email untouched");
  ok(typeof u.updated_at === "string" && u.updated_at >= before, `updated_at went backwards: ${before} -> ${u.updated_at}`);
});

await test("update: nested objects are replaced, not deep-merged", ["user"], async () => {
  const u = await state.client.users.update(state.user.user_id, { user_metadata: { prefs: { c: 3 } } });
  eq(u.user_metadata, { theme: "dark", lang: "fr", prefs: { c: 3 } }, "user_metadata");
});

await test("update: null deletes a metadata key", ["user"], async () => {
  const u = await state.client.users.update(state.user.user_id, {
    user_metadata: { theme: null },
    app_metadata: { plan: null, tier: 2 },
  });
  eq(JSON.parse(last().reqBody).user_metadata, { theme: null }, "SDK sent the null through");
  eq(u.user_metadata, { lang: "fr", prefs: { c: 3 } }, "user_metadata after null");
  eq(u.app_metadata, { roles: ["admin", "dev"], tier: 2 }, "app_metadata after null + add");
});

await test("update: {} clears metadata", ["user"], async () => {
  const u = await state.client.users.update(state.user.user_id, { app_metadata: {} });
  ok(u.app_metadata === undefined || isDeepStrictEqual(u.app_metadata, {}), `app_metadata not cleared: ${show(u.app_metadata)}`);
  eq(u.user_metadata, { lang: "fr", prefs: { c: 3 } }, "user_metadata untouched by app_metadata={}");
});

await test("update: root attributes replace; get shows persisted state", ["user"], async () => {
  const uid = state.user.user_id;
  const u = await state.client.users.update(uid, {
    given_name: "Ada",
    family_name: "Lovelace",
    name: "Ada Lovelace",
    nickname: "ada",
  });
  eq([u.given_name, u.family_name, u.name, u.nickname], ["Ada", "Lovelace", "Ada Lovelace", "ada"], "update response");
  const got = await state.client.users.get(uid);
  const expected = {
    given_name: "Ada",
    family_name: "Lovelace",
    name: "Ada Lovelace",
    nickname: "ada",
    user_metadata: { lang: "fr", prefs: { c: 3 } },
    email: state.email.toLowerCase(),
  };
  for (const [k, v] of Object.entries(expected)) eq(got[k], v, `persisted ${k}`);
  ok(got.app_metadata === undefined || isDeepStrictEqual(got.app_metadata, {}), `persisted app_metadata not cleared: ${show(got.app_metadata)}`);
  eq(Object.keys(got).filter((k) => got[k] === null), [], "fields present as null instead of absent");
});

// ---------------------------------------------------------------------------
// list

await test("list: include_totals wrapper, page/per_page, SDK auto-pagination", ["client", "user"], async () => {
  const client = state.client;
  const first = await client.users.list({ page: 0, per_page: 1, include_totals: true });
  for (const k of ["start", "limit", "length", "total", "users"]) {
    ok(k in first.response, `list wrapper lacks key ${k}: ${show(first.response)}`);
  }
  const total0 = first.response.total;
  const ids = [];
  for (let i = 0; i < 3; i++) {
    const c = await client.users.create({ connection: CONNECTION, email: `Node.List${i}.${RUN}@Example.com`, password: PASSWORD });
    ids.push(c.user_id);
    (state.cleanup ??= []).push(c.user_id);
  }
  const seen = [];
  for (let page = 0; ; page++) {
    ok(page < 1000, "pagination does not terminate");
    const p = await client.users.list({ page, per_page: 2, include_totals: true });
    const sp = last().url.searchParams;
    eq([sp.get("page"), sp.get("per_page"), sp.get("include_totals")], [String(page), "2", "true"], "query sent by the SDK");
    const raw = lastJson();
    eq(Object.keys(raw).sort(), ["length", "limit", "start", "total", "users"], `page ${page} wrapper keys`);
    eq(raw.start, page * 2, `page ${page} start`);
    eq(raw.limit, 2, `page ${page} limit`);
    eq(raw.length, raw.users.length, `page ${page} length`);
    eq(raw.total, total0 + 3, `page ${page} total`);
    ok(raw.users.length <= 2, `page ${page} has ${raw.users.length} users with per_page=2`);
    eq(p.data.map((u) => u.user_id), raw.users.map((u) => u.user_id), "SDK page data");
    if (raw.users.length === 0) break;
    seen.push(...raw.users.map((u) => u.user_id));
  }
  eq(seen.length, total0 + 3, "users seen over all pages");
  eq(new Set(seen).size, seen.length, "no user repeated across pages");
  for (const id of [...ids, state.user.user_id]) ok(seen.includes(id), `user ${id} missing from the paged listing`);
  // the SDK's own async iterator walks the pages
  const walked = [];
  for await (const u of await client.users.list({ per_page: 2 })) walked.push(u.user_id);
  eq([...walked].sort(), [...seen].sort(), "SDK iterator saw the same users");
  state.listIds = ids;
});

await test("list: fields / include_fields", ["listIds"], async () => {
  const a = await state.client.users.list({ page: 0, per_page: 50, fields: "user_id,email", include_fields: true });
  ok(a.data.length > 0, "no users listed");
  for (const u of a.data) eq(Object.keys(u).sort(), ["email", "user_id"], "include_fields=true keys");
  const b = await state.client.users.list({ page: 0, per_page: 50, fields: "identities,user_metadata", include_fields: false });
  ok(b.data.length > 0, "no users listed");
  for (const u of b.data) {
    ok(!("identities" in u) && !("user_metadata" in u), `excluded keys present: ${show(u)}`);
    ok("user_id" in u && "email" in u, `include_fields=false removed too much: ${show(u)}`);
  }
});

await test("list: include_totals=false returns a bare array", ["listIds"], async () => {
  const p = await state.client.users.list({ page: 0, per_page: 50, include_totals: false });
  eq(last().url.searchParams.get("include_totals"), "false", "include_totals sent");
  const raw = lastJson();
  ok(Array.isArray(raw), `include_totals=false did not return an array: ${last().text.slice(0, 300)}`);
  ok(Array.isArray(p.response), "SDK page.response is not the array");
  const listed = new Set(raw.map((u) => u.user_id));
  for (const id of state.listIds) ok(listed.has(id), `user ${id} missing from bare-array listing`);
});

// ---------------------------------------------------------------------------
// errors and delete

await test("create duplicate (different case) -> ConflictError 409", ["user"], async () => {
  const e = await expectError(
    state.client.users.create({ connection: CONNECTION, email: state.email.toUpperCase(), password: PASSWORD }),
    "duplicate create",
  );
  ok(e instanceof Management.ConflictError, `not a ConflictError: ${inspect(e)}`);
  eq(e.statusCode, 409, "statusCode");
  eq(e.body?.statusCode, 409, "body.statusCode");
  eq(e.body?.error, "Conflict", "body.error");
  eq(e.body?.message, "The user already exists.", "body.message");
  eq(e.body?.errorCode, "auth0_idp_error", "body.errorCode");
});

await test("delete user -> 204; get -> NotFoundError 404 inexistent_user", ["user"], async () => {
  const uid = state.user.user_id;
  const res = await state.client.users.delete(uid).withRawResponse();
  eq(res.data, undefined, "delete result");
  eq(res.rawResponse.status, 204, "delete HTTP status");
  eq(last().text, "", "delete body");
  state.cleanup = state.cleanup.filter((x) => x !== uid);
  const e = await expectError(state.client.users.get(uid), "get after delete");
  ok(e instanceof Management.NotFoundError, `not a NotFoundError: ${inspect(e)}`);
  eq(e.statusCode, 404, "statusCode");
  eq(e.body?.statusCode, 404, "body.statusCode");
  eq(e.body?.error, "Not Found", "body.error");
  eq(e.body?.errorCode, "inexistent_user", "body.errorCode");
  eq(e.body?.message, "The user does not exist.", "body.message");
  const e2 = await expectError(state.client.users.update(uid, { user_metadata: { x: 1 } }), "update after delete");
  ok(e2 instanceof ManagementError, `not a ManagementError: ${inspect(e2)}`);
  eq(e2.statusCode, 404, "update after delete: statusCode");
  eq(e2.body?.errorCode, "inexistent_user", "update after delete: body.errorCode");
});

// ---------------------------------------------------------------------------
// cleanup + summary

if (state.client && state.cleanup?.length) {
  for (const uid of state.cleanup) {
    try {
      await state.client.users.delete(uid);
    } catch (e) {
      console.log(`warning: cleanup of ${uid} failed: ${e.message}`);
    }
  }
}

const passed = results.filter(Boolean).length;
const failed = results.length - passed;
console.log(`node: ${passed} passed, ${failed} failed`);
process.exit(failed || results.length === 0 ? 1 : 0);
