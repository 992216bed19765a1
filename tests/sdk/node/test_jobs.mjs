#!/usr/bin/env node
// SDK compatibility suite, jobs: drives a running Roster server with the node `auth0` SDK (v7).
// Same environment and conventions as every suite here (harness.mjs). Imports a users file with a
// bad record through jobs.usersImports.create (a multipart upload of a File), polls jobs.get until
// the job finishes, reads the failed record with jobs.errors.get, imports again with upsert,
// exports through jobs.usersExports.create and downloads the gzipped file its `location` names,
// and asks for a verification email (jobs.verificationEmail.create).

import { gunzipSync } from "node:zlib";
import { inspect } from "node:util";

import {
  CONNECTION, RUN, Management, last, lastJson, managementClient, rewritingFetch, state, eq, ok, test, expectError, all,
  begin, finish,
} from "./harness.mjs";

const GOOD = [0, 1].map((i) => `node.imported.${i}.${RUN}@example.org`);

begin("jobs");
const client = managementClient();

/** Polls jobs.get until the job is completed or failed. */
async function finished(id) {
  for (let i = 0; i < 300; i++) {
    const job = await client.jobs.get(id);
    if (job.status === "completed" || job.status === "failed") return job;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${id} did not finish: ${last().text}`);
}

const usersFile = (records) => new File([JSON.stringify(records)], "users.json", { type: "application/json" });

await test("the connection's id", [], async () => {
  const found = await all(client.connections.list({ name: CONNECTION }));
  eq(found.length, 1, `connections named ${CONNECTION}`);
  state.connectionId = found[0].id;
});

await test("usersImports.create: 202, the job; jobs.get polls it to completed with its summary", ["connectionId"], async () => {
  const records = [
    { email: GOOD[0], email_verified: true, user_metadata: { plan: "pro" } },
    { email: "not an email" },
    { email: GOOD[1], given_name: "Imported" },
  ];
  const job = await client.jobs.usersImports.create({
    users: usersFile(records),
    connection_id: state.connectionId,
    upsert: false,
    external_id: `ext-${RUN}`,
    send_completion_email: false,
  });
  eq(last().status, 202, "status");
  eq([job.type, job.connection_id, job.connection, job.external_id],
    ["users_import", state.connectionId, CONNECTION, `ext-${RUN}`], "the job");
  ok(job.id.startsWith("job_") && ["pending", "processing", "completed"].includes(job.status), inspect(job));
  const done = await finished(job.id);
  eq(done.status, "completed", "status");
  eq(done.summary, { failed: 1, updated: 0, inserted: 2, total: 3 }, "summary");
  state.import = job.id;
  state.records = records;
});

await test("jobs.errors.get: the bad record as given, with its error", ["import"], async () => {
  const errors = await client.jobs.errors.get(state.import);
  eq(errors.length, 1, "one failed record");
  eq(errors[0].user, state.records[1], "the record as given");
  eq([errors[0].errors[0].code, errors[0].errors[0].path], ["FORMAT", "email"], "the error");
  const found = await client.users.listUsersByEmail({ email: GOOD[0] });
  eq(found.map((u) => [u.email, u.user_metadata, u.email_verified]), [[GOOD[0], { plan: "pro" }, true]], "imported");
  state.user = found[0].user_id;
});

await test("an import again: DUPLICATED_USER without upsert, updated with it; no errors -> undefined", ["import"], async () => {
  const again = [{ email: GOOD[1], given_name: "Upserted" }];
  let job = await client.jobs.usersImports.create({ users: usersFile(again), connection_id: state.connectionId });
  eq((await finished(job.id)).summary, { failed: 1, updated: 0, inserted: 0, total: 1 }, "without upsert");
  eq((await client.jobs.errors.get(job.id))[0].errors[0].code, "DUPLICATED_USER", "the error");
  job = await client.jobs.usersImports.create({ users: usersFile(again), connection_id: state.connectionId, upsert: true });
  eq((await finished(job.id)).summary, { failed: 0, updated: 1, inserted: 0, total: 1 }, "with upsert");
  eq(await client.jobs.errors.get(job.id), undefined, "no errors");
  eq(last().status, 204, "status");
  eq((await client.users.listUsersByEmail({ email: GOOD[1] }))[0].given_name, "Upserted", "the upserted user");
});

await test("usersImports.create: a bad connection id -> BadRequestError; jobs.get unknown -> NotFoundError", ["connectionId"], async () => {
  const bad = await expectError(
    client.jobs.usersImports.create({ users: usersFile([]), connection_id: "con_0000000000000000" }), "an import into no connection");
  ok(bad instanceof Management.BadRequestError, `not a BadRequestError: ${inspect(bad)}`);
  eq(bad.body?.errorCode, "inexistent_connection", "errorCode");
  const missing = await expectError(client.jobs.get("job_0000000000000000"), "get of an unknown job");
  ok(missing instanceof Management.NotFoundError, `not a NotFoundError: ${inspect(missing)}`);
  eq(missing.body?.errorCode, "inexistent_job", "errorCode");
});

await test("usersExports.create: 200; the location downloads gzipped NDJSON with the imported users", ["user"], async () => {
  const job = await client.jobs.usersExports.create({
    connection_id: state.connectionId,
    format: "json",
    fields: [{ name: "email" }, { name: "user_metadata.plan", export_as: "plan" }],
  });
  eq(last().status, 200, "status");
  eq([job.type, job.format, job.connection_id], ["users_export", "json", state.connectionId], "the job");
  const done = await finished(job.id);
  eq(done.status, "completed", "status");
  ok(/^https?:\/\//.test(done.location ?? ""), `location: ${done.location}`);
  const download = await rewritingFetch(done.location);
  eq(download.status, 200, "download status");
  const text = gunzipSync(Buffer.from(await download.arrayBuffer())).toString("utf8");
  const lines = text.split("\n").filter(Boolean).map((l) => JSON.parse(l));
  const mine = Object.fromEntries(lines.filter((l) => GOOD.includes(l.email)).map((l) => [l.email, l]));
  eq(mine, { [GOOD[0]]: { email: GOOD[0], plan: "pro" }, [GOOD[1]]: { email: GOOD[1] } }, "the imported users");
});

await test("verificationEmail.create: 201, a job that completes; an unknown user -> 404", ["user"], async () => {
  const unverified = (await client.users.listUsersByEmail({ email: GOOD[1] }))[0].user_id;
  const job = await client.jobs.verificationEmail.create({ user_id: unverified });
  eq(last().status, 201, "status");
  eq(Object.keys(lastJson()).sort(), ["created_at", "id", "status", "type"], "keys");
  eq(job.type, "verification_email", "type");
  eq((await finished(job.id)).status, "completed", "status");
  const missing = await expectError(client.jobs.verificationEmail.create({ user_id: `auth0|nobody${RUN}` }), "an unknown user");
  eq([missing.statusCode, missing.body?.errorCode], [404, "inexistent_user"], "the error");
});

for (const email of GOOD) {
  try {
    for (const u of await client.users.listUsersByEmail({ email })) await client.users.delete(u.user_id);
  } catch {
    // cleanup only
  }
}

finish();
