"""Model text is made inert before Streamlit renders it as Markdown."""

from __future__ import annotations

import random
import re

import pytest

from dashboard.safe_text import inert_markdown, inert_stream

HOSTILE = (
    "Sure! <script>window.pwned = 1</script>\n"
    '<img src="x" onerror="window.pwned = 2">\n'
    "![tracker](https://203.0.113.9/pixel.png) and ![ref][1]\n"
    "Prices: $5 and $10.\n"
    "Inline `<b>bold</b>` stays code.\n"
    "```html\n<div onclick=\"x()\">![a](http://b/c.png)</div>\n```\n"
    "after the fence <iframe src=//evil>\n"
)


def _unescaped(pattern: str, text: str) -> list[str]:
    return re.findall(r"(?<!\\)" + pattern, text)


def test_html_images_and_math_are_escaped_outside_code():
    out = inert_markdown(HOSTILE)
    prose = out.replace("`<b>bold</b>`", "").split("```html")[0] + out.split("```\n")[-1]
    assert _unescaped("<", prose) == []
    assert _unescaped(r"!\[", prose) == []
    assert _unescaped(r"\$", prose) == []
    assert "\\<script>" in out and "!\\[tracker](https://203.0.113.9/pixel.png)" in out


def test_code_is_left_exactly_as_written():
    out = inert_markdown(HOSTILE)
    assert "`<b>bold</b>`" in out
    assert '```html\n<div onclick="x()">![a](http://b/c.png)</div>\n```\n' in out


def test_plain_text_is_unchanged():
    text = "A list:\n\n- one\n- **two**\n\n1. three"
    assert inert_markdown(text) == text


def test_already_escaped_characters_are_not_escaped_twice():
    assert inert_markdown(r"a \< b costs \$3") == r"a \< b costs \$3"


@pytest.mark.parametrize("seed", range(20))
def test_streamed_chunks_add_up_to_the_inert_whole(seed):
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(HOSTILE)), rng.randint(1, 60)))
    chunks = [HOSTILE[a:b] for a, b in zip([0, *cuts], [*cuts, len(HOSTILE)])]
    shown = ""
    for piece in inert_stream(chunks):
        shown += piece
        # what is on screen mid-stream never holds a live tag or image
        assert "<script>" not in shown.replace("\\<script>", "")
        assert "![tracker]" not in shown
    assert shown == inert_markdown(HOSTILE)
