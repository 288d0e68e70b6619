"""What a rating holds, how widget values map onto it, and the keys that rate in Annotate."""

from __future__ import annotations

from dataclasses import dataclass

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


def stars_text(stars: int | None) -> str:
    """'★★★☆☆' for 3 stars, '' for none."""
    return "" if stars is None else "★" * int(stars) + "☆" * (5 - int(stars))


def thumbs_text(thumbs: int | None) -> str:
    """'thumbs up', 'thumbs down' or ''."""
    return {1: "thumbs up", -1: "thumbs down"}.get(thumbs or 0, "")


def rating_summary(
    stars: int | None = None,
    thumbs: int | None = None,
    tags: list[str] | None = None,
    comment: str | None = None,
    ideal_answer: str | None = None,
) -> str:
    """What a rating holds, in a few words that carry no text typed by people.

    e.g. '★★☆☆☆ 2 stars · thumbs down · 1 tag · a comment'; 'nothing' when it is empty.
    """
    parts = []
    if stars is not None:
        parts.append(f"{stars_text(stars)} {int(stars)} star{'s' if int(stars) != 1 else ''}")
    if thumbs is not None:
        parts.append(thumbs_text(thumbs))
    if tags:
        parts.append(f"{len(tags)} tag{'s' if len(tags) != 1 else ''}")
    if comment:
        parts.append("a comment")
    if ideal_answer:
        parts.append("an ideal answer")
    return " · ".join(parts) or "nothing"


# -- the keyboard in Annotate ---------------------------------------------------------------
# Plain letters and digits only: they never activate a focused button (Enter and Space do),
# and the browser leaves them to a text box that has the cursor, so typing a comment never
# rates. C and R are Streamlit's own keys.


@dataclass(frozen=True)
class RatingKey:
    """One key of the Annotate page and what it does to the inputs shown."""

    key: str
    label: str  # what the key does, for the legend and the hidden button
    stars: int | None = None  # the stars it sets
    thumbs: int | None = None  # the thumb it sets (1 up, -1 down)
    clears: bool = False  # it clears the stars and the thumb


RATING_KEYS: tuple[RatingKey, ...] = (
    *(RatingKey(str(n), f"{n} star{'s' if n > 1 else ''}", stars=n) for n in range(1, 6)),
    RatingKey("U", "thumbs up", thumbs=1),
    RatingKey("D", "thumbs down", thumbs=-1),
    RatingKey("0", "clear the stars and the thumb", clears=True),
)
SAVE_KEY = "S"
SKIP_KEY = "K"


def keyboard_legend() -> str:
    """The Annotate page's keys as one line of markdown."""
    return (
        "**Keys:** **1**–**5** stars · **U** thumbs up · **D** thumbs down · **0** clear · "
        f"**{SAVE_KEY}** save and next · **{SKIP_KEY}** skip. "
        "They do nothing while a text box has the cursor: click outside it or press Tab first."
    )
