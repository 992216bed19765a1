#!/usr/bin/env python3
"""SDK compatibility suite, logs: drives a running Roster server with auth0-python 6.x.

Same environment and conventions as every suite here (harness.py). Management API writes leave
`sapi` events (and refused ones `fapi`); the suite finds its own with `logs.list(search=...)`,
reads one with `logs.get`, lists a user's with `users.logs.list` (empty: Management API events
name no user, as Auth0's do), and checks the raw JSON: Auth0's keys with explicit nulls, the
password masked, and the errors the SDK raises.
"""
from __future__ import annotations

from auth0.management.errors import BadRequestError, NotFoundError

from harness import CONNECTION, PASSWORD, RUN, STATE, begin, connect, eq, finish, rec, test

EMAIL = f"py.logged.{RUN}@example.org"

begin("logs")
connect()


@test("a create is a sapi event: logs.list(search=...) finds it, newest first", needs=("client",))
def _():
    c = STATE["client"]
    user = c.users.create(connection=CONNECTION, email=EMAIL, password=PASSWORD)
    STATE["user"] = user.user_id
    first = next(iter(c.logs.list(search='type:sapi AND description:"Create a User"', per_page=5)))
    raw = rec.last_json()
    eq(sorted(raw.keys()), ["length", "limit", "logs", "start", "total"], "wrapper keys (include_totals)")
    event = raw["logs"][0]
    eq(first.log_id, event["log_id"], "the SDK's item is the raw one")
    eq((event["type"], event["description"], event["user_id"]), ("sapi", "Create a User", None), "the event")
    eq(event["details"]["request"]["body"]["email"], EMAIL, "our create")
    eq(event["details"]["request"]["body"]["password"], "*****", "the password is masked")
    eq(event["details"]["response"]["statusCode"], 201, "the answer's status")
    eq(event["details"]["response"]["body"]["user_id"], user.user_id, "the answer")
    assert PASSWORD not in rec.last().text, "no password in the log"
    STATE["event"] = event


@test("logs.get: the event by id; an unknown id -> NotFoundError", needs=("event",))
def _():
    c = STATE["client"]
    got = c.logs.get(STATE["event"]["log_id"])
    eq(got.type, "sapi", "type")
    eq(rec.last_json(), STATE["event"], "the raw event, as listed")
    try:
        c.logs.get("90020230314144709188593000000000000001223372037868840734")
        raise AssertionError("no error")
    except NotFoundError as e:
        eq((e.body.get("errorCode"), e.body.get("message")), ("inexistent_log", "Log not found."), "404")


@test("logs.list: bad search -> BadRequestError; pages end with an empty page", needs=("event",))
def _():
    c = STATE["client"]
    try:
        list(c.logs.list(search="email:x"))
        raise AssertionError("no error")
    except BadRequestError as e:
        eq(e.body.get("errorCode"), "invalid_query_string", "errorCode")
    c.users.update(STATE["user"], name=f"Logged {RUN}")
    updates = list(c.logs.list(search=f'description:"Update a User" AND type:sapi', per_page=2))
    assert updates and all(e.description == "Update a User" for e in updates), [e.description for e in updates]
    eq(rec.last_json()["logs"], [], "the pager stopped at an empty page")


@test("users.logs.list: the user's events (none from the Management API)", needs=("user",))
def _():
    c = STATE["client"]
    eq(list(c.users.logs.list(STATE["user"])), [], "no events")
    eq(rec.last_json(), {"start": 0, "limit": 50, "length": 0, "total": 0, "logs": []}, "raw wrapper")


if "user" in STATE:
    STATE["client"].users.delete(STATE["user"])

finish()
