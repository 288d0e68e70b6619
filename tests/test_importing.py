"""Importing feedback files: every bad line named by its line number, all or nothing, no duplicates."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard import importing
from dashboard.importing import ImportProblem, import_file, import_stream
from store import Store, ingest
from tests.paths import ROOT

GOOD = {"question": "How do I reset my password?", "answer": "Use Forgot password.", "rating": 4}


def write(folder: Path, name: str, content: str | bytes | list) -> Path:
    path = folder / name
    if isinstance(content, list):
        content = "".join(
            (line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n"
            for line in content
        )
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def run(store: Store, path: Path, **options):
    refused = []
    report = import_file(store, path, on_refused=refused.append, **options)
    return report, [(r.line, r.reason) for r in refused]


def rows(store: Store, sql: str, params=()) -> list[dict]:
    return store.rows(sql, params)


def count(store: Store, table: str) -> int:
    return store.scalar(f"SELECT COUNT(*) FROM {table}")


# -- what lands ---------------------------------------------------------------------------------


def test_plain_feedback_endpoint_records_import_as_they_are(store, tmp_path):
    path = write(tmp_path, "feedback.jsonl", [
        {"question": "Where is my order?", "response": "It ships today.", "rating": 5,
         "comment": "great"},
        {"question": "Can I pay by invoice?", "response": "No.", "rating": 2, "comment": ""},
    ])
    report, refused = run(store, path)
    assert refused == [] and report.committed
    assert report.summary() == "2 imported, 0 already present"
    stored = rows(store, "SELECT i.question, i.answer, i.source, r.stars, r.comment, r.reviewer"
                         " FROM interactions i JOIN ratings r ON r.interaction_id = i.id ORDER BY i.id")
    assert stored == [
        {"question": "Where is my order?", "answer": "It ships today.", "source": "import",
         "stars": 5, "comment": "great", "reviewer": "imported"},
        {"question": "Can I pay by invoice?", "answer": "No.", "source": "import",
         "stars": 2, "comment": None, "reviewer": "imported"},
    ]


def test_aliases_map_to_question_and_answer_and_the_canonical_name_wins(store, tmp_path):
    path = write(tmp_path, "a.jsonl", [
        {"input": "q1", "output": "a1"},
        {"prompt": "q2", "response": "a2", "stars": 3},
        {"question": "q3", "prompt": "the prompt template", "answer": "a3"},
    ])
    report, refused = run(store, path)
    assert refused == []
    stored = rows(store, "SELECT question, answer, meta FROM interactions ORDER BY id")
    assert [(r["question"], r["answer"]) for r in stored] == [("q1", "a1"), ("q2", "a2"), ("q3", "a3")]
    assert json.loads(stored[2]["meta"]) == {"prompt": "the prompt template"}
    assert store.review.ratings_for(2)[0]["stars"] == 3


def test_every_field_is_stored(store, tmp_path):
    record = {
        "question": "Why 429?", "answer": "Rate limit.", "rating": 2, "thumbs": "down",
        "comment": "vague", "tags": ["incomplete", "wrong"], "ideal_answer": "Wait Retry-After s.",
        "reviewer": "ana", "model": "qwen2.5:7b", "variant": "concise",
        "created_at": "2026-01-31T13:00:00+01:00", "latency_ms": 812.5, "ttft_ms": 120,
        "prompt_tokens": 40, "completion_tokens": 12, "conversation_id": "c-9", "turn": 2,
        "external_id": "ext-1", "meta": {"app": "web"}, "locale": "fr",
    }
    report, refused = run(store, write(tmp_path, "full.jsonl", [record]))
    assert refused == [] and report.committed
    [item] = rows(store, "SELECT * FROM interactions")
    assert item["created_at"] == "2026-01-31T12:00:00.000Z"
    assert (item["model"], item["latency_ms"], item["ttft_ms"]) == ("qwen2.5:7b", 812.5, 120)
    assert (item["prompt_tokens"], item["completion_tokens"], item["turn"]) == (40, 12, 2)
    assert item["external_id"] == "ext-1"
    assert json.loads(item["meta"]) == {"app": "web", "locale": "fr"}
    variant = store.experiments.get_variant(item["variant_id"])
    assert (variant["name"], variant["version"]) == ("concise", 1)
    conversation = store.one("SELECT * FROM conversations WHERE id = ?", [item["conversation_id"]])
    assert (conversation["source"], conversation["external_id"]) == ("import", "c-9")
    [rating] = store.review.ratings_for(item["id"])
    assert rating["reviewer"] == "ana" and rating["stars"] == 2 and rating["thumbs"] == -1
    assert rating["tags"] == ["incomplete", "wrong"] and rating["ideal_answer"].startswith("Wait")
    assert rating["created_at"] == "2026-01-31T12:00:00.000Z"
    assert report.totals.variants == 1 and report.totals.conversations == 1


def test_a_known_variant_name_uses_its_latest_version(store, tmp_path):
    store.experiments.add_variant("concise")
    latest = store.experiments.add_variant("concise", system_prompt="Two sentences.")
    run(store, write(tmp_path, "v.jsonl", [dict(GOOD, variant="concise")]))
    assert rows(store, "SELECT variant_id FROM interactions")[0]["variant_id"] == latest
    assert count(store, "variants") == 2


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("2026-01-31T12:00:00Z", "2026-01-31T12:00:00.000Z"),
        ("2026-01-31T12:00:00.123456+00:00", "2026-01-31T12:00:00.123Z"),
        ("2026-01-31T08:30:00-05:00", "2026-01-31T13:30:00.000Z"),
        ("2026-01-31 12:00", "2026-01-31T12:00:00.000Z"),
        ("2026-01-31", "2026-01-31T00:00:00.000Z"),
    ],
)
def test_dates_are_stored_in_utc(store, tmp_path, given, stored):
    run(store, write(tmp_path, "d.jsonl", [dict(GOOD, created_at=given)]))
    assert rows(store, "SELECT created_at FROM interactions")[0]["created_at"] == stored


@pytest.mark.parametrize(
    ("thumbs", "stored"),
    [("up", 1), ("DOWN", -1), (1, 1), (-1, -1), ("-1", -1), (True, 1), (False, -1), ("true", 1)],
)
def test_thumbs_values(store, tmp_path, thumbs, stored):
    run(store, write(tmp_path, "t.jsonl", [{"question": "q", "answer": "a", "thumbs": thumbs}]))
    assert store.review.ratings_for(1)[0]["thumbs"] == stored


@pytest.mark.parametrize(
    "tags", [["wrong", "too long"], "wrong, too long", "too long,wrong,", ["wrong", " too long ", "wrong"]]
)
def test_tags_from_a_list_or_comma_separated_text(store, tmp_path, tags):
    run(store, write(tmp_path, "t.jsonl", [{"question": "q", "answer": "a", "tags": tags}]))
    assert store.review.ratings_for(1)[0]["tags"] == ["too long", "wrong"]
    assert {r["tag"] for r in rows(store, "SELECT tag FROM rating_tags")} == {"too long", "wrong"}


def test_a_record_without_rating_fields_creates_no_rating(store, tmp_path):
    run(store, write(tmp_path, "n.jsonl", [{"question": "q", "answer": "a", "reviewer": "ana"}]))
    assert count(store, "interactions") == 1 and count(store, "ratings") == 0


def test_imported_text_is_searchable_and_the_text_index_trigger_is_back(store, tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "FTS_BATCH_MIN_ROWS", 1)  # take the batched text-index path
    run(store, write(tmp_path, "s.jsonl", [{"question": "parcel never arrived", "answer": "sorry"}]))
    assert [r["question"] for r in store.review.search("parcel")] == ["parcel never arrived"]
    conversation = store.ingest.start_conversation()
    store.ingest.add_question(conversation, "a later zebra question")
    assert len(store.review.search("zebra")) == 1  # the per-row trigger works again


# -- conversations ------------------------------------------------------------------------------


def test_conversation_ids_group_records_and_turns_follow_the_file(store, tmp_path):
    path = write(tmp_path, "c.jsonl", [
        {"question": "first", "answer": "1", "conversation_id": "abc"},
        {"question": "other chat", "answer": "x", "conversation_id": 42},
        {"question": "second", "answer": "2", "conversation_id": "abc"},
        {"question": "explicit", "answer": "3", "conversation_id": "abc", "turn": 7},
        {"question": "alone", "answer": "4"},
    ])
    report, _ = run(store, path)
    conversations = rows(store, "SELECT id, external_id, source, title FROM conversations ORDER BY id")
    assert [(c["external_id"], c["source"]) for c in conversations] == [("abc", "import"), ("42", "import")]
    abc = conversations[0]["id"]
    assert [(t["question"], t["turn"]) for t in store.ingest.conversation_turns(abc)] == [
        ("first", 1), ("second", 2), ("explicit", 7)]
    assert conversations[0]["title"] == "first"
    assert rows(store, "SELECT conversation_id, turn FROM interactions WHERE question = 'alone'") == [
        {"conversation_id": None, "turn": 1}]
    assert report.totals.conversations == 2


def test_a_later_file_continues_an_imported_conversation(store, tmp_path):
    run(store, write(tmp_path, "1.jsonl", [{"question": "q1", "answer": "a", "conversation_id": "k"}]))
    run(store, write(tmp_path, "2.jsonl", [{"question": "q2", "answer": "b", "conversation_id": "k"}]))
    assert count(store, "conversations") == 1
    [conversation] = rows(store, "SELECT id FROM conversations")
    assert [(t["question"], t["turn"]) for t in store.ingest.conversation_turns(conversation["id"])] == [
        ("q1", 1), ("q2", 2)]


# -- no duplicates --------------------------------------------------------------------------------


def test_importing_the_same_file_twice_adds_nothing(store, tmp_path):
    path = write(tmp_path, "r.jsonl", [
        GOOD,
        {"question": "q2", "answer": "a2", "conversation_id": "c", "created_at": "2026-01-01T10:00:00Z"},
        {"question": "q3", "answer": "a3", "external_id": "x-3", "thumbs": "up", "tags": "ok"},
    ])
    first, _ = run(store, path)
    before = {t: count(store, t) for t in ("interactions", "ratings", "conversations", "rating_tags")}
    again, refused = run(store, path)
    assert first.summary() == "3 imported, 0 already present"
    assert again.summary() == "0 imported, 3 already present" and refused == []
    assert {t: count(store, t) for t in before} == before


def test_big_imports_find_duplicates_too(store, tmp_path, monkeypatch):
    # Big imports look duplicates up batch by batch, with the indexes rebuilt after the first.
    monkeypatch.setattr(ingest, "FTS_BATCH_MIN_ROWS", 1)
    monkeypatch.setattr(ingest, "BULK_MIN_ROWS", 1)
    monkeypatch.setattr(importing, "BATCH", 3)
    run(store, write(tmp_path, "old.jsonl", [{"question": "old", "answer": "a", "external_id": "o1"}]))
    lines = [
        {"question": "old", "answer": "a", "external_id": "o1", "reviewer": "ben", "rating": 3},
        GOOD, {"question": "n1"}, {"question": "n2"}, GOOD, {"question": "n1"}, {"question": "n3"},
    ]
    path = write(tmp_path, "big.jsonl", lines)
    first, _ = run(store, path)
    assert first.summary() == "5 imported, 2 already present"
    again, _ = run(store, path)
    assert again.summary() == "0 imported, 7 already present"
    assert count(store, "interactions") == 5 and count(store, "ratings") == 2
    assert [r["reviewer"] for r in store.review.ratings_for(1)] == ["ben"]


def test_repeated_lines_in_one_file_land_once(store, tmp_path):
    report, _ = run(store, write(tmp_path, "d.jsonl", [GOOD, GOOD]))
    assert report.summary() == "1 imported, 1 already present"
    assert count(store, "interactions") == 1 and count(store, "ratings") == 1


def test_two_reviewers_of_the_same_answer_make_one_interaction_with_two_ratings(store, tmp_path):
    base = {"question": "q", "answer": "a", "created_at": "2026-01-01T00:00:00Z"}
    report, _ = run(store, write(tmp_path, "two.jsonl", [
        dict(base, reviewer="ana", rating=5), dict(base, reviewer="ben", rating=2)]))
    assert report.summary() == "2 imported, 0 already present"
    assert count(store, "interactions") == 1
    assert sorted((r["reviewer"], r["stars"]) for r in store.review.ratings_for(1)) == [("ana", 5), ("ben", 2)]


def test_same_answer_rated_differently_by_anonymous_users_keeps_both(store, tmp_path):
    report, _ = run(store, write(tmp_path, "anon.jsonl", [
        {"question": "hi", "response": "hello", "rating": 5},
        {"question": "hi", "response": "hello", "rating": 1}]))
    assert report.summary() == "2 imported, 0 already present"
    assert sorted(r["stars"] for r in rows(store, "SELECT stars FROM ratings")) == [1, 5]
    again, _ = run(store, write(tmp_path, "anon2.jsonl", [{"question": "hi", "response": "hello", "rating": 1}]))
    assert again.summary() == "0 imported, 1 already present"


def test_external_id_names_the_interaction(store, tmp_path):
    run(store, write(tmp_path, "1.jsonl", [{"question": "q", "answer": "a", "external_id": "e1",
                                            "reviewer": "ana", "rating": 4}]))
    report, refused = run(store, write(tmp_path, "2.jsonl", [
        {"question": "q", "answer": "a", "external_id": "e1", "created_at": "2026-01-02"},
        {"question": "q", "answer": "a", "external_id": "e1", "reviewer": "ben", "rating": 2},
        {"question": "q", "answer": "a", "external_id": "e1", "reviewer": "ana", "rating": 4},
    ]))
    assert refused == [] and report.summary() == "1 imported, 2 already present"
    assert count(store, "interactions") == 1
    assert sorted((r["reviewer"], r["stars"]) for r in store.review.ratings_for(1)) == [("ana", 4), ("ben", 2)]


def test_one_external_id_with_two_questions_in_one_file_is_refused(store, tmp_path):
    path = write(tmp_path, "two.jsonl", [
        {"question": "How do I reset my password?", "answer": "Use the link.", "external_id": "t-1"},
        {"question": "Where is my parcel?", "answer": "On its way.", "external_id": "t-2"},
        {"question": "Can I pay by card?", "answer": "No.", "external_id": "t-1", "rating": 1,
         "tags": ["wrong"]},
    ])
    report, refused = run(store, path)
    assert refused == [(3, "external_id 't-1' is already used on line 1 of this import for a"
                           " different question; give each interaction its own external_id")]
    assert not report.committed and count(store, "interactions") == 0
    report, refused = run(store, path, skip_invalid=True)
    assert report.committed and [line for line, _ in refused] == [3]
    assert [r["question"] for r in rows(store, "SELECT question FROM interactions ORDER BY id")] == [
        "How do I reset my password?", "Where is my parcel?"]
    assert count(store, "ratings") == 0  # the 1-star rating is not pinned on the first question


@pytest.mark.parametrize(("changed", "part"), [
    ({"question": "q (edited)"}, "question"), ({"answer": "b"}, "answer"),
    ({"error": "timeout"}, "error"),
])
def test_an_external_id_already_stored_for_other_content_is_refused(store, tmp_path, changed, part):
    run(store, write(tmp_path, "1.jsonl", [{"question": "q", "answer": "a", "external_id": "e1"}]))
    report, refused = run(store, write(tmp_path, "2.jsonl", [
        {"question": "q", "answer": "a", "external_id": "e1", "reviewer": "ben", "rating": 2},
        {"question": "q", "answer": "a", "external_id": "e1"} | changed,
    ]))
    assert refused == [(2, f"external_id 'e1' is already used by stored interaction #1 for a"
                           f" different {part}; give each interaction its own external_id")]
    assert not report.committed and count(store, "ratings") == 0


def test_an_external_id_clash_across_batches_names_the_earlier_line(store, tmp_path, monkeypatch):
    monkeypatch.setattr(importing, "BATCH", 2)
    path = write(tmp_path, "b.jsonl", [{"question": f"q{n}", "external_id": f"x{n}"} for n in range(5)]
                 + [{"question": "other", "external_id": "x1"}])
    _, refused = run(store, path)
    assert refused == [(6, "external_id 'x1' is already used on line 2 of this import for a"
                           " different question; give each interaction its own external_id")]


def test_an_import_never_overwrites_a_rating(store, tmp_path):
    run(store, write(tmp_path, "1.jsonl", [{"question": "q", "answer": "a", "external_id": "e1",
                                            "reviewer": "ana", "rating": 4}]))
    report, refused = run(store, write(tmp_path, "2.jsonl", [
        {"question": "other", "answer": "b"},
        {"question": "q", "answer": "a", "external_id": "e1", "reviewer": "ana", "rating": 1},
    ]))
    assert refused == [(2, "external_id 'e1' is already stored with a different rating by 'ana';"
                           " an import never overwrites a rating")]
    assert report.refusals[0].raw == json.dumps(
        {"question": "q", "answer": "a", "external_id": "e1", "reviewer": "ana", "rating": 1})
    assert not report.committed and count(store, "interactions") == 1
    assert store.review.ratings_for(1)[0]["stars"] == 4


# -- refused lines --------------------------------------------------------------------------------

BAD_LINES = [
    ('{"question": "unterminated', "not valid JSON (Unterminated string starting at column 14)"),
    ('{"answer": "no question"}', "no question (a question, input or prompt field is required)"),
    ('{"question": "   "}', "question is empty"),
    ('{"question": 42}', "question must be text, not a number"),
    ('{"question": ["a", "b"]}', "question must be text, not a list"),
    ('{"question": "q", "rating": 0}', "rating must be a whole number from 1 to 5, not 0"),
    ('{"question": "q", "rating": 6}', "rating must be a whole number from 1 to 5, not 6"),
    ('{"question": "q", "rating": "five"}', "rating must be a whole number from 1 to 5, not 'five'"),
    ('{"question": "q", "rating": 4.5}', "rating must be a whole number from 1 to 5, not 4.5"),
    ('{"question": "q", "rating": true}', "rating must be a whole number, not true/false"),
    ('{"question": "q", "latency_ms": "fast"}', "latency_ms must be a number, not 'fast'"),
    ('{"question": "q", "latency_ms": -3}', "latency_ms must be a number of 0 or more, not -3"),
    ('{"question": "q", "latency_ms": NaN}', "latency_ms must be a number of 0 or more, not NaN"),
    ('{"question": "q", "created_at": "31/01/2026"}',
     "created_at is not an ISO 8601 date: '31/01/2026' (write e.g. 2026-01-31T12:00:00Z)"),
    ('{"question": "q", "created_at": 1706700000}',
     "created_at must be an ISO 8601 date as text, not a number"),
    ('{"question": "q", "thumbs": "meh"}', "thumbs must be up or down (or 1/-1, true/false), not 'meh'"),
    ('{"question": "q", "thumbs": 0}', "thumbs must be up or down (or 1/-1, true/false), not 0"),
    ('{"question": "q", "tags": [1, 2]}', "tags must be a list of text or comma-separated text"),
    ('{"question": "q", "meta": [1]}', "meta must be an object, not a list"),
    ('{"question": "q", "turn": "second"}', "turn must be a whole number from 0 to 1000000, not 'second'"),
    ('{"question": "q", "answer": {"text": "a"}}', "answer must be text, not an object"),
    ('{"question": "q", "conversation_id": 1.5}', "conversation_id must be text or a whole number, not a number"),
    ('["question", "answer"]', "each line must be a JSON object, not a list"),
    ('{"question": "bad \\ud800 escape"}', "holds an unpaired surrogate escape (\\ud800-\\udfff), which is not text"),
]


@pytest.mark.parametrize(("line", "reason"), BAD_LINES)
def test_a_bad_line_is_refused_with_its_line_number_and_nothing_lands(store, tmp_path, line, reason):
    path = write(tmp_path, "bad.jsonl", [GOOD, "", line, {"question": "fine", "answer": "ok"}])
    report, refused = run(store, path)
    assert refused == [(3, reason)]  # the blank line 2 still counts as a line
    assert not report.committed
    assert count(store, "interactions") == 0 and count(store, "ratings") == 0
    assert report.closing() == (
        "Nothing was imported: 1 of 3 lines was refused. Fix it and import again, or import with"
        " --skip-invalid to land the 2 valid lines and keep the refused ones in"
        " bad.jsonl.rejected.jsonl."
    )


def test_every_refused_line_is_listed_in_order(store, tmp_path):
    path = write(tmp_path, "many.jsonl", ['{"question": 1}', GOOD, "{", "", '{"question": "q", "rating": 9}'])
    report, refused = run(store, path)
    assert [line for line, _ in refused] == [1, 3, 5]
    assert report.refused == 3 and report.records == 4
    assert [r.where("many.jsonl") for r in report.refusals][0] == "many.jsonl:1: question must be text, not a number"


def test_invalid_utf8_on_line_3_is_reported_on_line_3(store, tmp_path):
    content = b'{"question": "one"}\n{"question": "two"}\n{"question": "caf\xe9"}\n{"question": "four"}\n'
    report, refused = run(store, write(tmp_path, "latin1.jsonl", content))
    assert refused == [(3, "not valid UTF-8 (byte 0xe9 at column 18)")]
    assert count(store, "interactions") == 0


def test_an_empty_file_is_refused(store, tmp_path):
    report, refused = run(store, write(tmp_path, "empty.jsonl", b""))
    assert not report.committed and report.fatal is not None
    assert report.fatal.where("empty.jsonl") == "empty.jsonl: the file is empty: there is nothing to import"
    assert report.closing() == "Nothing was imported."


def test_a_file_of_blank_lines_is_refused(store, tmp_path):
    report, _ = run(store, write(tmp_path, "blank.jsonl", "\n\n  \n"))
    assert report.fatal.reason == "the file holds only blank lines: there is nothing to import"


def test_a_5_mb_field_is_refused_and_the_limit_is_1_mb(store, tmp_path):
    huge = "x" * (5 * 1024 * 1024)
    report, refused = run(store, write(tmp_path, "huge.jsonl", [GOOD, {"question": "q", "answer": huge}]))
    assert refused == [(2, "answer is 5.0 MB; a field may hold at most 1 MB")]
    assert not report.committed
    just_fits = "é" * (importing.FIELD_LIMIT // 2)  # 2 bytes each: exactly the limit
    report, refused = run(store, write(tmp_path, "fits.jsonl", [{"question": "q", "answer": just_fits}]))
    assert refused == [] and report.committed


def test_a_line_longer_than_the_line_limit_is_refused_without_reading_it_whole(store, tmp_path, monkeypatch):
    monkeypatch.setattr(importing, "LINE_LIMIT", 1000)
    path = write(tmp_path, "long.jsonl", [GOOD, {"question": "q" * 5000}, {"question": "after"}])
    report, refused = run(store, path, skip_invalid=True)
    assert refused == [(2, "the line is longer than 1,000 bytes")]
    assert report.imported == 2
    rejected = json.loads(importing.rejected_path_for(path).read_text().splitlines()[0])
    assert rejected["line"] == 2 and rejected["truncated"] is True


# -- skip invalid ---------------------------------------------------------------------------------


def test_skip_invalid_lands_the_valid_lines_and_keeps_the_refused_ones(store, tmp_path):
    lines = [GOOD, '{"question": "q", "rating": 0}', "not json at all", {"question": "ok", "answer": "fine"}]
    path = write(tmp_path, "mixed.jsonl", lines)
    report, refused = run(store, path, skip_invalid=True)
    assert report.committed and report.summary() == "2 imported, 0 already present"
    assert [line for line, _ in refused] == [2, 3]
    rejected_path = tmp_path / "mixed.jsonl.rejected.jsonl"
    assert report.rejected_path == str(rejected_path)
    kept = [json.loads(line) for line in rejected_path.read_text(encoding="utf-8").splitlines()]
    assert kept == [
        {"line": 2, "reason": "rating must be a whole number from 1 to 5, not 0",
         "raw": '{"question": "q", "rating": 0}'},
        {"line": 3, "reason": "not valid JSON (Expecting value at column 1)", "raw": "not json at all"},
    ]
    assert report.closing() == (
        f"2 imported, 0 already present; 2 refused lines written to {rejected_path}.")
    assert sorted(r["question"] for r in rows(store, "SELECT question FROM interactions")) == [
        "How do I reset my password?", "ok"]


def test_skip_invalid_keeps_undecodable_bytes_in_base64(store, tmp_path):
    path = write(tmp_path, "bytes.jsonl", b'{"question": "ok"}\n{"question": "\xff\xfe"}\n')
    run(store, path, skip_invalid=True)
    [kept] = [json.loads(x) for x in importing.rejected_path_for(path).read_text().splitlines()]
    import base64
    assert base64.b64decode(kept["raw_base64"]) == b'{"question": "\xff\xfe"}'


def test_without_skip_invalid_no_rejected_file_is_written(store, tmp_path):
    path = write(tmp_path, "x.jsonl", [GOOD, "{"])
    run(store, path)
    assert not importing.rejected_path_for(path).exists()


# -- CSV ------------------------------------------------------------------------------------------


def test_csv_with_the_same_column_names(store, tmp_path):
    content = (
        "question,response,rating,thumbs,tags,reviewer,created_at,meta,channel\r\n"
        'How do I cancel?,Account > Billing.,4,up,"wrong, too long",ana,2026-02-01T09:00:00Z,"{""a"": 1}",email\r\n'
        "Second?,Yes.,,,,,,,\r\n"
    )
    report, refused = run(store, write(tmp_path, "f.csv", content))
    assert refused == [] and report.summary() == "2 imported, 0 already present"
    first, second = rows(store, "SELECT * FROM interactions ORDER BY id")
    assert (first["question"], first["answer"]) == ("How do I cancel?", "Account > Billing.")
    assert json.loads(first["meta"]) == {"a": 1, "channel": "email"}
    [rating] = store.review.ratings_for(first["id"])
    assert (rating["stars"], rating["thumbs"], rating["tags"], rating["reviewer"]) == (
        4, 1, ["too long", "wrong"], "ana")
    assert second["answer"] == "Yes." and store.review.ratings_for(second["id"]) == []


def test_csv_line_numbers_count_the_header_and_multiline_cells(store, tmp_path):
    content = (
        "question,answer,rating\n"  # line 1
        '"a question\nover two lines",fine,5\n'  # lines 2-3
        "q,a,0\n"  # line 4: bad rating
        "q,a\n"  # line 5: too few cells
        "q,a,3,extra\n"  # line 6: too many
        "\n"  # line 7: blank
        "last,one,2\n"  # line 8
    )
    report, refused = run(store, write(tmp_path, "multi.csv", content))
    assert refused == [
        (4, "rating must be a whole number from 1 to 5, not '0'"),
        (5, "has 2 cells but the header has 3"),
        (6, "has 4 cells but the header has 3"),
    ]
    assert report.records == 5 and not report.committed


def test_csv_with_an_invalid_byte_on_line_3(store, tmp_path):
    content = b"question,answer\nq1,a1\nq2,caf\xe9\nq3,a3\n"
    _, refused = run(store, write(tmp_path, "bad.csv", content))
    assert refused == [(3, "not valid UTF-8 (byte 0xe9 at column 7)")]


def test_csv_header_without_question_column_is_refused_whole(store, tmp_path):
    report, _ = run(store, write(tmp_path, "h.csv", "text,label\nhello,greeting\n"), skip_invalid=True)
    assert not report.committed
    assert report.fatal.where("h.csv") == (
        "h.csv:1: the header has no question column (question, input or prompt is required)")


def test_csv_header_only_is_refused(store, tmp_path):
    report, _ = run(store, write(tmp_path, "h.csv", "question,answer\n"))
    assert report.fatal.reason == "the file has a header but no rows: there is nothing to import"


def test_csv_with_bom_semicolons_and_a_json_list_of_tags(store, tmp_path):
    content = '\ufeffQuestion;Answer;Tags\nq;a;"[""wrong"", ""unsafe""]"\n'
    report, refused = run(store, write(tmp_path, "excel.csv", content))
    assert refused == [] and report.committed
    assert store.review.ratings_for(1)[0]["tags"] == ["unsafe", "wrong"]


def test_csv_reimport_adds_nothing(store, tmp_path):
    path = write(tmp_path, "again.csv", "question,answer,rating\nq,a,3\nq2,a2,\n")
    run(store, path)
    report, _ = run(store, path)
    assert report.summary() == "0 imported, 2 already present"


# -- formats --------------------------------------------------------------------------------------


def test_interactions_forced_as_pairwise_are_refused_line_by_line(store, tmp_path):
    report, refused = run(store, write(tmp_path, "p.jsonl", [GOOD]), fmt="pairwise")
    assert not report.committed
    assert refused == [
        (1, "no answer_a or answer_b (a vote needs question, answer_a, answer_b and winner)")]
    assert count(store, "interactions") == 0


def test_a_pairwise_file_is_recognised_and_lands_as_votes(store, tmp_path):
    path = write(tmp_path, "votes.jsonl", [{"question": "q", "answer_a": "a", "answer_b": "b", "winner": "a"}])
    report, _ = run(store, path)
    assert report.format == "pairwise" and report.summary() == "1 votes imported, 0 already present"
    assert count(store, "comparisons") == 1 and count(store, "interactions") == 2


def test_format_from_content_when_the_name_says_nothing(store, tmp_path):
    run(store, write(tmp_path, "export.txt", [GOOD]))
    run(store, write(tmp_path, "export.data", "question,answer\nq,a\n"))
    assert count(store, "interactions") == 2
    with pytest.raises(ImportProblem, match="Cannot tell whether"):
        import_file(store, write(tmp_path, "notes.txt", "just some text\n"))


def test_missing_file(store, tmp_path):
    with pytest.raises(ImportProblem, match="No such file"):
        import_file(store, tmp_path / "nope.jsonl")


def test_import_stream_reports_progress_up_to_the_whole_size(store, monkeypatch):
    monkeypatch.setattr(importing, "BATCH", 10)
    data = "".join(json.dumps({"question": f"q{n}", "answer": "a"}) + "\n" for n in range(35)).encode()
    calls = []
    report = import_stream(store, io.BytesIO(data), "upload.jsonl",
                           progress=lambda *args: calls.append(args))
    assert report.summary() == "35 imported, 0 already present"
    assert [c[0] for c in calls] == [10, 20, 30, 35]
    assert calls[-1][1:] == (len(data), len(data))


# -- big imports ------------------------------------------------------------------------------------


def _schema(store: Store) -> list[tuple]:
    return [tuple(r.values()) for r in rows(
        store, "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') ORDER BY name")]


def test_a_big_import_rebuilds_indexes_and_triggers_as_they_were(store, tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "BULK_MIN_ROWS", 10)
    monkeypatch.setattr(ingest, "FTS_BATCH_MIN_ROWS", 10)
    monkeypatch.setattr(importing, "BATCH", 7)
    before = _schema(store)
    lines = [{"question": f"question number {n}", "answer": f"answer {n}", "rating": 1 + n % 5,
              "reviewer": "ana", "tags": ["wrong"] if n % 5 == 0 else []} for n in range(60)]
    report, refused = run(store, write(tmp_path, "big.jsonl", lines))
    assert report.committed and report.imported == 60 and refused == []
    assert _schema(store) == before
    assert store.pragma("integrity_check") == "ok"
    assert len(store.review.search("number")) == 50  # search() returns at most 50
    assert store.scalar("SELECT COUNT(*) FROM interactions_fts WHERE interactions_fts MATCH 'answer'") == 60
    assert count(store, "rating_tags") == 12


def test_indexes_are_rebuilt_only_when_a_big_import_adds_many_rows(store, tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "BULK_MIN_ROWS", 10)
    monkeypatch.setattr(ingest, "FTS_BATCH_MIN_ROWS", 10)
    path = write(tmp_path, "big.jsonl", [{"question": f"q{n}", "answer": "a"} for n in range(30)])
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    run(store, path)
    assert any(s.startswith("DROP INDEX") for s in statements)
    statements.clear()
    report, _ = run(store, path)  # adds nothing: the indexes stay
    assert report.summary() == "0 imported, 30 already present"
    assert not any(s.startswith("DROP INDEX") for s in statements)
    store.db.conn.set_trace_callback(None)


def test_a_refused_big_import_leaves_the_schema_as_it_was(store, tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "BULK_MIN_ROWS", 10)
    monkeypatch.setattr(ingest, "FTS_BATCH_MIN_ROWS", 10)
    monkeypatch.setattr(importing, "BATCH", 7)
    before = _schema(store)
    lines = [{"question": f"q{n}", "answer": "a"} for n in range(40)] + ["{broken"]
    report, _ = run(store, write(tmp_path, "big.jsonl", lines))
    assert not report.committed
    assert _schema(store) == before and count(store, "interactions") == 0


CRASH = """
import os
from dashboard import importing
from store import Store, ingest
ingest.BULK_MIN_ROWS = ingest.FTS_BATCH_MIN_ROWS = 10
importing.BATCH = 20
def crash(records, done, total):
    if records >= 60:
        os._exit(3)  # the process dies mid-import: no rollback, no cleanup
importing.import_file(Store({db!r}), {src!r}, progress=crash)
"""


def test_a_crash_mid_import_leaves_nothing_behind(tmp_path):
    db = tmp_path / "crash.db"
    with Store(db) as store:
        store.ingest.add_question(store.ingest.start_conversation(), "kept")
        before = _schema(store)
    src = write(tmp_path, "big.jsonl", [{"question": f"q{n}", "answer": "a", "rating": 3} for n in range(200)])
    done = subprocess.run([sys.executable, "-c", CRASH.format(db=str(db), src=str(src))],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 3, done.stderr
    with Store(db) as store:
        assert count(store, "interactions") == 1 and count(store, "ratings") == 0
        assert _schema(store) == before
        assert store.pragma("integrity_check") == "ok"


def test_reading_a_huge_file_keeps_memory_bounded(store, tmp_path, monkeypatch):
    # The reader holds one batch at a time: count the rows alive when the store sees a batch.
    monkeypatch.setattr(importing, "BATCH", 50)
    seen = []
    original = ingest.ImportSession.add

    def spy(self, batch, *lines):
        seen.append(len(batch))
        return original(self, batch, *lines)

    monkeypatch.setattr(ingest.ImportSession, "add", spy)
    run(store, write(tmp_path, "many.jsonl", [{"question": f"q{n}"} for n in range(500)]))
    assert max(seen) == 50 and sum(seen) == 500


def test_rejected_path_sits_beside_the_input():
    assert importing.rejected_path_for("/data/in.csv") == Path("/data/in.csv.rejected.jsonl")
    assert os.path.basename(importing.rejected_path_for("x.jsonl")) == "x.jsonl.rejected.jsonl"


def test_numbers_too_big_for_sqlite_are_refused_with_their_line(store, tmp_path):
    path = write(tmp_path, "big.jsonl", [{"question": "q", "turn": 2**63}, {"question": "q2", "prompt_tokens": 10**20}])
    report = import_file(store, path, skip_invalid=True)
    reasons = [r.reason for r in report.refusals]
    assert [r.line for r in report.refusals] == [1, 2]
    assert "turn must be a whole number from 0 to 1000000" in reasons[0]
    assert count(store, "interactions") == 0
