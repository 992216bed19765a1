// The node test helper of docs/TENANTS.md (docs/examples/roster-tenant.mjs) with the node `auth0`
// SDK, under `node --test`.
//
// Run by tests/sdk/run.sh against its server with the admin API: ROSTER_URL (the server),
// ROSTER_ADMIN_KEY, and ROSTER_TENANT_HELPER, the helper's path (a copy beside a node_modules
// holding `auth0`).

import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";

const { createTenant } = await import(pathToFileURL(process.env.ROSTER_TENANT_HELPER).href);

const CONNECTION = "Username-Password-Authentication";
const PASSWORD = `Helper-Passw0rd!${randomBytes(4).toString("hex")}`;
const EMAIL = "same.person@example.com";

const createUser = (tenant, email = EMAIL) => tenant.management().users.create({ connection: CONNECTION, email, password: PASSWORD });
async function emails(tenant) {
  const page = await tenant.management().users.list({ page: 0, per_page: 50 });
  return page.data.map((u) => u.email).sort();
}

test("two tenants at once: the same email in each, no conflict", async (t) => {
  const tenants = await Promise.all([createTenant(), createTenant()]);
  t.after(() => Promise.all(tenants.map((tenant) => tenant.delete())));
  assert.notEqual(tenants[0].name, tenants[1].name);
  for (const tenant of tenants) {
    assert.equal(tenant.domain, `${new URL(process.env.ROSTER_URL).host}/t/${tenant.name}`);
    assert.equal(tenant.audience, `https://${tenant.domain}/api/v2/`);
  }
  const users = await Promise.all(tenants.map((tenant) => createUser(tenant)));
  assert.notEqual(users[0].user_id, users[1].user_id);
  for (const [i, tenant] of tenants.entries()) {
    const found = await tenant.management().users.listUsersByEmail({ email: EMAIL });
    assert.deepEqual(found.map((u) => u.user_id), [users[i].user_id], "each tenant sees its own user only");
  }
});

test("snapshot and reset bring a tenant back", async (t) => {
  const tenant = await createTenant();
  t.after(() => tenant.delete());
  const management = tenant.management(); // its token outlives the resets
  await createUser(tenant, "kept@example.com");
  await tenant.snapshot("one-user");
  await createUser(tenant, "dropped@example.com");
  assert.deepEqual(await emails(tenant), ["dropped@example.com", "kept@example.com"]);

  await tenant.reset("one-user");
  assert.deepEqual((await management.users.list({})).data.map((u) => u.email), ["kept@example.com"]);
  await tenant.reset();
  assert.deepEqual(await emails(tenant), [], "as created");
});

test("a tenant file seeds the tenant", async (t) => {
  const tenantFile = "roles:\n  - name: from-the-file\n    description: Seeded\n";
  const tenant = await createTenant({ tenantFile });
  t.after(() => tenant.delete());
  const roles = await tenant.management().roles.list({});
  assert.deepEqual(roles.data.map((r) => r.name), ["from-the-file"]);
});

test("delete: the tenant is gone, and so are its token endpoint and API", async () => {
  const tenant = await createTenant();
  await tenant.delete();
  await assert.rejects(tenant.management().users.list({}), (error) => error.statusCode === 404);
  await tenant.delete(); // again: already gone is fine
});

test("ttlSeconds: an idle tenant is deleted by the server", async () => {
  const tenant = await createTenant({ ttlSeconds: 1 });
  assert.equal(tenant.ttlSeconds, 1);
  const deadline = Date.now() + 10_000;
  let status;
  while (Date.now() < deadline) {
    const res = await fetch(`${process.env.ROSTER_URL}/roster/v1/tenants/${tenant.name}`, {
      headers: { authorization: `Bearer ${process.env.ROSTER_ADMIN_KEY}` },
    });
    status = res.status;
    if (status === 404) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.equal(status, 404, "expired");
});
