#!/usr/bin/env node
// SDK compatibility suite, logins: drives a running Roster server with the node SDK's
// authentication client (`auth0/legacy` AuthenticationClient: database.signUp,
// oauth.passwordGrant, refreshTokenGrant, revokeRefreshToken; UserInfoClient; and
// authorizationCodeGrant / authorizationCodeGrantWithPKCE for codes got by driving the browser
// login form over HTTP) and the v7 ManagementClient for what logins leave behind (refresh
// tokens, sessions, user blocks).
// Same environment and conventions as every suite here (harness.mjs).
//
// The legacy client validates every ID token it is given, and fetches RS256 keys over https
// without the custom fetch; the application here signs its ID tokens with HS256 (its
// jwt_configuration.alg), which the client checks with the client secret.

import { createHash, randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

import {
  CONNECTION, DOMAIN, PASSWORD, RUN, last, lastJson, managementClient, rewritingFetch, state, eq, ok, test, expectError,
  all, begin, finish,
} from "./harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const sdkDir = resolve(process.env.SDK_NODE_DIR ?? join(here, "..", "..", "..", ".sdk", "node"));
const require = createRequire(join(sdkDir, "package.json"));
const { AuthenticationClient, UserInfoClient } = require("auth0/legacy");

const GRANTS = ["password", "http://auth0.com/oauth/grant-type/password-realm", "refresh_token"];
const EMAIL = `node.login.${RUN}@example.com`;
const CALLBACK = "https://app.example/callback";

begin("logins");
const client = managementClient();
const auth = () =>
  new AuthenticationClient({
    domain: DOMAIN, clientId: state.app.client_id, clientSecret: state.app.client_secret, idTokenSigningAlg: "HS256",
    fetch: rewritingFetch,
  });

await test("clients.create + connections.clients.update: an application that may log users in", [], async () => {
  const app = await client.clients.create({
    name: `Node Login App ${RUN}`, app_type: "regular_web", grant_types: GRANTS,
    jwt_configuration: { alg: "HS256", lifetime_in_seconds: 36000 },
  });
  const db = (await client.connections.list({ name: CONNECTION })).data[0].id;
  await client.connections.clients.update(db, [{ client_id: app.client_id, status: true }]);
  state.app = app;
});

await test("database.signUp: 200 with _id", ["app"], async () => {
  const { data } = await auth().database.signUp({ email: EMAIL, password: PASSWORD, connection: CONNECTION });
  eq([data.email, data.email_verified], [EMAIL, false], "identifiers");
  ok(/^[0-9a-f]{24}$/.test(data._id), `_id ${data._id}`);
  state.user = `auth0|${data._id}`;
});

await test("oauth.passwordGrant (realm): an HS256 ID token the client validates, a refresh token", ["user"], async () => {
  const { data } = await auth().oauth.passwordGrant({
    username: EMAIL, password: PASSWORD, realm: CONNECTION, scope: "openid profile email offline_access",
  });
  eq(data.token_type, "Bearer", "token type");
  ok(typeof data.id_token === "string" && typeof data.refresh_token === "string", "id and refresh tokens");
  state.tokens = data;
});

await test("oauth.passwordGrant with a wrong password: 403 invalid_grant", ["user"], async () => {
  const error = await expectError(
    auth().oauth.passwordGrant({ username: EMAIL, password: "wrong", realm: CONNECTION }), "a wrong password");
  eq([error.statusCode, error.error, error.error_description], [403, "invalid_grant", "Wrong email or password."], "error");
});

await test("UserInfoClient.getUserInfo: the profile claims", ["tokens"], async () => {
  const info = new UserInfoClient({ domain: DOMAIN, fetch: rewritingFetch });
  const { data } = await info.getUserInfo(state.tokens.access_token);
  eq([data.sub, data.email], [state.user, EMAIL], "claims");
});

await test("oauth.refreshTokenGrant, then revokeRefreshToken: the token is refused", ["tokens"], async () => {
  const { data } = await auth().oauth.refreshTokenGrant({ refresh_token: state.tokens.refresh_token });
  ok(typeof data.access_token === "string", "refreshed");
  await auth().oauth.revokeRefreshToken({ token: state.tokens.refresh_token });
  eq(last().status, 200, "revoke status");
  const error = await expectError(auth().oauth.refreshTokenGrant({ refresh_token: state.tokens.refresh_token }), "a revoked token");
  eq([error.statusCode, error.error], [403, "invalid_grant"], "refused");
});

await test("users.refreshToken.list and delete", ["tokens"], async () => {
  await auth().oauth.passwordGrant({ username: EMAIL, password: PASSWORD, realm: CONNECTION, scope: "offline_access" });
  const tokens = await all(client.users.refreshToken.list(state.user));
  eq(tokens.length, 1, "one token");
  eq([tokens[0].client_id, tokens[0].session_id], [state.app.client_id, null], "token");
  await client.users.refreshToken.delete(state.user);
  eq([last().status, lastJson()], [202, {}], "delete answer");
  eq((await all(client.users.refreshToken.list(state.user))).length, 0, "none left");
});

await test("users.sessions.list: password logins open no session", ["tokens"], async () => {
  eq(await all(client.users.sessions.list(state.user)), [], "no sessions");
});

await test("userBlocks: blocked after ten wrong passwords; list, listByIdentifier, deleteByIdentifier", ["tokens"], async () => {
  for (let i = 0; i < 10; i++) {
    await expectError(auth().oauth.passwordGrant({ username: EMAIL, password: "wrong", realm: CONNECTION }), "wrong");
  }
  const error = await expectError(
    auth().oauth.passwordGrant({ username: EMAIL, password: PASSWORD, realm: CONNECTION }), "a blocked login");
  eq([error.statusCode, error.error], [429, "too_many_attempts"], "blocked");
  const blocks = await client.userBlocks.list(state.user);
  eq(blocks.blocked_for.map((b) => b.identifier), [EMAIL], "blocked_for");
  eq((await client.userBlocks.listByIdentifier({ identifier: EMAIL })).blocked_for.length, 1, "by identifier");
  await client.userBlocks.deleteByIdentifier({ identifier: EMAIL });
  eq(last().status, 204, "unblock status");
  eq((await client.userBlocks.list(state.user)).blocked_for, [], "unblocked");
});


// A browser: keeps its cookies (whatever their path), follows no redirect; `url` is absolute.
function browser() {
  const jar = new Map();
  return async (url, init = {}) => {
    const headers = new Headers(init.headers ?? {});
    if (jar.size) headers.set("cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
    const res = await fetch(url, { ...init, headers, redirect: "manual" });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair, ...attributes] = cookie.split(";");
      const [name, value] = [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)];
      if (attributes.some((a) => a.trim() === "Max-Age=0")) jar.delete(name.trim());
      else jar.set(name.trim(), value);
    }
    return res;
  };
}

// /authorize and the login form, as a browser drives them (redirects and the form's action
// resolved against the page's URL): the code the application gets.
async function browserCode(visit, app, params) {
  const query = new URLSearchParams({ response_type: "code", client_id: app.client_id, redirect_uri: CALLBACK, ...params });
  const authorize = `http://${DOMAIN}/authorize?${query}`;
  let res = await visit(authorize);
  eq(res.status, 302, "authorize redirects");
  let location = new URL(res.headers.get("location"), authorize).href;
  if (location.startsWith(`http://${DOMAIN}/u/login`)) {
    const form = await (await visit(location)).text();
    const loginState = /name="state" value="([^"]+)"/.exec(form)[1];
    const action = new URL(/<form method="post" action="([^"]+)"/.exec(form)[1], location).href;
    eq(action, `http://${DOMAIN}/u/login`, "the form posts to the login form's URL");
    res = await visit(action, {
      method: "POST", body: new URLSearchParams({ state: loginState, username: EMAIL, password: PASSWORD }),
    });
    eq(res.status, 302, "login accepted");
    location = new URL(res.headers.get("location"), action).href;
  }
  eq(location.split("?")[0], CALLBACK, "back at the application");
  return new URL(location).searchParams.get("code");
}

await test("clients.create: a web application that logs users in through the browser", ["user"], async () => {
  const web = await client.clients.create({
    name: `Node Web App ${RUN}`, app_type: "regular_web", callbacks: [CALLBACK],
    grant_types: ["authorization_code", "refresh_token"], jwt_configuration: { alg: "HS256", lifetime_in_seconds: 36000 },
  });
  const db = (await client.connections.list({ name: CONNECTION })).data[0].id;
  await client.connections.clients.update(db, [{ client_id: web.client_id, status: true }]);
  state.web = web;
  state.browser = browser();
});

const webAuth = () =>
  new AuthenticationClient({
    domain: DOMAIN, clientId: state.web.client_id, clientSecret: state.web.client_secret, idTokenSigningAlg: "HS256",
    fetch: rewritingFetch,
  });

await test("oauth.authorizationCodeGrant: a browser login's code, its ID token validated with the nonce", ["web"], async () => {
  const code = await browserCode(state.browser, state.web, { scope: "openid email offline_access", nonce: "n-456" });
  const { data } = await webAuth().oauth.authorizationCodeGrant(
    { code, redirect_uri: CALLBACK }, { idTokenValidateOptions: { nonce: "n-456" } });
  const claims = JSON.parse(Buffer.from(data.id_token.split(".")[1], "base64url"));
  eq([claims.sub, claims.nonce, claims.sid.length], [state.user, "n-456", 32], "ID token");
  ok(typeof data.refresh_token === "string", "refresh token");
  state.sid = claims.sid;
  const error = await expectError(webAuth().oauth.authorizationCodeGrant({ code, redirect_uri: CALLBACK }), "reuse");
  eq([error.statusCode, error.error, error.error_description], [403, "invalid_grant", "Invalid authorization code"], "reuse");
});

await test("oauth.authorizationCodeGrantWithPKCE: single sign-on, then the verifier", ["sid"], async () => {
  const verifier = randomBytes(48).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const pkce = { scope: "openid", code_challenge: challenge, code_challenge_method: "S256" };
  let code = await browserCode(state.browser, state.web, pkce);
  const error = await expectError(
    webAuth().oauth.authorizationCodeGrantWithPKCE({ code, code_verifier: `x${verifier}`, redirect_uri: CALLBACK }),
    "a wrong verifier");
  eq([error.statusCode, error.error], [403, "invalid_grant"], "wrong verifier");
  code = await browserCode(state.browser, state.web, pkce);
  const { data } = await webAuth().oauth.authorizationCodeGrantWithPKCE({ code, code_verifier: verifier, redirect_uri: CALLBACK });
  eq(JSON.parse(Buffer.from(data.id_token.split(".")[1], "base64url")).sid, state.sid, "the same session");
});

await test("users.sessions.list and sessions.get: the browser session", ["sid"], async () => {
  const sessions = await all(client.users.sessions.list(state.user));
  eq(sessions.map((s) => s.id), [state.sid], "one session");
  const session = await client.sessions.get(state.sid);
  eq(session.clients, [{ client_id: state.web.client_id }], "clients");
  eq(session.authentication.methods.map((m) => m.name), ["pwd"], "methods");
  const tokens = await all(client.users.refreshToken.list(state.user));
  eq(tokens.map((t) => t.session_id), [state.sid], "the refresh token is the session's");
});

await test("users.sessions.delete: 202, and the browser is no longer signed in", ["sid"], async () => {
  await client.users.sessions.delete(state.user);
  eq([last().status, lastJson()], [202, {}], "delete answer");
  eq(await all(client.users.sessions.list(state.user)), [], "no sessions");
  const query = new URLSearchParams({
    response_type: "code", client_id: state.web.client_id, redirect_uri: CALLBACK, prompt: "none",
  });
  const res = await state.browser(`http://${DOMAIN}/authorize?${query}`);
  eq(new URL(res.headers.get("location")).searchParams.get("error"), "login_required", "silent authentication refused");
});

finish();
