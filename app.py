"""Loupe: the Streamlit entry point. Sign-in and navigation, nothing else."""

from pathlib import Path

import streamlit as st

from dashboard.ui.auth import allowed, current_session, login_form, login_required
from dashboard.ui.common import get_store

st.set_page_config(page_title="Loupe", page_icon=":material/rate_review:", layout="wide")

# section -> (page file, title, icon, the action a role needs to open it)
PAGES = {
    "Look": [
        ("views/insights.py", "Insights", "monitoring", "view"),
        ("views/review.py", "Review", "table_view", "view"),
        ("views/clusters.py", "Failure themes", "bubble_chart", "view"),
        ("views/agreement.py", "Agreement", "group", "view"),
    ],
    "Label": [
        ("views/chat.py", "Chat", "chat", "chat"),
        ("views/queue.py", "Annotate", "checklist", "rate"),
    ],
    "Compare": [
        ("views/variants.py", "Variants", "tune", "variants"),
        ("views/experiments.py", "Experiments", "science", "experiments"),
        ("views/vote.py", "Vote", "how_to_vote", "vote"),
        ("views/results.py", "Results", "leaderboard", "view"),
    ],
    "Train": [
        ("views/export.py", "Export", "output", "export"),
    ],
    "Admin": [
        ("views/users.py", "Users", "manage_accounts", "users"),
    ],
}
DEFAULT = "views/chat.py"

store = get_store()
if login_required(store) and current_session(store) is None:
    # Every page's address shows the sign-in form, so a shared link lands there after sign-in.
    def sign_in() -> None:
        login_form(store)

    st.navigation(
        [st.Page(sign_in, title="Sign in", icon=":material/login:", default=True)]
        + [st.Page(sign_in, title="Sign in", url_path=Path(page[0]).stem)
           for pages in PAGES.values() for page in pages],
        position="hidden",
    ).run()
    st.stop()

visible = {
    section: [page for page in pages if allowed(store, page[3])] for section, pages in PAGES.items()
}
paths = [page[0] for pages in visible.values() for page in pages]
default = DEFAULT if DEFAULT in paths else paths[0]
# Pages a role may not open keep their address, hidden: typing it shows the page's own refusal.
st.navigation({
    section: [st.Page(path, title=title, icon=f":material/{icon}:", default=path == default,
                      visibility="visible" if path in paths else "hidden")
              for path, title, icon, _ in pages]
    for section, pages in PAGES.items()
}).run()
