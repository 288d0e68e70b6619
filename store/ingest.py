"""Ingest queries of the Store (``store.ingest``): conversations, interactions and imports.

Two ways in: an import session that writes checked records batch by batch inside one
transaction (so a file lands whole or not at all), and the demo data set.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from store.area import Area, inserted_id
from store.ratings import Rating, write_ratings
from store.store_text import now_iso

if TYPE_CHECKING:
    from sqlite_utils import Database

FTS_INSERT_TRIGGER = "interactions_fts_ai"
IMPORT_CACHE_KIB = 131_072  # page cache while importing: big imports touch many index pages
CHUNK = 10_000  # values per IN (...) list, well under SQLite's variable limit
FTS_BATCH_MIN_ROWS = 1_000  # imports this big index their text batch by batch, not row by row
FTS_AUTOMERGE_DEFAULT = 4  # FTS5's own default
FTS_AUTOMERGE_IMPORT = 16  # fewer merge passes while a big import adds text
BULK_MIN_ROWS = 20_000  # imports this big into a table no bigger rebuild indexes once at the end
BULK_TABLES = ("interactions", "ratings", "rating_tags")
# Per-row insert triggers a bulk import replaces by set-based work at the end of its transaction:
# the rating summaries are recomputed for the interactions it rated, and the Insights triggers
# only act on rows at or below their watermarks, which rows added by an import never are.
DEFERRED_TRIGGERS = (
    "ratings_summary_ai", "insight_interactions_ai", "insight_ratings_ai", "insight_rating_tags_ai",
)
_SUMMARY_COLUMNS = (
    "rating_count, stars_count, stars_mean, stars_min, stars_max, thumbs_up, thumbs_down,"
    " ideal_count"
)
# Indexes an import reads while it writes: never dropped.
KEPT_INDEXES = frozenset({
    "idx_interactions_hash", "idx_interactions_external", "idx_interactions_conversation",
})

def _insert(table: str, columns: str) -> str:
    names = [c.strip() for c in columns.split(",")]
    return (
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
    )


_INTERACTION_INSERT = _insert(
    "interactions",
    "id, conversation_id, turn, question, answer, system_prompt, model, backend, variant_id,"
    " latency_ms, ttft_ms, prompt_tokens, completion_tokens, error, source, external_id,"
    " content_hash, meta, created_at",
)
_CONVERSATION_INSERT = _insert("conversations", "id, title, source, external_id, created_at")
# A bulk import writes each new interaction with the summary of the rating it arrives with.
_INTERACTION_SUMMARY_INSERT = _insert(
    "interactions",
    "id, conversation_id, turn, question, answer, system_prompt, model, backend, variant_id,"
    " latency_ms, ttft_ms, prompt_tokens, completion_tokens, error, source, external_id,"
    " content_hash, meta, created_at, rating_count, stars_count, stars_mean, stars_min,"
    " stars_max, thumbs_up, thumbs_down, ideal_count",
)
_NO_SUMMARY = (0, 0, None, None, None, 0, 0, 0)
_VOTE_INTERACTION_INSERT = _insert(
    "interactions", "id, question, answer, model, variant_id, source, meta, created_at"
)
_VOTE_INSERT = _insert(
    "comparisons",
    "question, interaction_a, interaction_b, variant_a, variant_b, winner, reason, reviewer,"
    " source, created_at, length_a, length_b, external_id",
)


# Columns a caller may set when it records an answer.
INTERACTION_RESULT_FIELDS = (
    "answer",
    "model",
    "backend",
    "latency_ms",
    "ttft_ms",
    "prompt_tokens",
    "completion_tokens",
    "error",
)


INTERACTION_COLUMNS = (
    "id", "conversation_id", "turn", "question", "answer", "system_prompt", "model", "backend",
    "variant_id", "params", "latency_ms", "ttft_ms", "prompt_tokens", "completion_tokens", "error",
    "source", "external_id", "content_hash", "meta", "created_at",
)


class ImportRating(NamedTuple):
    """One reviewer's rating carried by an imported record (already checked)."""

    reviewer: str
    stars: int | None = None
    thumbs: int | None = None
    comment: str | None = None
    tags: tuple[str, ...] = ()
    ideal_answer: str | None = None


class ImportRow(NamedTuple):
    """One checked interaction record, ready to be written by an ImportSession."""

    question: str
    content_hash: str
    answer: str | None = None
    model: str | None = None
    variant: str | None = None  # a variant name; its latest version is used, created when new
    created_at: str | None = None  # normalized UTC text; None means "now"
    latency_ms: float | None = None
    ttft_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    system_prompt: str | None = None
    backend: str | None = None
    error: str | None = None
    conversation_key: str | None = None
    turn: int | None = None  # as given in the file
    position: int | None = None  # 1-based place of the record in its conversation, in file order
    external_id: str | None = None
    meta: str | None = None  # JSON text of an object
    rating: ImportRating | None = None


class ImportVote(NamedTuple):
    """One checked pairwise vote: two answers to one question and which one won."""

    question: str
    answer_a: str
    answer_b: str
    variant_a: str
    variant_b: str
    winner: str  # a, b, tie or both_bad
    external_id: str  # given, or a digest of what the vote says
    reviewer: str | None = None
    reason: str | None = None
    created_at: str | None = None  # normalized UTC text; None means "now"
    model_a: str | None = None
    model_b: str | None = None
    meta: str | None = None  # JSON text of an object, kept on both answers

    @property
    def key(self) -> tuple:
        """What makes two votes the same vote (their external id aside)."""
        return vote_key(self._asdict())


VOTE_PARTS = ("question", "answer_a", "answer_b", "variant_a", "variant_b", "winner", "reviewer")


def vote_key(vote: dict[str, Any]) -> tuple:
    """What makes two votes the same vote (their external id aside)."""
    return tuple(vote.get(k) or None for k in VOTE_PARTS)


@dataclass
class BatchOutcome:
    """What one batch did: lines that added something, lines already there, lines refused."""

    added: int = 0
    present: int = 0
    conflicts: list[tuple[int, str]] = field(default_factory=list)  # (index in batch, reason)
    added_at: set[int] = field(default_factory=set)  # indexes in the batch that added something


@dataclass
class ImportTotals:
    """Rows an import session created, by table."""

    interactions: int = 0
    ratings: int = 0
    conversations: int = 0
    variants: int = 0
    votes: int = 0


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def _rating_key(stars: Any, thumbs: Any, comment: Any, tags: Any, ideal: Any) -> tuple:
    return (stars, thumbs, comment or None, tuple(tags), ideal or None)


_TEXT_PARTS = ("question", "answer", "error")


def _text_key(question: str | None, answer: str | None, error: str | None) -> tuple[bytes, ...]:
    """Digests of what an interaction says (its question, answer and error), one per part."""
    return tuple(
        hashlib.blake2b(("\x00" if t is None else "\x01" + t).encode("utf-8", "surrogatepass"),
                        digest_size=16).digest()
        for t in (question, answer, error)
    )


class ImportSession:
    """Writes checked records into the open write transaction of an import.

    Records are the same when they carry the same ``external_id``, else the same content hash.
    A record whose interaction is already stored only adds its rating, when that reviewer has
    not rated it yet; a rating equal to the stored one makes the record "already present".
    An ``external_id`` names one interaction: a record whose id is already used (stored, or
    earlier in the same import) by a different question, answer or error is refused.
    """

    def __init__(self, db: Database, source: str, expected_rows: int | None = None) -> None:
        self.db = db
        self.conn = db.conn
        self.source = source
        self.stamp = now_iso()
        self.totals = ImportTotals()
        self._variants: dict[str, int] = {}
        self._conversations: dict[str, tuple[int, int]] = {}  # key -> (id, turns before import)
        self._next_interaction = self._next_id("interactions")
        self._next_rating = self._next_id("ratings")
        self._next_conversation = self._next_id("conversations")
        self._fts_trigger: str | None = None
        self._automerge = FTS_AUTOMERGE_DEFAULT
        self._dropped_indexes: list[str] = []
        self._dropped_triggers: list[str] = []
        self._deferred = False  # a bulk import: text, summaries and rollups at the end
        self._first_rating = self._next_rating
        self._first_interaction = self._next_interaction
        self._rated_again: set[int] = set()  # interactions rated after they were written
        expected = expected_rows or 0
        self.batch_fts = expected >= FTS_BATCH_MIN_ROWS
        self._expected = expected
        self._stored_before = self._next_interaction - 1
        self._bulk_decided = False
        self._hashes: dict[int, str | None] = {}  # stored interaction -> its content hash
        self._texts: dict[int, tuple[bytes, ...]] = {}  # interaction -> _text_key of it
        self._lines: dict[int, int] = {}  # interaction added by this import -> its line
        # vote external id -> (what the vote says, its line in this import or None when stored)
        self._votes: dict[str, tuple[tuple, int | None]] = {}

    def _next_id(self, table: str) -> int:
        return int(self.conn.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}").fetchone()[0])

    # -- start and finish -----------------------------------------------------

    def _begin(self) -> None:
        if not self.batch_fts:
            return  # a few rows: the triggers index them, and the schema stays untouched
        # Index the text of each batch in one statement instead of one trigger call per row.
        row = self.conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", [FTS_INSERT_TRIGGER]
        ).fetchone()
        if row is not None:
            self._fts_trigger = row[0]
            self.conn.execute(f"DROP TRIGGER {FTS_INSERT_TRIGGER}")
            # Merge the text index's segments less eagerly while importing (restored at the end).
            stored = self.conn.execute(
                "SELECT v FROM interactions_fts_config WHERE k = 'automerge'"
            ).fetchone()
            self._automerge = int(stored[0]) if stored else FTS_AUTOMERGE_DEFAULT
            self._fts_setting("automerge", FTS_AUTOMERGE_IMPORT)

    def _decide_bulk(self, batch_rows: int, new_rows: int) -> None:
        """After the first batch: will this import add many rows to a table no bigger?"""
        if self._bulk_decided or not batch_rows:
            return
        self._bulk_decided = True
        likely_new = self._expected * new_rows / batch_rows
        if likely_new >= BULK_MIN_ROWS and likely_new >= self._stored_before:
            # Building each index once, sorted, at the end is much cheaper than updating it
            # row by row. (A re-import that adds nothing keeps its indexes.)
            marks = _marks(BULK_TABLES)
            for name, sql in self.conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                f" AND tbl_name IN ({marks}) ORDER BY name",
                BULK_TABLES,
            ).fetchall():
                # A unique index guards the data as rows go in: it stays.
                if name not in KEPT_INDEXES and not sql.lstrip().upper().startswith("CREATE UNIQUE"):
                    self._dropped_indexes.append(sql)
                    self.conn.execute(f"DROP INDEX [{name}]")
            if self._fts_trigger is not None:
                self._deferred = True
                for name, sql in self.conn.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                    f" AND name IN ({_marks(DEFERRED_TRIGGERS)}) ORDER BY name",
                    DEFERRED_TRIGGERS,
                ).fetchall():
                    self._dropped_triggers.append(sql)
                    self.conn.execute(f"DROP TRIGGER [{name}]")

    def _finish(self) -> None:
        if self._deferred:
            if self._stored_before == 0:  # every row is new: build the text index in one pass
                self.conn.execute("INSERT INTO interactions_fts (interactions_fts) VALUES ('rebuild')")
            else:
                self._index_range(self._first_interaction)
            self._summarize_ratings()
            for sql in self._dropped_triggers:
                self.conn.execute(sql)
            self._dropped_triggers = []
            self._deferred = False
        for sql in self._dropped_indexes:
            self.conn.execute(sql)
        self._dropped_indexes = []
        if self._fts_trigger is not None:
            self._fts_setting("automerge", self._automerge)
            self.conn.execute(self._fts_trigger)
            self._fts_trigger = None

    def _fts_setting(self, name: str, value: int) -> None:
        self.conn.execute(
            "INSERT INTO interactions_fts (interactions_fts, rank) VALUES (?, ?)", [name, value]
        )

    # -- lookups --------------------------------------------------------------

    def _variant_id(self, name: str) -> int:
        if name not in self._variants:
            row = self.conn.execute(
                "SELECT id FROM variants WHERE name = ? ORDER BY version DESC LIMIT 1", [name]
            ).fetchone()
            if row is None:
                cursor = self.conn.execute(
                    "INSERT INTO variants (name, version, created_at) VALUES (?, 1, ?)",
                    [name, self.stamp],
                )
                self.totals.variants += 1
                self._variants[name] = inserted_id(cursor)
            else:
                self._variants[name] = int(row[0])
        return self._variants[name]

    def _resolve_conversations(self, rows: Sequence[ImportRow]) -> None:
        wanted: dict[str, ImportRow] = {}
        for row in rows:
            key = row.conversation_key
            if key is not None and key not in self._conversations and key not in wanted:
                wanted[key] = row
        if not wanted:
            return
        keys = list(wanted)
        for part in _chunks(keys):
            for conv_id, key, turns in self.conn.execute(
                "SELECT c.id, c.external_id, (SELECT COALESCE(MAX(turn), 0) FROM interactions"
                " WHERE conversation_id = c.id) FROM conversations c"
                f" WHERE c.source = ? AND c.external_id IN ({_marks(part)})",
                [self.source, *part],
            ):
                self._conversations.setdefault(key, (int(conv_id), int(turns)))
        new = []
        for key in keys:
            if key not in self._conversations:
                first = wanted[key]
                conv_id = self._next_conversation
                self._next_conversation += 1
                self._conversations[key] = (conv_id, 0)
                new.append((conv_id, first.question[:80], self.source, key, first.created_at or self.stamp))
        if new:
            self.conn.executemany(_CONVERSATION_INSERT, new)
            self.totals.conversations += len(new)

    def _stored(self, rows: Sequence[ImportRow]) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
        """Interactions already stored under the rows' external ids and content hashes."""
        by_external: dict[str, list[int]] = {}
        by_hash: dict[str, list[int]] = {}
        externals = list({r.external_id for r in rows if r.external_id is not None})
        hashes = list({r.content_hash for r in rows if r.external_id is None})
        # No ORDER BY here: it would make SQLite walk the table instead of the index.
        for part in _chunks(externals):
            for iid, key, digest in self.conn.execute(
                "SELECT id, external_id, content_hash FROM interactions"
                f" WHERE external_id IN ({_marks(part)})",
                part,
            ):
                by_external.setdefault(key, []).append(iid)
                self._hashes.setdefault(iid, digest)
        for part in _chunks(hashes):
            for iid, key in self.conn.execute(
                f"SELECT id, content_hash FROM interactions WHERE content_hash IN ({_marks(part)})",
                part,
            ):
                by_hash.setdefault(key, []).append(iid)
        for found in (by_external, by_hash):
            for ids in found.values():
                ids.sort()  # oldest first
        return by_external, by_hash

    def _text_of(self, iid: int) -> tuple[bytes, ...]:
        if iid not in self._texts:
            row = self.conn.execute(
                "SELECT question, answer, error FROM interactions WHERE id = ?", [iid]
            ).fetchone()
            self._texts[iid] = _text_key(*row) if row is not None else ()
        return self._texts[iid]

    def _same_text(self, iid: int, row: ImportRow) -> bool:
        """Whether interaction ``iid`` says what ``row`` says (metadata such as the time may
        differ: a record sent again is the same record)."""
        if iid not in self._texts and self._hashes.get(iid) == row.content_hash:
            return True
        return self._text_of(iid) == _text_key(row.question, row.answer, row.error)

    def _clash(self, iid: int, row: ImportRow) -> str:
        """Why ``row`` cannot use the external id of interaction ``iid``."""
        theirs = self._text_of(iid)
        ours = _text_key(row.question, row.answer, row.error)
        part = next((p for p, a, b in zip(_TEXT_PARTS, theirs, ours) if a != b), "question")
        where = (f"on line {self._lines[iid]} of this import" if iid in self._lines
                 else f"by stored interaction #{iid}")
        return (f"external_id {row.external_id!r} is already used {where} for a different"
                f" {part}; give each interaction its own external_id")

    def _stored_ratings(self, interaction_ids: list[int]) -> dict[tuple[int, str], tuple]:
        ratings: dict[tuple[int, str], tuple] = {}
        for part in _chunks(interaction_ids):
            for iid, reviewer, stars, thumbs, comment, tags, ideal in self.conn.execute(
                "SELECT interaction_id, reviewer, stars, thumbs, comment, tags, ideal_answer"
                f" FROM ratings WHERE interaction_id IN ({_marks(part)})",
                part,
            ):
                key = _rating_key(stars, thumbs, comment, sorted(json.loads(tags or "[]")), ideal)
                ratings[(iid, reviewer)] = key
        return ratings

    # -- writing --------------------------------------------------------------

    def add(self, rows: Sequence[ImportRow], lines: Sequence[int] | None = None) -> BatchOutcome:
        """Write one batch of records; say which were new, already present or in conflict.

        ``lines`` (the records' line numbers) lets a refusal name the line it clashes with.
        """
        outcome = BatchOutcome()
        if not rows:
            return outcome
        self._resolve_conversations(rows)
        by_external, by_hash = self._stored(rows)
        known = [iid for ids in (*by_external.values(), *by_hash.values()) for iid in ids]
        ratings = self._stored_ratings(known) if known else {}

        interactions: list[tuple] = []
        summaries: list[tuple] = []
        new_ratings: list[Rating] = []
        first_id = self._next_interaction

        for index, row in enumerate(rows):
            if row.external_id is not None:
                candidates = by_external.setdefault(row.external_id, [])
                if candidates:
                    same = [c for c in candidates if self._same_text(c, row)]
                    if not same:
                        outcome.conflicts.append((index, self._clash(candidates[0], row)))
                        continue
                    candidates = same  # (a new interaction is never added to these)
            else:
                candidates = by_hash.setdefault(row.content_hash, [])
            rating = row.rating
            target: int | None = None
            if candidates:
                if rating is None:
                    outcome.present += 1
                    continue
                key = _rating_key(
                    rating.stars, rating.thumbs, rating.comment, rating.tags, rating.ideal_answer
                )
                if any(ratings.get((c, rating.reviewer)) == key for c in candidates):
                    outcome.present += 1
                    continue
                target = next((c for c in candidates if (c, rating.reviewer) not in ratings), None)
                if target is None and row.external_id is not None:
                    outcome.conflicts.append((
                        index,
                        (f"external_id {row.external_id!r} is already stored with a different"
                         f" rating by {rating.reviewer!r}; an import never overwrites a rating"),
                    ))
                    continue
            created = row.created_at or self.stamp
            if target is None:
                target = self._next_interaction
                self._next_interaction += 1
                candidates.append(target)
                interactions.append(self._interaction_tuple(target, row, created))
                summaries.append(_NO_SUMMARY if rating is None else (
                    1, int(rating.stars is not None), rating.stars, rating.stars, rating.stars,
                    int(rating.thumbs == 1), int(rating.thumbs == -1),
                    int(rating.ideal_answer is not None),
                ))
                if row.external_id is not None:
                    self._texts[target] = _text_key(row.question, row.answer, row.error)
                    if lines is not None:
                        self._lines[target] = lines[index]
            elif rating is not None:
                self._rated_again.add(target)
            if rating is not None:
                rating_id = self._next_rating
                self._next_rating += 1
                ratings[(target, rating.reviewer)] = _rating_key(
                    rating.stars, rating.thumbs, rating.comment, rating.tags, rating.ideal_answer
                )
                new_ratings.append(Rating(
                    target, rating.reviewer, rating.stars, rating.thumbs, rating.comment,
                    rating.tags, rating.ideal_answer, created, created, id=rating_id,
                ))
            outcome.added += 1
            outcome.added_at.add(index)

        self._decide_bulk(len(rows), len(interactions))
        if interactions and self._deferred:
            self.conn.executemany(_INTERACTION_SUMMARY_INSERT,
                                  [i + s for i, s in zip(interactions, summaries)])
        elif interactions:
            self.conn.executemany(_INTERACTION_INSERT, interactions)
            self._index_text(first_id)
        if new_ratings:
            write_ratings(self.conn, new_ratings)
        self.totals.interactions += len(interactions)
        self.totals.ratings += len(new_ratings)
        return outcome

    def add_votes(
        self, votes: Sequence[ImportVote], lines: Sequence[int] | None = None
    ) -> BatchOutcome:
        """Write one batch of pairwise votes (each answer becomes an interaction).

        A vote is the same as a stored one when it carries the same external id; an external
        id already used for a different vote (stored, or earlier in this import) is refused.
        """
        outcome = BatchOutcome()
        if not votes:
            return outcome
        wanted = [v.external_id for v in votes if v.external_id not in self._votes]
        for part in _chunks(list(dict.fromkeys(wanted))):
            for row in self.conn.execute(
                "SELECT c.external_id, c.question, a.answer, b.answer, c.variant_a, c.variant_b,"
                " c.winner, c.reviewer FROM comparisons c"
                " LEFT JOIN interactions a ON a.id = c.interaction_a"
                " LEFT JOIN interactions b ON b.id = c.interaction_b"
                f" WHERE c.external_id IN ({_marks(part)}) ORDER BY c.id DESC",
                list(part),
            ):
                self._votes[row[0]] = (tuple(v or None for v in row[1:]), None)
        interactions: list[tuple] = []
        comparisons: list[tuple] = []
        first_id = self._next_interaction
        for index, vote in enumerate(votes):
            known = self._votes.get(vote.external_id)
            if known is not None:
                if known[0] == vote.key:
                    outcome.present += 1
                else:
                    where = (f"on line {known[1]}" if known[1] is not None
                             else "by a different stored vote")
                    outcome.conflicts.append((index, (
                        f"external_id {vote.external_id!r} is already used {where}"
                        f"{' for a different vote' if known[1] is not None else ''};"
                        " give each vote its own external_id"
                    )))
                continue
            self._votes[vote.external_id] = (vote.key, lines[index] if lines is not None else 0)
            created = vote.created_at or self.stamp
            ids = []
            for answer, variant, model in ((vote.answer_a, vote.variant_a, vote.model_a),
                                           (vote.answer_b, vote.variant_b, vote.model_b)):
                iid = self._next_interaction
                self._next_interaction += 1
                ids.append(iid)
                interactions.append((
                    iid, vote.question, answer, model,
                    self._variant_id(variant) if variant else None, self.source, vote.meta, created,
                ))
            comparisons.append((
                vote.question, ids[0], ids[1], vote.variant_a, vote.variant_b, vote.winner,
                vote.reason, vote.reviewer, self.source, created, len(vote.answer_a),
                len(vote.answer_b), vote.external_id,
            ))
            outcome.added += 1
            outcome.added_at.add(index)
        if interactions:
            self.conn.executemany(_VOTE_INTERACTION_INSERT, interactions)
            self._index_text(first_id)
            self.conn.executemany(_VOTE_INSERT, comparisons)
        self.totals.interactions += len(interactions)
        self.totals.votes += len(comparisons)
        return outcome

    def _summarize_ratings(self) -> None:
        """The rating summary, from all its ratings, of every interaction rated after it was
        written (new interactions were written with the summary of the rating they came with)."""
        for part in _chunks(sorted(self._rated_again)):
            self.conn.execute(
                f"UPDATE interactions SET ({_SUMMARY_COLUMNS}) ="
                " (s.n, s.n_stars, s.mean, s.lo, s.hi, s.up, s.down, s.ideal)"
                " FROM (SELECT interaction_id, COUNT(*) AS n, COUNT(stars) AS n_stars,"
                " AVG(stars) AS mean, MIN(stars) AS lo, MAX(stars) AS hi, TOTAL(thumbs = 1) AS up,"
                " TOTAL(thumbs = -1) AS down, TOTAL(ideal_answer IS NOT NULL) AS ideal"
                f" FROM ratings WHERE interaction_id IN ({_marks(part)}) GROUP BY interaction_id)"
                " AS s WHERE interactions.id = s.interaction_id",
                list(part),
            )
        self._rated_again = set()

    def _index_text(self, first_id: int) -> None:
        """Index the text of the interactions added since ``first_id`` when the trigger is off
        (a bulk import indexes it all at the end)."""
        if not self._deferred:
            self._index_range(first_id)

    def _index_range(self, first_id: int) -> None:
        if self._fts_trigger is not None and self._next_interaction > first_id:
            self.conn.execute(
                "INSERT INTO interactions_fts (rowid, question, answer)"
                " SELECT id, question, answer FROM interactions WHERE id >= ? AND id < ?",
                [first_id, self._next_interaction],
            )

    def _interaction_tuple(self, iid: int, row: ImportRow, created: str) -> tuple:
        conversation_id = turn = None
        if row.conversation_key is not None:
            conversation_id, turns_before = self._conversations[row.conversation_key]
            turn = row.turn if row.turn is not None else turns_before + (row.position or 1)
        else:
            turn = row.turn if row.turn is not None else 1
        variant_id = self._variant_id(row.variant) if row.variant is not None else None
        return (
            iid, conversation_id, turn, row.question, row.answer, row.system_prompt, row.model,
            row.backend, variant_id, row.latency_ms, row.ttft_ms, row.prompt_tokens,
            row.completion_tokens, row.error, self.source, row.external_id, row.content_hash,
            row.meta, created,
        )


class Ingest(Area):
    """Ingest methods of the Store."""

    @contextlib.contextmanager
    def import_session(
        self, source: str = "import", expected_rows: int | None = None
    ) -> Iterator[ImportSession]:
        """One write transaction for a whole import: it commits when the block ends normally.

        ``expected_rows`` (an estimate) lets a big import into a smaller table rebuild the
        indexes once at the end instead of updating them row by row.
        """
        cache: int | None = None
        try:
            with self.store.write() as db:
                if (expected_rows or 0) >= FTS_BATCH_MIN_ROWS:
                    cache = int(db.conn.execute("PRAGMA cache_size").fetchone()[0])
                    db.conn.execute(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
                session = ImportSession(db, source, expected_rows)
                session._begin()
                yield session
                session._finish()
        finally:
            if cache is not None:
                with self.store.lock:
                    self.store.db.conn.execute(f"PRAGMA cache_size = {cache}")

    def votes_by_external_id(self, external_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Stored pairwise votes by external id: question, both answers and variants, winner,
        reviewer."""
        ids = list(dict.fromkeys(external_ids))
        found: dict[str, dict[str, Any]] = {}
        for part in _chunks(ids):
            for row in self.store.rows(
                "SELECT c.external_id, c.question, a.answer AS answer_a, b.answer AS answer_b,"
                " c.variant_a, c.variant_b, c.winner, c.reviewer FROM comparisons c"
                " LEFT JOIN interactions a ON a.id = c.interaction_a"
                " LEFT JOIN interactions b ON b.id = c.interaction_b"
                f" WHERE c.external_id IN ({_marks(part)}) ORDER BY c.id",
                list(part),
            ):
                found.setdefault(row.pop("external_id"), row)
        return found

    # -- demo data ------------------------------------------------------------

    def source_count(self, source: str) -> int:
        """How many interactions come from this source (chat, import, demo...)."""
        return int(self.store.scalar("SELECT COUNT(*) FROM interactions WHERE source = ?", [source]))

    def remove_source(self, source: str) -> int:
        """Delete the interactions of one source, what refers to them, and their conversations."""
        with self.store.write() as db:
            count = self.source_count(source)
            delete_with_dependents(db, "interactions", "source = ?", [source])
            delete_with_dependents(
                db,
                "conversations",
                "source = ? AND NOT EXISTS (SELECT 1 FROM interactions i"
                " WHERE i.conversation_id = conversations.id)",
                [source],
            )
        return count

    def load_demo(
        self,
        variants: Iterable[dict[str, Any]],
        conversations: Iterable[dict[str, Any]],
        *,
        replace: bool = False,
    ) -> dict[str, int]:
        """Write a demo data set (source "demo") in one transaction; return the rows created.

        With ``replace``, the demo rows already there are removed first, in the same transaction
        (``removed`` in the result counts their interactions).

        ``variants``: dicts with name, version, system_prompt, template, params, created_at.
        ``conversations``: dicts with title, created_at and ``turns``, each turn a dict of
        interaction columns plus ``variant`` ((name, version) or None) and ``ratings`` (dicts
        with reviewer, stars, thumbs, comment, tags, ideal_answer, created_at).
        """
        counts = {"conversations": 0, "interactions": 0, "ratings": 0, "variants": 0, "removed": 0}
        with self.store.write() as db:
            conn = db.conn
            if replace:
                counts["removed"] = self.remove_source("demo")
            variant_ids: dict[tuple[str, int], int] = {}
            for variant in variants:
                variant_id, created = demo_variant(conn, variant)
                variant_ids[(variant["name"], variant["version"])] = variant_id
                counts["variants"] += created
            for conversation in conversations:
                conv_id = conn.execute(
                    "INSERT INTO conversations (title, reviewer, source, created_at)"
                    " VALUES (?, ?, 'demo', ?)",
                    [conversation.get("title"), conversation.get("reviewer"),
                     conversation["created_at"]],
                ).lastrowid
                counts["conversations"] += 1
                for number, turn in enumerate(conversation["turns"], start=1):
                    variant = turn.get("variant")
                    params = turn.get("params")
                    iid = inserted_id(conn.execute(
                        "INSERT INTO interactions (conversation_id, turn, question, answer,"
                        " system_prompt, model, backend, variant_id, params, latency_ms, ttft_ms,"
                        " prompt_tokens, completion_tokens, error, source, created_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'demo', ?)",
                        [
                            conv_id, number, turn["question"], turn.get("answer"),
                            turn.get("system_prompt"), turn.get("model"), turn.get("backend"),
                            variant_ids[tuple(variant)] if variant else None,
                            json.dumps(params) if params is not None else None,
                            turn.get("latency_ms"), turn.get("ttft_ms"), turn.get("prompt_tokens"),
                            turn.get("completion_tokens"), turn.get("error"), turn["created_at"],
                        ],
                    ))
                    counts["interactions"] += 1
                    for rating in turn.get("ratings", ()):
                        write_ratings(conn, [Rating(
                            iid, rating["reviewer"], rating.get("stars"), rating.get("thumbs"),
                            rating.get("comment"), sorted(set(rating.get("tags") or ())),
                            rating.get("ideal_answer"), rating["created_at"], rating["created_at"],
                        )])
                        counts["ratings"] += 1
        return counts

    # -- conversations and interactions ---------------------------------------

    def start_conversation(
        self, *, reviewer: str | None = None, title: str | None = None, source: str = "chat"
    ) -> int:
        """Create an empty conversation and return its id."""
        with self.store.write() as db:
            cursor = db.execute(
                "INSERT INTO conversations (title, reviewer, source, created_at) VALUES (?, ?, ?, ?)",
                [title, reviewer, source, now_iso()],
            )
            return inserted_id(cursor)

    def add_question(
        self,
        conversation_id: int,
        question: str,
        *,
        model: str | None = None,
        backend: str | None = None,
        system_prompt: str | None = None,
        params: dict[str, Any] | None = None,
        variant_id: int | None = None,
        source: str = "chat",
    ) -> int:
        """Store a question before it is answered, so it is never lost; return the interaction id."""
        with self.store.write() as db:
            turn = db.execute(
                "SELECT COALESCE(MAX(turn), 0) + 1 FROM interactions WHERE conversation_id = ?",
                [conversation_id],
            ).fetchone()[0]
            cursor = db.execute(
                "INSERT INTO interactions (conversation_id, turn, question, system_prompt, model,"
                " backend, variant_id, params, source, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    conversation_id,
                    turn,
                    question,
                    system_prompt,
                    model,
                    backend,
                    variant_id,
                    json.dumps(params) if params is not None else None,
                    source,
                    now_iso(),
                ],
            )
            return inserted_id(cursor)

    def record_answer(self, interaction_id: int, **result: Any) -> None:
        """Record the outcome of a model call (answer or error, and its measurements)."""
        unknown = set(result) - set(INTERACTION_RESULT_FIELDS)
        if unknown:
            raise ValueError(f"unknown interaction fields: {sorted(unknown)}")
        if not result:
            return
        assignments = ", ".join(f"{column} = ?" for column in result)
        with self.store.write() as db:
            db.execute(
                f"UPDATE interactions SET {assignments} WHERE id = ?",
                [*result.values(), interaction_id],
            )

    def get_interaction(self, interaction_id: int) -> dict[str, Any] | None:
        """One interaction as a dict."""
        return self.store.one("SELECT * FROM interactions WHERE id = ?", [interaction_id])

    def conversation_turns(self, conversation_id: int) -> list[dict[str, Any]]:
        """Every interaction of a conversation, in turn order."""
        return self.store.rows(
            "SELECT * FROM interactions WHERE conversation_id = ? ORDER BY turn, id",
            [conversation_id],
        )

    def insert_interactions_bulk(self, rows: list[dict[str, Any]]) -> int:
        """Insert many interactions in one transaction (columns as in the table); return the count."""
        if not rows:
            return 0
        columns = list(rows[0])
        unknown = set(columns) - set(INTERACTION_COLUMNS)
        if unknown:
            raise ValueError(f"unknown interaction columns: {sorted(unknown)}")
        sql = (
            f"INSERT INTO interactions ({', '.join(columns)})"
            f" VALUES ({', '.join('?' for _ in columns)})"
        )
        with self.store.write() as db:
            db.conn.executemany(sql, [[row.get(c) for c in columns] for row in rows])
        return len(rows)

    def insert_ratings_bulk(self, rows: list[dict[str, Any]]) -> int:
        """Insert many ratings (with their tags) in one transaction; return the count."""
        if not rows:
            return 0
        ratings = [
            Rating(row["interaction_id"], row["reviewer"], row.get("stars"), row.get("thumbs"),
                   row.get("comment"), sorted(set(row.get("tags") or [])), row.get("ideal_answer"),
                   row["created_at"], row.get("updated_at") or row["created_at"])
            for row in rows
        ]
        with self.store.write() as db:
            write_ratings(db.conn, ratings)
        return len(rows)

    def max_interaction_id(self) -> int:
        """The highest interaction id (0 when empty)."""
        return int(self.store.scalar("SELECT COALESCE(MAX(id), 0) FROM interactions"))


def demo_variant(conn: Any, variant: dict[str, Any]) -> tuple[int, int]:
    """The id of a demo variant version (reused when identical, renamed when the name is taken)."""
    name = variant["name"]
    params = json.dumps(variant.get("params") or {}, sort_keys=True)
    while True:
        row = conn.execute(
            "SELECT id, system_prompt, template, params FROM variants WHERE name = ? AND version = ?",
            [name, variant["version"]],
        ).fetchone()
        if row is None:
            break
        same = (
            row[1] == variant.get("system_prompt")
            and row[2] == variant.get("template", "{question}")
            and json.dumps(json.loads(row[3] or "{}"), sort_keys=True) == params
        )
        if same:
            return int(row[0]), 0
        name = f"{name} (demo)"
    cursor = conn.execute(
        "INSERT INTO variants (name, version, model, system_prompt, template, params, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            name, variant["version"], variant.get("model"), variant.get("system_prompt"),
            variant.get("template", "{question}"), params, variant["created_at"],
        ],
    )
    return inserted_id(cursor), 1


def _referencing(db: Database, table: str) -> list[tuple[str, str, str]]:
    """(child table, child column, parent column) for every foreign key pointing at ``table``."""
    found = []
    for (child,) in db.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'"
    ).fetchall():
        if child == table:
            continue
        for fk in db.conn.execute(f"PRAGMA foreign_key_list([{child}])").fetchall():
            if fk[2] == table:
                found.append((child, fk[3], fk[4] or "rowid"))
    return found


def delete_with_dependents(
    db: Database, table: str, where: str, params: list[Any], depth: int = 0
) -> None:
    """Delete rows of ``table`` matching ``where`` and, first, every row that refers to them."""
    if depth > 5:
        raise RuntimeError(f"foreign keys nest too deeply below {table}")
    for child, column, parent_column in _referencing(db, table):
        delete_with_dependents(
            db,
            child,
            f"[{column}] IN (SELECT [{parent_column}] FROM [{table}] WHERE {where})",
            params,
            depth + 1,
        )
    db.conn.execute(f"DELETE FROM [{table}] WHERE {where}", params)
