"""Users, roles and what each role may do; passwords kept only as slow salted hashes.

With no user defined, Loupe runs in local single-user mode (bound to localhost) and everything
is allowed. Once a user exists, every page and every write asks for a signed-in user whose role
allows it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

ROLES = ("viewer", "annotator", "admin")

# What each role may do; a role may do everything the roles before it may do.
ACTIONS: dict[str, str] = {
    "view": "viewer",  # browse, insights, agreement, failure themes, results
    "rate": "annotator",
    "chat": "annotator",
    "vote": "annotator",
    "variants": "admin",
    "experiments": "admin",
    "import": "admin",
    "export": "admin",
    "users": "admin",
}

SESSION_SECONDS = 8 * 3600
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    """A salted scrypt hash: 'scrypt$n$r$p$salt$hash' (base64)."""
    if not password or len(password) < 8:
        raise ValueError("a password needs at least 8 characters")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    encode = base64.b64encode
    return "scrypt${n}${r}${p}$".format(**_SCRYPT) + f"{encode(salt).decode()}${encode(digest).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    """Whether the password matches the stored hash (constant-time comparison)."""
    if not stored or not password:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n),
                                r=int(r), p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def can(role: str | None, action: str) -> bool:
    """Whether a role may do an action (None means local single-user mode: yes)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if role is None:
        return True
    if role not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(ACTIONS[action])


def check_role(role: str) -> str:
    """The role, or ValueError naming the valid ones."""
    if role not in ROLES:
        raise ValueError(f"unknown role '{role}': choose viewer, annotator or admin")
    return role


@dataclass(frozen=True)
class Session:
    """A signed-in user; expires SESSION_SECONDS after sign-in."""

    name: str
    role: str
    signed_in_at: float

    def expired(self, now: float | None = None, ttl: float = SESSION_SECONDS) -> bool:
        """Whether the session is too old to trust."""
        return (now if now is not None else time.time()) - self.signed_in_at > ttl


def new_token() -> str:
    """A random API token, shown once to the admin who creates it."""
    return "loupe_" + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """How a token is stored: its SHA-256 (tokens are random, so a fast hash is enough)."""
    return hashlib.sha256(token.encode()).hexdigest()
