// Compares Deploy CLI tenant files for tests/deploy_cli/run.sh; exits 1 listing every difference.
//
//   node compare.mjs subset FIXTURE EXPORT   the export holds the fixture: every object and every
//                                            attribute it gives, with the same values
//   node compare.mjs exact EXPORT1 EXPORT2   two exports are the same tenant
//
// What `subset` lets the export have beyond the fixture, and nothing else:
// - OBJECTS: what Roster's tenant has before any import (its management client and that client's
//   grant to the Management API, its `email` and `sms` connections) and the client the CLI signs
//   in with (run.sh seeds it; the CLI exports it, never imports it).
// - DEFAULTS: attributes the fixture leaves out that Roster (as Auth0) sets on creation, and
//   those the CLI writes for an unset one; a value given here must be the one exported, `ANY`
//   stands for a whole default object (a client's token settings).
// Lists whose order is not part of the tenant (a connection's clients, a grant's scopes, a role's
// permissions, an organization's connections and client grants) are compared as sets; objects
// are matched by the CLI's own keys (name; a grant's client and audience). Ids never appear:
// the CLI writes names in their place.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(`${process.env.DEPLOY_CLI_DIR}/package.json`);
const yaml = require('js-yaml');

const [mode, leftFile, rightFile] = process.argv.slice(2);
const load = (file) => yaml.load(readFileSync(file, 'utf8')) || {};
const SECTIONS = ['resourceServers', 'clients', 'clientGrants', 'connections', 'roles', 'organizations'];
const KEY = {
  clientGrants: (g) => `${g.client_id} -> ${g.audience}`,
};
const keyOf = (section, object) => (KEY[section] ? KEY[section](object) : object.name);

const ANY = Symbol('any');
const DEFAULTS = {
  // Auth0's recorded defaults for a new API (docs/COMPATIBILITY.md, resource servers).
  resourceServers: {
    allow_offline_access: false,
    signing_alg: 'RS256',
    skip_consent_for_verifiable_first_party_clients: false,
    token_lifetime: 86400,
    token_lifetime_for_web: 7200,
  },
  // Auth0's recorded defaults for a new client (docs/COMPATIBILITY.md, clients).
  clients: {
    cross_origin_authentication: false,
    custom_login_page_on: true,
    is_first_party: true,
    is_token_endpoint_ip_header_trusted: false,
    jwt_configuration: ANY,
    oidc_conformant: false,
    refresh_token: ANY,
    sso_disabled: false,
  },
  clientGrants: {},
  connections: { is_domain_connection: false },
  // The CLI writes the permissions of every role.
  roles: { permissions: [] },
  // A current tenant's default for third-party access; the CLI lists every organization's client
  // grants and discovery domains (Roster has none of the latter).
  organizations: { third_party_client_access: 'block', client_grants: [], discovery_domains: [] },
};
// Within an organization's connections: Roster shows `is_enabled` (true unless set false), which
// the CLI compares with its own default of true.
const ORGANIZATION_CONNECTION_DEFAULTS = { is_enabled: true };
const OBJECTS = {
  clients: ['Roster Management API Client', 'Deploy CLI'],
  clientGrants: [/^Roster Management API Client -> https:\/\/[^/]+\/api\/v2\/$/],
  connections: ['email', 'sms'],
};
const isExtraObject = (section, key) =>
  (OBJECTS[section] || []).some((allowed) => (allowed instanceof RegExp ? allowed.test(key) : allowed === key));

// Sorts the lists whose order carries no meaning, so that equal tenants compare equal.
const SETS = new Set(['enabled_clients', 'scope', 'permissions', 'connections', 'client_grants']);
const sortKey = (value) => JSON.stringify(value && typeof value === 'object' && !Array.isArray(value) ? value.name ?? value.client_id ?? canonical(value) : value);
function canonical(value, key) {
  if (Array.isArray(value)) {
    const items = value.map((item) => canonical(item));
    return SETS.has(key) ? items.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0)) : items;
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical(value[k], k)]));
  }
  return value;
}
const same = (a, b) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
const show = (value) => JSON.stringify(value);

const problems = [];
const index = (section, list, file) => {
  const byKey = new Map();
  for (const object of list || []) {
    const key = keyOf(section, object);
    if (byKey.has(key)) problems.push(`${file}: ${section} has ${key} twice`);
    byKey.set(key, object);
  }
  return byKey;
};

// The fixture's attributes of `expected`, each as exported; the export's others only as defaults.
function holds(path, expected, actual, defaults) {
  for (const [key, value] of Object.entries(expected)) {
    if (!(key in actual)) problems.push(`${path}.${key}: missing from the export (fixture: ${show(value)})`);
    else if (key === 'connections' && path.startsWith('organizations')) organizationConnections(`${path}.connections`, value, actual[key]);
    else if (!same(canonical(value, key), canonical(actual[key], key))) {
      problems.push(`${path}.${key}: fixture ${show(value)}, export ${show(actual[key])}`);
    }
  }
  for (const [key, value] of Object.entries(actual)) {
    if (key in expected) continue;
    if (!(key in defaults)) problems.push(`${path}.${key}: in the export only (${show(value)})`);
    else if (defaults[key] !== ANY && !same(defaults[key], value)) {
      problems.push(`${path}.${key}: default ${show(defaults[key])} expected, export has ${show(value)}`);
    }
  }
}

function organizationConnections(path, expected, actual) {
  const exported = new Map((actual || []).map((c) => [c.name, c]));
  for (const connection of expected) {
    const found = exported.get(connection.name);
    if (!found) problems.push(`${path}: ${connection.name} missing from the export`);
    else holds(`${path}[${connection.name}]`, connection, found, ORGANIZATION_CONNECTION_DEFAULTS);
    exported.delete(connection.name);
  }
  for (const name of exported.keys()) problems.push(`${path}: ${name} in the export only`);
}

const left = load(leftFile);
const right = load(rightFile);
for (const section of SECTIONS) {
  if (mode === 'exact') {
    const a = index(section, left[section], leftFile);
    const b = index(section, right[section], rightFile);
    for (const key of new Set([...a.keys(), ...b.keys()])) {
      if (!a.has(key)) problems.push(`${section}[${key}]: only in ${rightFile}`);
      else if (!b.has(key)) problems.push(`${section}[${key}]: only in ${leftFile}`);
      else if (!same(a.get(key), b.get(key))) {
        problems.push(`${section}[${key}]: differs\n    ${show(canonical(a.get(key)))}\n    ${show(canonical(b.get(key)))}`);
      }
    }
    continue;
  }
  const fixture = index(section, left[section], leftFile);
  const exported = index(section, right[section], rightFile);
  for (const [key, object] of fixture) {
    if (!exported.has(key)) problems.push(`${section}[${key}]: missing from the export`);
    else holds(`${section}[${key}]`, object, exported.get(key), DEFAULTS[section]);
  }
  for (const key of exported.keys()) {
    if (!fixture.has(key) && !isExtraObject(section, key)) problems.push(`${section}[${key}]: in the export only`);
  }
}
for (const section of Object.keys(right)) {
  if (!SECTIONS.includes(section)) problems.push(`${rightFile}: unexpected section ${section}`);
}

if (mode !== 'subset' && mode !== 'exact') problems.push(`unknown mode ${mode}`);
if (problems.length) {
  console.error(`compare ${mode} ${leftFile} ${rightFile}: ${problems.length} difference(s)`);
  for (const problem of problems) console.error(`  ${problem}`);
  process.exit(1);
}
console.log(`compare ${mode}: ${rightFile} matches ${leftFile}`);
