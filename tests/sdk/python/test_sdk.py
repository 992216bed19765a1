#!/usr/bin/env python3
"""SDK compatibility suite: drives a running Roster server with auth0-python 6.x.

Environment and conventions: see harness.py. Covers tokens, users (create, read, update, delete,
listing and search) as the SDK calls them, checking the raw JSON where the SDK's models cannot
tell absent from null, and the errors the SDK raises.

Besides Auth0(base_url=..., token=...) (harness.py), it drives
auth0.management.ManagementClient(domain=..., client_id=..., client_secret=...), which hard-codes
https:// and fetches its token form-encoded; it is run through an httpx transport that rewrites
https:// to http://.
"""
from __future__ import annotations

import base64
import json
import re
import secrets
import urllib.parse

import httpx

from auth0.authentication.exceptions import Auth0Error
from auth0.management import ManagementClient
from auth0.management import token_provider as _token_provider_module
from auth0.management.core.api_error import ApiError
from auth0.management.core.parse_error import ParsingError
from auth0.management.errors import BadRequestError, ConflictError, NotFoundError, UnauthorizedError

from harness import (BASE_PATH, CLIENT_ID, CLIENT_SECRET, CONNECTION, DOMAIN, PASSWORD, RUN, STATE,
                     RecordingTransport, begin, eq, finish, mgmt, rec, show, test, token_response)

USER_ID_RE = re.compile(r"^auth0\|[0-9a-f]{24}$")


def check_user_shape(u: dict, email: str, what: str):
    """Checks shared by every full user representation returned by the server."""
    assert isinstance(u, dict), f"{what}: user is not an object: {show(u)}"
    eq(u.get("email"), email.lower(), f"{what}: email (lower-cased)")
    eq(u.get("name"), email.lower(), f"{what}: name defaults to email")
    eq(u.get("nickname"), email.lower().split("@")[0], f"{what}: nickname = e-mail local part")
    assert USER_ID_RE.match(str(u.get("user_id"))), f"{what}: user_id {u.get('user_id')!r} is not auth0|<24 hex>"
    eq(u.get("email_verified"), False, f"{what}: email_verified")
    ids = u.get("identities")
    assert isinstance(ids, list) and len(ids) == 1, f"{what}: identities: {show(ids)}"
    eq(ids[0].get("connection"), CONNECTION, f"{what}: identities[0].connection")
    eq(ids[0].get("provider"), "auth0", f"{what}: identities[0].provider")
    eq(ids[0].get("user_id"), u["user_id"].split("|", 1)[1], f"{what}: identities[0].user_id")
    eq(ids[0].get("isSocial"), False, f"{what}: identities[0].isSocial")
    for k in ("created_at", "updated_at"):
        assert isinstance(u.get(k), str) and re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", u[k]), \
            f"{what}: {k} is not an ISO-8601 timestamp: {u.get(k)!r}"
    nulls = sorted(k for k, v in u.items() if v is None)
    assert not nulls, f"{what}: fields present as null instead of absent: {nulls}"
    for k in ("given_name", "family_name", "password", "connection"):
        assert k not in u, f"{what}: unexpected key {k!r} present: {show(u.get(k))}"


begin()


# ---------------------------------------------------------------------------
# tokens


@test("token: GetToken.client_credentials over http (JSON body)")
def _():
    tok = token_response()
    assert isinstance(tok, dict), f"token response is not an object: {tok!r}"
    assert isinstance(tok.get("access_token"), str) and tok["access_token"], f"no access_token: {show(tok)}"
    eq(str(tok.get("token_type")).lower(), "bearer", "token_type")
    assert isinstance(tok.get("expires_in"), int) and tok["expires_in"] > 0, f"expires_in: {show(tok)}"
    STATE["token"] = tok["access_token"]
    STATE["client"] = mgmt(tok["access_token"])


@test("token: http:// audience is accepted too")
def _():
    tok = token_response(audience=f"http://{DOMAIN}/api/v2/")
    assert tok.get("access_token"), f"no access_token: {show(tok)}"


@test("token: wrong client_secret -> Auth0Error 401 access_denied")
def _():
    try:
        token_response(secret="wrong-" + CLIENT_SECRET)
    except Auth0Error as e:
        eq(e.status_code, 401, "status_code")
        eq(e.error_code, "access_denied", "error_code")
    else:
        raise AssertionError("token request with a wrong secret succeeded")


def tampered(token: str) -> str:
    """The same JWT with its signature replaced by random bytes of the same length."""
    parts = token.split(".")
    assert len(parts) == 3, f"access_token is not a JWT (header.payload.signature): {token[:40]!r}..."
    # random bytes of the same decoded length, canonically base64url-encoded
    sig = base64.urlsafe_b64encode(secrets.token_bytes(len(parts[2]) * 3 // 4)).decode().rstrip("=")
    return ".".join(parts[:2] + [sig])


@test("api: malformed (non-JWT) bearer -> BadRequestError 400 'Bad HTTP authentication header format'")
def _():
    # Auth0 answers a bearer value that is not a JWT with a 400, not a 401.
    try:
        mgmt("not-a-valid-token").users.list(page=0, per_page=1)
    except BadRequestError as e:
        eq(e.status_code, 400, "status_code")
        assert isinstance(e.body, dict), f"error body is not an object: {e.body!r}"
        eq(e.body.get("statusCode"), 400, "body.statusCode")
        eq(e.body.get("error"), "Bad Request", "body.error")
        eq(e.body.get("message"), "Bad HTTP authentication header format", "body.message")
        eq(e.body.get("errorCode"), "Bearer", "body.errorCode")
    else:
        raise AssertionError("request with a malformed token succeeded")


@test("api: JWT with a forged signature -> UnauthorizedError 401", needs=("token",))
def _():
    try:
        mgmt(tampered(STATE["token"])).users.list(page=0, per_page=1)
    except UnauthorizedError as e:
        eq(e.status_code, 401, "status_code")
        assert isinstance(e.body, dict), f"error body is not an object: {e.body!r}"
        eq(e.body.get("statusCode"), 401, "body.statusCode")
        eq(e.body.get("error"), "Unauthorized", "body.error")
    else:
        raise AssertionError("request with a forged token succeeded")


# ---------------------------------------------------------------------------
# create / read


@test("create user (201, defaults, metadata)", needs=("client",))
def _():
    client = STATE["client"]
    email = f"Py.Main.{RUN}@Example.COM"
    created = client.users.create(
        connection=CONNECTION, email=email, password=PASSWORD,
        user_metadata={"theme": "dark", "lang": "en"},
        app_metadata={"plan": "free", "roles": ["admin", "dev"]},
    )
    eq(rec.last().status_code, 201, "HTTP status")
    raw = rec.last_json()
    # record the user before checking its shape, so one wrong field does not
    # hide what the later tests would say about the server
    STATE["email"] = email
    STATE["user"] = raw
    STATE.setdefault("cleanup", []).append(raw["user_id"])
    check_user_shape(raw, email, "create response")
    eq(raw.get("user_metadata"), {"theme": "dark", "lang": "en"}, "create: user_metadata")
    eq(raw.get("app_metadata"), {"plan": "free", "roles": ["admin", "dev"]}, "create: app_metadata")
    # the typed model carries the same values
    eq(created.user_id, raw["user_id"], "typed model user_id")
    eq(created.email, email.lower(), "typed model email")


@test("get user by id", needs=("user",))
def _():
    u = STATE["user"]
    got = STATE["client"].users.get(u["user_id"])
    eq(rec.last().status_code, 200, "HTTP status")
    raw = rec.last_json()
    check_user_shape(raw, STATE["email"], "get response")
    for k in ("user_id", "created_at", "user_metadata", "app_metadata", "identities"):
        eq(raw.get(k), u.get(k), f"get: {k} same as on create")
    eq(got.user_id, u["user_id"], "typed model user_id")
    eq(got.user_metadata, {"theme": "dark", "lang": "en"}, "typed model user_metadata")


@test("get user with fields (include_fields=true / false)", needs=("user",))
def _():
    uid = STATE["user"]["user_id"]
    STATE["client"].users.get(uid, fields="email,user_id", include_fields=True)
    q = urllib.parse.parse_qs(rec.exchanges[-1][0].url.query.decode())
    eq(q.get("fields"), ["email,user_id"], "fields sent as one comma-separated parameter")
    raw = rec.last_json()
    eq(sorted(raw.keys()), ["email", "user_id"], "include_fields=true: exactly the requested keys")
    eq(raw["user_id"], uid, "user_id")

    STATE["client"].users.get(uid, fields="identities,app_metadata,user_metadata", include_fields=False)
    raw = rec.last_json()
    for k in ("identities", "app_metadata", "user_metadata"):
        assert k not in raw, f"include_fields=false: excluded key {k!r} still present: {show(raw)}"
    eq(raw.get("user_id"), uid, "include_fields=false: user_id still there")
    eq(raw.get("email"), STATE["email"].lower(), "include_fields=false: email still there")
    assert "name" in raw and "created_at" in raw, f"include_fields=false removed too much: {show(raw)}"


# ---------------------------------------------------------------------------
# update (metadata merge semantics)


@test("update: user_metadata first-level merge", needs=("user",))
def _():
    uid = STATE["user"]["user_id"]
    before = STATE["user"]["updated_at"]
    upd = STATE["client"].users.update(uid, user_metadata={"lang": "fr", "prefs": {"a": 1, "b": 2}})
    eq(rec.last().status_code, 200, "HTTP status")
    raw = rec.last_json()
    eq(raw.get("user_metadata"), {"theme": "dark", "lang": "fr", "prefs": {"a": 1, "b": 2}}, "merged user_metadata")
    eq(raw.get("app_metadata"), {"plan": "free", "roles": ["admin", "dev"]}, "app_metadata untouched")
    eq(raw.get("email"), STATE["email"].lower(), "email untouched")
    assert isinstance(raw.get("updated_at"), str) and raw["updated_at"] >= before, \
        f"updated_at went backwards: {before!r} -> {raw.get('updated_at')!r}"
    eq(upd.user_metadata, raw["user_metadata"], "typed model user_metadata")


@test("update: nested objects are replaced, not deep-merged", needs=("user",))
def _():
    uid = STATE["user"]["user_id"]
    STATE["client"].users.update(uid, user_metadata={"prefs": {"c": 3}})
    raw = rec.last_json()
    eq(raw.get("user_metadata"), {"theme": "dark", "lang": "fr", "prefs": {"c": 3}}, "user_metadata")


@test("update: null deletes a metadata key", needs=("user",))
def _():
    uid = STATE["user"]["user_id"]
    STATE["client"].users.update(uid, user_metadata={"theme": None}, app_metadata={"plan": None, "tier": 2})
    sent = json.loads(rec.exchanges[-1][0].content)
    eq(sent.get("user_metadata"), {"theme": None}, "SDK sent the null through")
    raw = rec.last_json()
    eq(raw.get("user_metadata"), {"lang": "fr", "prefs": {"c": 3}}, "user_metadata after null")
    eq(raw.get("app_metadata"), {"roles": ["admin", "dev"], "tier": 2}, "app_metadata after null + add")


@test("update: {} clears metadata", needs=("user",))
def _():
    uid = STATE["user"]["user_id"]
    STATE["client"].users.update(uid, app_metadata={})
    raw = rec.last_json()
    assert raw.get("app_metadata", {}) == {}, f"app_metadata not cleared: {show(raw.get('app_metadata'))}"
    eq(raw.get("user_metadata"), {"lang": "fr", "prefs": {"c": 3}}, "user_metadata untouched by app_metadata={}")


@test("update: root attributes replace; get shows persisted state", needs=("user",))
def _():
    uid = STATE["user"]["user_id"]
    STATE["client"].users.update(uid, given_name="Ada", family_name="Lovelace", name="Ada Lovelace",
                                 nickname="ada")
    raw = rec.last_json()
    eq(raw.get("given_name"), "Ada", "given_name")
    eq(raw.get("family_name"), "Lovelace", "family_name")
    eq(raw.get("name"), "Ada Lovelace", "name")
    eq(raw.get("nickname"), "ada", "nickname")
    STATE["client"].users.get(uid)
    got = rec.last_json()
    for k, v in {"given_name": "Ada", "family_name": "Lovelace", "name": "Ada Lovelace", "nickname": "ada",
                 "user_metadata": {"lang": "fr", "prefs": {"c": 3}}, "email": STATE["email"].lower()}.items():
        eq(got.get(k), v, f"persisted {k}")
    assert got.get("app_metadata", {}) == {}, f"persisted app_metadata not cleared: {show(got.get('app_metadata'))}"
    nulls = sorted(k for k, v in got.items() if v is None)
    assert not nulls, f"fields present as null instead of absent: {nulls}"


# ---------------------------------------------------------------------------
# list


def list_raw(client, **kw):
    pager = client.users.list(**kw)
    raw = rec.last_json()
    return pager, raw


@test("list: include_totals wrapper, page/per_page, SDK auto-pagination", needs=("client", "user"))
def _():
    client = STATE["client"]
    _, raw0 = list_raw(client, page=0, per_page=1, include_totals=True)
    for k in ("start", "limit", "length", "total", "users"):
        assert k in raw0, f"list wrapper lacks key {k!r}: {show(raw0)}"
    total0 = raw0["total"]
    ids = []
    for i in range(3):
        email = f"Py.List{i}.{RUN}@Example.com"
        c = client.users.create(connection=CONNECTION, email=email, password=PASSWORD)
        ids.append(c.user_id)
        STATE.setdefault("cleanup", []).append(c.user_id)
    seen = []
    page = 0
    while True:
        pager, raw = list_raw(client, page=page, per_page=2, include_totals=True)
        q = urllib.parse.parse_qs(rec.exchanges[-1][0].url.query.decode())
        eq((q.get("page"), q.get("per_page"), q.get("include_totals")), ([str(page)], ["2"], ["true"]),
           "query sent by the SDK")
        eq(sorted(raw.keys()), ["length", "limit", "start", "total", "users"], f"page {page} wrapper keys")
        eq(raw["start"], page * 2, f"page {page} start")
        eq(raw["limit"], 2, f"page {page} limit")
        eq(raw["length"], len(raw["users"]), f"page {page} length")
        eq(raw["total"], total0 + 3, f"page {page} total")
        assert len(raw["users"]) <= 2, f"page {page} has {len(raw['users'])} users with per_page=2"
        eq([u.user_id for u in (pager.items or [])], [u["user_id"] for u in raw["users"]], "typed pager items")
        if not raw["users"]:
            break
        seen += [u["user_id"] for u in raw["users"]]
        page += 1
        assert page < 1000, "pagination does not terminate"
    eq(len(seen), total0 + 3, "users seen over all pages")
    eq(len(set(seen)), len(seen), "no user repeated across pages")
    for i in ids + [STATE["user"]["user_id"]]:
        assert i in seen, f"user {i} missing from the paged listing"
    # the SDK's own iterator walks pages (page+1 until an empty page)
    walked = [u.user_id for u in client.users.list(per_page=2)]
    eq(sorted(walked), sorted(seen), "SDK iterator saw the same users")
    STATE["list_ids"] = ids


@test("list: fields / include_fields", needs=("list_ids",))
def _():
    client = STATE["client"]
    _, raw = list_raw(client, page=0, per_page=50, include_totals=True, fields="user_id,email", include_fields=True)
    assert raw["users"], "no users listed"
    for u in raw["users"]:
        eq(sorted(u.keys()), ["email", "user_id"], "include_fields=true keys")
    _, raw = list_raw(client, page=0, per_page=50, include_totals=True, fields="identities,user_metadata",
                      include_fields=False)
    for u in raw["users"]:
        assert "identities" not in u and "user_metadata" not in u, f"excluded keys present: {show(u)}"
        assert "user_id" in u and "email" in u, f"include_fields=false removed too much: {show(u)}"


@test("list: include_totals=false returns a bare array", needs=("list_ids",))
def _():
    # auth0-python 6.x always parses the wrapper object, so it raises a
    # ParsingError on a bare array; the raw answer is what matters here.
    try:
        STATE["client"].users.list(page=0, per_page=50, include_totals=False)
    except (ParsingError, ApiError, ValueError):
        pass
    q = urllib.parse.parse_qs(rec.exchanges[-1][0].url.query.decode())
    eq(q.get("include_totals"), ["false"], "include_totals sent")
    raw = rec.last_json()
    assert isinstance(raw, list), f"include_totals=false did not return an array: {show(raw)[:300]}"
    listed = {u.get("user_id") for u in raw}
    for i in STATE["list_ids"]:
        assert i in listed, f"user {i} missing from bare-array listing"


# ---------------------------------------------------------------------------
# search (q, sort, fields, paging) and users-by-email
#
# Every query is ANDed with a per-run marker stored in app_metadata, so only
# the users created here can match, whatever else is in the database.

SEARCH_MARK = f"pysearch{RUN}"
# key, e-mail as sent (mixed case), name, extra attributes
SEARCH_PEOPLE = [
    ("jane", f"Jane.Alpha.{RUN}@Example.COM", "Jane Alpha",
     {"given_name": "Jane", "family_name": "Alpha", "user_metadata": {"color": "red"}}, "gold"),
    ("jack", f"Beta.Jack.{RUN}@example.org", "Jack Beta", {}, "silver"),
    ("john", f"JOHN.Gamma.{RUN}@Example.net", "John Gamma", {"user_metadata": {"color": "blue"}}, "gold"),
    ("mary", f"Mary.J.{RUN}@example.com", "Mary Johnson", {}, "bronze"),
    ("bob", f"Zed.Builder.{RUN}@Example.com", "Bob Builder", {}, "silver"),
]
# lower-cased e-mails sort as: beta.jack, jane.alpha, john.gamma, mary.j, zed.builder
BY_EMAIL = ["jack", "jane", "john", "mary", "bob"]
# names sort as: Bob Builder, Jack Beta, Jane Alpha, John Gamma, Mary Johnson
BY_NAME = ["bob", "jack", "jane", "john", "mary"]


def scoped(q: str) -> str:
    return f"app_metadata.sdkrun:{SEARCH_MARK} AND ({q})"


def search_raw(q: str, **kw):
    """users.list through the SDK with q scoped to this run; returns (pager, raw wrapper, sent query)."""
    kw.setdefault("page", 0)
    kw.setdefault("per_page", 50)
    kw.setdefault("include_totals", True)
    pager = STATE["client"].users.list(q=scoped(q), **kw)
    req, resp = rec.exchanges[-1]
    eq(resp.status_code, 200, f"q={q!r}: HTTP status (body {resp.text[:300]})")
    sent = urllib.parse.parse_qs(req.url.query.decode())
    eq(sent.get("q"), [scoped(q)], "q sent by the SDK (decoded)")
    raw = resp.json()
    assert isinstance(raw, dict) and isinstance(raw.get("users"), list), f"q={q!r}: not a wrapper: {show(raw)[:300]}"
    return pager, raw, sent


def keys_of(users: list) -> list[str]:
    """Maps user objects (raw dicts or typed models) back to the SEARCH_PEOPLE keys."""
    by_id = {u["user_id"]: k for k, u in STATE["search"].items()}
    out = []
    for u in users:
        uid = u.get("user_id") if isinstance(u, dict) else u.user_id
        assert uid in by_id, f"a user not created by this search test was returned: {show(u)[:300]}"
        out.append(by_id[uid])
    return out


def found(q: str, **kw) -> list[str]:
    """Keys of the users a scoped search returns, sorted (no order is asked for)."""
    pager, raw, _ = search_raw(q, **kw)
    got = keys_of(raw["users"])
    eq(keys_of(pager.items or []), got, f"q={q!r}: typed pager items vs raw users")
    eq(raw["total"], len(got), f"q={q!r}: total")
    return sorted(got)


@test("search: create users with distinct names and metadata", needs=("client",))
def _():
    client = STATE["client"]
    made = {}
    for key, email, name, extra, plan in SEARCH_PEOPLE:
        client.users.create(connection=CONNECTION, email=email, password=PASSWORD, name=name,
                            app_metadata={"sdkrun": SEARCH_MARK, "plan": plan}, **extra)
        eq(rec.last().status_code, 201, f"create {email}: HTTP status")
        raw = rec.last_json()
        STATE.setdefault("cleanup", []).append(raw["user_id"])
        eq(raw.get("email"), email.lower(), f"create {email}: email")
        eq(raw.get("name"), name, f"create {email}: name")
        made[key] = raw
    STATE["search"] = made


@test("search: q exact email, mixed case in the query still matches", needs=("search",))
def _():
    jane = STATE["search"]["jane"]
    eq(found(f'email:"{jane["email"]}"'), ["jane"], "quoted lower-case email")
    eq(found(f'email:"Jane.ALPHA.{RUN}@example.COM"'), ["jane"], "quoted mixed-case email")
    eq(found(f"email:JOHN.gamma.{RUN}@EXAMPLE.NET"), ["john"], "unquoted mixed-case email")
    eq(found(f'email:"jane.alpha.{RUN}@example.org"'), [], "same local part, other domain")
    # the result is the same full representation the create call returned
    _, raw, _ = search_raw(f'email:"{jane["email"]}"')
    eq(raw["users"], [jane], "search result vs create response")


@test("search: prefix wildcard on name (case-insensitive)", needs=("search",))
def _():
    eq(found("name:Ja*"), ["jack", "jane"], "name:Ja*")
    eq(found("name:ja*"), ["jack", "jane"], "name:ja*")
    eq(found("name:jo*"), ["john"], "name:jo* (whole-value prefix: not Mary Johnson)")
    eq(found("name:x*"), [], "name:x*")


@test("search: contains wildcard on name", needs=("search",))
def _():
    eq(found("name:*ohn*"), ["john", "mary"], "name:*ohn*")
    eq(found("name:*OHNS*"), ["mary"], "name:*OHNS*")
    eq(found("name:*lder"), ["bob"], "name:*lder (suffix)")
    eq(found("name:*zzz*"), [], "name:*zzz*")


@test("search: metadata equality, quoted phrase, root fields, identities, _exists_, dates", needs=("search",))
def _():
    eq(found("app_metadata.plan:gold"), ["jane", "john"], "app_metadata.plan:gold")
    eq(found("app_metadata.plan:silver"), ["bob", "jack"], "app_metadata.plan:silver")
    eq(found("app_metadata.plan:Gold"), [], "metadata values are case-sensitive")
    eq(found('app_metadata.plan:"bronze"'), ["mary"], "quoted metadata value")
    eq(found("user_metadata.color:blue"), ["john"], "user_metadata.color:blue")
    eq(found("_exists_:user_metadata.color"), ["jane", "john"], "_exists_:user_metadata.color")
    eq(found('name:"bob BUILDER"'), ["bob"], "quoted phrase on name, case-insensitive")
    eq(found("given_name:JANE AND family_name:alpha"), ["jane"], "given_name / family_name")
    eq(found(f'identities.connection:"{CONNECTION}"'), sorted(BY_EMAIL), "identities.connection")
    eq(found("created_at:[2020-01-01 TO *]"), sorted(BY_EMAIL), "created_at open range")
    eq(found("created_at:[* TO 2020-01-01]"), [], "created_at range in the past")
    eq(found("NOT _exists_:logins_count"), sorted(BY_EMAIL), "never logged in")


@test("search: boolean combinations (AND / OR / NOT, parentheses)", needs=("search",))
def _():
    eq(found('(name:ja* AND app_metadata.plan:gold) OR name:"bob builder"'), ["bob", "jane"], "(A AND B) OR C")
    eq(found("NOT app_metadata.plan:silver"), ["jane", "john", "mary"], "NOT")
    eq(found("name:j* AND NOT app_metadata.plan:gold"), ["jack"], "AND NOT")
    eq(found("app_metadata.plan:bronze OR user_metadata.color:red"), ["jane", "mary"], "OR")


@test("search: sort=email:1 / email:-1 / name:1 order", needs=("search",))
def _():
    _, raw, sent = search_raw("_exists_:email", sort="email:1")
    eq(sent.get("sort"), ["email:1"], "sort sent")
    eq(keys_of(raw["users"]), BY_EMAIL, "sort=email:1 order")
    eq([u["email"] for u in raw["users"]], sorted(u["email"] for u in raw["users"]), "emails ascending")
    _, raw, _ = search_raw("_exists_:email", sort="email:-1")
    eq(keys_of(raw["users"]), BY_EMAIL[::-1], "sort=email:-1 order")
    pager, raw, _ = search_raw("_exists_:email", sort="name:1")
    eq(keys_of(raw["users"]), BY_NAME, "sort=name:1 order")
    eq(keys_of(pager.items), BY_NAME, "typed pager keeps the order")


@test("search: fields projection (include_fields true / false)", needs=("search",))
def _():
    pager, raw, sent = search_raw("app_metadata.plan:gold", fields="email,user_id", include_fields=True, sort="email:1")
    eq(sent.get("fields"), ["email,user_id"], "fields sent")
    s = STATE["search"]
    eq(raw["users"], [{"email": s[k]["email"], "user_id": s[k]["user_id"]} for k in ("jane", "john")],
       "include_fields=true: exactly email and user_id")
    eq([u.email for u in pager.items], [s["jane"]["email"], s["john"]["email"]], "typed model email")
    eq([u.name for u in pager.items], [None, None], "typed model: name not returned")
    _, raw, _ = search_raw("app_metadata.plan:gold", fields="identities,app_metadata,user_metadata",
                           include_fields=False, sort="email:1")
    eq(len(raw["users"]), 2, "include_fields=false: user count")
    for u, k in zip(raw["users"], ("jane", "john")):
        expected = {kk: vv for kk, vv in s[k].items() if kk not in ("identities", "app_metadata", "user_metadata")}
        eq(u, expected, f"include_fields=false: {k} without the excluded keys")


@test("search: per_page=2 paging, include_totals wrapper values, SDK iterator", needs=("search",))
def _():
    seen = []
    expected_pages = [BY_EMAIL[0:2], BY_EMAIL[2:4], BY_EMAIL[4:5], []]
    for page, expected in enumerate(expected_pages):
        pager, raw, sent = search_raw("_exists_:email", page=page, per_page=2, sort="email:1")
        eq((sent.get("page"), sent.get("per_page"), sent.get("include_totals")), ([str(page)], ["2"], ["true"]),
           f"page {page}: query sent")
        eq({k: raw.get(k) for k in ("start", "limit", "length", "total")},
           {"start": page * 2, "limit": 2, "length": len(expected), "total": 5}, f"page {page}: wrapper values")
        eq(sorted(raw.keys()), ["length", "limit", "start", "total", "users"], f"page {page}: wrapper keys")
        eq(keys_of(raw["users"]), expected, f"page {page}: users")
        resp = pager.response
        eq((resp.start, resp.limit, resp.length, resp.total), (page * 2, 2, len(expected), 5),
           f"page {page}: typed wrapper")
        seen += keys_of(raw["users"])
    eq(seen, BY_EMAIL, "every user exactly once, in email order")

    # the SDK's own iterator: page+1 until an empty page
    start = len(rec.exchanges)
    walked = list(STATE["client"].users.list(q=scoped("_exists_:email"), sort="email:1", per_page=2))
    eq(keys_of(walked), BY_EMAIL, "SDK iterator: every user exactly once, in email order")
    pages_sent = [urllib.parse.parse_qs(r.url.query.decode()) for r, _ in rec.exchanges[start:]]
    eq([p.get("page") for p in pages_sent], [["0"], ["1"], ["2"], ["3"]], "SDK iterator: pages requested")
    for p in pages_sent:
        eq((p.get("q"), p.get("sort"), p.get("per_page")), ([scoped("_exists_:email")], ["email:1"], ["2"]),
           "SDK iterator: q/sort/per_page kept on every page")
    sizes = [len(p.items or []) for p in
             STATE["client"].users.list(q=scoped("_exists_:email"), sort="email:1", per_page=2).iter_pages()]
    eq(sizes, [2, 2, 1], "iter_pages page sizes")


@test("users-by-email: exact (case-sensitive) match, fields", needs=("search",))
def _():
    client = STATE["client"]
    john = STATE["search"]["john"]
    got = client.users.list_users_by_email(email=john["email"])
    req, resp = rec.exchanges[-1]
    eq(req.url.path, f"{BASE_PATH}/api/v2/users-by-email", "path")
    eq(urllib.parse.parse_qs(req.url.query.decode()).get("email"), [john["email"]], "email sent")
    eq(resp.status_code, 200, "HTTP status")
    eq(resp.json(), [john], "users-by-email: the one user, full representation")
    eq([u.user_id for u in got], [john["user_id"]], "typed result")
    # stored lower-case; the lookup is case-sensitive, as Auth0 documents
    eq(client.users.list_users_by_email(email=f"JOHN.Gamma.{RUN}@Example.net"), [], "mixed-case e-mail")
    eq(rec.last_json(), [], "mixed-case e-mail: raw")
    eq(client.users.list_users_by_email(email=f"nobody.{RUN}@example.net"), [], "unknown e-mail")
    client.users.list_users_by_email(email=john["email"], fields="user_id,email", include_fields=True)
    eq(rec.last_json(), [{"user_id": john["user_id"], "email": john["email"]}], "fields=user_id,email")


@test("search: invalid query -> BadRequestError 400 invalid_query_string", needs=("client",))
def _():
    for bad in ("name:*ab", f"app_metadata.sdkrun:{SEARCH_MARK} AND (name:jane"):
        try:
            STATE["client"].users.list(q=bad, page=0, per_page=2)
        except BadRequestError as e:
            eq(e.status_code, 400, f"q={bad!r}: status_code")
            assert isinstance(e.body, dict), f"q={bad!r}: error body is not an object: {e.body!r}"
            eq(e.body.get("statusCode"), 400, f"q={bad!r}: body.statusCode")
            eq(e.body.get("error"), "Bad Request", f"q={bad!r}: body.error")
            eq(e.body.get("errorCode"), "invalid_query_string", f"q={bad!r}: body.errorCode")
            msg = str(e.body.get("message"))
            assert msg.startswith("Query validation error: ") and msg.endswith(
                " on property q (Query in Lucene query string syntax)."), f"q={bad!r}: body.message {msg!r}"
        else:
            raise AssertionError(f"q={bad!r} succeeded: {rec.last().status_code} {rec.last().text[:300]}")
    eq(rec.last().headers.get("content-type", "").split(";")[0], "application/json", "error content-type")


# ---------------------------------------------------------------------------
# identities (account linking)


@test("users.identities.link / delete: link a secondary, read the primary, unlink", needs=("client",))
def _():
    client = STATE["client"]

    def create(tag: str):
        u = client.users.create(connection=CONNECTION, email=f"py.link.{tag}.{RUN}@example.com", password=PASSWORD,
                                given_name="Linked", user_metadata={"lost": True})
        STATE.setdefault("cleanup", []).append(u.user_id)
        return u

    primary, secondary = create("p"), create("s")
    bare = lambda u: u.user_id.split("|", 1)[1]  # noqa: E731
    # The full `auth0|…` id, as go-auth0 sends it.
    linked = client.users.identities.link(primary.user_id, provider="auth0", user_id=secondary.user_id)
    eq(rec.last().status_code, 201, "link HTTP status")
    eq([(i.provider, i.user_id) for i in linked], [("auth0", bare(primary)), ("auth0", bare(secondary))],
       "linked identities")
    raw = rec.last_json()
    eq(raw[1]["profileData"], {"email": secondary.email, "given_name": "Linked", "email_verified": False},
       "raw profileData of the secondary")
    eq(raw[0]["profileData"]["email"], primary.email, "the primary identity's profileData in the answer")
    eq(linked[1].profile_data.email, secondary.email, "SDK model profile_data.email")

    fetched = client.users.get(primary.user_id)
    eq(len(fetched.identities), 2, "identities of the primary")
    raw_user = rec.last_json()
    assert "profileData" not in raw_user["identities"][0], f"primary identity has profileData: {show(raw_user)}"
    eq(raw_user["identities"][1]["profileData"]["email"], secondary.email, "GET: linked identity's profileData")
    try:
        client.users.get(secondary.user_id)
    except NotFoundError as e:
        eq(e.body.get("errorCode"), "inexistent_user", "secondary after link: body.errorCode")
    else:
        raise AssertionError("the linked secondary is still a user: " + show(rec.last_json()))

    try:
        client.users.identities.link(primary.user_id, provider="auth0", user_id=bare(primary))
    except BadRequestError as e:
        eq(e.status_code, 400, "self link: status_code")
        eq(e.body.get("message"), "Main identity and the new one are the same.", "self link: body.message")
    else:
        raise AssertionError("linking a user to itself succeeded: " + show(rec.last_json()))

    remaining = client.users.identities.delete(primary.user_id, "auth0", bare(secondary))
    eq(rec.last().status_code, 200, "unlink HTTP status")
    eq([i.user_id for i in remaining], [bare(primary)], "identities after unlink")
    restored = client.users.get(secondary.user_id)
    eq((restored.email, restored.given_name), (secondary.email, "Linked"), "restored profile")
    eq(restored.user_metadata, None, "restored without metadata")
    try:
        client.users.identities.delete(primary.user_id, "auth0", bare(primary))
    except BadRequestError as e:
        eq(e.body.get("message"), "Main identity cannot be removed.", "unlink main: body.message")
    else:
        raise AssertionError("unlinking the main identity succeeded: " + show(rec.last_json()))


# ---------------------------------------------------------------------------
# errors and delete


@test("create duplicate (different case) -> ConflictError 409", needs=("user",))
def _():
    try:
        STATE["client"].users.create(connection=CONNECTION, email=STATE["email"].upper(), password=PASSWORD)
    except ConflictError as e:
        eq(e.status_code, 409, "status_code")
        eq(e.body.get("statusCode"), 409, "body.statusCode")
        eq(e.body.get("error"), "Conflict", "body.error")
        eq(e.body.get("message"), "The user already exists.", "body.message")
        eq(e.body.get("errorCode"), "auth0_idp_error", "body.errorCode")
    else:
        raise AssertionError("duplicate create succeeded: " + show(rec.last_json()))


@test("delete user -> 204; get -> NotFoundError 404 inexistent_user", needs=("user",))
def _():
    uid = STATE["user"]["user_id"]
    res = STATE["client"].users.delete(uid)
    eq(res, None, "delete return value")
    eq(rec.last().status_code, 204, "delete HTTP status")
    eq(rec.last().content, b"", "delete body")
    STATE["cleanup"].remove(uid)
    try:
        STATE["client"].users.get(uid)
    except NotFoundError as e:
        eq(e.status_code, 404, "status_code")
        eq(e.body.get("statusCode"), 404, "body.statusCode")
        eq(e.body.get("error"), "Not Found", "body.error")
        eq(e.body.get("errorCode"), "inexistent_user", "body.errorCode")
        eq(e.body.get("message"), "The user does not exist.", "body.message")
    else:
        raise AssertionError("get after delete succeeded: " + show(rec.last_json()))
    try:
        STATE["client"].users.update(uid, user_metadata={"x": 1})
    except NotFoundError as e:
        eq(e.status_code, 404, "update after delete: status_code")
        eq(e.body.get("errorCode"), "inexistent_user", "update after delete: body.errorCode")
    else:
        raise AssertionError("update after delete succeeded: " + show(rec.last_json()))


@test("ManagementClient(domain, client_id, client_secret): form-encoded token + CRUD round trip")
def _():
    # ManagementClient hard-codes https:// for both the token and the API
    # calls; route both through a transport that rewrites to http://.
    tr = RecordingTransport(rewrite_https=True)
    real_httpx = _token_provider_module.httpx

    class _HttpxShim:
        def __getattr__(self, name):
            return getattr(real_httpx, name)

        @staticmethod
        def Client(*a, **kw):  # noqa: N802 - mimics httpx.Client
            kw.setdefault("transport", tr)
            return real_httpx.Client(*a, **kw)

    _token_provider_module.httpx = _HttpxShim()
    try:
        mc = ManagementClient(domain=DOMAIN, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                              httpx_client=httpx.Client(transport=tr, timeout=30))
        email = f"Py.MC.{RUN}@Example.org"
        u = mc.users.create(connection=CONNECTION, email=email, password=PASSWORD)
        STATE.setdefault("cleanup", []).append(u.user_id)
        token_req = tr.exchanges[0][0]
        eq(token_req.url.path, f"{BASE_PATH}/oauth/token", "first request is the token request")
        eq(token_req.headers.get("content-type"), "application/x-www-form-urlencoded", "token content-type")
        eq(tr.exchanges[0][1].status_code, 200, "token status")
        check_user_shape(tr.last_json(), email, "ManagementClient create response")
        got = mc.users.get(u.user_id)
        eq(got.email, email.lower(), "get email")
        mc.users.delete(u.user_id)
        STATE["cleanup"].remove(u.user_id)
        eq(tr.last().status_code, 204, "delete status")
    finally:
        _token_provider_module.httpx = real_httpx


# ---------------------------------------------------------------------------
# cleanup + summary

if STATE.get("cleanup") and "client" in STATE:
    for uid in list(STATE["cleanup"]):
        try:
            STATE["client"].users.delete(uid)
        except Exception as e:  # noqa: BLE001
            print(f"warning: cleanup of {uid} failed: {e}", flush=True)

finish()
