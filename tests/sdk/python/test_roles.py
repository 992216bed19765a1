#!/usr/bin/env python3
"""SDK compatibility suite, roles and permissions: drives a running Roster server with auth0-python 6.x.

Same environment and conventions as every suite here (harness.py: ROSTER_URL or PORT, CLIENT_ID,
CLIENT_SECRET; no pytest; `N passed, N failed` at the end, non-zero exit on failure). Covers roles
(their offset pager, name_filter), resource servers (by id and by identifier), role permissions,
role users (the SDK's checkpoint pager), users.roles and users.permissions (with their sources),
as the SDK calls them, checking the raw JSON where the SDK's models cannot tell absent from null,
and the errors the SDK raises.
"""
from __future__ import annotations

import re

from auth0.management.errors import BadRequestError, ConflictError, NotFoundError

from harness import AUDIENCE, CONNECTION, PASSWORD, RUN, STATE, begin, connect, eq, finish, rec, test

ROLE_ID_RE = re.compile(r"^rol_[A-Za-z0-9]{16}$")
API = f"https://py-api-{RUN}.example.com/"


def first_page(path_end: str):
    """The raw answer to the last request for page 0 of a listing (the SDK's pager asks on)."""
    for request, response in reversed(rec.exchanges):
        if request.url.path.endswith(path_end) and dict(request.url.params).get("page") == "0":
            return response.json()
    raise AssertionError(f"no first page of {path_end}")


def perm(name: str) -> dict:
    return {"resource_server_identifier": API, "permission_name": name}


begin("roles and permissions")
connect()


@test("resource_servers.create: 201 with Auth0's defaults", needs=("client",))
def _():
    c = STATE["client"]
    rs = c.resource_servers.create(identifier=API, name=f"Py API {RUN}",
                                   scopes=[{"value": "read:things", "description": "Read things"},
                                           {"value": "write:things", "description": "Write things"}])
    eq(rec.last().status_code, 201, "status")
    raw = rec.last_json()
    eq(raw, {"id": rs.id, "name": f"Py API {RUN}", "identifier": API,
             "scopes": [{"value": "read:things", "description": "Read things"},
                        {"value": "write:things", "description": "Write things"}],
             "signing_alg": "RS256", "allow_offline_access": False, "token_lifetime": 86400,
             "token_lifetime_for_web": 7200, "skip_consent_for_verifiable_first_party_clients": False},
       "raw create answer")
    STATE["api"] = rs.id


@test("resource_servers.get by id and by identifier; update; list", needs=("api",))
def _():
    c = STATE["client"]
    eq(c.resource_servers.get(STATE["api"]).identifier, API, "get by id")
    eq(c.resource_servers.get(API).id, STATE["api"], "get by identifier")
    updated = c.resource_servers.update(STATE["api"], token_lifetime=3600,
                                        scopes=[{"value": "read:things", "description": "Read things"},
                                                {"value": "write:things", "description": "Write things"},
                                                {"value": "delete:things"}])
    eq((updated.token_lifetime, [s.value for s in updated.scopes]),
       (3600, ["read:things", "write:things", "delete:things"]), "update")
    listed = list(c.resource_servers.list(identifiers=[API]))
    eq([r.id for r in listed], [STATE["api"]], "list by identifier")
    everything = list(c.resource_servers.list(per_page=1))
    eq(everything[0].is_system, True, "the Management API comes first")
    eq(everything[0].identifier, AUDIENCE, "its identifier")
    assert STATE["api"] in [r.id for r in everything], "the pager reaches the created server"


@test("resource_servers.create: taken identifier -> ConflictError; bad payload -> BadRequestError", needs=("api",))
def _():
    c = STATE["client"]
    try:
        c.resource_servers.create(identifier=API)
        raise AssertionError("no error")
    except ConflictError as e:
        eq(e.body.get("message"), "A resource server with the same identifier already exists.", "conflict")
    try:
        c.resource_servers.create(identifier=f"urn:{RUN}", name="<bad>")
        raise AssertionError("no error")
    except BadRequestError as e:
        eq(e.body.get("errorCode"), "invalid_body", "errorCode")


@test("roles.create / get / update; conflict", needs=("client",))
def _():
    c = STATE["client"]
    role = c.roles.create(name=f"py-editor-{RUN}", description="Edits")
    eq(rec.last().status_code, 200, "create status (Auth0 answers 200)")
    assert ROLE_ID_RE.match(role.id), f"id {role.id!r}"
    eq(rec.last_json(), {"id": role.id, "name": f"py-editor-{RUN}", "description": "Edits"}, "raw create answer")
    eq(c.roles.get(role.id).name, f"py-editor-{RUN}", "get")
    eq(c.roles.update(role.id, description="Edits things").description, "Edits things", "update")
    try:
        c.roles.create(name=f"py-editor-{RUN}")
        raise AssertionError("no error")
    except ConflictError as e:
        eq(e.body.get("message"), "The role already exists.", "conflict")
    STATE["role"] = role.id
    STATE["admin"] = c.roles.create(name=f"py-admin-{RUN}").id


@test("roles.list: the offset pager and name_filter", needs=("role",))
def _():
    c = STATE["client"]
    names = [f"py-many-{RUN}-{i}" for i in range(5)]
    STATE["extra_roles"] = [c.roles.create(name=n).id for n in names]
    seen = [r.name for r in c.roles.list(per_page=2, name_filter=f"PY-MANY-{RUN}")]
    eq(seen, names, "every role, by name, across pages")
    raw = rec.last_json()
    eq(sorted(raw.keys()), ["limit", "roles", "start", "total"], "wrapper keys")


@test("roles.permissions.add / list / delete", needs=("role", "api"))
def _():
    c = STATE["client"]
    c.roles.permissions.add(STATE["role"], permissions=[perm("write:things"), perm("read:things")])
    eq(rec.last().status_code, 201, "add status")
    listed = list(c.roles.permissions.list(STATE["role"]))
    eq([(p.permission_name, p.resource_server_identifier, p.description) for p in listed],
       [("read:things", API, "Read things"), ("write:things", API, "Write things")], "role permissions")
    c.roles.permissions.delete(STATE["role"], permissions=[perm("write:things")])
    eq(rec.last().status_code, 204, "delete status")
    eq([p.permission_name for p in c.roles.permissions.list(STATE["role"])], ["read:things"], "after delete")
    try:
        c.roles.permissions.add(STATE["role"], permissions=[perm("fly:things")])
        raise AssertionError("no error")
    except BadRequestError as e:
        eq(e.body.get("message"), f"Permission 'fly:things' does not exist on resource server '{API}'.", "unknown")


@test("roles.users.assign and the checkpoint pager", needs=("role",))
def _():
    c = STATE["client"]
    users = [c.users.create(connection=CONNECTION, email=f"py.holder{i}.{RUN}@example.org", password=PASSWORD)
             for i in range(3)]
    STATE["users"] = [u.user_id for u in users]
    c.roles.users.assign(STATE["role"], users=STATE["users"])
    eq(rec.last().status_code, 200, "assign status")
    members = list(c.roles.users.list(STATE["role"], take=2))
    eq(sorted(m.user_id for m in members), sorted(STATE["users"]), "members walked")
    requests = [r for r, _ in rec.exchanges if r.url.path.endswith("/users") and "from" in dict(r.url.params)]
    assert requests, "the pager followed `next`"
    eq(members[0].email is not None, True, "member email")


@test("users.roles.assign / list / delete", needs=("users", "admin"))
def _():
    c = STATE["client"]
    user = STATE["users"][0]
    c.users.roles.assign(user, roles=[STATE["admin"]])
    eq(rec.last().status_code, 204, "assign status")
    eq([r.name for r in c.users.roles.list(user)], [f"py-admin-{RUN}", f"py-editor-{RUN}"], "by name")
    eq(sorted(rec.last_json().keys()), ["limit", "roles", "start", "total"], "wrapper keys (no length)")
    c.users.roles.delete(user, roles=[STATE["admin"]])
    eq(rec.last().status_code, 204, "delete status")
    eq([r.id for r in c.users.roles.list(user)], [STATE["role"]], "after delete")
    try:
        c.users.roles.assign(user, roles=["rol_0000000000000000"])
        raise AssertionError("no error")
    except BadRequestError as e:
        eq(e.body.get("message"), "One or more of the specified roles do not exist: rol_0000000000000000", "unknown")


@test("users.permissions.create / list (sources) / delete", needs=("users", "api"))
def _():
    c = STATE["client"]
    user = STATE["users"][0]
    c.users.permissions.create(user, permissions=[perm("read:things"), perm("delete:things")])
    eq((rec.last().status_code, rec.last_json()), (201, {}), "create answer")
    listed = list(c.users.permissions.list(user))
    eq([p.permission_name for p in listed], ["delete:things", "read:things"], "by name")
    raw = first_page("/permissions")["permissions"]
    eq(raw[1]["sources"], [{"source_id": "", "source_name": "", "source_type": "DIRECT"},
                           {"source_id": STATE["role"], "source_name": f"py-editor-{RUN}", "source_type": "ROLE"}],
       "read:things: direct and through the role")
    c.users.permissions.delete(user, permissions=[perm("read:things"), perm("delete:things")])
    eq(rec.last().status_code, 204, "delete status")
    eq([p.permission_name for p in c.users.permissions.list(user)], ["read:things"], "only what the role grants")
    eq(first_page("/permissions")["permissions"][0]["sources"],
       [{"source_id": STATE["role"], "source_name": f"py-editor-{RUN}", "source_type": "ROLE"}], "its source")
    try:
        list(c.users.permissions.list("auth0|000000000000000000000000"))
        raise AssertionError("no error")
    except NotFoundError as e:
        eq(e.body.get("errorCode"), "inexistent_user", "unknown user")


@test("deletes: a role and a resource server take their assignments with them", needs=("users", "api"))
def _():
    c = STATE["client"]
    user = STATE["users"][0]
    c.roles.delete(STATE["role"])
    eq(rec.last().status_code, 200, "role delete status")
    try:
        c.roles.get(STATE["role"])
        raise AssertionError("no error")
    except NotFoundError as e:
        eq(e.body, {"statusCode": 404, "error": "Not Found", "message": "The role does not exist."}, "404 body")
    eq(list(c.users.roles.list(user)), [], "the user's roles")
    eq(list(c.users.permissions.list(user)), [], "the user's permissions")
    c.users.permissions.create(user, permissions=[perm("write:things")])
    c.resource_servers.delete(STATE["api"])
    eq(rec.last().status_code, 204, "resource server delete status")
    eq(list(c.users.permissions.list(user)), [], "the API's permissions went")
    try:
        c.resource_servers.get(STATE["api"])
        raise AssertionError("no error")
    except NotFoundError as e:
        eq(e.body.get("errorCode"), "inexistent_resource_server", "404 errorCode")


if "client" in STATE:
    for role in STATE.get("extra_roles", []) + [STATE[k] for k in ("role", "admin") if k in STATE]:
        try:
            STATE["client"].roles.delete(role)
        except NotFoundError:
            pass
    if "api" in STATE:
        STATE["client"].resource_servers.delete(STATE["api"])
    for uid in STATE.get("users", []):
        STATE["client"].users.delete(uid)

finish()
