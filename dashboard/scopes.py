"""What an API token may do: its scopes, chosen when it is created.

A token holds one or more of these; a request that needs a scope its token lacks is refused
with 403 and a sentence naming the scope.
"""

from __future__ import annotations

from collections.abc import Iterable

from store.users import WRITE_ONLY

WRITE = "feedback:write"
READ = "feedback:read"
WRITE_AS = "feedback:write-as"

# Every scope with what it allows, in the order forms and help list them.
SCOPES: dict[str, str] = {
    WRITE: "send interactions and ratings, as the token's own reviewer (api:NAME)",
    READ: "read every interaction with every reviewer's rating and comment (GET /feedback/)",
    WRITE_AS: "name another reviewer in a write (never a dashboard account, and never replacing"
              " a rating not written through the API)",
}
DEFAULT: tuple[str, ...] = WRITE_ONLY


def parse_scopes(values: Iterable[str]) -> list[str]:
    """Scope names as given (a list, or items separated by commas or spaces), checked and in
    the canonical order; ValueError naming an unknown one."""
    names: list[str] = []
    for value in values:
        names.extend(part for part in value.replace(",", " ").split() if part)
    unknown = [name for name in names if name not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scope {unknown[0]!r}: choose from {', '.join(SCOPES)}")
    if not names:
        raise ValueError(f"choose at least one scope ({', '.join(SCOPES)})")
    return [scope for scope in SCOPES if scope in names]


def token_reviewer(token_name: str) -> str:
    """The reviewer name a token writes under unless it may and does name another."""
    return f"api:{token_name}"
