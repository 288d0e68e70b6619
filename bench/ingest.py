"""Import speed: `python -m bench.ingest [LINES]` (default 1,000,000).

Writes a realistic JSONL feedback file into a temporary directory, imports it with
`dashboard.importing.import_file` into a fresh database, and compares the rate with a plain
`sqlite3` `executemany` of the same, already parsed, rows into plain tables (Loupe's tables as
they are declared, keys and constraints included, without the further indexes and triggers)
with the same FTS5 index, built once after the load ('rebuild'). Prints the figures: rows/s of
each and their ratio (the import aims at 0.6 or more of the plain rate).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dashboard.importing import check_record, import_file
from store import Store

ROOT = Path(__file__).resolve().parent.parent

MODELS = ["llama3.2:3b", "qwen2.5:7b", "mistral:7b"]
REVIEWERS = ["ana", "ben", "chen", "dara", "eli", "fatma"]
TAGS = ["wrong", "incomplete", "hallucination", "off-topic", "too long"]
TOPIC_WORDS = (
    "refund invoice charge subscription price card payment parcel delivery tracking courier"
    " address password login email profile battery screen update warranty token endpoint"
    " timeout webhook account order plan upgrade cancel receipt export import setting device"
).split()
CHUNK = 20_000


def _vocabulary(rng: random.Random, size: int = 6000) -> tuple[list[str], list[float]]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = TOPIC_WORDS + [
        "".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(size)
    ]
    weights = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(words))))
    return words, weights


def write_file(path: Path, lines: int, seed: int = 11) -> int:
    """A JSONL file like a feedback log: most lines rated, some in conversations; return bytes."""
    rng = random.Random(seed)
    words, weights = _vocabulary(rng)
    start = datetime(2025, 6, 1, tzinfo=UTC)
    conversation = 0
    turn = 0
    with path.open("w", encoding="utf-8") as out:
        for n in range(lines):
            record: dict = {
                "question": " ".join(rng.choices(words, cum_weights=weights, k=rng.randint(6, 20))) + "?",
                "response": " ".join(rng.choices(words, cum_weights=weights, k=rng.randint(20, 80))) + ".",
                "model": rng.choice(MODELS),
                "created_at": (start + timedelta(seconds=n * 15 + rng.randint(0, 14)))
                .strftime("%Y-%m-%dT%H:%M:%SZ"),
                "latency_ms": round(rng.lognormvariate(6.5, 0.5), 1),
            }
            if rng.random() < 0.3:
                if turn == 0 or rng.random() < 0.4:
                    conversation += 1
                    turn = 0
                turn += 1
                record["conversation_id"] = f"c{conversation}"
                record["turn"] = turn
            if rng.random() < 0.6:
                record["rating"] = rng.choices([1, 2, 3, 4, 5], [8, 10, 20, 32, 30])[0]
                record["reviewer"] = rng.choice(REVIEWERS)
                if rng.random() < 0.2:
                    record["comment"] = " ".join(rng.choices(words, cum_weights=weights, k=8))
                if record["rating"] <= 2 and rng.random() < 0.5:
                    record["tags"] = rng.sample(TAGS, rng.randint(1, 2))
            out.write(json.dumps(record) + "\n")
    return path.stat().st_size


def plain_baseline(path: Path, db_path: Path) -> tuple[float, float]:
    """Seconds for plain executemany of the file's parsed rows (parsing not timed), the FTS5
    index built once after the load."""
    schema_path = db_path.with_name("schema.db")
    Store(schema_path).close()  # Loupe's schema, to copy its table declarations
    schema = sqlite3.connect(schema_path)
    tables = [sql for (sql,) in schema.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
        " AND name NOT LIKE 'interactions_fts_%' AND name != '_migrations'"
        " ORDER BY CASE name WHEN 'interactions_fts' THEN 1 ELSE 0 END, rowid")]
    schema.close()
    os.remove(schema_path)
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    for sql in tables:
        conn.execute(sql)
    elapsed = cpu = 0.0
    next_id = rating_id = conversation_id = 1
    conversations: dict[str, int] = {}
    stamp = "2026-01-01T00:00:00.000Z"
    with path.open("rb") as lines:
        conn.execute("BEGIN")
        while True:
            chunk = [line for _, line in zip(range(CHUNK), lines)]
            if not chunk:
                break
            interactions, ratings, tags, new_conversations = [], [], [], []
            for line in chunk:
                row = check_record(json.loads(line))
                conv = None
                if row.conversation_key is not None:
                    if row.conversation_key not in conversations:
                        conversations[row.conversation_key] = conversation_id
                        new_conversations.append(
                            (conversation_id, row.question[:80], "import", row.conversation_key,
                             row.created_at or stamp))
                        conversation_id += 1
                    conv = conversations[row.conversation_key]
                interactions.append((
                    next_id, conv, row.turn or 1, row.question, row.answer, row.model,
                    row.latency_ms, "import", row.content_hash, row.meta, row.created_at or stamp,
                ))
                if row.rating is not None:
                    r = row.rating
                    ratings.append((rating_id, next_id, r.reviewer, r.stars, r.thumbs, r.comment,
                                    json.dumps(list(r.tags)), r.ideal_answer,
                                    row.created_at or stamp, row.created_at or stamp))
                    tags.extend((rating_id, next_id, tag) for tag in r.tags)
                    rating_id += 1
                next_id += 1
            began, cpu_began = time.perf_counter(), time.process_time()
            conn.executemany(
                "INSERT INTO conversations (id, title, source, external_id, created_at)"
                " VALUES (?, ?, ?, ?, ?)", new_conversations)
            conn.executemany(
                "INSERT INTO interactions (id, conversation_id, turn, question, answer, model,"
                " latency_ms, source, content_hash, meta, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", interactions)
            conn.executemany(
                "INSERT INTO ratings (id, interaction_id, reviewer, stars, thumbs, comment, tags,"
                " ideal_answer, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ratings)
            conn.executemany(
                "INSERT INTO rating_tags (rating_id, interaction_id, tag) VALUES (?, ?, ?)", tags)
            elapsed += time.perf_counter() - began
            cpu += time.process_time() - cpu_began
        began, cpu_began = time.perf_counter(), time.process_time()
        conn.execute("INSERT INTO interactions_fts (interactions_fts) VALUES ('rebuild')")
        conn.execute("COMMIT")
        elapsed += time.perf_counter() - began
        cpu += time.process_time() - cpu_began
    conn.close()
    return elapsed, cpu


def main(lines: int) -> None:
    """Write the file, time the import and the plain baseline, print the figures."""
    with tempfile.TemporaryDirectory(prefix="loupe-bench-ingest-") as tmp:
        folder = Path(tmp)
        data = folder / "feedback.jsonl"
        began = time.perf_counter()
        size = write_file(data, lines)
        print(f"file: {lines:,} lines, {size / 1e6:,.0f} MB (written in"
              f" {time.perf_counter() - began:.0f} s)")

        store = Store(folder / "import.db")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        began, cpu = time.perf_counter(), time.process_time()
        report = import_file(store, data)
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        assert report.committed, report.closing()
        counts = store.summary()
        store.close()
        print(f"import:   {seconds:6.1f} s  {lines / seconds:>9,.0f} rows/s  (CPU {cpu:.1f} s)"
              f"  ({report.summary()}; {counts['interactions']:,} interactions,"
              f" {counts['ratings']:,} ratings)")
        print(f"memory:   peak resident size {rss_after / 1024:,.0f} MB"
              f" ({rss_before / 1024:,.0f} MB before the import)")

        plain, plain_cpu = plain_baseline(data, folder / "plain.db")
        print(f"plain:    {plain:6.1f} s  {lines / plain:>9,.0f} rows/s  (CPU {plain_cpu:.1f} s;"
              " executemany of the parsed rows, parsing not timed; FTS5 built once after)")
        print(f"ratio import/plain: {plain / seconds:.2f} (wall clock), {plain_cpu / cpu:.2f} (CPU"
              " time, steadier on a shared machine); the aim is 0.6 or more")

        store = Store(folder / "import.db")
        began = time.perf_counter()
        again = import_file(store, data)
        seconds = time.perf_counter() - began
        store.close()
        print(f"re-import: {seconds:5.1f} s  {lines / seconds:>9,.0f} rows/s  ({again.summary()})")
        for name in ("import.db", "plain.db"):
            os.remove(folder / name)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
