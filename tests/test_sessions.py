"""Sign-in sessions: records in the database, the cookie routes, what ends a session, and how
identities from an identity provider map to accounts."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from dashboard.auth import (
    SESSION_COOKIE,
    SESSION_SECONDS,
    OidcSettings,
    hash_password,
    match_identity,
    new_secret,
    oidc_providers,
    safe_next,
    sign_cookie,
    token_digest,
    unsign_cookie,
)
from dashboard.ui import session_routes
from store import Store
from store.users import _iso_after

NOW = "2026-11-29T10:00:00.000Z"


@pytest.fixture
def team(store):
    store.users.add_user("ada", "admin", hash_password("ada-password"))
    store.users.add_user("ann", "annotator", hash_password("ann-password"))
    return store


def _open(store: Store, name: str, now: str = NOW) -> tuple[dict, str]:
    code = new_secret()
    session = store.users.start_session(name, token_digest(code), seconds=SESSION_SECONDS,
                                  code_seconds=60, now=now)
    return session, code


def test_a_sign_in_code_works_once_and_only_for_a_minute(team):
    session, code = _open(team, "ann")
    assert session["expires_at"] == "2026-11-29T18:00:00.000Z"  # 8 hours
    late = team.users.redeem_sign_in_code(token_digest(code), token_digest("t1"),
                                    now=_iso_after(61, NOW))
    assert late is None
    session, code = _open(team, "ann")
    first = team.users.redeem_sign_in_code(token_digest(code), token_digest("t2"), now=_iso_after(5, NOW))
    assert first is not None and first["name"] == "ann"
    assert team.users.redeem_sign_in_code(token_digest(code), token_digest("t3"),
                                    now=_iso_after(6, NOW)) is None
    assert team.users.session_by_token(token_digest("t2"), now=_iso_after(7, NOW))["id"] == session["id"]
    assert team.users.session_by_token(token_digest("t3"), now=_iso_after(7, NOW)) is None
    stored = team.one("SELECT * FROM sessions WHERE id = ?", [session["id"]])
    assert stored["token_digest"] == token_digest("t2") and stored["code_digest"] is None
    assert "t2" not in str(stored.values())  # only digests are kept


def test_sessions_end_after_eight_hours(team):
    session, code = _open(team, "ann")
    team.users.redeem_sign_in_code(token_digest(code), token_digest("tok"), now=NOW)
    assert team.users.live_session(session["id"], now=_iso_after(8 * 3600 - 1, NOW))
    assert team.users.live_session(session["id"], now=_iso_after(8 * 3600, NOW)) is None
    assert team.users.session_by_token(token_digest("tok"), now=_iso_after(8 * 3600 + 1, NOW)) is None
    assert team.users.session_end_reason(session["id"], now=_iso_after(8 * 3600, NOW)) == "expired"


def test_signing_out_ends_the_session_for_every_tab(team):
    session, code = _open(team, "ann", now=None)
    team.users.redeem_sign_in_code(token_digest(code), token_digest("tok"))
    assert team.users.end_session_by_token(token_digest("tok"))
    assert team.users.live_session(session["id"]) is None
    assert team.users.session_by_token(token_digest("tok")) is None
    assert team.users.session_end_reason(session["id"]) == "signed out"


def test_a_new_password_ends_every_session_but_the_one_that_changed_it(team):
    mine, _ = _open(team, "ann", now=None)
    other, _ = _open(team, "ann", now=None)
    admins, _ = _open(team, "ada", now=None)
    team.users.set_user("ann", password_hash=hash_password("new-password"), keep_session=mine["id"])
    assert team.users.live_session(mine["id"]) and team.users.live_session(admins["id"])
    assert team.users.live_session(other["id"]) is None
    team.users.set_user("ann", password_hash=hash_password("newer-password"))  # by an admin
    assert team.users.live_session(mine["id"]) is None


def test_a_changed_role_applies_to_live_sessions_at_once(team):
    session, _ = _open(team, "ann", now=None)
    team.users.set_user("ann", role="viewer")
    assert team.users.live_session(session["id"])["role"] == "viewer"


def test_removing_a_user_ends_their_sessions_and_keeps_an_admin(team):
    session, _ = _open(team, "ann", now=None)
    assert team.users.remove_user("ann")
    assert team.users.live_session(session["id"]) is None
    assert team.users.session_end_reason(session["id"]) == "removed"
    team.users.add_user("ann", "annotator", hash_password("ann-password"))  # same name, new account
    assert team.users.live_session(session["id"]) is None
    with pytest.raises(ValueError, match="at least one admin"):
        team.users.remove_user("ada")
    with pytest.raises(ValueError, match="at least one admin"):
        team.users.set_user("ada", role="viewer")
    assert [u["role"] for u in team.users.list_users() if u["name"] == "ada"] == ["admin"]


def test_the_cookie_signing_key_is_made_once_and_kept(store, db_path):
    key = store.users.app_secret("session_cookie_key")
    assert len(key) > 40
    with Store(db_path) as again:
        assert again.users.app_secret("session_cookie_key") == key


def test_cookies_are_signed_and_redirects_stay_on_this_server():
    signed = sign_cookie("key", SESSION_COOKIE, "token")
    assert unsign_cookie("key", SESSION_COOKIE, signed) == "token"
    assert unsign_cookie("other key", SESSION_COOKIE, signed) is None
    assert unsign_cookie("key", "another_cookie", signed) is None
    assert unsign_cookie("key", SESSION_COOKIE, "token2" + signed[5:]) is None
    assert unsign_cookie("key", SESSION_COOKIE, None) is None
    assert safe_next("/review?stars=1-2") == "/review?stars=1-2"
    for hostile in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "review",
                    "javascript:alert(1)", "/x\r\nSet-Cookie: a=b", ""):
        assert safe_next(hostile) == "/"


@pytest.fixture
def routes_client(monkeypatch, db_path, team):
    monkeypatch.setenv("LOUPE_DB", str(db_path))
    session_routes._stores.clear()
    client = TestClient(Starlette(routes=session_routes.routes()), base_url="http://localhost")
    yield client
    for opened in session_routes._stores.values():
        opened.close()
    session_routes._stores.clear()


def test_the_session_route_swaps_a_code_for_an_httponly_cookie(routes_client, team):
    session, code = _open(team, "ann", now=None)
    response = routes_client.get(session_routes.SESSION_PATH,
                                 params={"code": code, "next": "/review?stars=1-2"},
                                 follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/review?stars=1-2"
    header = response.headers["set-cookie"]
    assert header.startswith(f"{SESSION_COOKIE}=")
    for flag in ("HttpOnly", "Path=/", "SameSite=lax"):
        assert flag in header, header
    max_age = int(header.split("Max-Age=")[1].split(";")[0])
    assert SESSION_SECONDS - 60 < max_age <= SESSION_SECONDS
    token = session_routes.token_from_cookie(team, response.cookies[SESSION_COOKIE])
    assert team.users.session_by_token(token_digest(token))["id"] == session["id"]

    again = routes_client.get(session_routes.SESSION_PATH, params={"code": code},
                              follow_redirects=False)
    assert again.status_code == 400 and "expired or was already used" in again.text
    assert "set-cookie" not in again.headers

    _, code = _open(team, "ann", now=None)
    away = routes_client.get(session_routes.SESSION_PATH,
                             params={"code": code, "next": "//evil.example/"},
                             follow_redirects=False)
    assert away.headers["location"] == "/"


def _signed_in(routes_client, store: Store) -> dict:
    session, code = _open(store, "ann", now=None)
    response = routes_client.get(session_routes.SESSION_PATH, params={"code": code},
                                 follow_redirects=False)
    routes_client.cookies.set(SESSION_COOKIE, response.cookies[SESSION_COOKIE])
    return session


def test_fetching_the_sign_out_address_never_ends_a_live_session(routes_client, team):
    """Any page can make a browser fetch an address (an image, a link): signing out is the
    page's button, over its WebSocket, and the address only deletes a cookie already dead."""
    session = _signed_in(routes_client, team)
    for _ in range(2):
        fetched = routes_client.get(session_routes.SIGNOUT_PATH, params={"next": "/review"},
                                    follow_redirects=False)
        assert (fetched.status_code, fetched.headers["location"]) == (303, "/review")
        assert "set-cookie" not in fetched.headers
        assert team.users.live_session(session["id"]) is not None
    posted = routes_client.post(session_routes.SIGNOUT_PATH, follow_redirects=False)
    assert posted.status_code == 405
    assert team.users.live_session(session["id"]) is not None


def test_the_sign_out_address_deletes_the_cookie_once_its_session_is_over(routes_client, team):
    session = _signed_in(routes_client, team)
    team.users.end_session(session["id"])  # what the sidebar's "Sign out" does
    out = routes_client.get(session_routes.SIGNOUT_PATH, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/"
    assert f'{SESSION_COOKIE}=""' in out.headers["set-cookie"] or "Max-Age=0" in \
        out.headers["set-cookie"]
    assert team.users.session_end_reason(session["id"]) == "signed out"


def test_a_forged_cookie_ends_nothing(routes_client, team):
    session, code = _open(team, "ann", now=None)
    response = routes_client.get(session_routes.SESSION_PATH, params={"code": code},
                                 follow_redirects=False)
    real = session_routes.token_from_cookie(team, response.cookies[SESSION_COOKIE])
    routes_client.cookies.clear()
    routes_client.cookies.set(SESSION_COOKIE, sign_cookie("guessed key", SESSION_COOKIE, real))
    routes_client.get(session_routes.SIGNOUT_PATH, follow_redirects=False)
    assert team.users.live_session(session["id"]) is not None


def test_the_command_line_keeps_an_admin_and_lists_tokens(tmp_path):
    from tests.test_cli_commands import cli

    db = str(tmp_path / "l.db")
    assert cli("users", "add", "vic", "--role", "viewer", "--password-stdin",
               "--db", db, stdin="long enough pw\n").returncode == 1  # the first must be an admin
    assert cli("users", "add", "ana", "--role", "admin", "--password-stdin",
               "--db", db, stdin="long enough pw\n").returncode == 0
    assert cli("users", "add", "dee", "--role", "annotator", "--email", "Dee@Example.org",
               "--db", db).returncode == 0
    listed = cli("users", "list", "--db", db).stdout
    assert "dee\tannotator\tdee@example.org\t0 signed in" in listed
    refused = cli("users", "remove", "ana", "--db", db)
    assert refused.returncode == 1 and "at least one admin" in refused.stderr
    cli("tokens", "add", "widget", "--db", db)
    assert cli("tokens", "list", "--db", db).stdout.startswith("1\twidget\t60/minute\t-\t")
    assert cli("users", "remove", "dee", "--db", db).returncode == 0
    gone = cli("users", "remove", "ana", "--db", db)
    assert gone.returncode == 0 and "local single-user mode" in gone.stdout


# -- identities from the identity provider ---------------------------------------------------


ACCOUNTS = [
    {"name": "ada", "role": "admin", "email": None, "oidc_subject": None},
    {"name": "dee", "role": "annotator", "email": "dee@example.org", "oidc_subject": None},
    {"name": "eve", "role": "viewer", "email": "eve@example.org", "oidc_subject": "iss|e-1"},
]


@pytest.mark.parametrize("identity,settings,expected", [
    # linked identity: its account, whatever the email says now
    ({"iss": "iss", "sub": "e-1", "email": "new@example.org"}, OidcSettings(),
     ("use", "eve", "viewer", False)),
    # known email, not linked yet: that account, to be linked
    ({"iss": "iss", "sub": "d-1", "email": "DEE@example.org"}, OidcSettings(),
     ("use", "dee", "annotator", True)),
    # an email the provider marks unverified is not trusted to pick an account
    ({"iss": "iss", "sub": "d-2", "email": "dee@example.org", "email_verified": False},
     OidcSettings(default_role="none"), ("refuse", None, None, False)),
    # an email linked to another identity
    ({"iss": "iss", "sub": "e-2", "email": "eve@example.org"}, OidcSettings(),
     ("refuse", None, None, False)),
    # new: admin when named in the configuration, else the default role, or refused
    ({"iss": "iss", "sub": "n-1", "email": "Ana@Example.org"},
     OidcSettings(admins=frozenset({"ana@example.org"})), ("create", "ana@example.org", "admin", False)),
    ({"iss": "iss", "sub": "n-2", "email": "bo@example.org"}, OidcSettings(),
     ("create", "bo@example.org", "viewer", False)),
    ({"iss": "iss", "sub": "n-3", "email": "bo@example.org"}, OidcSettings(default_role="none"),
     ("refuse", None, None, False)),
    # a new identity whose name is an unlinked account's name does not take it over
    ({"iss": "iss", "sub": "n-4", "preferred_username": "ada"}, OidcSettings(),
     ("refuse", None, None, False)),
    ({}, OidcSettings(), ("refuse", None, None, False)),
])
def test_identities_map_to_accounts(identity, settings, expected):
    match = match_identity(identity, ACCOUNTS, settings)
    assert (match.action, match.name, match.role, match.link) == expected
    assert bool(match.reason) == (match.action == "refuse")


def test_identity_settings_and_providers_from_the_configuration():
    assert OidcSettings.from_config(None) == OidcSettings("viewer", frozenset())
    settings = OidcSettings.from_config({"oidc_default_role": "Annotator",
                                         "oidc_admins": ["Ana@Example.org", " "]})
    assert settings == OidcSettings("annotator", frozenset({"ana@example.org"}))
    assert OidcSettings.from_config({"oidc_admins": "ana@example.org"}).admins == {"ana@example.org"}
    with pytest.raises(ValueError, match="oidc_default_role 'root'"):
        OidcSettings.from_config({"oidc_default_role": "root"})
    assert oidc_providers(None) == []
    assert oidc_providers({"redirect_uri": "x", "cookie_secret": "y"}) == []
    assert oidc_providers({"client_id": "a", "redirect_uri": "x"}) == [
        (None, "your identity provider")]
    assert oidc_providers({"redirect_uri": "x", "google": {"client_id": "a"},
                           "okta_eu": {"client_id": "b", "label": "Okta"}}) == [
        ("google", "Google"), ("okta_eu", "Okta")]


# -- failed sign-ins, per name and client ---------------------------------------------------

def _claims(store: Store, client: str, times: list[float], name: str = "ann") -> list[float]:
    from dashboard.auth import SIGN_IN_FORGET_SECONDS, sign_in_delay

    return [store.users.claim_sign_in(name, client, delay=sign_in_delay, forget=SIGN_IN_FORGET_SECONDS,
                                now=t) for t in times]


def test_a_client_guessing_a_password_is_slowed_and_others_are_not(store):
    attacker, user = "address:203.0.113.9", "device:ann-laptop"
    # three tries go ahead at once; after the third failure the next one waits a second
    assert _claims(store, attacker, [0, 0.1, 0.2]) == [0, 0, 0]
    assert _claims(store, attacker, [0.5]) == [pytest.approx(0.7)]
    assert _claims(store, attacker, [1.2, 1.4]) == [0, pytest.approx(1.8)]
    assert store.users.sign_in_wait("ann", attacker, now=1.4) == pytest.approx(1.8)
    # another client of the same name, and another name from the attacker, go ahead at once
    assert _claims(store, user, [1.4]) == [0]
    assert _claims(store, attacker, [1.4], name="ada") == [0]
    # the waits keep growing as the failures go on, up to five minutes
    t, waits = 3.2, []
    for _ in range(12):
        assert _claims(store, attacker, [t]) == [0]
        waits.append(store.users.sign_in_wait("ann", attacker, now=t))
        t += waits[-1]
    assert waits == pytest.approx([4, 8, 16, 32, 64, 128, 256, 300, 300, 300, 300, 300])


def test_a_success_clears_the_count_and_old_failures_are_forgotten(store):
    client = "address:203.0.113.9"
    assert _claims(store, client, [0, 0, 0, 0]) == [0, 0, 0, 1]
    assert store.users.sign_in_wait("ann", client, now=0) == pytest.approx(1)
    store.users.sign_in_succeeded("ann", client)
    assert store.users.sign_in_wait("ann", client, now=0) == 0
    assert _claims(store, client, [0, 0, 0]) == [0, 0, 0]
    # an hour after the last try, the count starts again
    assert _claims(store, client, [3601.1, 3601.1]) == [0, 0]
    assert store.users.sign_in_wait("ann", client, now=3601.1) == 0
    assert store.scalar("SELECT COUNT(*) FROM sign_in_attempts") == 1


def test_the_failure_count_is_shared_by_every_server_process(db_path):
    with Store(db_path) as first, Store(db_path) as second:
        _claims(first, "address:local", [0, 0, 0])
        assert _claims(second, "address:local", [0.5]) == [pytest.approx(0.5)]


# -- Streamlit's own routes that this server does not answer -------------------------------

def test_a_running_server_answers_404_for_streamlits_metrics(tmp_path):
    import urllib.error
    import urllib.request

    from tests.browser import streamlit_app

    def status(url: str, method: str = "GET") -> int:
        request = urllib.request.Request(url, method=method,
                                         headers={"Accept": "application/x-protobuf"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    db_path = tmp_path / "loupe.db"
    Store(db_path).close()
    with streamlit_app(db_path) as url:
        hidden = {(path, method): status(url + path, method) for path, method in [
            ("/_stcore/metrics", "GET"), ("/_stcore/metrics/", "GET"), ("/_stcore/metrics", "HEAD"),
            ("/_stcore/metrics", "OPTIONS"), ("/_stcore/metrics?families=session_events", "GET")]}
        served = {path: status(url + path) for path in ["/", "/_stcore/health", "/review"]}
    assert set(hidden.values()) == {404}, hidden
    assert set(served.values()) == {200}, served
