"""Make model and user text inert before it is shown as Markdown.

Markdown keeps answers readable (lists, code blocks, emphasis), but some of it acts:
raw HTML, images that the browser fetches from a remote host, and ``$...$`` that Streamlit
typesets as math. ``inert_markdown`` escapes exactly those, leaving code untouched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")  # within one line
_ACTIVE_CHAR = re.compile(r"\\?([<$])")
_IMAGE = re.compile(r"!\\?\[")


def inert_markdown(text: str | None, *, partial: bool = False) -> str:
    """Markdown that shows ``text`` as written: no HTML, no images, no math.

    With ``partial=True`` the text is still arriving: an unfinished last line is cut at an
    unmatched backtick, so that the result only ever grows as more text comes.
    """
    if not text:
        return ""
    out: list[str] = []
    prose: list[str] = []
    fence: str | None = None
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        unfinished = partial and index == len(lines) - 1 and not line.endswith(("\n", "\r"))
        marker = _FENCE.match(line)
        if fence is None and marker:
            out.append(_escape_prose("".join(prose)))
            prose = []
            fence = marker.group(1)[0] * len(marker.group(1))
            out.append(line)
        elif fence is not None:
            out.append(line)
            if marker and marker.group(1).startswith(fence):
                fence = None
        elif unfinished:
            prose.append(_settled_part(line))
        else:
            prose.append(line)
    out.append(_escape_prose("".join(prose)))
    return "".join(out)


def inert_stream(chunks: Iterable[str]) -> Iterator[str]:
    """Re-chunk a streamed answer so that the concatenation is always inert Markdown."""
    text = ""
    shown = ""
    for chunk in chunks:
        text += chunk
        safe = inert_markdown(text, partial=True)
        if safe.startswith(shown) and len(safe) > len(shown):
            yield safe[len(shown) :]
            shown = safe
    final = inert_markdown(text)
    if final.startswith(shown) and len(final) > len(shown):
        yield final[len(shown) :]


def _settled_part(line: str) -> str:
    """The part of an unfinished line that no later text can change."""
    end = 0
    for span in _CODE_SPAN.finditer(line):
        end = span.end()
    tick = line.find("`", end)
    return line if tick < 0 else line[:tick]


def _escape_prose(text: str) -> str:
    pieces: list[str] = []
    last = 0
    for span in _CODE_SPAN.finditer(text):
        pieces.append(_escape_plain(text[last : span.start()]))
        pieces.append(span.group(0))
        last = span.end()
    pieces.append(_escape_plain(text[last:]))
    return "".join(pieces)


def _escape_plain(text: str) -> str:
    # A character the text already escaped stays escaped once, not twice.
    text = _ACTIVE_CHAR.sub(r"\\\1", text)
    return _IMAGE.sub(r"!\\[", text)
