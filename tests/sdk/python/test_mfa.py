#!/usr/bin/env python3
"""SDK compatibility suite, MFA: drives a running Roster server with auth0-python 6.x.

Same environment and conventions as every suite here (harness.py). Covers a user's
authentication methods (create each kind, the SDK's pager over the `authenticators` wrapper,
get, update, set, delete one and all), authenticators, enrollments, the multifactor provider
and remembered-browser actions and recovery codes, as the SDK calls them, checking the raw JSON
where the SDK's models cannot tell absent from null, and the errors the SDK raises.
"""
from __future__ import annotations

import re

from auth0.management.errors import BadRequestError, ConflictError, ForbiddenError, NotFoundError

from harness import CONNECTION, PASSWORD, RUN, STATE, begin, connect, eq, finish, rec, test

METHOD_ID_RE = re.compile(r"^(email|phone|totp|webauthn-roaming|passkey|recovery-code)\|dev_[A-Za-z0-9]{16}$")
TOTP_SECRET = "5HCWXIP2MJNSUBGYVUZFLRB2HWIGXR4SYJQXNBQ"

begin("mfa")
connect()


@test("users.create: a user to enroll", needs=("client",))
def _():
    c = STATE["client"]
    STATE["user"] = c.users.create(connection=CONNECTION, email=f"chuck.{RUN}@example.com", password=PASSWORD).user_id


@test("users.authentication_methods.create: email, phone, totp, passkey; 201, masked", needs=("user",))
def _():
    c, user = STATE["client"], STATE["user"]
    email = c.users.authentication_methods.create(user, type="email", name="Mail", email=f"chuck.{RUN}@example.com")
    eq(rec.last().status_code, 201, "status")
    raw = rec.last_json()
    assert METHOD_ID_RE.match(raw["id"]), raw["id"]
    eq(raw["email"], "chuc" + "*" * (len(f"chuck.{RUN}") - 4) + "@exam*******", "masked email")
    assert "confirmed" not in raw, raw
    eq(email.id, raw["id"], "model id")
    phone = c.users.authentication_methods.create(user, type="phone", phone_number="+15555550123",
                                                  preferred_authentication_method="sms")
    totp = c.users.authentication_methods.create(user, type="totp", name="App", totp_secret=TOTP_SECRET)
    assert "totp_secret" not in rec.last_json(), rec.last_json()
    passkey = c.users.authentication_methods.create(user, type="passkey", key_id="pk-1", public_key="cGs=",
                                                    credential_device_type="multi_device", credential_backed_up=True)
    STATE["methods"] = [email.id, phone.id, totp.id, passkey.id]


@test("users.authentication_methods.list: the pager over {authenticators, total, start, limit}", needs=("methods",))
def _():
    c, user = STATE["client"], STATE["user"]
    listed = list(c.users.authentication_methods.list(user))
    eq([m.id for m in listed], STATE["methods"], "ids in creation order")
    assert all(m.confirmed for m in listed), [m.confirmed for m in listed]
    phone = listed[1]
    eq(phone.phone_number, "XXXXXXXX0123", "masked phone")
    eq([(a.type, a.id) for a in phone.authentication_methods], [("sms", "sms|" + phone.id.split("|", 1)[1])],
       "the phone's channel")
    # The pager asked until an empty page; `total` is left out only when the user has no methods.
    eq(rec.last_json(), {"authenticators": [], "total": 4, "start": 50, "limit": 50}, "last (empty) page")


@test("users.authentication_methods.get / update", needs=("methods",))
def _():
    c, user, phone = STATE["client"], STATE["user"], STATE["methods"][1]
    got = c.users.authentication_methods.get(user, phone)
    eq((got.id, got.type, got.confirmed), (phone, "phone", True), "get")
    updated = c.users.authentication_methods.update(user, phone, name="Work", preferred_authentication_method="voice")
    eq((updated.name, updated.preferred_authentication_method), ("Work", "voice"), "update answer")
    eq(c.users.authentication_methods.get(user, phone).authentication_methods[0].type, "voice", "channel after update")


@test("users.get: multifactor follows the methods", needs=("methods",))
def _():
    c, user = STATE["client"], STATE["user"]
    u = c.users.get(user)
    eq(u.multifactor, ["guardian"], "multifactor")
    assert u.multifactor_last_modified, "multifactor_last_modified"


@test("users.enrollments.get: the first confirmed factor (the email, made first)", needs=("methods",))
def _():
    c, user = STATE["client"], STATE["user"]
    enrollments = c.users.enrollments.get(user)
    eq(len(enrollments), 1, "one enrollment")
    eq((enrollments[0].id, enrollments[0].type, enrollments[0].status),
       (STATE["methods"][0].split("|", 1)[1], "email", "confirmed"), "the email")


@test("users.authentication_methods.create: duplicate -> ConflictError; bad body -> BadRequestError", needs=("methods",))
def _():
    c, user = STATE["client"], STATE["user"]
    try:
        c.users.authentication_methods.create(user, type="phone", phone_number="+15555550123")
        raise AssertionError("a second identical phone was accepted")
    except ConflictError as e:
        eq(e.body, {"statusCode": 409, "error": "Conflict", "message": "Authentication method already exists.",
                    "errorCode": "authentication_method_exists"}, "409 body")
    try:
        c.users.authentication_methods.create(user, type="email")
        raise AssertionError("an email method without an email was accepted")
    except BadRequestError as e:
        eq(e.body["message"], "Payload validation error: 'Missing required property: email'.", "400 message")


@test("users.authentication_methods.set: a passkey refuses it (ForbiddenError); delete one; set replaces all",
      needs=("methods",))
def _():
    c, user = STATE["client"], STATE["user"]
    try:
        c.users.authentication_methods.set(user, request=[{"type": "email", "email": "x@example.com"}])
        raise AssertionError("set replaced the methods of a user with a passkey")
    except ForbiddenError as e:
        eq(e.body["message"], "Operation not permitted when the user has registered at least 1 passkey", "403")
    c.users.authentication_methods.delete(user, STATE["methods"][3])
    eq(rec.last().status_code, 204, "delete status")
    answer = c.users.authentication_methods.set(user, request=[
        {"type": "email", "name": "MyEmail", "email": "foo@example.com"},
        {"type": "totp", "name": "MyTotp", "totp_secret": TOTP_SECRET},
    ])
    eq(rec.last().status_code, 200, "set status")
    eq([(m.type, m.name) for m in answer], [("email", "MyEmail"), ("totp", "MyTotp")], "set answer")
    eq(rec.last_json()[0]["email"], "foo@example.com", "set answers unmasked")
    eq([m.type for m in c.users.authentication_methods.list(user)], ["email", "totp"], "after set")
    try:
        c.users.authentication_methods.get(user, STATE["methods"][0])
        raise AssertionError("a replaced method is still there")
    except NotFoundError as e:
        eq(e.body["message"], "The authentication method could not be found.", "404 message")


@test("users.regenerate_recovery_code: a new 24-character code each time", needs=("methods",))
def _():
    c, user = STATE["client"], STATE["user"]
    first = c.users.regenerate_recovery_code(user).recovery_code
    second = c.users.regenerate_recovery_code(user).recovery_code
    assert re.fullmatch(r"[A-Z0-9]{24}", first) and re.fullmatch(r"[A-Z0-9]{24}", second), (first, second)
    assert first != second
    codes = [m for m in c.users.authentication_methods.list(user) if m.type == "recovery-code"]
    eq(len(codes), 1, "one recovery code listed")


@test("users.multifactor: invalidate_remember_browser, delete_provider; users.risk_assessments.clear", needs=("methods",))
def _():
    c, user = STATE["client"], STATE["user"]
    c.users.multifactor.invalidate_remember_browser(user)
    eq(rec.last().status_code, 204, "invalidate status")
    c.users.multifactor.delete_provider(user, "duo")
    eq(rec.last().status_code, 204, "delete provider status")
    c.users.risk_assessments.clear(user, connection=CONNECTION, assessors=["new-device"])
    eq(rec.last().status_code, 204, "risk assessments clear status")


@test("users.authenticators.delete_all / authentication_methods.delete_all: nothing left, no MFA",
      needs=("methods",))
def _():
    c, user = STATE["client"], STATE["user"]
    c.users.authenticators.delete_all(user)
    eq(rec.last().status_code, 204, "authenticators status")
    eq(list(c.users.authentication_methods.list(user)), [], "after delete_all")
    c.users.authentication_methods.create(user, type="email", email="again@example.com")
    c.users.authentication_methods.delete_all(user)
    eq(rec.last().status_code, 204, "delete_all status")
    eq(c.users.enrollments.get(user), [], "no enrollments")
    eq(c.users.get(user).multifactor, None, "multifactor gone")


@test("unknown user -> NotFoundError everywhere", needs=("client",))
def _():
    c, ghost = STATE["client"], "auth0|000000000000000000000000"
    calls = [
        lambda: list(c.users.authentication_methods.list(ghost)),
        lambda: c.users.authentication_methods.create(ghost, type="email", email="a@example.com"),
        lambda: c.users.enrollments.get(ghost),
        lambda: c.users.regenerate_recovery_code(ghost),
    ]
    for call in calls:
        try:
            call()
            raise AssertionError("no error for an unknown user")
        except NotFoundError as e:
            eq(e.body["errorCode"], "inexistent_user", "errorCode")


finish()
