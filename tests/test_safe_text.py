"""Model text is made inert before Streamlit renders it as Markdown."""

from __future__ import annotations

import random
import re

import pytest

from dashboard.safe_text import inert_markdown, inert_stream, plain_text
from tests.shown import shown

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
    assert "\\<script>" in out and "!\\[tracker](https:small[]\\://203.0.113.9/pixel.png)" in out


def test_code_is_left_exactly_as_written():
    out = inert_markdown(HOSTILE)
    assert "`<b>bold</b>`" in out
    assert '```html\n<div onclick="x()">![a](http://b/c.png)</div>\n```\n' in out


def test_plain_text_is_unchanged():
    text = "A list\n\n- one\n- **two**\n\n1. three\n\n---\n\n| a | b |\n|---|---|\n| 1 | 2 |"
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


# -- a CommonMark parser as the browser's stand-in ----------------------------------------

markdown_it = pytest.importorskip("markdown_it")
_PARSER = markdown_it.MarkdownIt("commonmark", {"html": True})
_MARKUP = {"p", "code", "pre", "em", "strong", "ul", "ol", "li", "blockquote", "hr", "br", "a",
           "h1", "h2", "h3", "h4", "h5", "h6"}
SPLIT = ":small[]"  # Streamlit renders it as an empty element; CommonMark as its characters


def _html(markdown: str) -> str:
    return _PARSER.render(markdown)


def _tags(html: str) -> set[str]:
    return {t.lower() for t in re.findall(r"</?([A-Za-z][A-Za-z0-9-]*)", html)}


def _text(html: str) -> str:
    import html as html_module

    return html_module.unescape(re.sub(r"<[^>]+>", "", html)).replace(SPLIT, "").strip()


@pytest.mark.parametrize("text", [
    "`![x](https://evil.example/p.png)``",  # opened by one backtick, "closed" by two
    "``![x](https://evil.example/p.png)`",
    "```x`\n![x](http://evil.example/p.png)\n```",  # not a fence: a backtick in its info
    "- a\n  ```\nx\n![x](http://evil.example/p.png)\n```",  # the list item ends the fence
    "para\n    ```\n    ![x](http://evil.example/p.png)\n    ```",  # not code: a paragraph
    "\\``![x](http://evil.example/p.png)`",
    "`a\\`![x](http://evil.example/p.png)`",
    "x ` y `` ![x](http://evil.example/p.png) ``` z",
    "x\u2028```\n![x](http://evil.example/p.png)\n```",  # U+2028 does not end a line
    "x\f```\n![x](http://evil.example/p.png)\n```",
])
def test_odd_code_spans_and_fences_never_let_an_image_through(text):
    html = _html(inert_markdown(text))
    assert "<img" not in html
    assert _tags(html) <= _MARKUP


def test_code_spans_follow_commonmark_and_stay_code():
    html = _html(inert_markdown("a ``x ` ![i](u) `` and `y` and `` `z` ``"))
    assert re.findall(r"<code>(.*?)</code>", html) == ["x ` ![i](u) ", "y", "`z`"]


@pytest.mark.parametrize("seed", range(40))
def test_random_mixtures_of_markdown_stay_inert(seed):
    rng = random.Random(seed)
    pieces = ["`", "``", "```", "~~~", "\\", " ", "\n", "\n\n", "    ", "- ", "> ", "1. ", "a",
              "![x](http://evil.example/p.png)", "<img src=x onerror=alert(1)>", "[r]: /u",
              "![r]", ":red[x]", "$x$", "*", "_", "&lt;img src=x&gt;", "<", "!", "["]
    text = "".join(rng.choice(pieces) for _ in range(rng.randint(5, 60)))
    html = _html(inert_markdown(text))
    assert "<img" not in html, text
    assert _tags(html) <= _MARKUP, text


@pytest.mark.parametrize("name", [
    "**bold** _it_ `code` ~~gone~~",
    "<img src=x onerror=alert(1)>",
    "![x](http://evil.example/p.png)",
    ":red[x] :blue-background[y] :small[z] :material/home: :material_home: :smile: :streamlit:",
    "$x$ and $$y$$",
    "# heading",
    "- item",
    "1. item",
    "> quote",
    "a -> b <- c <-> d -- e >= f <= g ~= h",
    "C:\\Users\\ana \\*not\\* &amp; &#58;smile&#58;",
    "[link](http://evil.example) <http://evil.example>",
    "| a | b |",
])
def test_plain_text_shows_names_exactly_as_written(name):
    html = _html(plain_text(name))
    assert _tags(html) <= {"p"}
    assert _text(html) == name


def test_plain_text_names_do_not_become_links():
    name = "see http://evil.example/p www.evil.example a@evil.example"
    out = plain_text(name)
    assert not re.search(r"(?i)https?\\?:|www\\?\.|\w\\?@", out.replace(SPLIT, " "))
    assert _text(_html(out)) == name


def test_plain_text_puts_a_name_on_one_line():
    assert _text(_html(plain_text("two\nlines  and\tspaces"))) == "two lines and spaces"
    assert plain_text(None) == ""


@pytest.mark.parametrize("text, shown", [
    (":red[x] :small[y] :blue-background[z]", ":red[x] :small[y] :blue-background[z]"),
    ("a :smile: b :+1: c", "a :smile: b :+1: c"),
    (":material/home: and :material_home: and :streamlit:",
     ":material/home: and :material_home: and :streamlit:"),
    ("x -> y -- z", "x -> y -- z"),
    ("price $5 and $x$", "price $5 and $x$"),
])
def test_streamlit_additions_in_prose_are_escaped_or_split(text, shown):
    out = inert_markdown(text)
    # no directive, icon, shortcode or arrow is left whole for Streamlit to act on
    assert not re.search(r"(?<!\\):[a-z][\w-]*\[(?!\])", out)
    assert not re.search(r":[\w+-]+:(?!small\[\])", out.replace("\\:", "\x00"))
    assert " -> " not in out and " -- " not in out
    assert _text(_html(out)) == shown


def test_code_with_an_icon_name_is_split_so_streamlit_shows_it_as_written():
    out = inert_markdown("run `x :material/home: y` now")
    codes = re.findall(r"<code>(.*?)</code>", _html(out))
    assert "".join(codes) == "x :material/home: y"
    assert all(":material/" not in code for code in codes)


def test_a_megabyte_of_hostile_text_is_escaped():
    # many backtick runs that never close: a quadratic scan would run past the test timeout
    ticks = ("`a`` b ``` ![x](http://e/p.png) " * 40_000)[:1_000_000]
    assert "](http" in inert_markdown(ticks) and plain_text(ticks).startswith("\\`a")
    text = (":red[x] <img src=x> ![x](http://e/p.png) $y$ -> " * 25_000)[:1_000_000]
    for out in (inert_markdown(text), plain_text(text)):
        assert "![" not in out.replace("!\\[", "").replace("\\!\\[", "")
        assert "<img" not in out.replace("\\<img", "")


@pytest.mark.parametrize("text", [
    "see http://evil.example/x now",
    "HQ21 `![x](http://evil.example/q.png)`` why?",
    "[click me](http://evil.example/l)",
    "visit www.evil.example today",
    "write to a@evil.example",
])
def test_web_and_mail_addresses_show_as_text_not_links(text):
    out = inert_markdown(text)
    assert shown(out) == text
    assert not re.search(r"(?<!\\)\[[^\]]*\]\(", out)  # no [text](url) left to follow
    assert not re.search(r"(?i)(https?:\\?:|www\.|\w@)", out.replace(":small[]", "|"))
