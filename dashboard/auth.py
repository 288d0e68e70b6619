"""Users, roles and what each role may do; passwords kept only as slow salted hashes.

With no user defined, Loupe runs in local single-user mode (bound to localhost) and everything
is allowed. Once a user exists, every page and every write asks for a signed-in user whose role
allows it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

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
    "prices": "admin",
}

SESSION_SECONDS = 8 * 3600
SIGN_IN_CODE_SECONDS = 60  # a one-time sign-in code must be swapped for the cookie by then
SESSION_COOKIE = "loupe_session"  # signed, HttpOnly: a random token whose digest is stored
REVIEWER_COOKIE = "loupe_reviewer"  # the reviewer's name in local single-user mode (not secret)
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
    """A signed-in user; expires SESSION_SECONDS after sign-in.

    ``session_id`` names the server-side session record that the sign-in created; every run
    checks that record, so signing out, a changed password or a removed account end it.
    """

    name: str
    role: str
    signed_in_at: float
    session_id: int | None = None

    def expired(self, now: float | None = None, ttl: float = SESSION_SECONDS) -> bool:
        """Whether the session is too old to trust."""
        return (now if now is not None else time.time()) - self.signed_in_at > ttl


def new_token() -> str:
    """A random API token, shown once to the admin who creates it."""
    return "loupe_" + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """How a token is stored: its SHA-256 (tokens are random, so a fast hash is enough)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_secret() -> str:
    """A random, URL-safe secret (session tokens, one-time sign-in codes, signing keys)."""
    return secrets.token_urlsafe(32)


def sign_cookie(key: str, name: str, value: str) -> str:
    """``value`` with an HMAC-SHA256 signature bound to the cookie's name."""
    mac = hmac.new(key.encode(), f"{name}|{value}".encode(), hashlib.sha256).digest()
    return f"{value}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def unsign_cookie(key: str, name: str, signed: str | None) -> str | None:
    """The value of a cookie signed by ``sign_cookie``, or None if absent or tampered with."""
    if not signed or "." not in signed:
        return None
    value = signed.rsplit(".", 1)[0]
    return value if hmac.compare_digest(sign_cookie(key, name, value), signed) else None


def safe_next(target: str | None, base: str = "/") -> str:
    """A redirect target on this server only: a path (with its query), else ``base``."""
    if not target:
        return base
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or any(ord(c) < 32 for c in target):
        return base
    return target


# -- failed sign-ins: growing delays per name and client --------------------------------------

SIGN_IN_FREE_FAILURES = 3  # failed tries in a row before the next one must wait
SIGN_IN_MAX_DELAY = 300.0  # the longest wait between two tries, in seconds
SIGN_IN_FORGET_SECONDS = 3600.0  # failures are forgotten an hour after the last try
DEVICE_COOKIE = "loupe_device"  # signed, HttpOnly: this browser signed in as a name before
DEVICE_COOKIE_SECONDS = 365 * 86400


def sign_in_delay(failures: int) -> float:
    """Seconds the next try must wait after this many failed sign-ins in a row: none for the
    first few, then 1, 2, 4, ... up to five minutes."""
    if failures < SIGN_IN_FREE_FAILURES:
        return 0.0
    return min(2.0 ** (failures - SIGN_IN_FREE_FAILURES), SIGN_IN_MAX_DELAY)


def device_cookie_name(name: str) -> str:
    """What a device cookie's signature is bound to: the cookie and the account's name."""
    return f"{DEVICE_COOKIE}|{name.strip().lower()}"


def sign_in_client(name: str, address: str | None, device: str | None, key: str) -> str:
    """Who is trying to sign in as ``name``, for counting failures.

    A browser that signed in as this name before holds a device cookie for it: it is counted
    on its own, so that someone guessing the password elsewhere, even from the same address,
    never slows it down. Any other browser is counted by its network address (every local
    connection shares one count, as does everyone behind one proxy).
    """
    nonce = unsign_cookie(key, device_cookie_name(name), device)
    if nonce:
        return f"device:{nonce}"
    return f"address:{address or 'local'}"


def wait_sentence(seconds: float, *, failed: bool) -> str:
    """The sign-in form's sentence saying how long to wait (whole seconds, rounded up)."""
    whole = max(1, math.ceil(round(seconds, 6)))
    wait = f"{whole} second{'s' if whole != 1 else ''}"
    if failed:
        return f"Wrong name or password. Wait {wait} before trying again."
    return f"Too many failed sign-ins for this name: wait {wait} and try again."


# -- sign-in through an identity provider (OpenID Connect) ------------------------------

NO_ROLE = "none"  # oidc_default_role that lets in only identities an admin added first


@dataclass(frozen=True)
class OidcSettings:
    """How identities from the identity provider become Loupe accounts
    (``[loupe]`` in .streamlit/secrets.toml)."""

    default_role: str = "viewer"
    admins: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_config(cls, loupe: Mapping[str, Any] | None) -> OidcSettings:
        """Read ``oidc_default_role`` and ``oidc_admins``; ValueError naming a bad value."""
        loupe = loupe or {}
        role = str(loupe.get("oidc_default_role", "viewer")).strip().lower()
        if role != NO_ROLE and role not in ROLES:
            raise ValueError(f"oidc_default_role '{role}' is not one of viewer, annotator, admin, "
                             f"{NO_ROLE}")
        admins = loupe.get("oidc_admins", [])
        if isinstance(admins, str):
            admins = [admins]
        return cls(role, frozenset(str(a).strip().lower() for a in admins if str(a).strip()))


def oidc_providers(auth: Mapping[str, Any] | None) -> list[tuple[str | None, str]]:
    """The providers configured in ``[auth]``: (name for st.login, label for a button).

    A provider given directly in ``[auth]`` (client_id there) is the default one (name None);
    each ``[auth.NAME]`` table is another, labelled by its ``label`` key or its name.
    """
    if not auth:
        return []
    providers: list[tuple[str | None, str]] = []
    if "client_id" in auth:
        providers.append((None, str(auth.get("label") or "your identity provider")))
    for name, section in auth.items():
        if isinstance(section, Mapping) and "client_id" in section:
            providers.append((name, str(section.get("label") or name.replace("_", " ").title())))
    return providers


def identity_subject(identity: Mapping[str, Any]) -> str | None:
    """A stable key for an identity: issuer and subject (``sub``) of its ID token."""
    sub = identity.get("sub")
    if not sub:
        return None
    issuer = identity.get("iss") or ""
    return f"{issuer}|{sub}"


def identity_email(identity: Mapping[str, Any]) -> str | None:
    """The identity's email when the provider vouches for it (not marked unverified)."""
    email = str(identity.get("email") or "").strip().lower()
    if not email or identity.get("email_verified") is False:
        return None
    return email


@dataclass(frozen=True)
class IdentityMatch:
    """What signing in with an identity does: use an account, create one, or refuse."""

    action: str  # "use", "create" or "refuse"
    name: str | None = None
    role: str | None = None
    link: bool = False  # store the identity on the account (first sign-in of a known email)
    reason: str = ""


def match_identity(identity: Mapping[str, Any], accounts: Iterable[Mapping[str, Any]],
                   settings: OidcSettings) -> IdentityMatch:
    """Map an identity-provider user to a Loupe account.

    An account already linked to the identity (issuer and subject) is used; else an account
    with the same (verified) email, which then gets linked; else a new account named by the
    email, an admin when the email is in ``oidc_admins``, else of the default role (none:
    refused until an admin adds the person on the Users page).
    """
    subject = identity_subject(identity)
    email = identity_email(identity)
    if subject is None and email is None:
        return IdentityMatch("refuse", reason="The identity provider sent neither a subject "
                                              "nor a verified email: Loupe cannot tell who you are.")
    accounts = list(accounts)
    for account in accounts:
        if subject and account.get("oidc_subject") == subject:
            return IdentityMatch("use", account["name"], account["role"])
    if email:
        for account in accounts:
            known = str(account.get("email") or "").strip().lower()
            if known == email and not account.get("oidc_subject"):
                return IdentityMatch("use", account["name"], account["role"], link=True)
            if known == email:
                return IdentityMatch("refuse", reason=f"The account with the email {email} is "
                                     "linked to another identity: ask an admin.")
    name = email or str(identity.get("preferred_username") or identity.get("sub"))
    if any(str(a["name"]).strip().lower() == name.lower() for a in accounts):
        return IdentityMatch("refuse", reason=f"An account named {name} exists but is not linked "
                             "to this identity: ask an admin to add your email to it.")
    if email and email in settings.admins:
        return IdentityMatch("create", name, "admin")
    if settings.default_role == NO_ROLE:
        return IdentityMatch("refuse", reason=f"{name} has no Loupe account yet: ask an admin to "
                             "add you on the Users page.")
    return IdentityMatch("create", name, settings.default_role)
