"""The pytest fixture of docs/TENANTS.md (docs/examples/roster_pytest.py) with auth0-python 6.x.

Run by tests/sdk/run.sh against its server with the admin API:
    ROSTER_URL=http://127.0.0.1:PORT ROSTER_ADMIN_KEY=KEY PYTHONPATH=docs/examples \
        python -m pytest -p roster_pytest tests/sdk/python/fixture_test.py
"""
import dataclasses
import secrets

import pytest
from auth0.management import UnauthorizedError

from roster_pytest import RosterAdminError, admin, create_tenant

CONNECTION = "Username-Password-Authentication"
PASSWORD = "Fixture-Passw0rd!" + secrets.token_hex(4)
# The same address in every test: each has a tenant of its own, so none conflicts.
EMAIL = "same.person@example.com"
SEEN: list = []  # the tenants the tests below were given, in order


def create_user(tenant, email=EMAIL):
    return tenant.management.users.create(connection=CONNECTION, email=email, password=PASSWORD)


def emails(tenant) -> list:
    return sorted(u.email for u in tenant.management.users.list(page=0, per_page=50))


@pytest.mark.parametrize("run", [1, 2])
def test_each_test_gets_a_fresh_tenant(roster_tenant, run):
    assert roster_tenant.domain == f"{roster_tenant.server.split('://')[1]}/t/{roster_tenant.name}"
    assert roster_tenant.audience == f"https://{roster_tenant.domain}/api/v2/"
    assert emails(roster_tenant) == [], "a new tenant has no users"
    user = create_user(roster_tenant)
    assert user.email == EMAIL
    assert [u.user_id for u in roster_tenant.management.users.list_users_by_email(email=EMAIL)] == [user.user_id]
    SEEN.append(roster_tenant)


def test_the_tenants_were_two_and_are_gone():
    assert len(SEEN) == 2
    assert SEEN[0].name != SEEN[1].name
    for tenant in SEEN:
        with pytest.raises(RosterAdminError) as refused:
            admin(tenant.server, tenant.admin_key, "GET", f"/tenants/{tenant.name}")
        assert refused.value.status == 404, "deleted after its test"


def test_a_reset_brings_the_tenant_back(roster_tenant):
    create_user(roster_tenant, "kept@example.com")
    roster_tenant.snapshot("one-user")
    create_user(roster_tenant, "dropped@example.com")
    assert emails(roster_tenant) == ["dropped@example.com", "kept@example.com"]

    roster_tenant.reset("one-user")
    assert emails(roster_tenant) == ["kept@example.com"], "back to the snapshot (the token still works)"
    roster_tenant.reset()
    assert emails(roster_tenant) == [], "back to the tenant as created"
    create_user(roster_tenant, "dropped@example.com")  # its address is free again


def test_a_tenant_refuses_another_tenants_token(roster_tenant):
    other = create_tenant(ttl_seconds=60)
    try:
        with pytest.raises(UnauthorizedError):
            dataclasses.replace(roster_tenant, _token=other.token).management.users.list()
    finally:
        other.delete()
