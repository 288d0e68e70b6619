"""Role checks at the moment of an action: buttons, forms and callbacks all ask here.

Hiding a button is a courtesy; this check is the rule. Every write runs it on the server
when it happens, so a stale page, a role changed meanwhile or a forged widget event is
refused with a sentence and changes nothing.
"""

from __future__ import annotations

from typing import Literal

import streamlit as st

from dashboard.auth import ACTIONS
from dashboard.ui.auth import allowed, current_role
from store import Store

WHAT = {
    "rate": "rating answers",
    "chat": "asking a model (chat, naming themes)",
    "vote": "voting",
    "variants": "changing variants and question sets",
    "experiments": "running experiments and judges",
    "import": "importing feedback",
    "export": "exporting training data",
    "users": "managing users and tokens",
    "prices": "changing model prices",
}


def refusal(store: Store, action: str) -> str:
    """The sentence shown when the current user may not do ``action``."""
    role = current_role(store)
    needed = ACTIONS[action]
    if role == "none":
        return "Your session has ended: sign in again to go on."
    return (f"Your role ({role}) does not allow {WHAT.get(action, action)}: "
            f"ask an admin for the {needed} role.")


def permitted(store: Store, action: str, *, say: Literal["error", "toast"] = "error") -> bool:
    """Whether the current user may do ``action`` now; if not, say why (in a callback,
    ``say="toast"``: elements written there would land at the top of the page)."""
    if allowed(store, action):
        return True
    if say == "toast":
        st.toast(refusal(store, action), icon=":material/lock:")
    else:
        st.error(refusal(store, action), icon=":material/lock:")
    return False


def needs_note(store: Store, actions: dict[str, str]) -> str:
    """One caption naming what the current role cannot do here, or '' when it can do all.

    ``actions`` maps an action to how the page words it, e.g. {"rate": "annotate"}.
    """
    missing = [words for action, words in actions.items() if not allowed(store, action)]
    if not missing:
        return ""
    role = current_role(store)
    return (f"Your role ({role}) can read this page; to {', '.join(missing)} ask an admin "
            "for a role that allows it.")
