#!/usr/bin/env node
// SDK compatibility suite, tenant files: the server runs with `--seed tests/sdk/tenant.yaml`
// (tests/sdk/run.sh), and the node `auth0` SDK works with what the file set up: a
// ManagementClient for the seeded client (its secret is SDK_SEEDED_SECRET, the file's keyword)
// gets a token with exactly its grant's scopes, reads the seeded role, user and organization,
// and is refused what its grant leaves out. Same conventions as every suite here (harness.mjs).

import { inspect } from "node:util";

import { BASE_PATH, Management, exchanges, managementClient, eq, ok, test, expectError, all, begin, finish } from "./harness.mjs";

const SEEDED_SCOPES = "read:users read:roles read:organizations read:organization_members";

begin("tenant file");
const client = managementClient({ clientId: "sdk-seeded-client", clientSecret: process.env.SDK_SEEDED_SECRET });

await test("the seeded client reads the seeded user, their role and organization", [], async () => {
  const found = await client.users.listUsersByEmail({ email: "sdk-seeded-user@example.com" });
  eq(found.length, 1, "users by email");
  const user = found[0];
  eq(user.given_name, "Seeded", "given_name");
  const token = exchanges.find((x) => x.url.pathname === `${BASE_PATH}/oauth/token`);
  ok(token, "the SDK asked for a token");
  eq(JSON.parse(token.text).scope, SEEDED_SCOPES, "the token's scopes");
  eq((await all(client.users.roles.list(user.user_id))).map((r) => r.name), ["sdk-seeded-role"], "the user's roles");
  const org = await client.organizations.getByName("sdk-seeded-org");
  eq(org.display_name, "Seeded organization", "organization");
  eq((await all(client.organizations.members.list(org.id))).map((m) => m.user_id), [user.user_id], "members");
});

await test("what the grant leaves out is refused", [], async () => {
  const refused = await expectError(client.roles.create({ name: "not-allowed" }), "a role created without create:roles");
  ok(refused instanceof Management.ForbiddenError, `not a ForbiddenError: ${inspect(refused)}`);
});

finish();
