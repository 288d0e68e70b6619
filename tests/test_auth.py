"""Passwords, roles and rate limits."""

from __future__ import annotations

import pytest

from dashboard.auth import ROLES, Session, can, hash_password, new_token, token_digest, verify_password
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
