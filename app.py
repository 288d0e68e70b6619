"""Loupe: the Streamlit entry point. Sign-in and navigation, nothing else."""

import streamlit as st

from dashboard.ui.auth import allowed, current_session, login_form, login_required
from dashboard.ui.common import get_store

st.set_page_config(page_title="Loupe", page_icon=":material/rate_review:", layout="wide")

# section -> (page file, title, icon, the action a role needs to open it)
PAGES = {
    "Look": [
        ("pages/insights.py", "Insights", "monitoring", "view"),
        ("pages/review.py", "Review", "table_view", "view"),
        ("pages/clusters.py", "Failure themes", "bubble_chart", "view"),
        ("pages/agreement.py", "Agreement", "group", "view"),
    ],
    "Label": [
        ("pages/chat.py", "Chat", "chat", "chat"),
        ("pages/queue.py", "Annotate", "checklist", "rate"),
    ],
    "Compare": [
        ("pages/variants.py", "Variants", "tune", "variants"),
        ("pages/experiments.py", "Experiments", "science", "experiments"),
        ("pages/vote.py", "Vote", "how_to_vote", "vote"),
        ("pages/results.py", "Results", "leaderboard", "view"),
    ],
    "Train": [
        ("pages/export.py", "Export", "output", "export"),
    ],
    "Admin": [
        ("pages/users.py", "Users", "manage_accounts", "users"),
    ],
}
DEFAULT = "pages/chat.py"

store = get_store()
if login_required(store) and current_session(store) is None:
    st.navigation([st.Page(lambda: login_form(store), title="Sign in", icon=":material/login:")],
                  position="hidden").run()
    st.stop()

visible = {
    section: [page for page in pages if allowed(store, page[3])] for section, pages in PAGES.items()
}
paths = [page[0] for pages in visible.values() for page in pages]
default = DEFAULT if DEFAULT in paths else paths[0]
st.navigation({
    section: [st.Page(path, title=title, icon=f":material/{icon}:", default=path == default)
              for path, title, icon, _ in pages]
    for section, pages in visible.items() if pages
}).run()
