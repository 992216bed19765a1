#!/usr/bin/env node
// SDK compatibility suite: drives a running Roster server with the node `auth0` SDK (v7).
// Environment and conventions: see harness.mjs. Covers tokens (the ManagementClient's
// form-encoded client credentials), users (create, read, update, delete, listing and search) as
// the SDK calls them, checking the raw JSON where the SDK's models cannot tell absent from null,
// and the errors the SDK raises.

import { randomBytes } from "node:crypto";
import { isDeepStrictEqual, inspect } from "node:util";

import {
  BASE_PATH, CLIENT_ID, CLIENT_SECRET, AUDIENCE, CONNECTION, DOMAIN, PASSWORD, RUN, ManagementClient, ManagementError, Management,
  exchanges, rewritingFetch, last, lastJson, managementClient, state, show, eq, ok, test, expectError, begin, finish,
} from "./harness.mjs";

const USER_ID_RE = /^auth0\|[0-9a-f]{24}$/;

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

begin();

// ---------------------------------------------------------------------------
// token

await test("token: client credentials via ManagementClient (form-encoded, https audience)", [], async () => {
  const client = managementClient();
  const page = await client.users.list({ page: 0, per_page: 1 });
  const tok = exchanges.find((x) => x.url.pathname === `${BASE_PATH}/oauth/token`);
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
  const client = managementClient({ audience: `http://${DOMAIN}/api/v2/` });
  await client.users.list({ page: 0, per_page: 1 });
  eq(last().status, 200, "list status");
});

await test("token: wrong client secret -> ManagementError 401 access_denied", [], async () => {
  const client = managementClient({ clientSecret: "wrong-" + CLIENT_SECRET });
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
  const tok = exchanges.find((x) => x.url.pathname === `${BASE_PATH}/oauth/token` && x.status === 200);
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
// search (q, sort, fields, paging) and users-by-email
//
// Every query is ANDed with a per-run marker stored in app_metadata, so only
// the users created here can match, whatever else is in the database.

const SEARCH_MARK = `nodesearch${RUN}`;
// key, e-mail as sent (mixed case), name, extra attributes, plan
const SEARCH_PEOPLE = [
  ["jane", `Jane.Alpha.${RUN}@Example.COM`, "Jane Alpha", { given_name: "Jane", family_name: "Alpha", user_metadata: { color: "red" } }, "gold"],
  ["jack", `Beta.Jack.${RUN}@example.org`, "Jack Beta", {}, "silver"],
  ["john", `JOHN.Gamma.${RUN}@Example.net`, "John Gamma", { user_metadata: { color: "blue" } }, "gold"],
  ["mary", `Mary.J.${RUN}@example.com`, "Mary Johnson", {}, "bronze"],
  ["bob", `Zed.Builder.${RUN}@Example.com`, "Bob Builder", {}, "silver"],
];
// lower-cased e-mails sort as: beta.jack, jane.alpha, john.gamma, mary.j, zed.builder
const BY_EMAIL = ["jack", "jane", "john", "mary", "bob"];
// names sort as: Bob Builder, Jack Beta, Jane Alpha, John Gamma, Mary Johnson
const BY_NAME = ["bob", "jack", "jane", "john", "mary"];
const ALL_SORTED = [...BY_EMAIL].sort();

const scoped = (q) => `app_metadata.sdkrun:${SEARCH_MARK} AND (${q})`;

// users.list through the SDK with q scoped to this run (search_engine v3)
async function searchRaw(q, extra = {}) {
  const req = { page: 0, per_page: 50, include_totals: true, search_engine: "v3", ...extra, q: scoped(q) };
  const page = await state.client.users.list(req);
  const x = last();
  eq(x.status, 200, `q=${show(q)}: HTTP status (body ${x.text.slice(0, 300)})`);
  eq(x.url.pathname, `${BASE_PATH}/api/v2/users`, "path");
  eq(x.url.searchParams.get("q"), scoped(q), "q sent by the SDK (decoded)");
  eq(x.url.searchParams.get("search_engine"), "v3", "search_engine sent");
  const raw = JSON.parse(x.text);
  ok(raw && Array.isArray(raw.users), `q=${show(q)}: not a wrapper: ${x.text.slice(0, 300)}`);
  eq(page.data, raw.users, `q=${show(q)}: SDK page.data vs raw users`);
  return { page, raw, sent: x.url.searchParams };
}

// maps user objects back to the SEARCH_PEOPLE keys
function keysOf(users) {
  const byId = new Map(Object.entries(state.search).map(([k, u]) => [u.user_id, k]));
  return users.map((u) => {
    ok(byId.has(u.user_id), `a user not created by this search test was returned: ${show(u).slice(0, 300)}`);
    return byId.get(u.user_id);
  });
}

// keys of the users a scoped search returns, sorted (no order is asked for)
async function found(q, extra = {}) {
  const { raw } = await searchRaw(q, extra);
  const got = keysOf(raw.users);
  eq(raw.total, got.length, `q=${show(q)}: total`);
  return got.sort();
}

await test("search: create users with distinct names and metadata", ["client"], async () => {
  const made = {};
  for (const [key, email, name, extra, plan] of SEARCH_PEOPLE) {
    const u = await state.client.users.create({
      connection: CONNECTION,
      email,
      password: PASSWORD,
      name,
      app_metadata: { sdkrun: SEARCH_MARK, plan },
      ...extra,
    });
    eq(last().status, 201, `create ${email}: HTTP status`);
    (state.cleanup ??= []).push(u.user_id);
    eq(u.email, email.toLowerCase(), `create ${email}: email`);
    eq(u.name, name, `create ${email}: name`);
    made[key] = lastJson();
  }
  state.search = made;
});

await test("search: q exact email, mixed case in the query still matches", ["search"], async () => {
  const jane = state.search.jane;
  eq(await found(`email:"${jane.email}"`), ["jane"], "quoted lower-case email");
  eq(await found(`email:"Jane.ALPHA.${RUN}@example.COM"`), ["jane"], "quoted mixed-case email");
  eq(await found(`email:JOHN.gamma.${RUN}@EXAMPLE.NET`), ["john"], "unquoted mixed-case email");
  eq(await found(`email:"jane.alpha.${RUN}@example.org"`), [], "same local part, other domain");
  // the result is the same full representation the create call returned
  const { raw } = await searchRaw(`email:"${jane.email}"`);
  eq(raw.users, [jane], "search result vs create response");
});

await test("search: prefix wildcard on name (case-insensitive)", ["search"], async () => {
  eq(await found("name:Ja*"), ["jack", "jane"], "name:Ja*");
  eq(await found("name:ja*"), ["jack", "jane"], "name:ja*");
  eq(await found("name:jo*"), ["john"], "name:jo* (whole-value prefix: not Mary Johnson)");
  eq(await found("name:x*"), [], "name:x*");
});

await test("search: contains wildcard on name", ["search"], async () => {
  eq(await found("name:*ohn*"), ["john", "mary"], "name:*ohn*");
  eq(await found("name:*OHNS*"), ["mary"], "name:*OHNS*");
  eq(await found("name:*lder"), ["bob"], "name:*lder (suffix)");
  eq(await found("name:*zzz*"), [], "name:*zzz*");
});

await test("search: metadata equality, quoted phrase, root fields, identities, _exists_, dates", ["search"], async () => {
  eq(await found("app_metadata.plan:gold"), ["jane", "john"], "app_metadata.plan:gold");
  eq(await found("app_metadata.plan:silver"), ["bob", "jack"], "app_metadata.plan:silver");
  eq(await found("app_metadata.plan:Gold"), [], "metadata values are case-sensitive");
  eq(await found('app_metadata.plan:"bronze"'), ["mary"], "quoted metadata value");
  eq(await found("user_metadata.color:blue"), ["john"], "user_metadata.color:blue");
  eq(await found("_exists_:user_metadata.color"), ["jane", "john"], "_exists_:user_metadata.color");
  eq(await found('name:"bob BUILDER"'), ["bob"], "quoted phrase on name, case-insensitive");
  eq(await found("given_name:JANE AND family_name:alpha"), ["jane"], "given_name / family_name");
  eq(await found(`identities.connection:"${CONNECTION}"`), ALL_SORTED, "identities.connection");
  eq(await found("created_at:[2020-01-01 TO *]"), ALL_SORTED, "created_at open range");
  eq(await found("created_at:[* TO 2020-01-01]"), [], "created_at range in the past");
  eq(await found("NOT _exists_:logins_count"), ALL_SORTED, "never logged in");
});

await test("search: boolean combinations (AND / OR / NOT, parentheses)", ["search"], async () => {
  eq(await found('(name:ja* AND app_metadata.plan:gold) OR name:"bob builder"'), ["bob", "jane"], "(A AND B) OR C");
  eq(await found("NOT app_metadata.plan:silver"), ["jane", "john", "mary"], "NOT");
  eq(await found("name:j* AND NOT app_metadata.plan:gold"), ["jack"], "AND NOT");
  eq(await found("app_metadata.plan:bronze OR user_metadata.color:red"), ["jane", "mary"], "OR");
});

await test("search: sort=email:1 / email:-1 / name:1 order", ["search"], async () => {
  let { raw, sent } = await searchRaw("_exists_:email", { sort: "email:1" });
  eq(sent.get("sort"), "email:1", "sort sent");
  eq(keysOf(raw.users), BY_EMAIL, "sort=email:1 order");
  eq(raw.users.map((u) => u.email), raw.users.map((u) => u.email).sort(), "emails ascending");
  ({ raw } = await searchRaw("_exists_:email", { sort: "email:-1" }));
  eq(keysOf(raw.users), [...BY_EMAIL].reverse(), "sort=email:-1 order");
  ({ raw } = await searchRaw("_exists_:email", { sort: "name:1" }));
  eq(keysOf(raw.users), BY_NAME, "sort=name:1 order");
});

await test("search: fields projection (include_fields true / false)", ["search"], async () => {
  const s = state.search;
  const { page, sent } = await searchRaw("app_metadata.plan:gold", { fields: "email,user_id", include_fields: true, sort: "email:1" });
  eq(sent.get("fields"), "email,user_id", "fields sent");
  eq(page.data, ["jane", "john"].map((k) => ({ email: s[k].email, user_id: s[k].user_id })), "include_fields=true: exactly email and user_id");
  const { raw } = await searchRaw("app_metadata.plan:gold", {
    fields: "identities,app_metadata,user_metadata",
    include_fields: false,
    sort: "email:1",
  });
  const strip = (u) => Object.fromEntries(Object.entries(u).filter(([k]) => !["identities", "app_metadata", "user_metadata"].includes(k)));
  eq(raw.users, [strip(s.jane), strip(s.john)], "include_fields=false: the users without the excluded keys");
});

await test("search: per_page=2 paging, include_totals wrapper values, SDK pagination helpers", ["search"], async () => {
  const seen = [];
  const expectedPages = [BY_EMAIL.slice(0, 2), BY_EMAIL.slice(2, 4), BY_EMAIL.slice(4, 5), []];
  for (const [n, expected] of expectedPages.entries()) {
    const { page, raw, sent } = await searchRaw("_exists_:email", { page: n, per_page: 2, sort: "email:1" });
    eq([sent.get("page"), sent.get("per_page"), sent.get("include_totals")], [String(n), "2", "true"], `page ${n}: query sent`);
    eq(Object.keys(raw).sort(), ["length", "limit", "start", "total", "users"], `page ${n}: wrapper keys`);
    eq(
      { start: raw.start, limit: raw.limit, length: raw.length, total: raw.total },
      { start: n * 2, limit: 2, length: expected.length, total: 5 },
      `page ${n}: wrapper values`,
    );
    eq(keysOf(raw.users), expected, `page ${n}: users`);
    eq(page.response, raw, `page ${n}: SDK page.response is the wrapper`);
    seen.push(...keysOf(raw.users));
  }
  eq(seen, BY_EMAIL, "every user exactly once, in email order");

  // the async iterator: stops after a short page (users.length < per_page)
  let start = exchanges.length;
  const walked = [];
  for await (const u of await state.client.users.list({ q: scoped("_exists_:email"), sort: "email:1", per_page: 2, search_engine: "v3" })) {
    walked.push(u);
  }
  eq(keysOf(walked), BY_EMAIL, "async iterator: every user exactly once, in email order");
  let sent = exchanges.slice(start).map((x) => x.url.searchParams);
  eq(sent.map((p) => p.get("page")), ["0", "1", "2"], "async iterator: pages requested");
  for (const p of sent) {
    eq([p.get("q"), p.get("sort"), p.get("per_page"), p.get("search_engine")], [scoped("_exists_:email"), "email:1", "2", "v3"], "async iterator: parameters kept on every page");
  }

  // hasNextPage / getNextPage by hand
  start = exchanges.length;
  const p = await state.client.users.list({ q: scoped("_exists_:email"), sort: "email:1", per_page: 2 });
  const pages = [keysOf(p.data)];
  while (p.hasNextPage()) {
    ok(pages.length < 10, "getNextPage does not terminate");
    await p.getNextPage();
    pages.push(keysOf(p.data));
  }
  eq(pages, expectedPages.slice(0, 3), "hasNextPage/getNextPage pages");
  eq(p.response.total, 5, "last page total");
  sent = exchanges.slice(start).map((x) => x.url.searchParams.get("page"));
  eq(sent, ["0", "1", "2"], "hasNextPage/getNextPage: pages requested");

  // a page size that divides the result count exactly ends on an empty page
  start = exchanges.length;
  const five = [];
  for await (const u of await state.client.users.list({ q: scoped("_exists_:email"), sort: "email:1", per_page: 5 })) five.push(u);
  eq(keysOf(five), BY_EMAIL, "per_page=5 iterator: every user exactly once");
  eq(exchanges.slice(start).map((x) => [x.url.searchParams.get("page"), JSON.parse(x.text).users.length]), [["0", 5], ["1", 0]], "per_page=5: pages and sizes");
});

await test("users-by-email: exact (case-sensitive) match, fields", ["search"], async () => {
  const john = state.search.john;
  const got = await state.client.users.listUsersByEmail({ email: john.email });
  eq(last().url.pathname, `${BASE_PATH}/api/v2/users-by-email`, "path");
  eq(last().url.searchParams.get("email"), john.email, "email sent");
  eq(last().status, 200, "HTTP status");
  eq(got, [john], "users-by-email: the one user, full representation");
  // stored lower-case; the lookup is case-sensitive, as Auth0 documents
  eq(await state.client.users.listUsersByEmail({ email: `JOHN.Gamma.${RUN}@Example.net` }), [], "mixed-case e-mail");
  eq(await state.client.users.listUsersByEmail({ email: `nobody.${RUN}@example.net` }), [], "unknown e-mail");
  const f = await state.client.users.listUsersByEmail({ email: john.email, fields: "user_id,email", include_fields: true });
  eq(last().url.searchParams.get("fields"), "user_id,email", "fields sent");
  eq(f, [{ user_id: john.user_id, email: john.email }], "fields=user_id,email");
});

await test("search: invalid query -> BadRequestError 400 invalid_query_string", ["client"], async () => {
  for (const bad of ["name:*ab", `app_metadata.sdkrun:${SEARCH_MARK} AND (name:jane`]) {
    const e = await expectError(state.client.users.list({ q: bad, page: 0, per_page: 2 }), `q=${show(bad)}`);
    ok(e instanceof Management.BadRequestError, `q=${show(bad)}: not a BadRequestError: ${inspect(e)}`);
    ok(e instanceof ManagementError, `q=${show(bad)}: not a ManagementError`);
    eq(e.statusCode, 400, `q=${show(bad)}: statusCode`);
    eq(e.body?.statusCode, 400, `q=${show(bad)}: body.statusCode`);
    eq(e.body?.error, "Bad Request", `q=${show(bad)}: body.error`);
    eq(e.body?.errorCode, "invalid_query_string", `q=${show(bad)}: body.errorCode`);
    const msg = String(e.body?.message);
    ok(
      msg.startsWith("Query validation error: ") && msg.endsWith(" on property q (Query in Lucene query string syntax)."),
      `q=${show(bad)}: body.message ${show(msg)}`,
    );
  }
});

// ---------------------------------------------------------------------------
// identities (account linking)

await test("users.identities.link / delete: link a secondary, read the primary, unlink", ["client"], async () => {
  const create = async (tag) => {
    const u = await state.client.users.create({
      connection: CONNECTION, email: `node.link.${tag}.${RUN}@example.com`, password: PASSWORD, given_name: "Linked",
      user_metadata: { lost: true },
    });
    (state.cleanup ??= []).push(u.user_id);
    return u;
  };
  const primary = await create("p");
  const secondary = await create("s");
  const bare = (u) => u.user_id.split("|")[1];
  const linked = await state.client.users.identities.link(primary.user_id, { provider: "auth0", user_id: bare(secondary) });
  eq(last().status, 201, "link HTTP status");
  eq(linked.map((i) => [i.provider, i.user_id]), [["auth0", bare(primary)], ["auth0", bare(secondary)]], "linked identities");
  const raw = lastJson();
  eq(raw[1].profileData, { email: secondary.email, given_name: "Linked", email_verified: false }, "raw profileData of the secondary");
  eq(raw[0].profileData?.email, primary.email, "the primary identity's profileData in the answer");
  eq(linked[1].profileData?.email, secondary.email, "SDK model profileData.email");

  const fetched = await state.client.users.get(primary.user_id);
  eq(fetched.identities.length, 2, "identities of the primary");
  ok(!("profileData" in lastJson().identities[0]), `primary identity has profileData: ${show(lastJson())}`);
  eq(lastJson().identities[1].profileData?.email, secondary.email, "GET: linked identity's profileData");
  const gone = await expectError(state.client.users.get(secondary.user_id), "get the linked secondary");
  ok(gone instanceof Management.NotFoundError, `not a NotFoundError: ${inspect(gone)}`);

  const self = await expectError(
    state.client.users.identities.link(primary.user_id, { provider: "auth0", user_id: primary.user_id }),
    "self link",
  );
  ok(self instanceof Management.BadRequestError, `not a BadRequestError: ${inspect(self)}`);
  eq(self.body?.message, "Main identity and the new one are the same.", "self link: body.message");

  const remaining = await state.client.users.identities.delete(primary.user_id, "auth0", bare(secondary));
  eq(last().status, 200, "unlink HTTP status");
  eq(remaining.map((i) => i.user_id), [bare(primary)], "identities after unlink");
  const restored = await state.client.users.get(secondary.user_id);
  eq([restored.email, restored.given_name, restored.user_metadata], [secondary.email, "Linked", undefined], "restored profile");
  const main = await expectError(state.client.users.identities.delete(primary.user_id, "auth0", bare(primary)), "unlink main");
  ok(main instanceof Management.BadRequestError, `not a BadRequestError: ${inspect(main)}`);
  eq(main.body?.message, "Main identity cannot be removed.", "unlink main: body.message");
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

finish();
