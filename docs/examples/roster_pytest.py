"""A pytest fixture for Roster's tenants (docs/TENANTS.md): a test that asks for `roster_tenant`
gets a fresh tenant of its own, deleted when the test ends.

    def test_signup(roster_tenant):
        users = roster_tenant.management.users
        users.create(connection="Username-Password-Authentication", email="a@example.com",
                     password="Passw0rd!Passw0rd")

Load it as a plugin (the file on the Python path, then `pytest -p roster_pytest`, or
`pytest_plugins = ["roster_pytest"]` in your top-level conftest.py), or copy it into conftest.py.
Needs pytest and auth0-python 6.x; the admin API is called with the standard library.

Environment:
  ROSTER_URL          the Roster server (default http://127.0.0.1:8080)
  ROSTER_ADMIN_KEY    the key it was started with (`roster serve --admin-key`)
  ROSTER_TENANT_FILE  optional: a tenant file (docs/SEED.md) every tenant is created from
  ROSTER_TENANT_TTL   seconds a tenant may stay idle before the server deletes it (default 600):
                      what a test run that crashes leaves behind goes away by itself
"""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from auth0.authentication import GetToken
from auth0.management import Auth0


class RosterAdminError(RuntimeError):
    """The admin API refused a request: `status` and Roster's error `body`."""

    def __init__(self, method: str, path: str, status: int, body: str):
        super().__init__(f"Roster {method} /roster/v1{path}: {status} {body}")
        self.status = status
        self.body = body


def admin(server: str, admin_key: str, method: str, path: str, body: dict | None = None):
    """One admin API request (`/roster/v1{path}`); its JSON answer, or None for a 204."""
    request = urllib.request.Request(
        f"{server.rstrip('/')}/roster/v1{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"authorization": f"Bearer {admin_key}", "content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
    except urllib.error.HTTPError as error:
        raise RosterAdminError(method, path, error.code, error.read().decode()) from None
    return json.loads(text) if text else None


@dataclass
class RosterTenant:
    """A tenant, as its tests use it."""

    server: str
    admin_key: str
    name: str
    domain: str  # "127.0.0.1:8080/t/NAME": what the SDKs are given as the domain
    client_id: str  # the tenant's management client
    client_secret: str
    audience: str  # "https://127.0.0.1:8080/t/NAME/api/v2/"
    protocol: str = "http"  # the server's scheme
    _token: str | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        """Where the tenant is served: http://127.0.0.1:8080/t/NAME (+ /api/v2, /oauth/token, ...)."""
        return f"{self.protocol}://{self.domain}"

    @property
    def token(self) -> str:
        """A Management API token for the tenant's management client (client credentials), kept
        for the test: a reset keeps the tenant's signing keys, so it stays good."""
        if self._token is None:
            get_token = GetToken(self.domain, self.client_id, client_secret=self.client_secret, protocol=self.protocol)
            self._token = get_token.client_credentials(audience=self.audience)["access_token"]
        return self._token

    @property
    def management(self) -> Auth0:
        """An auth0-python Management API client for the tenant."""
        return Auth0(base_url=f"{self.base_url}/api/v2", token=self.token)

    def snapshot(self, name: str) -> None:
        """Keeps the tenant as it is now under `name`."""
        admin(self.server, self.admin_key, "POST", f"/tenants/{self.name}/snapshots", {"name": name})

    def reset(self, snapshot: str | None = None) -> None:
        """Makes the tenant what it was at `snapshot`, by default as it was created."""
        admin(self.server, self.admin_key, "POST", f"/tenants/{self.name}/reset",
              {} if snapshot is None else {"snapshot": snapshot})

    def delete(self) -> None:
        """Deletes the tenant (one already gone, e.g. expired, is fine)."""
        try:
            admin(self.server, self.admin_key, "DELETE", f"/tenants/{self.name}")
        except RosterAdminError as error:
            if error.status != 404:
                raise


def create_tenant(server: str | None = None, admin_key: str | None = None, ttl_seconds: int | None = None,
                  tenant_file: str | None = None, name: str | None = None) -> RosterTenant:
    """Creates a tenant; the arguments not given come from the environment (see above).
    `tenant_file` is a path to a tenant file."""
    server = (server or os.environ.get("ROSTER_URL") or "http://127.0.0.1:8080").rstrip("/")
    admin_key = admin_key or os.environ["ROSTER_ADMIN_KEY"]
    body: dict = {"ttl_seconds": ttl_seconds if ttl_seconds is not None else int(os.environ.get("ROSTER_TENANT_TTL", 600))}
    tenant_file = tenant_file or os.environ.get("ROSTER_TENANT_FILE")
    if tenant_file:
        with open(tenant_file, encoding="utf-8") as f:
            body["tenant_file"] = f.read()
    if name:
        body["name"] = name
    created = admin(server, admin_key, "POST", "/tenants", body)
    return RosterTenant(
        server=server,
        admin_key=admin_key,
        name=created["name"],
        domain=created["domain"],
        client_id=created["client_id"],
        client_secret=created["client_secret"],
        audience=created["management_api_audience"],
        protocol=server.split("://", 1)[0],
    )


@pytest.fixture
def roster_tenant() -> Iterator[RosterTenant]:
    """A fresh tenant for the test, deleted after it."""
    tenant = create_tenant()
    try:
        yield tenant
    finally:
        tenant.delete()
