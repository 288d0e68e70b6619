"""Make text from data inert before Streamlit renders it as Markdown.

Markdown keeps answers readable (lists, code blocks, emphasis), but some of it acts: raw
HTML, images the browser fetches from a remote host, ``$...$`` typeset as math, and
Streamlit's own additions: directives (``:red[...]``, ``:small[...]``), icons
(``:material/home:``), emoji shortcodes (``:smile:``), the Streamlit logo (``:streamlit:``)
and arrows typeset from ``->``. Two helpers:

- ``inert_markdown`` for long text (questions, answers, comments): Markdown formatting is
  kept, everything that acts is escaped (links included: a web address shows as text, never
  as a link to follow), code is left as written.
- ``plain_text`` for names and labels (variants, models, reviewers, tags, themes, file
  names): every character is shown exactly as written, nothing is formatted.

Code spans follow CommonMark: a span opened by a run of N backticks closes only at the next
run of exactly N backticks; an opener without such a closer is literal text (and escaped, so
that the browser's parser agrees).

Some of Streamlit's rewrites run on text after Markdown escapes are resolved (icons, the
logo, emoji, arrows), so escaping alone cannot stop them: there the text is cut in two by
an empty ``:small[]`` directive, which renders as an empty ``<span>`` and shows nothing.
One rewrite cannot be undone: Streamlit turns ``:material/`` into ``:material_`` everywhere,
even in fenced code blocks, where nothing can be escaped (code spans are split instead).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator

_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
# An empty inline element: splits the text so no rewrite sees the two halves as one.
_SPLIT = ":small[]"

_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_FENCE = re.compile(r"^( *)(`{3,}|~{3,})(.*)$")
_BACKTICKS = re.compile(r"`+")
# A colon that would close a shortcode (":smile:", ":material_home:", ":streamlit:").
_SHORTCODE_OPEN = re.compile(r":[\w+-]+$")
# Symbols Streamlit turns into arrows and dashes when they stand between spaces.
_SYMBOLS = ("<->", "->", "<-", "--", ">=", "<=", "~=")
_BEFORE_SYMBOL = frozenset(" \t\n*_])~`")  # also where an inline element ends a text node
_MATERIAL = ":material/"
_CONTEXT = 80  # characters before the current one that decide a split
# Where a name would turn into a link (GFM finds these in text, escapes notwithstanding).
_AUTOLINK = re.compile(r"(?i)(?:https?:|www\.|@)$")


def inert_markdown(text: str | None, *, partial: bool = False) -> str:
    """Markdown that shows ``text`` with its formatting but nothing that acts.

    No HTML, no images, no math, no Streamlit directives, icons, emoji or arrows; code is
    shown as written. With ``partial=True`` the text is still arriving: the unfinished last
    line is cut where later text could change its meaning, so that the result only grows.
    """
    if not text:
        return ""
    lines = _LINES.findall(text)  # only what CommonMark ends a line with (not U+2028, \f…)
    out: list[str] = []
    fence: tuple[str, int, int] | None = None  # (marker char, length, indentation)
    for index, line in enumerate(lines):
        unfinished = partial and index == len(lines) - 1 and not line.endswith(("\n", "\r"))
        body = line.rstrip("\r\n")
        if fence is not None:
            indent = len(body) - len(body.lstrip(" "))
            if _closes(body, fence):
                if unfinished:
                    break
                fence = None
                out.append(line)
                continue
            if not body.strip() or indent >= fence[2]:
                if unfinished and not body.strip():
                    break
                out.append(line)
                continue
            fence = None  # a line left of the fence ends its list item, and the fence
        opened = _opens(body)
        if opened and not unfinished:
            fence = opened
            out.append(line)
        elif unfinished:
            if re.match(r"^ *[`~]", body):
                break  # may yet become a fence
            out.append(_escape_line(_settled_part(body), markdown=True))
        else:
            out.append(_escape_line(body, markdown=True) + line[len(body):])
    return "".join(out)


def plain_text(value: object) -> str:
    """Markdown that shows a name or label exactly as written, on one line.

    For widget labels, captions, metric labels, expander and tab titles, toasts and any
    sentence a name is put in. Runs of whitespace (line breaks included) show as one space,
    as they would in any web page.
    """
    if value is None:
        return ""
    text = " ".join(str(value).split())
    return _escape_line(text, markdown=False)


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


# -- fences ---------------------------------------------------------------------


def _opens(line: str) -> tuple[str, int, int] | None:
    """The fence a line opens, or None (a backtick fence's info string has no backtick).

    A fence indented by 1-3 spaces may belong to a list item: it ends, for the browser, at
    the first line indented less than the item's text, so it ends here at the first line
    indented less than the fence itself (a little early at worst, which only escapes code).
    Deeper fences may be paragraph text for the browser, so they are treated as prose.
    """
    match = _FENCE.match(line)
    if not match:
        return None
    indent, marker, info = len(match.group(1)), match.group(2), match.group(3)
    if indent > 3:
        return None
    if marker[0] == "`" and "`" in info:
        return None
    return marker[0], len(marker), indent


def _closes(line: str, fence: tuple[str, int, int]) -> bool:
    """Whether a line may close the fence (generously: treating code as prose is safe)."""
    stripped = line.strip(" ")
    indent = len(line) - len(line.lstrip(" "))
    char, length, opened_at = fence
    return (indent <= opened_at + 3 and len(stripped) >= length
            and set(stripped) == {char})


# -- one line of prose -------------------------------------------------------------


def _settled_part(line: str) -> str:
    """The part of an unfinished line that no later text can change: up to the first
    backtick run that is not closed yet, and up to the last space before it."""
    runs = _runs(line)
    position = 0
    while position < len(line):
        tick = line.find("`", position)
        if tick < 0:
            break
        if tick > 0 and line[tick - 1] == "\\" and not _escaped(line, tick - 1):
            position = tick + 1
            continue
        end = _run_end(line, tick)
        closer = _closer(runs, end, end - tick)
        if closer is None:
            line = line[:tick]
            break
        position = closer[1]
    space = max(line.rfind(" "), line.rfind("\t"))
    return line[: space + 1] if space >= 0 else ""


def _escaped(line: str, index: int) -> bool:
    """Whether the backslash at ``index`` is itself escaped by an odd run before it."""
    count = 0
    while index - 1 - count >= 0 and line[index - 1 - count] == "\\":
        count += 1
    return count % 2 == 1


def _runs(line: str) -> dict[int, list[tuple[int, int]]]:
    """Maximal backtick runs of a line, by length: sorted (start, end) pairs."""
    runs: dict[int, list[tuple[int, int]]] = {}
    for match in _BACKTICKS.finditer(line):
        runs.setdefault(match.end() - match.start(), []).append((match.start(), match.end()))
    return runs


def _run_end(line: str, start: int) -> int:
    end = start
    while end < len(line) and line[end] == "`":
        end += 1
    return end


def _closer(runs: dict[int, list[tuple[int, int]]], after: int, length: int
            ) -> tuple[int, int] | None:
    """The first run of exactly ``length`` backticks starting at or after ``after``."""
    candidates = runs.get(length, [])
    at = bisect.bisect_left(candidates, (after, -1))
    return candidates[at] if at < len(candidates) else None


# Characters that may need escaping or a split; the rest of a line is copied in bulk.
_QUIET_MARKDOWN = re.compile(r"[^\\`<$:\[/&>=\-.@]+")
_QUIET_PLAIN = re.compile(r"[^!-/:-@\[-`{-~]+")


def _escape_line(line: str, *, markdown: bool) -> str:
    """Escape one line: code spans kept (``markdown``) or every character literal (plain)."""
    runs = _runs(line) if markdown else {}
    quiet = _QUIET_MARKDOWN if markdown else _QUIET_PLAIN
    out: list[str] = []
    tail = ""  # the last characters as the reader will see them, for context
    i, n = 0, len(line)
    while i < n:
        bulk = quiet.match(line, i)
        if bulk:
            out.append(bulk.group())
            tail = (tail + bulk.group())[-_CONTEXT:]
            i = bulk.end()
            continue
        char = line[i]
        if markdown and char == "`":
            end = _run_end(line, i)
            closer = _closer(runs, end, end - i)
            if closer is not None:
                out.append(_code_span(line[i : closer[1]], end - i))
                tail = (tail + "`")[-_CONTEXT:]  # code ends a text node like any inline element
                i = closer[1]
            else:  # no run of the same length closes it: literal backticks
                out.append("\\`" * (end - i))
                tail = (tail + line[i:end])[-_CONTEXT:]
                i = end
            continue
        written = markdown and char == "\\" and line[i + 1 : i + 2] in _PUNCTUATION
        if written:  # an escape written in the text stays one
            char, i = line[i + 1], i + 1
        out.append(_escaped_char(tail, line, i, char, escape=written or not markdown,
                                 plain=not markdown))
        tail = (tail + char)[-_CONTEXT:]
        i += 1
    return "".join(out)


def _escaped_char(tail: str, line: str, at: int, char: str, *, escape: bool,
                  plain: bool = False) -> str:
    """One character escaped where it could act (or always, with ``escape`` for
    punctuation), after a split where a rewrite could or where a web address or e-mail
    address would become a link."""
    split = _SPLIT if ((char == ":" and _SHORTCODE_OPEN.search(tail))
                       or _ends_symbol(tail, line, at, char)
                       or _AUTOLINK.search(tail + char)) else ""
    if char in "\\`<$:&" or ((escape or split) and char in _PUNCTUATION):
        return f"{split}\\{char}"
    if char == "[":
        return f"{split}\\["  # an image or a link: shown as written, never followed
    if char == "/" and tail.endswith(_MATERIAL[:-1]):
        return f"{split}\\/"  # Streamlit rewrites ":material/" in the source, escapes included
    return split + char


def _ends_symbol(previous: str, line: str, at: int, char: str) -> bool:
    """Whether ``char`` completes ``->``, ``<-``, ``>=`` or the like after a space.

    ``--`` only counts before a space too, so that ``---`` rules and table rows stay.
    """
    for symbol in _SYMBOLS:
        head = symbol[:-1]
        if char != symbol[-1] or not previous.endswith(head):
            continue
        before = previous[: -len(head)]
        after = line[at + 1 : at + 2]
        if ((not before or before[-1] in _BEFORE_SYMBOL)
                and (symbol != "--" or not after or after.isspace())):
            return True
    return False


def _code_span(span: str, ticks: int) -> str:
    """A code span as written, split where Streamlit would rewrite ':material/' in it."""
    content = span[ticks:-ticks]
    if _MATERIAL not in content:
        return span
    if content.startswith(" ") and content.endswith(" ") and content.strip(" "):
        content = content[1:-1]
    pieces = content.split(_MATERIAL)
    parts = [pieces[0]]
    for piece in pieces[1:]:
        parts[-1] += _MATERIAL[:-1]
        parts.append("/" + piece)
    # Adjacent spans would merge their backticks into one run: an empty element between.
    return _SPLIT.join(_code(part) for part in parts if part)


def _code(content: str) -> str:
    """A code span showing ``content`` exactly."""
    longest = max((len(m.group()) for m in _BACKTICKS.finditer(content)), default=0)
    fence = "`" * (longest + 1)
    if (content.startswith("`") or content.endswith("`")
            or (content.startswith(" ") and content.endswith(" ") and content.strip(" "))):
        content = f" {content} "
    return f"{fence}{content}{fence}"
