"""What every python SDK suite here shares: the server to drive, a token and a management client
from auth0-python 6.x, a transport that records every exchange, and a tiny test harness.

Environment (tests/sdk/run.sh sets it):
  ROSTER_URL     base URL of the tenant: the server's own, e.g. http://127.0.0.1:8080 (or set PORT),
                 or one it hosts, e.g. http://127.0.0.1:8080/t/NAME
  PORT           used when ROSTER_URL is unset (host 127.0.0.1)
  CLIENT_ID      client id the server was started with
  CLIENT_SECRET  client secret the server was started with
  SDK_SKIP       a regular expression: the tests whose names it matches are skipped

Self-contained (no pytest): every check is a plain `assert`, every test prints `ok` or `FAIL`
with the server's answer, and `finish()` ends the suite with the line `N passed, N failed` and
a non-zero exit when anything failed (or nothing ran).

How the SDK is pointed at plain http (verified against auth0-python 6.8):
  * token:  auth0.authentication.GetToken(DOMAIN, client_id,
            client_secret=..., protocol="http").client_credentials(audience)
            -> JSON POST http://DOMAIN/oauth/token (DOMAIN: "127.0.0.1:PORT", or "127.0.0.1:PORT/t/NAME")
  * API:    auth0.management.Auth0(base_url="http://DOMAIN/api/v2", token=...)
"""
from __future__ import annotations

import json
import os
import re
import secrets
import sys
import traceback
import urllib.parse
from typing import NoReturn

import httpx

import auth0
from auth0.authentication import GetToken
from auth0.management import Auth0

# ---------------------------------------------------------------------------
# configuration

ROSTER_URL = (os.environ.get("ROSTER_URL") or f"http://127.0.0.1:{os.environ['PORT']}").rstrip("/")
CLIENT_ID = os.environ["CLIENT_ID"]
CLIENT_SECRET = os.environ["CLIENT_SECRET"]
# What the SDKs are given as the domain: host and path, "127.0.0.1:PORT" or "127.0.0.1:PORT/t/NAME"
# (a hosted tenant; the SDKs append /oauth/token, /api/v2/... to it).
BASE_PATH = urllib.parse.urlsplit(ROSTER_URL).path
DOMAIN = urllib.parse.urlsplit(ROSTER_URL).netloc + BASE_PATH
AUDIENCE = f"https://{DOMAIN}/api/v2/"
CONNECTION = "Username-Password-Authentication"
PASSWORD = "Sdk-Test-Passw0rd!" + secrets.token_hex(4)
RUN = secrets.token_hex(4)  # makes every name, identifier and e-mail of this run unique


# ---------------------------------------------------------------------------
# a transport that records every exchange (so raw JSON can be checked: the
# SDK's pydantic models cannot tell "absent" from "null") and can rewrite
# https:// to http:// for the clients that hard-code https.


class RecordingTransport(httpx.HTTPTransport):
    def __init__(self, rewrite_https: bool = False):
        super().__init__()
        self.rewrite_https = rewrite_https
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.rewrite_https and request.url.scheme == "https":
            request.url = request.url.copy_with(scheme="http")
        response = super().handle_request(request)
        response.read()
        self.exchanges.append((request, response))
        return response

    def last_request(self) -> httpx.Request:
        assert self.exchanges, "no HTTP exchange was recorded"
        return self.exchanges[-1][0]

    def last(self) -> httpx.Response:
        assert self.exchanges, "no HTTP exchange was recorded"
        return self.exchanges[-1][1]

    def last_json(self):
        r = self.last()
        try:
            return r.json()
        except ValueError:
            raise AssertionError(f"response to {self.exchanges[-1][0].method} "
                                 f"{self.exchanges[-1][0].url} is not JSON: {r.status_code} {r.text!r}")


# ---------------------------------------------------------------------------
# tiny test harness

RESULTS: list[tuple[str, bool]] = []
STATE: dict = {}
# Prerequisites a suite found the server does not offer yet, with why: a test that needs one is
# skipped, loudly, rather than failed.
UNAVAILABLE: dict[str, str] = {}
# SDK_SKIP: a regular expression; the tests whose names it matches are skipped, loudly (a store
# that lacks a feature yet, e.g. search on PostgreSQL).
SKIP = re.compile(os.environ["SDK_SKIP"]) if os.environ.get("SDK_SKIP") else None


def test(name: str, needs: tuple[str, ...] = ()):
    def deco(fn):
        if SKIP and SKIP.search(name):
            print(f"skip - {name}: SDK_SKIP={SKIP.pattern}", flush=True)
            return fn
        missing = [k for k in needs if k not in STATE]
        if missing:
            unavailable = [UNAVAILABLE[k] for k in missing if k in UNAVAILABLE]
            if unavailable:
                print(f"skip - {name}: {unavailable[0]}", flush=True)
                return fn
            print(f"FAIL - {name}: not run, prerequisite missing: {', '.join(missing)}", flush=True)
            RESULTS.append((name, False))
            return fn
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - report everything
            detail = str(e) if isinstance(e, AssertionError) else f"{type(e).__name__}: {e}"
            print(f"FAIL - {name}: {detail}", flush=True)
            if not isinstance(e, AssertionError):
                traceback.print_exc()
            RESULTS.append((name, False))
        else:
            print(f"ok   - {name}", flush=True)
            RESULTS.append((name, True))
        return fn

    return deco


def show(v) -> str:
    return json.dumps(v, sort_keys=True, default=str)


def eq(actual, expected, what: str):
    assert actual == expected, f"{what}: expected {show(expected)}, got {show(actual)}"


# ---------------------------------------------------------------------------
# tokens and the management client

rec = RecordingTransport()
http = httpx.Client(transport=rec, timeout=30)


def token_response(client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET, audience: str = AUDIENCE) -> dict:
    """The answer to a client-credentials request made the SDK's way (GetToken, JSON body, http)."""
    return GetToken(DOMAIN, client_id, client_secret=secret, protocol="http").client_credentials(audience=audience)


def token_for(client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> str:
    return token_response(client_id, secret)["access_token"]


def mgmt(token: str) -> Auth0:
    """A management client whose every exchange `rec` records."""
    return Auth0(base_url=f"{ROSTER_URL}/api/v2", token=token, httpx_client=http)


def connect():
    """The first test of a suite: the server's client gets a token, and STATE["client"] uses it."""

    @test("token and client")
    def _():
        STATE["client"] = mgmt(token_for())


# ---------------------------------------------------------------------------
# reporting

_area = ""


def begin(area: str = ""):
    """Names the suite (e.g. "organizations") in its first and last lines."""
    global _area
    _area = area
    print(f"auth0-python {auth0.__version__} {area + ' ' if area else ''}against {ROSTER_URL} (audience {AUDIENCE})",
          flush=True)


def finish() -> NoReturn:
    passed = sum(1 for _, ok in RESULTS if ok)
    failed = len(RESULTS) - passed
    print(f"python{' ' + _area if _area else ''}: {passed} passed, {failed} failed", flush=True)
    sys.exit(1 if failed or not RESULTS else 0)
