// A node test helper for Roster's tenants (docs/TENANTS.md): a fresh tenant per test, with a
// ManagementClient of the node `auth0` SDK (v4 and later) pointed at it.
//
//   import { test } from "node:test";
//   import { createTenant } from "./roster-tenant.mjs";
//
//   test("signs up", async (t) => {
//     const tenant = await createTenant({ url: "http://127.0.0.1:8080", adminKey: process.env.ROSTER_ADMIN_KEY });
//     t.after(() => tenant.delete());
//     await tenant.management().users.create({ connection: "Username-Password-Authentication", ... });
//   });
//
// Copy it into your tests; it needs `auth0` in your project and nothing else (node >= 20).

import { ManagementClient } from "auth0";

/**
 * Creates a tenant.
 * @param {object} options
 * @param {string} [options.url]        the Roster server (default $ROSTER_URL, else http://127.0.0.1:8080)
 * @param {string} [options.adminKey]   its --admin-key (default $ROSTER_ADMIN_KEY)
 * @param {number} [options.ttlSeconds] seconds the tenant may stay idle before the server deletes it
 *                                      (default 600; 0 keeps it until deleted)
 * @param {string} [options.tenantFile] a tenant file's YAML text (docs/SEED.md) to create it from
 * @param {string} [options.name]       its name (default: one the server makes up)
 */
export async function createTenant({ url, adminKey, ttlSeconds = 600, tenantFile, name } = {}) {
  const server = (url ?? process.env.ROSTER_URL ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
  const key = adminKey ?? process.env.ROSTER_ADMIN_KEY;
  if (!key) throw new Error("createTenant: no adminKey (or ROSTER_ADMIN_KEY)");

  async function admin(method, path, body) {
    const res = await fetch(`${server}/roster/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) {
      const error = new Error(`Roster ${method} /roster/v1${path}: ${res.status} ${text}`);
      error.status = res.status;
      throw error;
    }
    return text ? JSON.parse(text) : undefined;
  }

  const created = await admin("POST", "/tenants", {
    ttl_seconds: ttlSeconds,
    ...(tenantFile === undefined ? {} : { tenant_file: tenantFile }),
    ...(name === undefined ? {} : { name }),
  });
  const { domain } = created;
  const serverUrl = new URL(server);
  const baseUrl = `${serverUrl.protocol}//${domain}`;

  // The SDK builds https:// URLs. A ManagementClient that fetches its own tokens takes only a bare
  // host as its domain (auth0@7 refuses "127.0.0.1:8080/t/NAME"), so it is given the server's
  // host, and this fetch sends what it asks of https://<server host>/ to the tenant, as it does
  // what other clients, given the tenant's domain, ask of https://<domain>/; over http when the
  // server is.
  const tenantFetch = (input, init) => {
    const target = String(input instanceof Request ? input.url : input);
    const from = [`https://${domain}/`, `https://${serverUrl.host}/`].find((start) => target.startsWith(start));
    const rewritten = from ? `${baseUrl}/${target.slice(from.length)}` : target;
    return fetch(input instanceof Request ? new Request(rewritten, input) : rewritten, init);
  };

  return {
    name: created.name,
    /** What the SDKs are given as the domain: "127.0.0.1:8080/t/NAME". */
    domain,
    /** Where the tenant is served: http://127.0.0.1:8080/t/NAME (+ /api/v2, /oauth/token, ...). */
    baseUrl,
    clientId: created.client_id,
    clientSecret: created.client_secret,
    audience: created.management_api_audience,
    ttlSeconds: created.ttl_seconds,
    /** A ManagementClient for the tenant's management client (`options` are added to its own). */
    management: (options = {}) =>
      new ManagementClient({
        domain: serverUrl.host,
        audience: created.management_api_audience,
        clientId: created.client_id,
        clientSecret: created.client_secret,
        fetch: tenantFetch,
        ...options,
      }),
    /** The fetch the ManagementClient uses: give it, with `domain`, to other SDK clients of this tenant. */
    fetch: tenantFetch,
    /** Keeps the tenant as it is now under `snapshotName`. */
    snapshot: (snapshotName) => admin("POST", `/tenants/${created.name}/snapshots`, { name: snapshotName }),
    /** Makes the tenant what it was at `snapshotName`, by default as it was created. Tokens stay good. */
    reset: (snapshotName) =>
      admin("POST", `/tenants/${created.name}/reset`, snapshotName === undefined ? {} : { snapshot: snapshotName }),
    /** Deletes the tenant (one already gone, e.g. expired, is fine). */
    delete: () =>
      admin("DELETE", `/tenants/${created.name}`).catch((error) => {
        if (error.status !== 404) throw error;
      }),
  };
}
