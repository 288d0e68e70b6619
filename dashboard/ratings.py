"""What a rating holds and how widget values map onto it."""

from __future__ import annotations

SUGGESTED_TAGS = (
    "wrong",
    "incomplete",
    "hallucination",
    "unsafe",
    "off-topic",
    "too long",
    "formatting",
)


def thumbs_from_widget(value: int | None) -> int | None:
    """st.feedback('thumbs') gives 1 for up and 0 for down; the store keeps 1 and -1."""
    if value is None:
        return None
    return 1 if value == 1 else -1


def thumbs_to_widget(thumbs: int | None) -> int | None:
    """The st.feedback('thumbs') value for a stored thumbs value."""
    if thumbs is None:
        return None
    return 1 if thumbs > 0 else 0


def stars_from_widget(value: int | None) -> int | None:
    """st.feedback('stars') gives 0..4; the store keeps 1..5."""
    return None if value is None else int(value) + 1


def stars_to_widget(stars: int | None) -> int | None:
    """The st.feedback('stars') value for stored stars."""
    return None if stars is None else int(stars) - 1


def tag_options(current: list[str] | None) -> list[str]:
    """The suggested tags followed by any custom tag already given."""
    extra = [t for t in current or [] if t not in SUGGESTED_TAGS]
    return [*SUGGESTED_TAGS, *extra]
