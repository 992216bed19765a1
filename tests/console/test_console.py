"""The web console (docs/CONSOLE.md) in a real browser: one flow per test, checked as a person
sees it, and every change checked again through the Management API.

Run by tests/console/run.sh (which starts the server and sets the environment conftest.py reads).
"""
from __future__ import annotations

import base64
import json
import re

import requests
from playwright.sync_api import Browser, Page, expect

from conftest import (ADMIN_KEY, CONNECTION, FULL, PHONE, URL, USER_PASSWORD, WEB, Api, browser_login,
                      dialogs, error, expect_notice, expect_signed_out, field, form_action, form_data, hidden_fields,
                      main_nav, new_context, notice, open_user, q, screenshot, sign_in, unique)

NAV = ["Users", "Roles", "Organizations", "Connections"]


def submit(form, name: str | None = None) -> None:
    """Clicks the form's button `name` (or its only button when the contract names none)."""
    button = form.get_by_role("button", name=name, exact=True) if name else form.get_by_role("button")
    button.click()


def choose(control, label: str) -> None:
    """Picks `label` in a select (by its text), or types it into a text field."""
    if control.evaluate("el => el.tagName") == "SELECT":
        control.select_option(label=label)
    else:
        control.fill(label)


def user_links(page: Page) -> list[str]:
    """The distinct users' pages linked from table#users, in order."""
    return page.locator("table#users").evaluate(
        "t => [...new Set([...t.querySelectorAll('a[href]')].map(a => new URL(a.href).pathname)"
        ".filter(p => /\\/console\\/users\\/[^/]+$/.test(p) && !p.endsWith('/new')))]")


def pager_emails(page: Page) -> list[str]:
    return re.findall(r"pager-\d\d@example\.com", page.locator("table#users").inner_text())


def claims(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def sessions_of(api: Api, user_id: str) -> list[dict]:
    answer = api.get(f"/users/{q(user_id)}/sessions")
    return answer["sessions"] if isinstance(answer, dict) else answer


def refresh_tokens_of(api: Api, user_id: str) -> list[dict]:
    answer = api.get(f"/users/{q(user_id)}/refresh-tokens")
    return answer["tokens"] if isinstance(answer, dict) else answer


def json_blocks(section) -> list[tuple[str, object]]:
    """The JSON documents a section shows (in <pre>/<code>, or in the edit form's text areas),
    each with its text."""
    found = []
    texts = section.locator("pre, code").all_inner_texts()
    texts += [area.input_value() for area in section.locator("textarea").all()]
    for text in texts:
        try:
            found.append((text, json.loads(text)))
        except ValueError:
            pass
    return found


def no_horizontal_scroll(page: Page, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url}: the page is {scroll_width}px wide at a {width}px viewport"


# ---------------------------------------------------------------------------
# first, while the tenant is as its file made it: the main pages (and their screenshots)


def test_main_pages_at_desktop_width(page: Page, api: Api):
    """The sign-in page, the users, a user's page and the roles at 1280x800 (the screenshots in
    docs/ with CONSOLE_SCREENSHOTS=1)."""
    page.goto("/console/login")
    expect(page.locator("form#login")).to_be_visible()
    expect(page.locator("form#admin-login")).to_be_visible()
    no_horizontal_scroll(page, 1280)
    screenshot(page, "sign-in")
    sign_in(page, FULL)
    no_horizontal_scroll(page, 1280)
    screenshot(page, "users")
    ada = api.user_by_email("ada@example.com")
    open_user(page, ada["user_id"])
    expect(page.locator("form#edit-user")).to_be_visible()
    no_horizontal_scroll(page, 1280)
    screenshot(page, "user")
    page.goto("/console/roles")
    expect(page.locator("table#roles")).to_contain_text("console-editor")
    no_horizontal_scroll(page, 1280)
    screenshot(page, "roles")


# ---------------------------------------------------------------------------
# signing in and out


def test_sign_in_with_a_wrong_secret_shows_an_error_and_opens_no_session(page: Page):
    page.goto("/console/login")
    form = page.locator("form#login")
    field(form, "client_id").fill(FULL[0])
    field(form, "client_secret").fill(FULL[1] + "-wrong")
    submit(form, "Sign in")
    expect(error(page)).to_be_visible()
    expect(error(page)).not_to_be_empty()
    expect_signed_out(page)
    page.goto("/console/users")
    expect_signed_out(page)


def test_sign_in_with_an_unknown_client_shows_an_error(page: Page):
    page.goto("/console/login")
    form = page.locator("form#login")
    field(form, "client_id").fill("no-such-client")
    field(form, "client_secret").fill("whatever")
    submit(form, "Sign in")
    expect(error(page)).to_be_visible()
    expect_signed_out(page)


def test_a_client_without_a_management_api_grant_cannot_sign_in(page: Page, api: Api):
    client = api.call("POST", "/clients", 201, json={
        "name": unique("console-no-grant"), "app_type": "non_interactive",
        "grant_types": ["client_credentials"]}).json()
    page.goto("/console/login")
    form = page.locator("form#login")
    field(form, "client_id").fill(client["client_id"])
    field(form, "client_secret").fill(client["client_secret"])
    submit(form, "Sign in")
    expect(error(page)).to_be_visible()
    expect_signed_out(page)


def test_pages_need_a_session(page: Page):
    for path in ["/console/users", "/console/roles", "/console/users/new", "/console/organizations",
                 "/console/connections"]:
        page.goto(path)
        expect_signed_out(page)


def test_sign_in_with_the_right_secret_lands_on_the_users(page: Page):
    sign_in(page, FULL)
    expect(page.locator("table#users")).to_be_visible()
    nav = main_nav(page)
    expect(nav).to_be_visible()
    for link in NAV:
        expect(nav.get_by_role("link", name=link, exact=True)).to_be_visible()
    expect(page.locator("form#logout").get_by_role("button", name="Sign out", exact=True)).to_be_visible()
    expect(page.locator("#total")).to_be_visible()


def test_the_session_cookie_is_http_only_strict_and_scoped_to_the_console(page: Page):
    before = {c["name"] for c in page.context.cookies()}
    sign_in(page, FULL)
    cookies = [c for c in page.context.cookies() if c["name"] not in before]
    assert cookies, "signing in set no cookie"
    for cookie in cookies:
        assert cookie["httpOnly"], cookie
        assert cookie["sameSite"] == "Strict", cookie
        assert cookie["path"].startswith("/console"), cookie


def test_sign_in_with_the_admin_key(page: Page):
    page.goto("/console/login")
    form = page.locator("form#admin-login")
    field(form, "admin_key").fill(ADMIN_KEY)
    submit(form, "Sign in with the admin key")
    expect(page).to_have_url(re.compile(r"/console/users(\?.*)?$"))
    expect(page.locator("table#users")).to_be_visible()
    expect(page.locator("form#logout")).to_be_visible()
    # the admin key holds every scope
    expect(page.locator("#create-user")).to_be_visible()


def test_a_wrong_admin_key_shows_an_error(page: Page):
    page.goto("/console/login")
    form = page.locator("form#admin-login")
    field(form, "admin_key").fill(ADMIN_KEY + "0")
    submit(form, "Sign in with the admin key")
    expect(error(page)).to_be_visible()
    expect_signed_out(page)
    page.goto("/console/users")
    expect_signed_out(page)


def test_sign_out_ends_the_session_on_the_server(browser: Browser, full: Page):
    old_cookies = full.context.cookies()
    full.locator("form#logout").get_by_role("button", name="Sign out", exact=True).click()
    expect_signed_out(full)
    full.goto("/console/users")
    expect_signed_out(full)
    # The cookie the browser had before signing out no longer opens anything.
    replay = new_context(browser)
    try:
        replay.add_cookies(old_cookies)
        other = replay.new_page()
        other.goto("/console/users")
        expect_signed_out(other)
    finally:
        replay.close()


def test_sign_out_without_the_csrf_token_is_refused(full: Page):
    logout = full.locator("form#logout")
    action, hidden = form_action(logout), hidden_fields(logout)
    assert hidden, "form#logout carries no hidden CSRF field"
    answer = full.request.post(action, form={}, max_redirects=0)
    assert answer.status == 403, f"{answer.status} {answer.text()[:500]}"
    full.goto("/console/users")
    expect(full.locator("table#users")).to_be_visible()
    expect(full.locator("form#logout")).to_be_visible()


def test_nav_reaches_every_page(full: Page):
    for link, table in zip(NAV, ["users", "roles", "organizations", "connections"]):
        main_nav(full).get_by_role("link", name=link, exact=True).click()
        expect(full.locator(f"table#{table}")).to_be_visible()
        expect(full.locator("form#logout")).to_be_visible()


# ---------------------------------------------------------------------------
# users: search, sort, pages


def test_search_finds_the_matching_user(full: Page):
    form = full.locator("form#search")
    field(form, "q").fill('email:"grace@example.com"')
    submit(form, "Search")
    expect(full.locator("table#users")).to_contain_text("grace@example.com")
    expect(full.locator("table#users")).not_to_contain_text("ada@example.com")
    assert len(user_links(full)) == 1
    expect(full.locator("#total")).to_contain_text("1")


def test_a_wrong_query_shows_the_apis_message(full: Page, api: Api):
    message = api.search_error("email:(")
    form = full.locator("form#search")
    field(form, "q").fill("email:(")
    submit(form, "Search")
    expect(error(full)).to_contain_text(message)


def test_pages_of_50(full: Page):
    full.goto("/console/users?q=given_name%3APager&sort=email%3A1")
    expect(full.locator("#total")).to_contain_text("55")
    assert len(user_links(full)) == 50
    emails = pager_emails(full)
    assert emails == [f"pager-{i:02d}@example.com" for i in range(50)], emails
    expect(full.locator('a[rel="prev"]')).to_have_count(0)
    # The search form shows the search and the sort the page has.
    search = form_data(full.locator("form#search"))
    assert search.get("q") == "given_name:Pager", search
    assert search.get("sort") == "email:1", search

    full.locator('a[rel="next"]').click()
    expect(full.locator("table#users")).to_contain_text("pager-54@example.com")
    assert pager_emails(full) == [f"pager-{i:02d}@example.com" for i in range(50, 55)]
    assert len(user_links(full)) == 5
    expect(full.locator('a[rel="next"]')).to_have_count(0)

    full.locator('a[rel="prev"]').click()
    expect(full.locator("table#users")).to_contain_text("pager-00@example.com")
    assert len(user_links(full)) == 50
    assert pager_emails(full)[0] == "pager-00@example.com"

    # a sort the API takes, given in the address
    full.goto("/console/users?q=given_name%3APager&sort=email%3A-1")
    expect(full.locator("table#users")).to_contain_text("pager-54@example.com")
    assert pager_emails(full)[:3] == ["pager-54@example.com", "pager-53@example.com", "pager-52@example.com"]


SORTED = 'email:"ada@example.com" OR email:"grace@example.com" OR email:"alan@example.com" OR email:"zed@example.com"'


def test_sort_from_the_search_form(full: Page):
    form = full.locator("form#search")
    field(form, "q").fill(SORTED)
    field(form, "sort").select_option("name:1")
    submit(form, "Search")
    expect(full.locator("#total")).to_contain_text("4")
    emails = lambda: re.findall(r"\b(ada|grace|alan|zed)@example\.com", full.locator("table#users").inner_text())
    assert emails() == ["zed", "ada", "alan", "grace"], "by name: Aaron Zed, Ada, Alan, Grace"
    expect(field(full.locator("form#search"), "sort")).to_have_value("name:1")

    field(form, "sort").select_option("email:1")
    submit(form, "Search")
    expect(field(full.locator("form#search"), "sort")).to_have_value("email:1")
    assert emails() == ["ada", "alan", "grace", "zed"]
    expect(field(full.locator("form#search"), "q")).to_have_value(SORTED)


# ---------------------------------------------------------------------------
# a user's page


def test_a_users_page_shows_profile_identities_metadata_roles_and_organizations(full: Page, api: Api):
    ada = api.user_by_email("ada@example.com")
    full.locator("table#users").get_by_role("link", name=re.compile("ada@example.com|Ada Lovelace")).first.click()
    expect(full).to_have_url(re.compile(r"/console/users/[^/?]+$"))
    expect(full.locator("h1")).to_contain_text(re.compile("Ada Lovelace|ada@example.com"))
    profile = full.locator("#profile")
    expect(profile).to_contain_text("ada@example.com")
    expect(profile).to_contain_text(ada["user_id"])
    identities = full.locator("#identities")
    expect(identities).to_contain_text(CONNECTION)
    expect(identities).to_contain_text(ada["identities"][0]["user_id"])
    assert "console-viewer" in assigned_roles(full)
    expect(full.locator("#organizations")).to_contain_text(re.compile("console-org|Console organization"))
    for section in ["#permissions", "#authentication-methods", "#sessions", "#refresh-tokens", "#logs"]:
        expect(full.locator(section)).to_be_attached()
    # Metadata as formatted JSON: each document as the API has it, laid out on several lines.
    blocks = json_blocks(full.locator("#metadata"))
    for name in ["user_metadata", "app_metadata"]:
        shown = [text for text, value in blocks if value == ada[name]]
        assert shown, f"{name} {ada[name]} is not among the JSON shown: {blocks}"
        assert "\n" in shown[0], f"{name} is not formatted: {shown[0]!r}"


def test_a_user_that_does_not_exist(full: Page, api: Api):
    message = api.call("GET", "/users/auth0%7Cnobody-here", 404).json()["message"]
    answer = full.goto(f"/console/users/{q('auth0|nobody-here')}")
    assert answer.status == 404, answer.status
    expect(error(full)).to_contain_text(message)
    expect(full.locator("form#logout")).to_be_visible()


def test_edit_user_metadata_and_profile(full: Page, api: Api):
    user = api.create_user(user_metadata={"theme": "dark"})
    open_user(full, user["user_id"])
    form = full.locator("form#edit-user")
    metadata = field(form, "user_metadata")
    assert json.loads(metadata.input_value()) == {"theme": "dark"}, "the form starts from the stored metadata"
    metadata.fill('{"theme": "light", "lang": "fr"}')
    field(form, "name").fill("Renamed Person")
    field(form, "nickname").fill("renamed")
    submit(form, "Save")
    expect_notice(full)
    stored = api.user(user["user_id"])
    assert stored["user_metadata"] == {"theme": "light", "lang": "fr"}, stored
    assert (stored["name"], stored["nickname"]) == ("Renamed Person", "renamed"), stored
    full.reload()
    blocks = json_blocks(full.locator("#metadata"))
    assert any(value == {"theme": "light", "lang": "fr"} for _, value in blocks), blocks
    expect(full.locator("#profile")).to_contain_text("Renamed Person")
    assert json.loads(field(full.locator("form#edit-user"), "user_metadata").input_value()) == \
        {"theme": "light", "lang": "fr"}


def test_edit_app_metadata(full: Page, api: Api):
    user = api.create_user(app_metadata={"plan": "free"})
    open_user(full, user["user_id"])
    form = full.locator("form#edit-user")
    field(form, "app_metadata").fill('{"plan": "pro", "seats": 5}')
    submit(form, "Save")
    expect_notice(full)
    assert api.user(user["user_id"])["app_metadata"] == {"plan": "pro", "seats": 5}


def test_a_key_removed_from_the_metadata_json_is_removed(full: Page, api: Api):
    """The text area holds the whole document: what is saved is what it says (the API's PATCH
    merges metadata at its first level, so the console must send null for a removed key)."""
    user = api.create_user(user_metadata={"theme": "dark", "lang": "fr"})
    open_user(full, user["user_id"])
    form = full.locator("form#edit-user")
    field(form, "user_metadata").fill('{"lang": "fr"}')
    submit(form, "Save")
    expect_notice(full)
    assert api.user(user["user_id"])["user_metadata"] == {"lang": "fr"}
    full.reload()
    assert json.loads(field(full.locator("form#edit-user"), "user_metadata").input_value()) == {"lang": "fr"}


def test_values_are_shown_as_text_never_as_markup(full: Page, api: Api):
    name = '<img src=x onerror="window.__injected=1"><b>bold</b>'
    user = api.create_user(name=name, user_metadata={"note": "</textarea><script>window.__injected=2</script>"})
    open_user(full, user["user_id"])
    expect(full.locator("#profile")).to_contain_text(name)
    expect(full.locator("#profile img, #profile b")).to_have_count(0)
    assert full.evaluate("window.__injected") is None
    assert json.loads(field(full.locator("form#edit-user"), "user_metadata").input_value()) == user["user_metadata"]
    full.goto(f"/console/users?q={q('email:' + json.dumps(user['email']))}")
    expect(full.locator("table#users")).to_be_visible()
    assert full.evaluate("window.__injected") is None


def test_invalid_metadata_json_shows_an_error_and_changes_nothing(full: Page, api: Api):
    user = api.create_user(name="Unchanged Name", user_metadata={"theme": "dark"})
    open_user(full, user["user_id"])
    form = full.locator("form#edit-user")
    field(form, "name").fill("Should Not Be Saved")
    field(form, "user_metadata").fill('{"theme": ')
    submit(form, "Save")
    expect(error(full)).to_be_visible()
    expect(notice(full)).to_have_count(0)
    stored = api.user(user["user_id"])
    assert stored["name"] == "Unchanged Name", stored
    assert stored["user_metadata"] == {"theme": "dark"}, stored
    assert stored["updated_at"] == user["updated_at"], "the user was written"


def test_metadata_that_is_not_an_object_is_refused(full: Page, api: Api):
    user = api.create_user(user_metadata={"theme": "dark"})
    open_user(full, user["user_id"])
    form = full.locator("form#edit-user")
    field(form, "user_metadata").fill('["a", "list"]')
    submit(form, "Save")
    expect(error(full)).to_be_visible()
    assert api.user(user["user_id"])["user_metadata"] == {"theme": "dark"}


def test_assign_a_role_and_remove_it(full: Page, api: Api):
    user = api.create_user()
    role = api.role("console-editor")
    open_user(full, user["user_id"])
    expect(full.locator("#roles form.remove-role")).to_have_count(0)
    form = full.locator("form#assign-role")
    choose(field(form, "role_id"), "console-editor")
    submit(form, "Assign role")
    expect_notice(full)
    assert "console-editor" in assigned_roles(full)
    assert [r["id"] for r in api.get(f"/users/{q(user['user_id'])}/roles")] == [role["id"]]

    remove = full.locator("form.remove-role")
    expect(remove).to_have_count(1)
    # its accessible name may say which role ("Remove role console-editor"); it reads "Remove"
    expect(remove.get_by_role("button")).to_have_text("Remove")
    remove.get_by_role("button", name=re.compile(r"^Remove\b")).click()
    expect_notice(full)
    expect(full.locator("form.remove-role")).to_have_count(0)
    assert "console-editor" not in assigned_roles(full)
    assert api.get(f"/users/{q(user['user_id'])}/roles") == []


def assigned_roles(page: Page) -> str:
    """What the roles section says, less the assign form (whose choice lists the other roles)."""
    return page.locator("#roles").evaluate(
        "el => { const c = el.cloneNode(true); c.querySelectorAll('form#assign-role').forEach(f => f.remove());"
        " return c.textContent; }")


def test_an_unknown_role_id_shows_the_apis_error(full: Page, api: Api):
    user = api.create_user()
    open_user(full, user["user_id"])
    form = full.locator("form#assign-role")
    control = field(form, "role_id")
    if control.evaluate("el => el.tagName") == "SELECT":
        # what a stale page or a forged form would send
        control.evaluate("el => { const o = new Option('gone', 'rol_doesnotexist0000'); el.add(o); el.value = o.value; }")
    else:
        control.fill("rol_doesnotexist0000")
    submit(form, "Assign role")
    expect(error(full)).to_be_visible()
    assert api.get(f"/users/{q(user['user_id'])}/roles") == []


def test_revoke_sessions_and_refresh_tokens(full: Page, api: Api):
    user = api.create_user()
    tokens = browser_login(user["email"])
    sid = claims(tokens["id_token"])["sid"]
    assert [s["id"] for s in sessions_of(api, user["user_id"])] == [sid]
    refresh = refresh_tokens_of(api, user["user_id"])
    assert len(refresh) == 1, refresh

    open_user(full, user["user_id"])
    # the latest log events: the login, by the application
    expect(full.locator("#logs")).to_contain_text(WEB[0])
    expect(full.locator("#sessions")).to_contain_text(sid)
    expect(full.locator("#refresh-tokens")).to_contain_text(refresh[0]["id"])

    submit(full.locator("form#revoke-sessions"), "Revoke all sessions")
    expect_notice(full)
    assert sessions_of(api, user["user_id"]) == []
    expect(full.locator("#sessions")).not_to_contain_text(sid)
    expect(full.locator("#sessions")).to_contain_text("No sessions")

    submit(full.locator("form#revoke-refresh-tokens"), "Revoke all refresh tokens")
    expect_notice(full)
    assert refresh_tokens_of(api, user["user_id"]) == []
    expect(full.locator("#refresh-tokens")).not_to_contain_text(refresh[0]["id"])
    again = requests.post(f"{URL}/oauth/token", timeout=30, json={
        "grant_type": "refresh_token", "client_id": WEB[0], "client_secret": WEB[1],
        "refresh_token": tokens["refresh_token"]})
    assert again.status_code == 403, again.text


def test_revoking_asks_first_and_a_no_sends_nothing(full: Page, api: Api):
    user = api.create_user()
    browser_login(user["email"])
    open_user(full, user["user_id"])
    asked = dialogs(full)
    asked.accept = False
    submit(full.locator("form#revoke-sessions"), "Revoke all sessions")
    assert len(asked.messages) == 1, "the console did not ask before revoking every session"
    expect(notice(full)).to_have_count(0)
    assert len(sessions_of(api, user["user_id"])) == 1, "the sessions were revoked after a No"
    asked.accept = True
    submit(full.locator("form#revoke-sessions"), "Revoke all sessions")
    expect_notice(full)
    assert sessions_of(api, user["user_id"]) == []


def test_block_then_unblock(full: Page, api: Api):
    user = api.create_user()
    open_user(full, user["user_id"])
    expect(full.locator("#blocked")).to_have_count(0)
    expect(full.locator("form#unblock")).to_have_count(0)
    submit(full.locator("form#block"), "Block user")
    expect_notice(full)
    expect(full.locator("#blocked")).to_be_visible()
    expect(full.locator("form#block")).to_have_count(0)
    assert api.user(user["user_id"]).get("blocked") is True

    submit(full.locator("form#unblock"), "Unblock user")
    expect_notice(full)
    expect(full.locator("#blocked")).to_have_count(0)
    expect(full.locator("form#block")).to_be_visible()
    assert api.user(user["user_id"]).get("blocked", False) is False


def test_delete_after_the_confirmation_page(full: Page, api: Api):
    user = api.create_user()
    open_user(full, user["user_id"])
    expect(full.locator("a#delete-user[href]"), "#delete-user is a link to the confirmation page").to_have_count(1)
    full.locator("#delete-user").click()
    confirm = full.locator("form#confirm-delete")
    expect(confirm).to_be_visible()
    # Opening the confirmation page deletes nothing.
    api.call("GET", f"/users/{q(user['user_id'])}", 200)
    submit(confirm, "Delete user")
    expect_notice(full)
    api.call("GET", f"/users/{q(user['user_id'])}", 404)
    full.goto(f"/console/users?q={q('email:' + json.dumps(user['email']))}")
    expect(full.locator("#total")).to_contain_text("0")
    expect(full.locator("main")).not_to_contain_text(user["email"])


def test_create_a_user(full: Page, api: Api):
    email = f"{unique('created')}@example.com"
    expect(full.locator("a#create-user[href]"), "#create-user is a link").to_have_count(1)
    full.locator("#create-user").click()
    expect(full).to_have_url(re.compile(r"/console/users/new$"))
    form = full.locator("form#create-user")
    choose(field(form, "connection"), CONNECTION)
    field(form, "email").fill(email)
    field(form, "password").fill(USER_PASSWORD)
    field(form, "name").fill("Created In Console")
    submit(form, "Create user")
    expect_notice(full)
    created = api.user_by_email(email)
    assert created is not None, "no user with that email"
    assert created["name"] == "Created In Console"
    assert created["identities"][0]["connection"] == CONNECTION
    # the user can log in with that password
    browser_login(email)


def test_create_a_user_with_a_weak_password_shows_the_apis_message(full: Page, api: Api):
    email = f"{unique('weak')}@example.com"
    refused = api.call("POST", "/users", json={"connection": CONNECTION, "email": f"other-{email}", "password": "a"})
    assert refused.status_code == 400, refused.text
    full.goto("/console/users/new")
    form = full.locator("form#create-user")
    choose(field(form, "connection"), CONNECTION)
    field(form, "email").fill(email)
    field(form, "password").fill("a")
    submit(form, "Create user")
    expect(error(full)).to_contain_text(refused.json()["message"])
    assert api.user_by_email(email) is None


def test_the_logs_show_the_consoles_changes_as_the_clients(full: Page, api: Api):
    user = api.create_user()
    open_user(full, user["user_id"])
    submit(full.locator("form#block"), "Block user")
    expect_notice(full)
    events = api.get("/logs", q=f'type:sapi AND client_id:"{FULL[0]}"', sort="date:-1", per_page=20)
    assert any(user["user_id"].split("|")[1] in json.dumps(event) for event in events), \
        f"no sapi event of {FULL[0]} about the user: {events[:3]}"


# ---------------------------------------------------------------------------
# scopes and forgery


def test_a_read_only_client_sees_no_write_controls(reader: Page, api: Api):
    expect(reader.locator("#create-user")).to_have_count(0)
    ada = api.user_by_email("ada@example.com")
    open_user(reader, ada["user_id"])
    expect(reader.locator("#profile")).to_contain_text("ada@example.com")
    for absent in ["form#edit-user", "form#block", "form#unblock", "#delete-user", "form#assign-role",
                   "form.remove-role", "form#revoke-sessions", "form#revoke-refresh-tokens"]:
        expect(reader.locator(absent), absent).to_have_count(0)
    # A section it may not read says which scope it lacks.
    expect(reader.locator("#sessions")).to_contain_text("read:sessions")
    role = api.role("console-viewer")
    org = api.get("/organizations/name/console-org")
    connection = [c for c in api.get("/connections", name=CONNECTION) if c["name"] == CONNECTION][0]
    for path, shown, absent in [
        ("/console/roles", "table#roles", ["form#create-role"]),
        (f"/console/roles/{role['id']}", "#main", ["form#edit-role", "#delete-role"]),
        ("/console/organizations", "table#organizations", ["form#create-organization"]),
        (f"/console/organizations/{org['id']}", "#main", ["form#edit-organization", "#delete-organization"]),
        ("/console/connections", "table#connections", ["form#create-connection"]),
        (f"/console/connections/{connection['id']}", "#main", ["form#edit-connection", "#delete-connection"]),
    ]:
        reader.goto(path)
        expect(reader.locator(shown), path).to_be_visible()
        expect(reader.locator("form#logout"), path).to_be_visible()
        for selector in absent:
            expect(reader.locator(selector), f"{path} {selector}").to_have_count(0)


def test_a_read_only_client_is_not_shown_the_create_user_form(reader: Page, api: Api):
    """CONSOLE.md: a form the client may not send is not shown (console-reader lacks create:users)."""
    reader.goto("/console/users/new")
    expect(reader.locator("form#logout")).to_be_visible()
    expect(reader.locator("form#create-user")).to_have_count(0)


def test_a_post_the_read_only_client_forges_answers_403(browser: Browser, reader: Page, api: Api):
    user = api.create_user()
    # The form a full client is shown, and the read-only session's own CSRF token.
    other = new_context(browser)
    try:
        full_page = other.new_page()
        sign_in(full_page, FULL)
        open_user(full_page, user["user_id"])
        block = full_page.locator("form#block")
        action, full_fields, full_hidden = form_action(block), form_data(block), hidden_fields(block)
    finally:
        other.close()
    open_user(reader, user["user_id"])
    token = hidden_fields(reader.locator("form#logout"))
    assert token, "form#logout carries no hidden CSRF field"
    forged = {**{k: v for k, v in full_fields.items() if k not in full_hidden}, **token}
    answer = reader.request.post(action, form=forged, max_redirects=0)
    assert answer.status == 403, f"{answer.status} {answer.text()[:500]}"
    assert "Insufficient scope" in answer.text(), answer.text()[:500]
    assert api.user(user["user_id"]).get("blocked", False) is False


def test_a_create_the_read_only_client_forges_answers_403(browser: Browser, reader: Page, api: Api):
    email = f"{unique('forged')}@example.com"
    other = new_context(browser)
    try:
        full_page = other.new_page()
        sign_in(full_page, FULL)
        full_page.goto("/console/users/new")
        action = form_action(full_page.locator("form#create-user"))
    finally:
        other.close()
    token = hidden_fields(reader.locator("form#logout"))
    answer = reader.request.post(action, max_redirects=0, form={
        **token, "connection": CONNECTION, "email": email, "password": USER_PASSWORD})
    assert answer.status == 403, f"{answer.status} {answer.text()[:500]}"
    assert "Insufficient scope" in answer.text(), answer.text()[:500]
    assert api.user_by_email(email) is None


def test_a_post_without_the_csrf_token_answers_403_and_changes_nothing(browser: Browser, full: Page, api: Api):
    user = api.create_user()
    open_user(full, user["user_id"])
    block = full.locator("form#block")
    action, fields, hidden = form_action(block), form_data(block), hidden_fields(block)
    assert hidden, "form#block carries no hidden CSRF field"
    without = {k: v for k, v in fields.items() if k not in hidden}
    answer = full.request.post(action, form=without, max_redirects=0)
    assert answer.status == 403, f"{answer.status} {answer.text()[:500]}"
    assert api.user(user["user_id"]).get("blocked", False) is False

    # Another session's token is refused too.
    other = new_context(browser)
    try:
        other_page = other.new_page()
        sign_in(other_page, FULL)
        open_user(other_page, user["user_id"])
        others_token = hidden_fields(other_page.locator("form#block"))
    finally:
        other.close()
    assert others_token != hidden
    answer = full.request.post(action, form={**without, **others_token}, max_redirects=0)
    assert answer.status == 403, f"{answer.status} {answer.text()[:500]}"
    assert api.user(user["user_id"]).get("blocked", False) is False

    # The same post with the session's own token does block: the refusals above were the token's.
    answer = full.request.post(action, form=fields)
    assert answer.ok, f"{answer.status} {answer.text()[:500]}"
    assert api.user(user["user_id"]).get("blocked") is True


def test_a_form_posted_from_another_site_is_refused(full: Page, api: Api):
    """Even with the session's cookie and token (what a browser would send for a cross-site form,
    were the cookie not SameSite=Strict), a post whose Origin is another site changes nothing."""
    user = api.create_user()
    open_user(full, user["user_id"])
    block = full.locator("form#block")
    answer = full.request.post(form_action(block), form=form_data(block), max_redirects=0,
                               headers={"origin": "https://elsewhere.example"})
    assert answer.status == 403, f"{answer.status} {answer.text()[:500]}"
    assert api.user(user["user_id"]).get("blocked", False) is False
    # signing in from another site is refused too (no login CSRF)
    full.context.clear_cookies()
    full.goto("/console/login")
    login = full.locator("form#login")
    answer = full.request.post(form_action(login), max_redirects=0, headers={"origin": "https://elsewhere.example"},
                               form={**hidden_fields(login), "client_id": FULL[0], "client_secret": FULL[1]})
    assert answer.status == 403, f"{answer.status} {answer.text()[:500]}"
    full.goto("/console/users")
    expect_signed_out(full)


def test_a_changed_grant_takes_effect_at_once(page: Page, api: Api):
    client = api.call("POST", "/clients", 201, json={
        "name": unique("console-grant"), "app_type": "non_interactive",
        "grant_types": ["client_credentials"]}).json()
    audience = f"https://{URL.split('://', 1)[1]}/api/v2/"
    grant = api.call("POST", "/client-grants", 201, json={
        "client_id": client["client_id"], "audience": audience,
        "scope": ["read:users", "update:users"]}).json()
    user = api.create_user()
    sign_in(page, (client["client_id"], client["client_secret"]))
    open_user(page, user["user_id"])
    expect(page.locator("form#block")).to_be_visible()
    api.call("PATCH", f"/client-grants/{grant['id']}", 200, json={"scope": ["read:users"]})
    page.reload()
    expect(page.locator("#profile")).to_be_visible()
    expect(page.locator("form#block")).to_have_count(0)
    expect(page.locator("form#edit-user")).to_have_count(0)
    api.call("DELETE", f"/client-grants/{grant['id']}", 204)
    page.goto("/console/users")
    expect(page.locator("form#login").or_(error(page)).first).to_be_visible()
    expect(page.locator("table#users")).to_have_count(0)


# ---------------------------------------------------------------------------
# roles, organizations, connections


def test_roles_create_edit_delete(full: Page, api: Api):
    name = unique("role")
    main_nav(full).get_by_role("link", name="Roles", exact=True).click()
    form = full.locator("form#create-role")
    field(form, "name").fill(name)
    field(form, "description").fill("Made in the console")
    submit(form)
    expect_notice(full)
    role = api.role(name)
    assert role["description"] == "Made in the console"

    full.goto("/console/roles")
    full.locator("table#roles").get_by_role("link", name=name, exact=True).click()
    expect(full).to_have_url(re.compile(r"/console/roles/[^/?]+$"))
    edit = full.locator("form#edit-role")
    field(edit, "description").fill("Changed in the console")
    submit(edit)
    expect_notice(full)
    assert api.role(name)["description"] == "Changed in the console"

    expect(full.locator("a#delete-role[href]"), "#delete-role is a link to the confirmation page").to_have_count(1)
    full.locator("#delete-role").click()
    confirm = full.locator("form#confirm-delete")
    expect(confirm).to_be_visible()
    api.call("GET", f"/roles/{role['id']}", 200)
    submit(confirm)
    expect_notice(full)
    api.call("GET", f"/roles/{role['id']}", 404)


def test_a_roles_page_shows_its_users(full: Page, api: Api):
    role = api.role("console-viewer")
    full.goto(f"/console/roles/{role['id']}")
    expect(full.locator("main, body").first).to_contain_text("ada@example.com")
    expect(full.locator("form#edit-role")).to_be_visible()


def test_organizations_create_edit_delete(full: Page, api: Api):
    name = unique("org")
    main_nav(full).get_by_role("link", name="Organizations", exact=True).click()
    form = full.locator("form#create-organization")
    field(form, "name").fill(name)
    field(form, "display_name").fill("Console Made")
    submit(form)
    expect_notice(full)
    org = api.get(f"/organizations/name/{name}")
    assert org["display_name"] == "Console Made"

    full.goto("/console/organizations")
    full.locator("table#organizations").get_by_role("link", name=re.compile(name)).first.click()
    expect(full).to_have_url(re.compile(r"/console/organizations/[^/?]+$"))
    edit = full.locator("form#edit-organization")
    field(edit, "display_name").fill("Console Changed")
    submit(edit)
    expect_notice(full)
    assert api.get(f"/organizations/{org['id']}")["display_name"] == "Console Changed"

    expect(full.locator("a#delete-organization[href]"), "#delete-organization is a link to the confirmation page").to_have_count(1)
    full.locator("#delete-organization").click()
    confirm = full.locator("form#confirm-delete")
    expect(confirm).to_be_visible()
    api.call("GET", f"/organizations/{org['id']}", 200)
    submit(confirm)
    expect_notice(full)
    api.call("GET", f"/organizations/{org['id']}", 404)


def test_an_organizations_page_shows_its_members(full: Page, api: Api):
    org = api.get("/organizations/name/console-org")
    full.goto(f"/console/organizations/{org['id']}")
    expect(full.locator("main, body").first).to_contain_text("ada@example.com")
    expect(full.locator("form#edit-organization")).to_be_visible()


def test_connections_create_edit_delete(full: Page, api: Api):
    name = unique("conn")
    main_nav(full).get_by_role("link", name="Connections", exact=True).click()
    form = full.locator("form#create-connection")
    field(form, "name").fill(name)
    submit(form)
    expect_notice(full)
    found = [c for c in api.get("/connections", name=name) if c["name"] == name]
    assert len(found) == 1, found
    connection = found[0]
    assert connection["strategy"] == "auth0", connection

    full.goto("/console/connections")
    full.locator("table#connections").get_by_role("link", name=re.compile(name)).first.click()
    expect(full).to_have_url(re.compile(r"/console/connections/[^/?]+$"))
    edit = full.locator("form#edit-connection")
    field(edit, "display_name").fill("Console Connection")
    submit(edit)
    expect_notice(full)
    assert api.get(f"/connections/{connection['id']}").get("display_name") == "Console Connection"

    expect(full.locator("a#delete-connection[href]"), "#delete-connection is a link to the confirmation page").to_have_count(1)
    full.locator("#delete-connection").click()
    confirm = full.locator("form#confirm-delete")
    expect(confirm).to_be_visible()
    api.call("GET", f"/connections/{connection['id']}", 200)
    submit(confirm)
    expect_notice(full)
    api.call("GET", f"/connections/{connection['id']}", 404)


def test_a_refused_create_shows_the_apis_message(full: Page, api: Api):
    # a role name that is taken
    refused = api.call("POST", "/roles", json={"name": "console-editor"})
    assert refused.status_code == 409, refused.text
    full.goto("/console/roles")
    form = full.locator("form#create-role")
    field(form, "name").fill("console-editor")
    submit(form)
    expect(error(full)).to_contain_text(refused.json()["message"])
    # an organization name the API refuses
    refused = api.call("POST", "/organizations", json={"name": "Not A Valid Name!"})
    assert refused.status_code == 400, refused.text
    full.goto("/console/organizations")
    form = full.locator("form#create-organization")
    field(form, "name").fill("Not A Valid Name!")
    submit(form)
    expect(error(full)).to_contain_text(refused.json()["message"])


# ---------------------------------------------------------------------------
# a hosted tenant's console


def test_a_hosted_tenants_console(browser: Browser, api: Api):
    name = unique("console-t")
    admin = requests.Session()
    admin.headers["authorization"] = f"Bearer {ADMIN_KEY}"
    created = admin.post(f"{URL}/roster/v1/tenants", json={"name": name}, timeout=60)
    assert created.status_code in (200, 201), created.text
    created = created.json()
    base = f"{URL}/t/{name}"
    context = new_context(browser)
    try:
        page = context.new_page()
        sign_in(page, (created["client_id"], created["client_secret"]), base_path=f"/t/{name}")
        email = f"{unique('hosted')}@example.com"
        page.goto(f"/t/{name}/console/users/new")
        form = page.locator("form#create-user")
        choose(field(form, "connection"), CONNECTION)
        field(form, "email").fill(email)
        field(form, "password").fill(USER_PASSWORD)
        submit(form, "Create user")
        expect_notice(page)
        hosted = Api(base, (created["client_id"], created["client_secret"]))
        assert hosted.user_by_email(email) is not None
        assert api.user_by_email(email) is None, "the user went to the server's own tenant"

        # the admin key signs in on a hosted tenant's console too
        admin_context = new_context(browser)
        try:
            admin_page = admin_context.new_page()
            admin_page.goto(f"/t/{name}/console/login")
            field(admin_page.locator("form#admin-login"), "admin_key").fill(ADMIN_KEY)
            submit(admin_page.locator("form#admin-login"), "Sign in with the admin key")
            expect(admin_page.locator("table#users")).to_contain_text(email)
        finally:
            admin_context.close()

        # a session of the hosted tenant's console opens nothing in the server's own
        page.goto("/console/users")
        expect_signed_out(page)
    finally:
        context.close()
        admin.delete(f"{URL}/roster/v1/tenants/{name}", timeout=60)


# ---------------------------------------------------------------------------
# layout and accessibility


def test_usable_at_phone_width(browser: Browser, api: Api):
    context = new_context(browser, viewport=PHONE)
    try:
        page = context.new_page()
        page.goto("/console/login")
        no_horizontal_scroll(page, PHONE["width"])
        sign_in(page, FULL)
        no_horizontal_scroll(page, PHONE["width"])
        ada = api.user_by_email("ada@example.com")
        open_user(page, ada["user_id"])
        no_horizontal_scroll(page, PHONE["width"])
        # long values without a place to break
        long = api.create_user(email=f"{unique('a-rather-long-local-part-that-has-no-spaces')}@subdomain.example.com",
                               name="N" * 80, user_metadata={"token": "x" * 200})
        page.goto(f"/console/users?q={q('email:' + json.dumps(long['email']))}")
        expect(page.locator("table#users")).to_be_visible()
        no_horizontal_scroll(page, PHONE["width"])
        open_user(page, long["user_id"])
        no_horizontal_scroll(page, PHONE["width"])
        page.goto("/console/roles")
        expect(page.locator("table#roles")).to_be_visible()
        no_horizontal_scroll(page, PHONE["width"])
    finally:
        context.close()


UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
    .filter(el => !['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type))
    .filter(el => {
        const label = el.labels && [...el.labels].map(l => l.innerText.trim()).join('');
        return !label && !(el.getAttribute('aria-label') || '').trim() && !el.getAttribute('aria-labelledby');
    })
    .map(el => el.outerHTML)"""


def test_every_input_has_a_label(page: Page, api: Api):
    page.goto("/console/login")
    assert page.evaluate(UNLABELLED) == [], "/console/login"
    sign_in(page, FULL)
    ada = api.user_by_email("ada@example.com")
    role = api.role("console-viewer")
    org = api.get("/organizations/name/console-org")
    connection = [c for c in api.get("/connections", name=CONNECTION) if c["name"] == CONNECTION][0]
    for path in ["/console/users", "/console/users/new", f"/console/users/{q(ada['user_id'])}",
                 "/console/roles",
                 f"/console/roles/{role['id']}", "/console/organizations", f"/console/organizations/{org['id']}",
                 "/console/connections", f"/console/connections/{connection['id']}"]:
        page.goto(path)
        expect(page.locator("form#logout"), path).to_be_visible()
        assert page.evaluate(UNLABELLED) == [], path
