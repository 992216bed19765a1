// What every node SDK suite here shares: the server to drive, the node `auth0` SDK (v7) and a
// ManagementClient pointed at the server, a fetch that records every exchange, and a tiny test
// harness.
//
// Environment (tests/sdk/run.sh sets it):
//   ROSTER_URL     base URL of the tenant: the server's own, e.g. http://127.0.0.1:8080 (or set
//                  PORT), or one it hosts, e.g. http://127.0.0.1:8080/t/NAME
//   PORT           used when ROSTER_URL is unset (host 127.0.0.1)
//   CLIENT_ID      client id the server was started with
//   CLIENT_SECRET  client secret the server was started with
//   SDK_NODE_DIR   folder whose node_modules holds `auth0` (default: <repo>/.sdk/node)
//   SDK_SKIP       a regular expression: the tests whose names it matches are skipped
//
// Self-contained (no test framework): every check throws on mismatch, every test prints `ok` or
// `FAIL` with the server's answer, and `finish()` ends the suite with the line
// `N passed, N failed` and a non-zero exit when anything failed (or nothing ran).
//
// How the SDK is pointed at plain http (verified against auth0@7.1.0):
//   new ManagementClient({ domain: "127.0.0.1:PORT", clientId, clientSecret, fetch })
//   The client hard-codes https:// for the API base URL *and* for the token
//   endpoint; the `fetch` option is used for both (API calls and TokenProvider),
//   so a fetch that rewrites https:// to http:// is enough. The token is fetched
//   form-encoded with audience https://DOMAIN/api/v2/.
//   A tenant the server hosts is reached by path (ROSTER_URL http://127.0.0.1:PORT/t/NAME), but the
//   ManagementClient's token provider refuses a domain that is not a bare host (auth0@7: "invalid
//   domain ... Provide a bare hostname"). So `managementClient()` gives it the server's host as its
//   domain and the tenant's audience, and the fetch puts the tenant's path back into its URLs;
//   the clients that take a domain with a path (static-token ManagementClient, auth0/legacy) get
//   DOMAIN itself.

import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { isDeepStrictEqual, inspect } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const sdkDir = resolve(process.env.SDK_NODE_DIR ?? join(here, "..", "..", "..", ".sdk", "node"));
const require = createRequire(join(sdkDir, "package.json"));
const auth0 = require("auth0");
export const sdkVersion = require("auth0/package.json").version;
export const { ManagementClient, ManagementError, Management } = auth0;

// ---------------------------------------------------------------------------
// configuration

export const ROSTER_URL = (process.env.ROSTER_URL ?? `http://127.0.0.1:${process.env.PORT}`).replace(/\/+$/, "");
export const CLIENT_ID = process.env.CLIENT_ID;
export const CLIENT_SECRET = process.env.CLIENT_SECRET;
if (!CLIENT_ID || !CLIENT_SECRET || (!process.env.ROSTER_URL && !process.env.PORT)) {
  console.error("set ROSTER_URL (or PORT), CLIENT_ID and CLIENT_SECRET");
  process.exit(2);
}
// What the SDKs are given as the domain: host and path, "127.0.0.1:PORT" or "127.0.0.1:PORT/t/NAME"
// (a hosted tenant; the SDKs append /oauth/token, /api/v2/... to it).
export const BASE_PATH = new URL(ROSTER_URL).pathname.replace(/\/+$/, "");
export const DOMAIN = new URL(ROSTER_URL).host + BASE_PATH;
export const AUDIENCE = `https://${DOMAIN}/api/v2/`;
export const CONNECTION = "Username-Password-Authentication";
export const PASSWORD = "Sdk-Test-Passw0rd!" + randomBytes(4).toString("hex");
export const RUN = randomBytes(4).toString("hex"); // makes every name, identifier and e-mail of this run unique

// ---------------------------------------------------------------------------
// fetch that rewrites https:// -> http:// and records every exchange, so raw
// JSON (absent vs null, wrapper keys) and what was sent can be checked.

const HOST = new URL(ROSTER_URL).host;
const toTenant = (url) =>
  url.startsWith(`https://${DOMAIN}/`) ? `http://${url.slice("https://".length)}`
  : url.startsWith(`https://${HOST}/`) ? `${ROSTER_URL}/${url.slice(`https://${HOST}/`.length)}`
  : url.replace(/^https:\/\//, "http://");

export const exchanges = [];
export const rewritingFetch = async (input, init = {}) => {
  const url = toTenant(String(input instanceof Request ? input.url : input));
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
export const last = () => {
  if (!exchanges.length) throw new Error("no HTTP exchange was recorded");
  return exchanges[exchanges.length - 1];
};
export const lastJson = () => {
  const x = last();
  try {
    return JSON.parse(x.text);
  } catch {
    throw new Error(`response to ${x.method} ${x.url} is not JSON: ${x.status} ${JSON.stringify(x.text)}`);
  }
};

/** A ManagementClient for the server's own client (or the `clientId`/`clientSecret` given) that
 * goes through `rewritingFetch`. */
export const managementClient = (options = {}) =>
  new ManagementClient({
    domain: HOST, audience: AUDIENCE, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, fetch: rewritingFetch, ...options,
  });

// ---------------------------------------------------------------------------
// tiny harness

const results = [];
export const state = {};
// Prerequisites a suite found the server does not offer yet, with why: a test that needs one is
// skipped, loudly, rather than failed.
export const unavailable = {};

export const show = (v) => JSON.stringify(v);
export function eq(actual, expected, what) {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new Error(`${what}: expected ${show(expected)}, got ${show(actual)}`);
  }
}
export function ok(cond, msg) {
  if (!cond) throw new Error(msg);
}
// SDK_SKIP: a regular expression; the tests whose names it matches are skipped, loudly (a store
// that lacks a feature yet, e.g. search on PostgreSQL).
const SKIP = process.env.SDK_SKIP ? new RegExp(process.env.SDK_SKIP) : null;
export async function test(name, needs, fn) {
  if (SKIP && SKIP.test(name)) {
    console.log(`skip - ${name}: SDK_SKIP=${SKIP.source}`);
    return;
  }
  const missing = needs.filter((k) => !(k in state));
  if (missing.length) {
    const why = missing.map((k) => unavailable[k]).find(Boolean);
    if (why) {
      console.log(`skip - ${name}: ${why}`);
      return;
    }
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
export async function expectError(promise, what) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error(`${what} succeeded: ${last().status} ${last().text}`);
}
/** Every item of an SDK listing, through its pager. */
export async function all(pagePromise) {
  const items = [];
  for await (const item of await pagePromise) items.push(item);
  return items;
}

// ---------------------------------------------------------------------------
// reporting

let area = "";

/** Names the suite (e.g. "organizations") in its first and last lines. */
export function begin(suiteArea = "") {
  area = suiteArea;
  console.log(`auth0 (node) ${sdkVersion} ${area ? area + " " : ""}against ${ROSTER_URL} (audience ${AUDIENCE})`);
}

export function finish() {
  const passed = results.filter(Boolean).length;
  const failed = results.length - passed;
  console.log(`node${area ? " " + area : ""}: ${passed} passed, ${failed} failed`);
  process.exit(failed || results.length === 0 ? 1 : 0);
}
