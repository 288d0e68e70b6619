"""Passwords, roles and rate limits."""

from __future__ import annotations

import pytest

from dashboard.auth import (
    ROLES,
    Session,
    can,
    hash_password,
    new_token,
    token_digest,
    verify_password,
)
from dashboard.ratelimit import RateLimiter, parse_rate


def test_password_hash_is_salted_slow_and_verifiable():
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second and first.startswith("scrypt$16384$8$1$")
    assert "correct horse" not in first
    assert verify_password("correct horse", first)
    assert not verify_password("wrong horse", first)
    assert not verify_password("correct horse", "garbage")
    with pytest.raises(ValueError, match="8 characters"):
        hash_password("short")


@pytest.mark.parametrize("role,allowed", [
    ("viewer", {"view"}),
    ("annotator", {"view", "rate", "chat", "vote"}),
    ("admin", {"view", "rate", "chat", "vote", "variants", "experiments", "import", "export", "users",
               "prices"}),
])
def test_each_role_may_do_exactly_its_actions(role, allowed):
    from dashboard.auth import ACTIONS
    assert {action for action in ACTIONS if can(role, action)} == allowed


def test_local_mode_and_unknown_roles():
    assert can(None, "users")
    assert not can("root", "view")
    assert ROLES == ("viewer", "annotator", "admin")


def test_sessions_expire():
    session = Session("ana", "admin", signed_in_at=1000.0)
    assert not session.expired(now=1000.0 + 3600)
    assert session.expired(now=1000.0 + 9 * 3600)


def test_tokens_are_random_and_stored_as_digests():
    token = new_token()
    assert token != new_token() and len(token) > 40
    assert token_digest(token) != token and len(token_digest(token)) == 64


def test_rate_limiter_refills_over_time():
    now = [0.0]
    limiter = RateLimiter.from_text("5/minute", clock=lambda: now[0])
    assert [limiter.allow("k")[0] for _ in range(6)] == [True] * 5 + [False]
    allowed, wait = limiter.allow("k")
    assert not allowed and wait == pytest.approx(12.0)
    assert limiter.allow("other")[0]  # per key
    now[0] = 12.0
    assert limiter.allow("k")[0]


@pytest.mark.parametrize("text", ["", "5", "0/minute", "5/fortnight"])
def test_bad_rates_are_refused(text):
    with pytest.raises(ValueError, match="20/minute"):
        parse_rate(text)


# -- failed sign-ins: growing delays per name and client --------------------------------------

def test_failed_sign_ins_wait_longer_and_longer_up_to_five_minutes():
    from dashboard.auth import sign_in_delay

    assert [sign_in_delay(n) for n in range(1, 13)] == [
        0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert sign_in_delay(1000) == 300


def test_the_wait_is_said_in_whole_seconds_rounded_up():
    from dashboard.auth import wait_sentence

    assert wait_sentence(0.2, failed=True) == ("Wrong name or password. Wait 1 second before "
                                                "trying again.")
    assert wait_sentence(3.01, failed=False) == ("Too many failed sign-ins for this name: wait 4 "
                                                  "seconds and try again.")
    assert wait_sentence(4.0000001, failed=False).endswith("wait 4 seconds and try again.")


def test_a_browser_that_signed_in_as_that_name_before_counts_on_its_own():
    from dashboard.auth import device_cookie_name, sign_cookie, sign_in_client

    key = "server key"
    device = sign_cookie(key, device_cookie_name("Ana"), "nonce-1")
    assert sign_in_client("ana", "203.0.113.9", device, key) == "device:nonce-1"
    assert sign_in_client(" ANA ", None, device, key) == "device:nonce-1"
    # for another name, forged, or absent: counted by address (local connections share one)
    assert sign_in_client("bo", "203.0.113.9", device, key) == "address:203.0.113.9"
    forged = sign_cookie("guessed key", device_cookie_name("ana"), "nonce-1")
    assert sign_in_client("ana", "203.0.113.9", forged, key) == "address:203.0.113.9"
    assert sign_in_client("ana", None, None, key) == "address:local"


@pytest.fixture
def team_app(monkeypatch, db_path):
    import streamlit as st

    from store import Store

    with Store(db_path) as store:
        store.users.add_user("ada", "admin", hash_password("ada-password"))
    monkeypatch.setenv("LOUPE_DB", str(db_path))
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")
    st.cache_data.clear()
    st.cache_resource.clear()
    return db_path


def _sign_in_from(monkeypatch, address: str, password: str, at=None):
    """Type ada's name and a password in the sign-in form of a browser at ``address``."""
    import dashboard.ui.auth as ui_auth
    from tests.pages import run_page

    monkeypatch.setattr(ui_auth, "_client_address", lambda: address)
    if at is None:
        at = run_page(check=False)
    at.text_input[0].input("ada")
    at.text_input[1].input(password)
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert not at.exception
    return at


def test_wrong_passwords_from_one_address_do_not_lock_the_user_out_elsewhere(monkeypatch,
                                                                             team_app):
    import time

    from dashboard.auth import SIGN_IN_FORGET_SECONDS, sign_in_delay
    from dashboard.ui.auth import SESSION_KEY
    from store import Store

    attacker = None
    for _ in range(3):
        attacker = _sign_in_from(monkeypatch, "203.0.113.9", "wrong password", attacker)
    assert [e.value for e in attacker.error] == [
        "Wrong name or password. Wait 1 second before trying again."]
    assert SESSION_KEY not in attacker.session_state

    # ada, from her own address, signs in at once
    ada = _sign_in_from(monkeypatch, "198.51.100.7", "ada-password")
    assert [e.value for e in ada.error] == []
    assert ada.session_state[SESSION_KEY].name == "ada"

    # from the guessing address, once the waits have grown, even the right password waits
    with Store(team_app) as store:  # more failures, each made as soon as it was allowed
        t = time.time() - 100
        for _ in range(8):
            wait = store.users.claim_sign_in("ada", "address:203.0.113.9", delay=sign_in_delay,
                                       forget=SIGN_IN_FORGET_SECONDS, now=t)
            t += wait or store.users.sign_in_wait("ada", "address:203.0.113.9", now=t)
        assert store.users.sign_in_wait("ada", "address:203.0.113.9") > 60
    refused = _sign_in_from(monkeypatch, "203.0.113.9", "ada-password")
    [error] = [e.value for e in refused.error]
    assert error.startswith("Too many failed sign-ins for this name: wait ")
    assert SESSION_KEY not in refused.session_state
