"""Every page of the dashboard: its file, title, icon, the action a role needs, and its address.

``app.py`` builds the navigation from ``PAGES``; links between pages take their paths from here.
"""

from __future__ import annotations

from pathlib import Path

INSIGHTS_PAGE = "views/insights.py"
REVIEW_PAGE = "views/review.py"
CLUSTERS_PAGE = "views/clusters.py"
AGREEMENT_PAGE = "views/agreement.py"
CHAT_PAGE = "views/chat.py"
QUEUE_PAGE = "views/queue.py"
VARIANTS_PAGE = "views/variants.py"
EXPERIMENTS_PAGE = "views/experiments.py"
VOTE_PAGE = "views/vote.py"
RESULTS_PAGE = "views/results.py"
EXPORT_PAGE = "views/export.py"
USERS_PAGE = "views/users.py"

# section -> (page file, title, icon, the action a role needs to open it)
PAGES: dict[str, list[tuple[str, str, str, str]]] = {
    "Look": [
        (INSIGHTS_PAGE, "Insights", "monitoring", "view"),
        (REVIEW_PAGE, "Review", "table_view", "view"),
        (CLUSTERS_PAGE, "Failure themes", "bubble_chart", "view"),
        (AGREEMENT_PAGE, "Agreement", "group", "view"),
    ],
    "Label": [
        (CHAT_PAGE, "Chat", "chat", "chat"),
        (QUEUE_PAGE, "Annotate", "checklist", "rate"),
    ],
    "Compare": [
        (VARIANTS_PAGE, "Variants", "tune", "variants"),
        (EXPERIMENTS_PAGE, "Experiments", "science", "experiments"),
        (VOTE_PAGE, "Vote", "how_to_vote", "vote"),
        (RESULTS_PAGE, "Results", "leaderboard", "view"),
    ],
    "Train": [
        (EXPORT_PAGE, "Export", "output", "export"),
    ],
    "Admin": [
        (USERS_PAGE, "Users", "manage_accounts", "users"),
    ],
}
START = CHAT_PAGE  # where "/" leads, for a role that may open it


def url_path(path: str) -> str:
    """Every page's own address: /chat, /review, ... ("/" leads to the start page)."""
    return Path(path).stem
