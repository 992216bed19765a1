#!/usr/bin/env python3
"""SDK compatibility suite, organizations: drives a running Roster server with auth0-python 6.x.

Same environment and conventions as every suite here (harness.py: ROSTER_URL or PORT, CLIENT_ID,
CLIENT_SECRET; no pytest; `N passed, N failed` at the end, non-zero exit on failure). Covers
organizations, members (the SDK's checkpoint pager), members' roles and users.organizations.list
(its offset pager), as the SDK calls them, checking the raw JSON where the SDK's models cannot
tell absent from null. Member roles need POST /api/v2/roles; while the server answers that with
501, those tests are skipped (printed as skip).
"""
from __future__ import annotations

import re

from auth0.management.core.api_error import ApiError
from auth0.management.errors import BadRequestError, ConflictError, NotFoundError

from harness import BASE_PATH, CONNECTION, PASSWORD, RUN, STATE, UNAVAILABLE, begin, connect, eq, finish, rec, test

ORG_ID_RE = re.compile(r"^org_[A-Za-z0-9]{16}$")


begin("organizations")
connect()


@test("organizations.create: 201, org_ id, what was sent", needs=("client",))
def _():
    c = STATE["client"]
    name = f"py-org-{RUN}"
    org = c.organizations.create(name=name, display_name="Py Org",
                                 branding={"logo_url": "https://example.com/logo.gif",
                                           "colors": {"primary": "#ff0000", "page_background": "#00ff00"}},
                                 metadata={"plan": "gold"})
    eq(rec.last().status_code, 201, "status")
    assert ORG_ID_RE.match(org.id), f"id {org.id!r}"
    raw = rec.last_json()
    eq(raw, {"id": org.id, "name": name, "display_name": "Py Org",
             "branding": {"logo_url": "https://example.com/logo.gif",
                          "colors": {"primary": "#ff0000", "page_background": "#00ff00"}},
             "metadata": {"plan": "gold"}, "third_party_client_access": "block"}, "raw create answer")
    eq(org.branding.colors.primary, "#ff0000", "model: branding.colors.primary")
    STATE["org"] = org.id
    STATE["org_name"] = name


@test("organizations.get / get_by_name / update", needs=("org",))
def _():
    c = STATE["client"]
    eq(c.organizations.get(STATE["org"]).name, STATE["org_name"], "get")
    eq(c.organizations.get_by_name(STATE["org_name"]).id, STATE["org"], "get_by_name")
    updated = c.organizations.update(STATE["org"], display_name="Py Org 2", metadata={"tier": "1"})
    eq((updated.display_name, updated.metadata), ("Py Org 2", {"tier": "1"}), "update: metadata replaced whole")
    eq(c.organizations.get(STATE["org"]).display_name, "Py Org 2", "update persisted")


@test("organizations.create: invalid name -> BadRequestError; taken name -> ConflictError", needs=("org",))
def _():
    c = STATE["client"]
    try:
        c.organizations.create(name="Not Valid")
        raise AssertionError("no error")
    except BadRequestError as e:
        eq(e.body.get("errorCode"), "invalid_body", "errorCode")
    try:
        c.organizations.create(name=STATE["org_name"])
        raise AssertionError("no error")
    except ConflictError as e:
        eq((e.status_code, e.body.get("errorCode")), (409, "organization_conflict"), "conflict")


@test("organizations.list: the SDK's checkpoint pager walks every organization", needs=("org",))
def _():
    c = STATE["client"]
    names = [f"py-list-{RUN}-{i}" for i in range(5)]
    STATE["extra_orgs"] = [c.organizations.create(name=n).id for n in names]
    seen = [o.name for o in c.organizations.list(take=2)]
    for n in names + [STATE["org_name"]]:
        assert n in seen, f"{n} missing from the walk: {seen}"
    eq(len(seen), len(set(seen)), "no organization twice")
    eq(seen, sorted(seen), "by name")
    requests = [r for r, _ in rec.exchanges if r.url.path == f"{BASE_PATH}/api/v2/organizations" and r.method == "GET"]
    assert any("from" in dict(r.url.params) for r in requests), "the pager followed `next`"


@test("members.create / members.list (checkpoint pager, fields)", needs=("org",))
def _():
    c = STATE["client"]
    users = [c.users.create(connection=CONNECTION, email=f"py.member{i}.{RUN}@example.org", password=PASSWORD)
             for i in range(3)]
    STATE["users"] = [u.user_id for u in users]
    c.organizations.members.create(STATE["org"], members=STATE["users"])
    eq(rec.last().status_code, 204, "add members status")
    members = list(c.organizations.members.list(STATE["org"], take=2))
    eq(sorted(m.user_id for m in members), sorted(STATE["users"]), "members walked")
    eq(members[0].email is not None, True, "member email")
    only_ids = list(c.organizations.members.list(STATE["org"], fields="user_id", include_fields=True))
    eq(rec.last_json()["members"][0].keys() == {"user_id"}, True, "fields=user_id: raw member keys")
    eq(len(only_ids), 3, "fields=user_id count")


@test("users.organizations.list: the SDK's offset pager", needs=("users",))
def _():
    c = STATE["client"]
    orgs = list(c.users.organizations.list(STATE["users"][0]))
    eq([o.id for o in orgs], [STATE["org"]], "the user's organizations")
    raw = rec.last_json()
    eq(sorted(raw.keys()), ["limit", "organizations", "start", "total"], "wrapper keys (no length)")
    try:
        list(c.users.organizations.list("auth0|000000000000000000000000"))
        raise AssertionError("no error")
    except NotFoundError as e:
        eq(e.body.get("errorCode"), "inexistent_user", "unknown user")


@test("roles for members: roles.create", needs=("users",))
def _():
    c = STATE["client"]
    try:
        role = c.roles.create(name=f"py-role-{RUN}", description="Py Role")
    except ApiError as e:
        if e.status_code == 501:
            UNAVAILABLE["roles"] = "POST /api/v2/roles is not implemented by this server yet"
            return
        raise
    STATE["roles"] = role.id


@test("members.roles.assign / list / delete", needs=("roles",))
def _():
    c = STATE["client"]
    org, user, role = STATE["org"], STATE["users"][0], STATE["roles"]
    c.organizations.members.roles.assign(org, user, roles=[role])
    eq(rec.last().status_code, 204, "assign status")
    roles = list(c.organizations.members.roles.list(org, user))
    eq([(r.id, r.name, r.description) for r in roles], [(role, f"py-role-{RUN}", "Py Role")], "member roles")
    with_roles = list(c.organizations.members.list(org, fields="user_id,roles", include_fields=True))
    mine = [m for m in with_roles if m.user_id == user][0]
    eq([(r.id, r.name) for r in mine.roles], [(role, f"py-role-{RUN}")], "members with roles")
    c.organizations.members.roles.delete(org, user, roles=[role])
    eq(list(c.organizations.members.roles.list(org, user)), [], "after delete")
    c.roles.delete(role)


@test("members.delete, organizations.delete -> NotFoundError", needs=("users",))
def _():
    c = STATE["client"]
    c.organizations.members.delete(STATE["org"], members=STATE["users"][:1])
    eq(rec.last().status_code, 204, "remove members status")
    left = sorted(m.user_id for m in c.organizations.members.list(STATE["org"]))
    eq(left, sorted(STATE["users"][1:]), "members left")
    c.organizations.delete(STATE["org"])
    eq(rec.last().status_code, 204, "delete status")
    try:
        c.organizations.get(STATE["org"])
        raise AssertionError("no error")
    except NotFoundError as e:
        eq((e.body.get("errorCode"), e.body.get("message")),
           ("inexistent_organization", "No organization found by that id or name"), "404 body")
    eq(list(c.users.organizations.list(STATE["users"][1])), [], "memberships went with it")


if "client" in STATE:
    for org in STATE.get("extra_orgs", []) + ([STATE["org"]] if "org" in STATE else []):
        try:
            STATE["client"].organizations.delete(org)
        except NotFoundError:
            pass
    for uid in STATE.get("users", []):
        STATE["client"].users.delete(uid)

finish()
