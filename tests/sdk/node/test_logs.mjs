#!/usr/bin/env node
// SDK compatibility suite, logs: drives a running Roster server with the node `auth0` SDK (v7).
// Same environment and conventions as every suite here (harness.mjs). Management API writes
// leave `sapi` events; the suite finds its own with logs.list({search}), reads it with
// logs.get, lists a user's with users.logs.list (empty: Management API events name no user, as
// Auth0's do), and checks the raw JSON and the errors the SDK raises.

import { inspect } from "node:util";

import {
  CONNECTION, PASSWORD, RUN, Management, last, lastJson, managementClient, state, eq, ok, test, expectError, all, begin,
  finish,
} from "./harness.mjs";

const EMAIL = `node.logged.${RUN}@example.org`;

begin("logs");
const client = managementClient();

await test("a create is a sapi event: logs.list({search}) finds it, newest first", [], async () => {
  const user = await client.users.create({ connection: CONNECTION, email: EMAIL, password: PASSWORD });
  state.user = user.user_id;
  const page = await client.logs.list({ search: 'type:sapi AND description:"Create a User"', per_page: 5 });
  const raw = lastJson();
  eq(Object.keys(raw).sort(), ["length", "limit", "logs", "start", "total"], "wrapper keys (include_totals)");
  const event = raw.logs[0];
  eq(page.data[0].log_id, event.log_id, "the SDK's item is the raw one");
  eq([event.type, event.description, event.user_id], ["sapi", "Create a User", null], "the event");
  eq(event.details.request.body.email, EMAIL, "our create");
  eq(event.details.request.body.password, "*****", "the password is masked");
  eq([event.details.response.statusCode, event.details.response.body.user_id], [201, user.user_id], "the answer");
  ok(!last().text.includes(PASSWORD), "no password in the log");
  state.event = event;
});

await test("logs.get: the event by id; an unknown id -> NotFoundError", ["event"], async () => {
  const got = await client.logs.get(state.event.log_id);
  eq(got.type, "sapi", "type");
  eq(lastJson(), state.event, "the raw event, as listed");
  const missing = await expectError(client.logs.get("90020230314144709188593000000000000001223372037868840734"), "get of an unknown id");
  ok(missing instanceof Management.NotFoundError, `not a NotFoundError: ${inspect(missing)}`);
  eq([missing.body?.errorCode, missing.body?.message], ["inexistent_log", "Log not found."], "404");
});

await test("logs.list: bad search -> BadRequestError; the pager walks the pages", ["event"], async () => {
  const bad = await expectError(client.logs.list({ search: "email:x" }), "a search on an unknown field");
  ok(bad instanceof Management.BadRequestError, `not a BadRequestError: ${inspect(bad)}`);
  eq(bad.body?.errorCode, "invalid_query_string", "errorCode");
  await client.users.update(state.user, { name: `Logged ${RUN}` });
  const updates = await all(client.logs.list({ search: 'description:"Update a User" AND type:sapi', per_page: 1 }));
  ok(updates.length >= 1 && updates.every((e) => e.description === "Update a User"), JSON.stringify(updates.map((e) => e.description)));
});

await test("users.logs.list: the user's events (none from the Management API)", ["user"], async () => {
  eq(await all(client.users.logs.list(state.user)), [], "no events");
  eq(lastJson(), { start: 0, limit: 50, length: 0, total: 0, logs: [] }, "raw wrapper");
});

if (state.user) await client.users.delete(state.user);

finish();
