#!/usr/bin/env python3
"""SDK compatibility suite, connections, clients and client grants: drives a running Roster server
with auth0-python 6.x.

Same environment and conventions as every suite here (harness.py: ROSTER_URL or PORT, CLIENT_ID,
CLIENT_SECRET; no pytest; `N passed, N failed` at the end, non-zero exit on failure). Covers
connections (the SDK's checkpoint pager, strategy filters, a password policy that applies to the
next user), a connection's enabled clients, clients (the offset pager, rotate_secret), client
grants (the checkpoint pager) and a new machine-to-machine client getting its own token through
the SDK, as the SDK calls them, checking the raw JSON where the SDK's models cannot tell absent
from null, and the errors the SDK raises. Everything it creates is its own (names carry a run id) and is deleted
at the end; the tenant's own connections and management client are only read.
"""
from __future__ import annotations

import re

import auth0
from auth0.management.errors import BadRequestError, ConflictError, ForbiddenError, NotFoundError

from harness import AUDIENCE, CLIENT_ID, RUN, STATE, begin, connect, eq, finish, mgmt, rec, test, token_for

CONNECTION_ID_RE = re.compile(r"^con_[A-Za-z0-9]{16}$")
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9]{32}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9]{64}$")
DB = f"py-db-{RUN}"


begin("connections, clients and grants")
connect()


@test("connections.list: the SDK's checkpoint pager, strategy filters", needs=("client",))
def _():
    c = STATE["client"]
    names = [conn.name for conn in c.connections.list()]
    assert "Username-Password-Authentication" in names, names
    params = dict(rec.last_request().url.params)
    eq((params.get("take"), "next" in rec.last_json()), ("50", False), "one page, asked by take")
    passwordless = sorted(conn.strategy for conn in c.connections.list(strategy=["email", "sms"]))
    eq(passwordless, ["email", "sms"], "strategies")
    eq(rec.last_request().url.params.get_list("strategy"), ["email", "sms"], "the repeated parameter")


@test("connections.create: a database connection with Auth0's defaults", needs=("client",))
def _():
    c = STATE["client"]
    created = c.connections.create(name=DB, strategy="auth0", options={"passwordPolicy": "excellent"})
    eq(rec.last().status_code, 201, "status")
    raw = rec.last_json()
    assert CONNECTION_ID_RE.match(created.id), created.id
    eq(raw["options"]["passwordPolicy"], "excellent", "given option")
    eq((raw["options"]["brute_force_protection"], raw["is_domain_connection"], raw["realms"], raw["enabled_clients"]),
       (True, False, [DB], []), "defaults")
    eq(c.connections.get(created.id).name, DB, "get")
    STATE["db"] = created.id


@test("a user is created only in a connection enabled for the client; then its password policy applies",
      needs=("db",))
def _():
    c = STATE["client"]
    try:
        c.users.create(connection=DB, email=f"early-{RUN}@example.com", password="Corr3ct-Horse-Battery!")
        raise AssertionError("a user was created in a connection not enabled for the client")
    except BadRequestError as e:
        eq(e.body.get("message"), "Connection must be enabled for this client to perform single user creation and "
           f"signup operations (client_id: {CLIENT_ID} - connection: {DB})", "400 message")
    c.connections.clients.update(STATE["db"], request=[{"client_id": CLIENT_ID, "status": True}])
    try:
        c.users.create(connection=DB, email=f"weak-{RUN}@example.com", password="Passw0rd!")
        raise AssertionError("a weak password was accepted")
    except BadRequestError as e:
        eq(e.body, {"statusCode": 400, "error": "Bad Request", "message": "PasswordStrengthError: Password is too weak"},
           "400 body")
    user = c.users.create(connection=DB, email=f"strong-{RUN}@example.com", password="Corr3ct-Horse-Battery!")
    STATE["db_user"] = user.user_id
    c.connections.update(STATE["db"], options={"passwordPolicy": "none", "requires_username": True},
                         display_name="Python DB")
    raw = rec.last_json()
    eq((raw["display_name"], raw["options"]["requires_username"]), ("Python DB", True), "updated")
    try:
        c.users.create(connection=DB, email=f"nouser-{RUN}@example.com", password="x")
        raise AssertionError("a user without a username was accepted")
    except BadRequestError as e:
        eq(e.body.get("message"), "Payload validation error: 'Missing required property: username'.", "message")


@test("connections.clients: enable a client, list, disable", needs=("db",))
def _():
    c = STATE["client"]
    app = c.clients.create(name=f"Py App {RUN}")
    STATE["app"] = app
    c.connections.clients.update(STATE["db"], request=[{"client_id": app.client_id, "status": True}])
    eq(rec.last().status_code, 204, "PATCH status")
    eq([e.client_id for e in c.connections.clients.get(STATE["db"])], [CLIENT_ID, app.client_id], "enabled")
    c.connections.clients.update(STATE["db"], request=[{"client_id": app.client_id, "status": False}])
    eq([e.client_id for e in c.connections.clients.get(STATE["db"])], [CLIENT_ID], "disabled")


@test("clients.create, get, update, list pager", needs=("app",))
def _():
    c = STATE["client"]
    app = STATE["app"]
    assert CLIENT_ID_RE.match(app.client_id) and SECRET_RE.match(app.client_secret or ""), app
    eq(c.clients.get(app.client_id).grant_types,
       ["authorization_code", "implicit", "refresh_token", "client_credentials"], "default grant types")
    updated = c.clients.update(app.client_id, description="from python", callbacks=["https://py.example/cb"],
                               app_type="non_interactive")
    eq((updated.description, updated.callbacks, updated.app_type), ("from python", ["https://py.example/cb"],
                                                                    "non_interactive"), "updated")
    listed = [cl.client_id for cl in c.clients.list(per_page=1)]
    assert app.client_id in listed and CLIENT_ID in listed, listed
    eq(len(listed), len(set(listed)), "each client once across pages")
    try:
        c.clients.get(f"nope{RUN}")
        raise AssertionError("no error")
    except NotFoundError as e:
        eq(e.body, {"statusCode": 404, "error": "Not Found", "message": "The client does not exist",
                    "errorCode": "inexistent_client"}, "404 body")


@test("client_grants: create, list, and a token for the new client with its scopes", needs=("app",))
def _():
    c = STATE["client"]
    app = STATE["app"]
    grant = c.client_grants.create(client_id=app.client_id, audience=AUDIENCE, scope=["read:users"])
    eq(rec.last_json(), {"id": grant.id, "client_id": app.client_id, "audience": AUDIENCE, "scope": ["read:users"]},
       "raw create answer")
    STATE["grant"] = grant.id
    eq([g.id for g in c.client_grants.list(client_id=app.client_id)], [grant.id], "listed")
    try:
        c.client_grants.create(client_id=app.client_id, audience=AUDIENCE, scope=[])
        raise AssertionError("a second grant was accepted")
    except ConflictError as e:
        eq(e.status_code, 409, "status")
    reader = mgmt(token_for(app.client_id, app.client_secret))
    list(reader.users.list())
    try:
        reader.users.create(connection=DB, email=f"denied-{RUN}@example.com", password="x", username="denied")
        raise AssertionError("a read:users token created a user")
    except ForbiddenError as e:
        eq(e.body.get("message"), "Insufficient scope, expected any of: create:users", "403 message")
    c.client_grants.update(grant.id, scope=["read:users", "create:users"])
    eq(rec.last_json()["scope"], ["read:users", "create:users"], "widened")


@test("clients.rotate_secret: the old secret gets no token", needs=("grant",))
def _():
    c = STATE["client"]
    app = STATE["app"]
    rotated = c.clients.rotate_secret(app.client_id)
    assert SECRET_RE.match(rotated.client_secret or "") and rotated.client_secret != app.client_secret
    try:
        token_for(app.client_id, app.client_secret)
        raise AssertionError("the old secret still gets tokens")
    except auth0.authentication.exceptions.Auth0Error as e:
        eq(e.status_code, 401, "status")
    token_for(app.client_id, rotated.client_secret)


@test("deleting the connection deletes its users", needs=("db_user",))
def _():
    c = STATE["client"]
    c.connections.delete(STATE["db"])
    eq((rec.last().status_code, list(rec.last_json())), (202, ["deleted_at"]), "202 with deleted_at")
    try:
        c.users.get(STATE["db_user"])
        raise AssertionError("the user is still there")
    except NotFoundError as e:
        eq(e.body.get("errorCode"), "inexistent_user", "404 errorCode")
    try:
        c.connections.get(STATE["db"])
        raise AssertionError("the connection is still there")
    except NotFoundError as e:
        eq(e.body, {"statusCode": 404, "error": "Not Found", "message": "The connection does not exist",
                    "errorCode": "inexistent_connection"}, "404 body")
    STATE.pop("db")


if "client" in STATE:
    c = STATE["client"]
    if "grant" in STATE:
        c.client_grants.delete(STATE["grant"])
    if "app" in STATE:
        c.clients.delete(STATE["app"].client_id)
    if "db" in STATE:
        c.connections.delete(STATE["db"])

finish()
