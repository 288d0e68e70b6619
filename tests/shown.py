"""What a reader sees of inert Markdown: escapes resolved, empty split elements gone."""

from __future__ import annotations

import re

SPLIT = ":small[]"  # an empty element dashboard.safe_text puts where Streamlit would rewrite


def shown(markdown: str) -> str:
    """``markdown`` as read on screen (formatting marks that were not escaped stay)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown.replace(SPLIT, ""))
