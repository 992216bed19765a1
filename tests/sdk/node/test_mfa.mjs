#!/usr/bin/env node
// SDK compatibility suite, MFA: drives a running Roster server with the node `auth0` SDK (v7).
// Same environment and conventions as every suite here (harness.mjs). Covers a user's
// authentication methods (create, the SDK's pager over the `authenticators` wrapper, get, update,
// set, delete one and all), authenticators, enrollments, the multifactor actions and recovery
// codes, as the SDK calls them, and the errors the SDK raises.

import { inspect } from "node:util";

import {
  CONNECTION, PASSWORD, RUN, Management, last, lastJson, managementClient, state, eq, ok, test, expectError, all, begin,
  finish,
} from "./harness.mjs";

const METHOD_ID_RE = /^(email|phone|totp|webauthn-roaming|passkey|recovery-code)\|dev_[A-Za-z0-9]{16}$/;
const TOTP_SECRET = "JBSWY3DPEHPK3PXP";

begin("mfa");
const client = managementClient();

await test("users.create: a user to enroll", [], async () => {
  state.user = (await client.users.create({ connection: CONNECTION, email: `node.mfa.${RUN}@example.com`, password: PASSWORD })).user_id;
});

await test("users.authenticationMethods.create: email, phone, totp, webauthn-roaming; 201, masked", ["user"], async () => {
  const email = await client.users.authenticationMethods.create(state.user, { type: "email", email: `node.mfa.${RUN}@example.com` });
  eq(last().status, 201, "status");
  ok(METHOD_ID_RE.test(email.id), `id ${email.id}`);
  eq(lastJson().email, "node" + "*".repeat(`node.mfa.${RUN}`.length - 4) + "@exam*******", "masked email");
  ok(!("confirmed" in lastJson()), "no confirmed in the POST answer");
  const phone = await client.users.authenticationMethods.create(state.user, { type: "phone", phone_number: "+15555550123" });
  const totp = await client.users.authenticationMethods.create(state.user, { type: "totp", totp_secret: TOTP_SECRET });
  ok(!JSON.stringify(lastJson()).includes(TOTP_SECRET), "the TOTP secret is not answered");
  const key = await client.users.authenticationMethods.create(state.user, {
    type: "webauthn-roaming", key_id: "key-1", public_key: "cHVibGlj", relying_party_identifier: "example.com",
  });
  state.methods = [email.id, phone.id, totp.id, key.id];
});

await test("users.authenticationMethods.list: the pager, get, update", ["methods"], async () => {
  const listed = await all(client.users.authenticationMethods.list(state.user));
  eq(listed.map((m) => m.id), state.methods, "ids in creation order");
  ok(listed.every((m) => m.confirmed === true), "confirmed");
  eq(listed[1].phone_number, "XXXXXXXX0123", "masked phone");
  const updated = await client.users.authenticationMethods.update(state.user, state.methods[1], { name: "Work" });
  eq(updated.name, "Work", "update answer");
  eq((await client.users.authenticationMethods.get(state.user, state.methods[1])).name, "Work", "get after update");
});

await test("users.get: multifactor; users.enrollments.get: the first factor", ["methods"], async () => {
  eq((await client.users.get(state.user)).multifactor, ["guardian"], "multifactor");
  const enrollments = await client.users.enrollments.get(state.user);
  eq(enrollments.map((e) => [e.id, e.type]), [[state.methods[0].split("|")[1], "email"]], "the email, made first");
});

await test("errors: ConflictError, BadRequestError, NotFoundError", ["methods"], async () => {
  const dup = await expectError(client.users.authenticationMethods.create(state.user, { type: "totp", totp_secret: TOTP_SECRET }), "a second TOTP");
  ok(dup instanceof Management.ConflictError, `not a ConflictError: ${inspect(dup)}`);
  eq(dup.body?.message, "Authentication method already exists.", "409 message");
  const bad = await expectError(client.users.authenticationMethods.create(state.user, { type: "phone" }), "a phone without a number");
  ok(bad instanceof Management.BadRequestError, `not a BadRequestError: ${inspect(bad)}`);
  const gone = await expectError(client.users.authenticationMethods.get(state.user, "email|dev_0000000000000000"), "an unknown method");
  ok(gone instanceof Management.NotFoundError, `not a NotFoundError: ${inspect(gone)}`);
  eq(gone.body?.message, "The authentication method could not be found.", "404 message");
  const ghost = await expectError(client.users.enrollments.get("auth0|000000000000000000000000"), "an unknown user");
  eq(ghost.body?.errorCode, "inexistent_user", "404 errorCode");
});

await test("users.authenticationMethods.set / delete / deleteAll; users.authenticators.deleteAll", ["methods"], async () => {
  const answer = await client.users.authenticationMethods.set(state.user, [
    { type: "phone", phone_number: "+44207183875044", preferred_authentication_method: "voice" },
    { type: "email", email: "foo@example.com" },
  ]);
  eq(last().status, 200, "set status");
  eq(answer.map((m) => m.type), ["phone", "email"], "set answer");
  eq(answer[0].phone_number, "+44207183875044", "set answers unmasked");
  eq(answer[0].authentication_methods?.[0]?.type, "voice", "the phone's channel");
  await client.users.authenticationMethods.delete(state.user, answer[1].id);
  eq(last().status, 204, "delete status");
  eq((await all(client.users.authenticationMethods.list(state.user))).map((m) => m.type), ["phone"], "after delete");
  await client.users.authenticators.deleteAll(state.user);
  eq(last().status, 204, "authenticators status");
  eq(await all(client.users.authenticationMethods.list(state.user)), [], "none left");
  await client.users.authenticationMethods.create(state.user, { type: "email", email: "again@example.com" });
  await client.users.authenticationMethods.deleteAll(state.user);
  eq(last().status, 204, "deleteAll status");
  eq((await client.users.get(state.user)).multifactor, undefined, "multifactor gone");
});

await test("users.regenerateRecoveryCode; users.multifactor actions", ["user"], async () => {
  const first = (await client.users.regenerateRecoveryCode(state.user)).recovery_code;
  const second = (await client.users.regenerateRecoveryCode(state.user)).recovery_code;
  ok(/^[A-Z0-9]{24}$/.test(first) && /^[A-Z0-9]{24}$/.test(second) && first !== second, `${first} ${second}`);
  await client.users.multifactor.invalidateRememberBrowser(state.user);
  eq(last().status, 204, "invalidate status");
  await client.users.multifactor.deleteProvider(state.user, "google-authenticator");
  eq(last().status, 204, "deleteProvider status");
  await client.users.riskAssessments.clear(state.user, { connection: CONNECTION, assessors: ["new-device"] });
  eq(last().status, 204, "riskAssessments.clear status");
});

finish();
