#!/usr/bin/env python3
"""SDK compatibility suite, tenant files: the server runs with `--seed tests/sdk/tenant.yaml`
(tests/sdk/run.sh), and auth0-python works with what the file set up: the seeded client gets a
token with exactly its grant's scopes, and reads the seeded role, user and organization;
what its grant leaves out is refused.

Same environment and conventions as every suite here (harness.py), plus SDK_SEEDED_SECRET, the
seeded client's secret (run.sh passes it to the server as the file's keyword).
"""
from __future__ import annotations

import os

from auth0.management.errors import ForbiddenError

from harness import STATE, begin, eq, finish, mgmt, test, token_response

SEEDED_SCOPES = "read:users read:roles read:organizations read:organization_members"

begin("tenant file")


@test("the seeded client gets a token with its grant's scopes")
def _():
    answer = token_response("sdk-seeded-client", os.environ["SDK_SEEDED_SECRET"])
    eq(answer.get("scope"), SEEDED_SCOPES, "scope")
    STATE["seeded"] = mgmt(answer["access_token"])


@test("it reads the seeded user, their role and organization", needs=("seeded",))
def _():
    c = STATE["seeded"]
    found = c.users.list_users_by_email(email="sdk-seeded-user@example.com")
    eq(len(found), 1, "users by email")
    user = found[0]
    eq(user.given_name, "Seeded", "given_name")
    eq([r.name for r in c.users.roles.list(user.user_id)], ["sdk-seeded-role"], "the user's roles")
    org = c.organizations.get_by_name("sdk-seeded-org")
    eq(org.display_name, "Seeded organization", "organization")
    eq([m.user_id for m in c.organizations.members.list(org.id)], [user.user_id], "members")


@test("what the grant leaves out is refused", needs=("seeded",))
def _():
    try:
        STATE["seeded"].roles.create(name="not-allowed")
        raise AssertionError("a token without create:roles created a role")
    except ForbiddenError as e:
        eq(e.status_code, 403, "status")


finish()
