#!/usr/bin/env python3
"""SDK compatibility suite, logins: drives a running Roster server with auth0-python 6.x's
authentication clients (GetToken.login and refresh_token, Database.signup, Users.userinfo,
RevokeToken, and GetToken.authorization_code / authorization_code_pkce for codes got by driving
the browser login form over HTTP) and its management clients for what logins leave behind (a
user's refresh tokens and sessions, user blocks).

Same environment and conventions as every suite here (harness.py).
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import urllib.parse

import requests

from auth0.authentication import Database, GetToken, RevokeToken, Users
from auth0.authentication.exceptions import Auth0Error
from auth0.management.errors import NotFoundError

from harness import CONNECTION, DOMAIN, PASSWORD, RUN, STATE, begin, connect, eq, finish, rec, test

GRANTS = ["password", "http://auth0.com/oauth/grant-type/password-realm", "refresh_token"]
CALLBACK = "https://app.example/callback"
EMAIL = f"login.{RUN}@example.com"

begin("logins")
connect()


def claims(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@test("clients.create + connections.clients.update: an application that may log users in", needs=("client",))
def _():
    c = STATE["client"]
    app = c.clients.create(name=f"Py Login App {RUN}", app_type="regular_web", grant_types=GRANTS,
                           refresh_token={"rotation_type": "rotating", "expiration_type": "expiring",
                                          "infinite_token_lifetime": False, "infinite_idle_token_lifetime": False})
    db = next(conn for conn in c.connections.list(name=CONNECTION)).id
    c.connections.clients.update(db, request=[{"client_id": app.client_id, "status": True}])
    STATE["app"] = app


@test("Database.signup: 200 with _id and the identifiers", needs=("app",))
def _():
    app = STATE["app"]
    answer = Database(DOMAIN, app.client_id, protocol="http").signup(
        email=EMAIL, password=PASSWORD, connection=CONNECTION, given_name="Log", user_metadata={"plan": "free"})
    eq(sorted(answer), ["_id", "email", "email_verified"], "keys")
    eq((answer["email"], answer["email_verified"]), (EMAIL, False), "identifiers")
    STATE["user"] = "auth0|" + answer["_id"]


@test("Database.signup again: invalid_signup", needs=("user",))
def _():
    app = STATE["app"]
    try:
        Database(DOMAIN, app.client_id, protocol="http").signup(email=EMAIL, password=PASSWORD, connection=CONNECTION)
        raise AssertionError("a second signup was accepted")
    except Auth0Error as e:
        eq((e.status_code, e.error_code), (400, "invalid_signup"), "error")


@test("GetToken.login (password-realm): tokens, ID token claims, a refresh token", needs=("user",))
def _():
    app = STATE["app"]
    auth = GetToken(DOMAIN, app.client_id, client_secret=app.client_secret, protocol="http")
    tokens = auth.login(username=EMAIL, password=PASSWORD, realm=CONNECTION, scope="openid profile email offline_access")
    eq((tokens["token_type"], tokens["expires_in"]), ("Bearer", 86400), "token type")
    id_token = claims(tokens["id_token"])
    eq((id_token["sub"], id_token["aud"], id_token["email"], id_token["given_name"]),
       (STATE["user"], app.client_id, EMAIL, "Log"), "ID token")
    eq(id_token["iss"], f"https://{DOMAIN}/", "issuer")
    STATE["tokens"] = tokens


@test("GetToken.login with realm=None (auth0-python's default): the default directory", needs=("user",))
def _():
    app = STATE["app"]
    auth = GetToken(DOMAIN, app.client_id, client_secret=app.client_secret, protocol="http")
    eq(sorted(auth.login(username=EMAIL, password=PASSWORD)), ["access_token", "expires_in", "token_type"], "keys")


@test("GetToken.login with a wrong password: 403 invalid_grant", needs=("user",))
def _():
    app = STATE["app"]
    try:
        GetToken(DOMAIN, app.client_id, client_secret=app.client_secret, protocol="http").login(
            username=EMAIL, password="wrong", realm=CONNECTION)
        raise AssertionError("a wrong password was accepted")
    except Auth0Error as e:
        eq((e.status_code, e.error_code, e.message), (403, "invalid_grant", "Wrong email or password."), "error")


@test("Users.userinfo: the profile claims", needs=("tokens",))
def _():
    info = Users(DOMAIN, protocol="http").userinfo(STATE["tokens"]["access_token"])
    eq((info["sub"], info["email"], info["email_verified"]), (STATE["user"], EMAIL, False), "claims")


@test("GetToken.refresh_token: a rotated refresh token; the old one is then refused", needs=("tokens",))
def _():
    app = STATE["app"]
    auth = GetToken(DOMAIN, app.client_id, client_secret=app.client_secret, protocol="http")
    first = STATE["tokens"]["refresh_token"]
    refreshed = auth.refresh_token(first)
    assert refreshed["refresh_token"] != first, refreshed
    STATE["refresh"] = refreshed["refresh_token"]
    try:
        auth.refresh_token(first)
        raise AssertionError("a rotated-away refresh token was accepted")
    except Auth0Error as e:
        eq((e.status_code, e.error_code), (403, "invalid_grant"), "reuse refused")


@test("users.get: logins_count, last_login, last_ip", needs=("tokens",))
def _():
    user = STATE["client"].users.get(STATE["user"])
    eq((user.logins_count, user.last_ip), (2, "127.0.0.1"), "login stamps")
    assert user.last_login, user


@test("users.refresh_token.list and delete: the user's tokens, then none", needs=("tokens",))
def _():
    c = STATE["client"]
    auth = GetToken(DOMAIN, STATE["app"].client_id, client_secret=STATE["app"].client_secret, protocol="http")
    fresh = auth.login(username=EMAIL, password=PASSWORD, realm=CONNECTION, scope="openid offline_access")
    tokens = list(c.users.refresh_token.list(STATE["user"]))
    eq(len(tokens), 1, "the reuse revoked the first family; one token from the last login")
    eq((tokens[0].client_id, tokens[0].rotating, tokens[0].session_id), (STATE["app"].client_id, True, None), "token")
    c.users.refresh_token.delete(STATE["user"])
    eq((rec.last().status_code, rec.last_json()), (202, {}), "delete answer")
    eq(list(c.users.refresh_token.list(STATE["user"])), [], "none left")
    try:
        auth.refresh_token(fresh["refresh_token"])
        raise AssertionError("a deleted refresh token was accepted")
    except Auth0Error as e:
        eq(e.status_code, 403, "deleted token refused")


@test("RevokeToken.revoke_refresh_token: 200, and the token is refused", needs=("tokens",))
def _():
    app = STATE["app"]
    auth = GetToken(DOMAIN, app.client_id, client_secret=app.client_secret, protocol="http")
    token = auth.login(username=EMAIL, password=PASSWORD, realm=CONNECTION, scope="offline_access")["refresh_token"]
    RevokeToken(DOMAIN, app.client_id, client_secret=app.client_secret, protocol="http").revoke_refresh_token(token)
    try:
        auth.refresh_token(token)
        raise AssertionError("a revoked refresh token was accepted")
    except Auth0Error as e:
        eq(e.status_code, 403, "revoked token refused")


@test("users.sessions.list: password logins open no session; delete answers 202", needs=("tokens",))
def _():
    c = STATE["client"]
    eq(list(c.users.sessions.list(STATE["user"])), [], "no sessions")
    c.users.sessions.delete(STATE["user"])
    eq(rec.last().status_code, 202, "delete status")
    try:
        c.users.sessions.list("auth0|nobody")
        raise AssertionError("sessions of an unknown user were listed")
    except NotFoundError as e:
        eq(e.status_code, 404, "unknown user")


@test("user_blocks: ten wrong passwords block the user here; list, list_by_identifier, delete", needs=("tokens",))
def _():
    c, app = STATE["client"], STATE["app"]
    auth = GetToken(DOMAIN, app.client_id, client_secret=app.client_secret, protocol="http")
    for _ in range(10):
        try:
            auth.login(username=EMAIL, password="wrong", realm=CONNECTION)
        except Auth0Error:
            pass
    try:
        auth.login(username=EMAIL, password=PASSWORD, realm=CONNECTION)
        raise AssertionError("a blocked user logged in")
    except Auth0Error as e:  # auth0-python raises its RateLimitError (an Auth0Error) for any 429
        eq((e.status_code, e.error_code), (429, "too_many_attempts"), "blocked")
    blocks = c.user_blocks.list(STATE["user"])
    eq([(b.identifier, b.ip) for b in blocks.blocked_for], [(EMAIL, "127.0.0.1")], "blocked_for")
    by_identifier = c.user_blocks.list_by_identifier(identifier=EMAIL)
    eq(len(by_identifier.blocked_for), 1, "by identifier")
    c.user_blocks.delete(STATE["user"])
    eq(rec.last().status_code, 204, "unblock status")
    eq(c.user_blocks.list(STATE["user"]).blocked_for, [], "unblocked")
    auth.login(username=EMAIL, password=PASSWORD, realm=CONNECTION)



def enable(app) -> None:
    c = STATE["client"]
    db = next(conn for conn in c.connections.list(name=CONNECTION)).id
    c.connections.clients.update(db, request=[{"client_id": app.client_id, "status": True}])


def browser_code(browser: requests.Session, app, **params) -> str:
    """Drives /authorize and the login form as a browser would (redirects and the form's action
    resolved against the page's URL); the code the application gets."""
    query = {"response_type": "code", "client_id": app.client_id, "redirect_uri": CALLBACK, **params}
    base = f"http://{DOMAIN}"
    start = browser.get(f"{base}/authorize", params=query, allow_redirects=False)
    eq(start.status_code, 302, "authorize redirects")
    location = urllib.parse.urljoin(start.url, start.headers["location"])
    if location.startswith(f"{base}/u/login"):
        form = browser.get(location, allow_redirects=False)
        eq(form.status_code, 200, "login form")
        state = re.search(r'name="state" value="([^"]+)"', form.text).group(1)
        action = urllib.parse.urljoin(form.url, re.search(r'<form method="post" action="([^"]+)"', form.text).group(1))
        eq(action, f"{base}/u/login", "the form posts to the login form's URL")
        done = browser.post(action, data={"state": state, "username": EMAIL, "password": PASSWORD},
                            allow_redirects=False)
        eq(done.status_code, 302, "login accepted")
        location = urllib.parse.urljoin(done.url, done.headers["location"])
    eq(location.split("?")[0], CALLBACK, "back at the application")
    return urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]


@test("clients.create: a web application and a public one that log users in through the browser", needs=("user",))
def _():
    c = STATE["client"]
    web = c.clients.create(name=f"Py Web App {RUN}", app_type="regular_web", callbacks=[CALLBACK],
                           grant_types=["authorization_code", "refresh_token"])
    spa = c.clients.create(name=f"Py SPA {RUN}", app_type="spa", callbacks=[CALLBACK],
                           token_endpoint_auth_method="none", grant_types=["authorization_code"])
    enable(web)
    enable(spa)
    STATE["web"], STATE["spa"], STATE["browser"] = web, spa, requests.Session()


@test("GetToken.authorization_code: a browser login's code for tokens of its session", needs=("web",))
def _():
    web = STATE["web"]
    code = browser_code(STATE["browser"], web, scope="openid email offline_access", nonce="n-123", state="s")
    auth = GetToken(DOMAIN, web.client_id, client_secret=web.client_secret, protocol="http")
    tokens = auth.authorization_code(code=code, redirect_uri=CALLBACK)
    id_token = claims(tokens["id_token"])
    eq((id_token["sub"], id_token["aud"], id_token["nonce"]), (STATE["user"], web.client_id, "n-123"), "ID token")
    eq(len(id_token["sid"]), 32, "sid")
    eq("refresh_token" in tokens, True, "refresh token")
    STATE["sid"] = id_token["sid"]
    try:
        auth.authorization_code(code=code, redirect_uri=CALLBACK)
        raise AssertionError("a code was exchanged twice")
    except Auth0Error as e:
        eq((e.status_code, e.error_code, e.message), (403, "invalid_grant", "Invalid authorization code"), "reuse")


@test("GetToken.authorization_code_pkce: a public client's code, by its verifier (single sign-on)", needs=("sid",))
def _():
    spa = STATE["spa"]
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    auth = GetToken(DOMAIN, spa.client_id, protocol="http")
    code = browser_code(STATE["browser"], spa, scope="openid", code_challenge=challenge, code_challenge_method="S256")
    try:
        auth.authorization_code_pkce(code_verifier="not-" + verifier, code=code, redirect_uri=CALLBACK)
        raise AssertionError("a wrong verifier was accepted")
    except Auth0Error as e:
        eq((e.status_code, e.error_code), (403, "invalid_grant"), "wrong verifier")
    code = browser_code(STATE["browser"], spa, scope="openid", code_challenge=challenge, code_challenge_method="S256")
    tokens = auth.authorization_code_pkce(code_verifier=verifier, code=code, redirect_uri=CALLBACK)
    eq(claims(tokens["id_token"])["sid"], STATE["sid"], "the same session")


@test("users.sessions.list and sessions.get: the browser session, with both applications", needs=("sid",))
def _():
    c = STATE["client"]
    sessions = list(c.users.sessions.list(STATE["user"]))
    eq([s.id for s in sessions], [STATE["sid"]], "one session")
    session = c.sessions.get(STATE["sid"])
    eq(sorted(client.client_id for client in session.clients),
       sorted([STATE["web"].client_id, STATE["spa"].client_id]), "clients")
    eq(session.authentication.methods[0].name, "pwd", "authenticated by password")
    eq(session.device.initial_ip, "127.0.0.1", "device")


@test("sessions.delete: 202, and the browser is no longer signed in", needs=("sid",))
def _():
    c = STATE["client"]
    c.sessions.delete(STATE["sid"])
    eq(rec.last().status_code, 202, "delete status")
    eq(list(c.users.sessions.list(STATE["user"])), [], "no sessions")
    web = STATE["web"]
    silent = STATE["browser"].get(f"http://{DOMAIN}/authorize", allow_redirects=False, params={
        "response_type": "code", "client_id": web.client_id, "redirect_uri": CALLBACK, "prompt": "none"})
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(silent.headers["location"]).query)
    eq(query["error"], ["login_required"], "silent authentication refused")


finish()
