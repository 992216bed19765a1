"""What the console suite shares: the server, a browser, signed-in pages, the Management API.

Environment (tests/console/run.sh sets it):
  CONSOLE_URL               the server, e.g. http://127.0.0.1:8080 (its console at /console)
  CONSOLE_ADMIN_KEY         the server's --admin-key
  MANAGEMENT_CLIENT_ID/_SECRET  its management client (every scope): the suite's own API calls
  CONSOLE_FULL_SECRET       console-full's secret (tenant.yaml: the console's scopes)
  CONSOLE_READER_SECRET     console-reader's secret (read scopes only)
  CONSOLE_WEB_SECRET        console-web's secret (a web application users log into)
  CONSOLE_USER_PASSWORD     the seeded users' password
  CHROMIUM                  the browser (default /usr/bin/chromium; Playwright's own are not used)
  CONSOLE_SCREENSHOTS=1     write docs/console-<page>.png (CONSOLE_SCREENSHOT_DIR) at 1280x800
"""
from __future__ import annotations

import os
import re
import secrets
import urllib.parse
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright

URL = os.environ["CONSOLE_URL"].rstrip("/")
ADMIN_KEY = os.environ["CONSOLE_ADMIN_KEY"]
MANAGEMENT = (os.environ["MANAGEMENT_CLIENT_ID"], os.environ["MANAGEMENT_CLIENT_SECRET"])
FULL = ("console-full", os.environ["CONSOLE_FULL_SECRET"])
READER = ("console-reader", os.environ["CONSOLE_READER_SECRET"])
WEB = ("console-web", os.environ["CONSOLE_WEB_SECRET"])
USER_PASSWORD = os.environ["CONSOLE_USER_PASSWORD"]
CALLBACK = "https://app.example/callback"
CONNECTION = "Username-Password-Authentication"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = os.environ.get("CONSOLE_SCREENSHOTS") == "1"
SCREENSHOT_DIR = Path(os.environ.get("CONSOLE_SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "docs"))
# The network is closed: without these Chromium stalls on its background fetches.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

expect.set_options(timeout=10_000)


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


# ---------------------------------------------------------------------------
# the Management API, as the suite checks what the console did


class Api:
    """The Management API with the server's management client (every scope)."""

    def __init__(self, base: str = URL, credentials: tuple[str, str] = MANAGEMENT):
        self.base = base
        self.http = requests.Session()
        domain = urllib.parse.urlsplit(base).netloc + urllib.parse.urlsplit(base).path
        answer = self.http.post(f"{base}/oauth/token", json={
            "grant_type": "client_credentials", "client_id": credentials[0], "client_secret": credentials[1],
            "audience": f"https://{domain}/api/v2/"}, timeout=30)
        assert answer.status_code == 200, answer.text
        self.http.headers["authorization"] = f"Bearer {answer.json()['access_token']}"

    def call(self, method: str, path: str, expected: int | None = None, **kwargs) -> requests.Response:
        response = self.http.request(method, f"{self.base}/api/v2{path}", timeout=30, **kwargs)
        if expected is not None:
            assert response.status_code == expected, f"{method} {path}: {response.status_code} {response.text}"
        return response

    def get(self, path: str, **params) -> dict | list:
        return self.call("GET", path, 200, params=params).json()

    def user(self, user_id: str) -> dict:
        return self.get(f"/users/{q(user_id)}")

    def user_by_email(self, email: str) -> dict | None:
        found = self.get("/users-by-email", email=email)
        return found[0] if found else None

    def create_user(self, **attributes) -> dict:
        body = {"connection": CONNECTION, "email": f"{unique('someone')}@example.com",
                "password": USER_PASSWORD, **attributes}
        return self.call("POST", "/users", 201, json=body).json()

    def role(self, name: str) -> dict:
        found = [r for r in self.get("/roles", name_filter=name) if r["name"] == name]
        assert len(found) == 1, found
        return found[0]

    def search_error(self, query: str) -> str:
        """The API's message for a search it refuses."""
        response = self.call("GET", "/users", params={"q": query, "search_engine": "v3"})
        assert response.status_code == 400, response.text
        return response.json()["message"]


def q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


@pytest.fixture(scope="session")
def api() -> Api:
    return Api()


# ---------------------------------------------------------------------------
# browser logins of end users (they make sessions and refresh tokens for the user page to show)


def browser_login(email: str, password: str = USER_PASSWORD, base: str = URL) -> dict:
    """Logs `email` into console-web through /authorize and the login form, as a browser would,
    then exchanges the code: the tokens (with a refresh token: offline_access)."""
    browser = requests.Session()
    start = browser.get(f"{base}/authorize", allow_redirects=False, timeout=30, params={
        "response_type": "code", "client_id": WEB[0], "redirect_uri": CALLBACK,
        "scope": "openid email offline_access", "state": "s"})
    assert start.status_code == 302, start.text
    form = browser.get(urllib.parse.urljoin(start.url, start.headers["location"]), allow_redirects=False, timeout=30)
    assert form.status_code == 200, form.text
    state = re.search(r'name="state" value="([^"]+)"', form.text).group(1)
    action = urllib.parse.urljoin(form.url, re.search(r'<form method="post" action="([^"]+)"', form.text).group(1))
    done = browser.post(action, data={"state": state, "username": email, "password": password},
                        allow_redirects=False, timeout=30)
    assert done.status_code == 302, done.text
    location = done.headers["location"]
    assert location.startswith(CALLBACK), location
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]
    tokens = requests.post(f"{base}/oauth/token", timeout=30, json={
        "grant_type": "authorization_code", "client_id": WEB[0], "client_secret": WEB[1],
        "code": code, "redirect_uri": CALLBACK})
    assert tokens.status_code == 200, tokens.text
    assert "refresh_token" in tokens.json(), tokens.json()
    return tokens.json()


# ---------------------------------------------------------------------------
# the browser


@pytest.fixture(scope="session")
def browser() -> Browser:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Dialogs:
    """The script asks before a destructive form is sent (window.confirm): a person says OK, as
    this does unless told `accept = False`; `messages` are the questions asked."""

    def __init__(self):
        self.accept = True
        self.messages: list[str] = []

    def __call__(self, dialog) -> None:
        self.messages.append(dialog.message)
        dialog.accept() if self.accept else dialog.dismiss()


DIALOGS: dict[int, Dialogs] = {}


def dialogs(page: Page) -> Dialogs:
    return DIALOGS[id(page.context)]


def new_context(browser: Browser, base: str = URL, viewport: dict = DESKTOP) -> BrowserContext:
    context = browser.new_context(base_url=base, viewport=viewport)
    context.set_default_timeout(15_000)
    DIALOGS[id(context)] = Dialogs()
    context.on("dialog", DIALOGS[id(context)])
    return context


@pytest.fixture
def context(browser: Browser):
    context = new_context(browser)
    yield context
    context.close()
    DIALOGS.pop(id(context), None)


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


# ---------------------------------------------------------------------------
# what a page shows


def field(scope: Page | Locator, name: str) -> Locator:
    """The form field `name` in `scope`, found by its label as a person (or a screen reader) would:
    fails unless the field has a <label> by which get_by_label finds exactly that field."""
    control = scope.locator(f'[name="{name}"]:not([type="hidden"])')
    expect(control, f"one field named {name}").to_have_count(1)
    label = control.evaluate(
        "el => el.labels && el.labels.length ? el.labels[0].innerText.trim()"
        " : (el.getAttribute('aria-label') || null)")
    assert label, f"the field {name} has no label"
    by_label = scope.get_by_label(label, exact=True)
    expect(by_label, f"get_by_label({label!r}) finds the field {name}").to_have_attribute("name", name)
    return by_label


def notice(page: Page) -> Locator:
    """`#notice`, which must have the role status."""
    return page.get_by_role("status").and_(page.locator("#notice"))


def error(page: Page) -> Locator:
    """`#error`, which must have the role alert."""
    return page.get_by_role("alert").and_(page.locator("#error"))


def expect_notice(page: Page) -> None:
    expect(error(page)).to_have_count(0)
    expect(notice(page)).to_be_visible()


def sign_in(page: Page, credentials: tuple[str, str], base_path: str = "") -> None:
    """Signs in at the console's sign-in page with a client's id and secret; lands on the users."""
    page.goto(f"{base_path}/console/login")
    form = page.locator("form#login")
    field(form, "client_id").fill(credentials[0])
    field(form, "client_secret").fill(credentials[1])
    form.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(re.escape(f"{base_path}/console/users") + r"(\?.*)?$"))
    expect(page.locator("form#search")).to_be_visible()
    expect(page.locator("form#logout")).to_be_visible()


def expect_signed_out(page: Page) -> None:
    """The page is the sign-in form, with nothing of a session."""
    expect(page.locator("form#login")).to_be_visible()
    expect(page.locator("form#logout")).to_have_count(0)
    expect(page.locator("table#users")).to_have_count(0)


def main_nav(page: Page) -> Locator:
    """The `nav` with the console's sections."""
    return page.locator("nav").filter(has=page.get_by_role("link", name="Organizations", exact=True))


@pytest.fixture
def full(page: Page) -> Page:
    """A page signed in as console-full (every scope the console uses)."""
    sign_in(page, FULL)
    return page


@pytest.fixture
def reader(page: Page) -> Page:
    """A page signed in as console-reader (read scopes only)."""
    sign_in(page, READER)
    return page


def open_user(page: Page, user_id: str) -> None:
    page.goto(f"/console/users/{q(user_id)}")
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator("#profile")).to_be_visible()


def hidden_fields(form: Locator) -> dict[str, str]:
    """The hidden inputs of a form (the CSRF token among them), name -> value."""
    return form.evaluate(
        "f => Object.fromEntries([...f.querySelectorAll('input[type=hidden]')].map(i => [i.name, i.value]))")


def form_data(form: Locator) -> dict[str, str]:
    """Every field a form would send, name -> value (as the browser would encode it)."""
    return form.evaluate("f => Object.fromEntries(new FormData(f).entries())")


def form_action(form: Locator) -> str:
    """The absolute URL a form posts to."""
    return form.evaluate("f => f.action")


def screenshot(page: Page, name: str) -> None:
    """docs/console-<name>.png at 1280x800, when CONSOLE_SCREENSHOTS=1."""
    if SCREENSHOTS:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=str(SCREENSHOT_DIR / f"console-{name}.png"))
