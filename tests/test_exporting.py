"""Fine-tuning exports: formats read by a real consumer (Hugging Face datasets), curation,
cleaning rules with exact expected output, splits, leakage and the manifest."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from dashboard import cli
from dashboard.demo import load_demo
from dashboard.exporting import (
    FORMATS,
    ExportOptions,
    ExportRefused,
    OneSidedExport,
    kto_label,
    near_duplicate_keep,
    preview,
    run_export,
    scrub_pii,
    split_of,
)
from dashboard.filters import Filters
from dashboard.importing import import_file
from store import Store

DATA = Path(__file__).resolve().parent / "data"
datasets = pytest.importorskip("datasets")


def _answered(store, conversation, question, answer, system_prompt=None):
    iid = store.ingest.add_question(conversation, question, system_prompt=system_prompt, model="m")
    store.ingest.record_answer(iid, answer=answer)
    return iid


@pytest.fixture
def filled(store):
    """A small store covering every rule: ratings, ideal answers, a multi-turn talk, votes."""
    c1 = store.ingest.start_conversation()
    ids = {
        "good": _answered(store, c1, "How do I reset my password?", "Open Settings > Security.",
                          system_prompt="You are a support agent."),
    }
    store.review.save_rating(ids["good"], "ana", stars=5, thumbs=1)
    c2 = store.ingest.start_conversation()
    ids["bad_fixed"] = _answered(store, c2, "Where is my parcel?", "No idea.")
    store.review.save_rating(ids["bad_fixed"], "ana", stars=1, ideal_answer="Track it under Orders.")
    c3 = store.ingest.start_conversation()
    ids["meh"] = _answered(store, c3, "Can I pay by card?", "Maybe.")
    store.review.save_rating(ids["meh"], "ana", stars=3)
    ids["down"] = _answered(store, store.ingest.start_conversation(), "Is there a refund?", "No.")
    store.review.save_rating(ids["down"], "ben", thumbs=-1, stars=2)
    talk = store.ingest.start_conversation()
    ids["t1"] = _answered(store, talk, "Hi, I need help with billing", "Sure, what is wrong?")
    ids["t2"] = _answered(store, talk, "I was charged twice", "I refunded the second charge.")
    store.review.save_rating(ids["t1"], "ana", stars=4)
    store.review.save_rating(ids["t2"], "ana", stars=5)
    ids["same_q_low"] = _answered(store, store.ingest.start_conversation(), "Can I pay by card?", "Card? No.")
    store.review.save_rating(ids["same_q_low"], "ben", stars=1)
    return store, ids


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def _load(path):
    return datasets.load_dataset("json", data_files=str(path), split="train")


def test_sft_is_chat_messages_with_system_prompt_ideal_target_and_whole_conversations(filled, tmp_path):
    store, ids = filled
    result = run_export(store, ExportOptions(format="sft"), tmp_path / "sft.jsonl")
    rows = _lines(result.path)
    by_question = {r["messages"][-2]["content"]: r["messages"] for r in rows}
    assert by_question["How do I reset my password?"] == [
        {"role": "system", "content": "You are a support agent."},
        {"role": "user", "content": "How do I reset my password?"},
        {"role": "assistant", "content": "Open Settings > Security."},
    ]
    # the ideal answer replaces the model's and makes a 1-star item approved
    assert by_question["Where is my parcel?"][-1]["content"] == "Track it under Orders."
    # the conversation is kept whole, once
    assert [m["content"] for m in by_question["I was charged twice"]] == [
        "Hi, I need help with billing", "Sure, what is wrong?",
        "I was charged twice", "I refunded the second charge."]
    assert "Hi, I need help with billing" not in by_question
    # 3 stars, 2 stars and 1 star without an ideal answer are not approved at min 4 stars
    assert "Can I pay by card?" not in by_question and "Is there a refund?" not in by_question
    assert result.counts.written == 3
    data = _load(result.path)
    assert data.column_names == ["messages"]
    assert set(data[0]["messages"][0]) == {"role", "content"}


def test_alpaca_and_input_output_columns(filled, tmp_path):
    store, _ = filled
    alpaca = _load(run_export(store, ExportOptions(format="alpaca", min_stars=None), tmp_path / "a.jsonl").path)
    assert sorted(alpaca.column_names) == ["input", "instruction", "output"]
    pairs = _load(run_export(store, ExportOptions(format="input-output", min_stars=None),
                             tmp_path / "io.jsonl").path)
    assert sorted(pairs.column_names) == ["input", "output"]
    assert len(pairs) == 7


def test_kto_labels_and_columns(filled, tmp_path):
    store, _ = filled
    result = run_export(store, ExportOptions(format="kto", min_stars=None), tmp_path / "kto.jsonl")
    rows = {r["prompt"] + "|" + r["completion"]: r["label"] for r in _lines(result.path)}
    assert rows["How do I reset my password?|Open Settings > Security."] is True
    assert rows["Where is my parcel?|Track it under Orders."] is True
    assert rows["Is there a refund?|No."] is False
    assert rows["Can I pay by card?|Card? No."] is False
    assert "Can I pay by card?|Maybe." not in rows  # 3 stars alone is left out
    assert result.counts.kto_undecided == 1
    data = _load(result.path)
    assert sorted(data.column_names) == ["completion", "label", "prompt"]
    assert data.features["label"].dtype == "bool"


def test_kto_label_rules():
    assert kto_label({"thumbs_up": 1, "thumbs_down": 0, "stars_mean": None}) is True
    assert kto_label({"thumbs_up": 0, "thumbs_down": 0, "stars_mean": 3}) is None
    assert kto_label({"thumbs_up": 0, "thumbs_down": 1, "stars_mean": 5}) is None
    assert kto_label({"ideal": "x", "thumbs_down": 1, "stars_mean": 1}) is True


def test_dpo_from_ideal_answers_and_rating_gaps(filled, tmp_path):
    store, _ = filled
    result = run_export(store, ExportOptions(format="dpo"), tmp_path / "dpo.jsonl")
    rows = _lines(result.path)
    assert {"prompt": "Where is my parcel?", "chosen": "Track it under Orders.",
            "rejected": "No idea."} in rows
    assert {"prompt": "Can I pay by card?", "chosen": "Maybe.", "rejected": "Card? No."} in rows
    assert result.counts.by_source == {"ideal": 1, "ratings": 1}
    data = _load(result.path)
    assert sorted(data.column_names) == ["chosen", "prompt", "rejected"]
    assert data.features["chosen"].dtype == "string"
    conversational = run_export(store, ExportOptions(format="dpo", dpo_layout="conversational"),
                                tmp_path / "dpo_chat.jsonl")
    first = _lines(conversational.path)[0]
    assert first["prompt"][0]["role"] == "user" and first["chosen"][0]["role"] == "assistant"


def test_imported_pairs_come_back_byte_for_byte(store, tmp_path):
    source = DATA / "hh_rlhf_dpo_300.jsonl"
    raw = source.read_bytes().splitlines()
    report = import_file(store, source)
    assert report.committed and report.refused == 0
    assert report.votes_imported + report.votes_present == 300
    out = run_export(store, ExportOptions(format="dpo", dpo_sources=("votes",)), tmp_path / "rt.jsonl")
    exported = Path(out.path).read_bytes().splitlines()
    unique = list(dict.fromkeys(raw))
    assert exported == unique
    again = import_file(store, source)
    assert (again.votes_imported, again.votes_present) == (0, 300)


def test_pii_scrubbing_exact_output():
    text = ("Mail ana.lopez@example.com or call +1 415-555-0134, card 4111 1111 1111 1111, "
            "server 192.168.10.4; order 1234567890123 is not a card.")
    cleaned, count = scrub_pii(text)
    assert cleaned == ("Mail [EMAIL] or call [PHONE], card [CARD], server [IP]; "
                       "order 1234567890123 is not a card.")
    assert count == 4


def test_pii_scrubbing_is_an_option_and_counted(store, tmp_path):
    iid = _answered(store, store.ingest.start_conversation(), "My email is bo@example.org", "Noted, bo@example.org.")
    store.review.save_rating(iid, "ana", stars=5)
    plain = run_export(store, ExportOptions(format="input-output"), tmp_path / "p.jsonl")
    assert "bo@example.org" in Path(plain.path).read_text()
    scrubbed = run_export(store, ExportOptions(format="input-output", scrub_pii=True), tmp_path / "s.jsonl")
    assert _lines(scrubbed.path) == [{"input": "My email is [EMAIL]", "output": "Noted, [EMAIL]."}]
    assert (scrubbed.counts.pii_replacements, scrubbed.counts.rows_with_pii) == (2, 1)


def test_near_duplicates_keep_the_best_rated_one():
    kept = near_duplicate_keep([
        (1, "How do I reset my password?", 3.0),
        (2, "how do i reset my password", 5.0),
        (3, "How do I reset my pasword?", 4.0),
        (4, "Where is my parcel?", 2.0),
        (5, "password my reset I do how", 1.0),
    ], threshold=0.9)
    assert kept == {2, 4, 5}


def test_dedupe_option_says_how_many_were_dropped(store, tmp_path):
    conversation = store.ingest.start_conversation()
    for n, (question, stars) in enumerate([("Where is my parcel?", 4), ("where is my parcel", 5),
                                           ("Can I pay by card?", 4)]):
        iid = _answered(store, conversation, question, f"answer {n}")
        store.review.save_rating(iid, "ana", stars=stars)
    result = run_export(store, ExportOptions(format="input-output", dedupe=True), tmp_path / "d.jsonl")
    assert result.counts.duplicates_dropped == 1
    assert sorted(r["output"] for r in _lines(result.path)) == ["answer 1", "answer 2"]


def test_split_keeps_every_answer_to_a_question_on_one_side(store, tmp_path):
    conversation = store.ingest.start_conversation()
    for q in range(40):
        for a in range(3):
            iid = _answered(store, conversation, f"Question number {q}?", f"answer {a}")
            store.review.save_rating(iid, "ana", stars=5)
    result = run_export(store, ExportOptions(format="input-output", validation_fraction=0.25, seed=3),
                        tmp_path / "train.jsonl")
    train = {r["input"] for r in _lines(result.path)}
    validation = {r["input"] for r in _lines(result.validation_path)}
    assert train and validation and not train & validation
    assert result.counts.train + result.counts.validation == 120
    assert all(split_of(q, 0.25, 3) == "validation" for q in validation)


def test_leakage_into_an_evaluation_set_refuses_or_warns(filled, tmp_path):
    store, _ = filled
    set_id = store.experiments.create_question_set("eval", [{"question": "how do i reset my password"}])
    with pytest.raises(ExportRefused):
        run_export(store, ExportOptions(format="sft", leakage_set_id=set_id), tmp_path / "x.jsonl")
    assert not (tmp_path / "x.jsonl").exists()
    warned = run_export(store, ExportOptions(format="sft", leakage_set_id=set_id, leakage_action="warn"),
                        tmp_path / "y.jsonl")
    assert warned.counts.leaked == 1 and "evaluation set" in warned.warnings[0]


def test_manifest_and_record_allow_tracing_and_rerunning(filled, tmp_path):
    store, ids = filled
    options = ExportOptions(format="sft", exclude_ids=(ids["good"],), filters=Filters(models=("m",)))
    result = run_export(store, options, tmp_path / "sft.jsonl", who="ana")
    manifest = json.loads((tmp_path / "sft.jsonl.manifest.json").read_text())
    assert manifest["sha256"] == hashlib.sha256((tmp_path / "sft.jsonl").read_bytes()).hexdigest()
    assert manifest["counts"]["written"] == 2 and manifest["who"] == "ana"
    [recorded] = store.exports.list_exports()
    assert recorded["sha256"] == result.sha256 and recorded["rows"] == 2
    again = run_export(store, ExportOptions.from_dict(recorded["options"]), tmp_path / "again.jsonl")
    assert again.sha256 == result.sha256


def test_preview_shows_first_rows_without_writing(filled, tmp_path):
    store, _ = filled
    rows = preview(store, ExportOptions(format="alpaca"), limit=2)
    assert len(rows) == 2 and "_id" in rows[0]
    assert store.exports.list_exports() == []


# -- curation that suits each format, and files that would teach nothing ----------------------


def test_each_format_starts_with_the_curation_that_suits_it():
    assert {f: ExportOptions(format=f).min_stars for f in FORMATS} == {
        "sft": 4.0, "alpaca": 4.0, "input-output": 4.0, "dpo": None, "kto": None,
        "openai-preference": None}
    # an explicit choice, and what a recorded export says, are kept as they are
    assert ExportOptions(format="kto", min_stars=4).min_stars == 4
    assert ExportOptions(format="sft", min_stars=None).min_stars is None
    assert ExportOptions.from_dict({"format": "kto", "min_stars": 5.0}).min_stars == 5.0
    assert ExportOptions.from_dict({"format": "kto"}).min_stars is None


def test_kto_from_default_options_keeps_the_bad_answers_as_false(filled, tmp_path):
    store, _ = filled
    result = run_export(store, ExportOptions(format="kto"), tmp_path / "kto.jsonl",
                        refuse_one_sided=True)
    labels = [row["label"] for row in _lines(result.path)]
    assert labels.count(True) == 4 and labels.count(False) == 2
    assert (result.counts.kto_true, result.counts.kto_false) == (4, 2)
    assert result.warnings == []


def test_a_kto_file_with_only_true_labels_is_refused_with_the_reason(filled, tmp_path):
    store, _ = filled
    options = ExportOptions(format="kto", min_stars=4)
    with pytest.raises(OneSidedExport) as refused:
        run_export(store, options, tmp_path / "kto.jsonl", refuse_one_sided=True)
    message = str(refused.value)
    assert message.startswith("Every one of the 4 rows is labelled true")
    assert "threshold of 4 stars" in message and "“any rating”" in message
    assert not (tmp_path / "kto.jsonl").exists() and store.exports.list_exports() == []
    # written on purpose, the file carries the warning in its result and its manifest
    written = run_export(store, options, tmp_path / "kto.jsonl")
    assert written.warnings == [message] and written.counts.written == 4
    manifest = json.loads((tmp_path / "kto.jsonl.manifest.json").read_text())
    assert manifest["warnings"] == [message]


@pytest.mark.parametrize("options, expected", [
    (ExportOptions(format="kto", only_ideal=True), "untick “Only items with an ideal answer”"),
    (ExportOptions(format="kto", filters=Filters(thumbs="down")), "labelled false"),
    (ExportOptions(format="kto", filters=Filters(stars_min=4)), "The filters (any rating 4-5 stars)"),
])
def test_every_kind_of_one_label_kto_file_names_its_cause(filled, tmp_path, options, expected):
    store, _ = filled
    with pytest.raises(OneSidedExport, match="KTO learns from desirable") as refused:
        run_export(store, options, tmp_path / "kto.jsonl", refuse_one_sided=True)
    assert expected in str(refused.value)


def test_an_empty_file_is_refused_with_what_to_change(filled, tmp_path):
    store, _ = filled
    options = ExportOptions(format="sft", filters=Filters(search="nothing-like-this"))
    with pytest.raises(OneSidedExport) as refused:
        run_export(store, options, tmp_path / "sft.jsonl", refuse_one_sided=True)
    assert str(refused.value) == ("No rows to write: no answer passes these filters and options. "
                                  "To get rows, widen the filters or set “Approve answers rated at "
                                  "least” to “any rating”.")
    pairs = ExportOptions(format="dpo", dpo_sources=("votes",))
    with pytest.raises(OneSidedExport, match=r"^No DPO pairs to write: .*add sources under"):
        run_export(store, pairs, tmp_path / "dpo.jsonl", refuse_one_sided=True)


def test_dpo_leaves_out_pairs_with_the_same_text_on_both_sides(store, tmp_path):
    ids = [_answered(store, store.ingest.start_conversation(), "Where is my parcel?", answer)
           for answer in ("Track it under Orders.", "Track it under Orders.", "No idea.")]
    for winner, a, b in (("a", ids[0], ids[1]), ("a", ids[0], ids[2])):
        store.experiments.record_vote(question="Where is my parcel?", interaction_a=a, interaction_b=b,
                          variant_a="v1", variant_b="v2", winner=winner, reviewer="ana")
    result = run_export(store, ExportOptions(format="dpo"), tmp_path / "dpo.jsonl")
    assert _lines(result.path) == [{"prompt": "Where is my parcel?",
                                    "chosen": "Track it under Orders.", "rejected": "No idea."}]
    assert result.counts.dpo_identical == 1 and result.counts.by_source == {"votes": 1}


def test_leaving_an_answer_out_by_hand_removes_every_dpo_pair_it_is_in(filled, tmp_path):
    store, ids = filled
    store.experiments.record_vote(question="Can I pay by card?", interaction_a=ids["meh"],
                      interaction_b=ids["same_q_low"], variant_a="v1", variant_b="v2", winner="a")
    everything = _lines(run_export(store, ExportOptions(format="dpo"), tmp_path / "all.jsonl").path)
    assert sum(row["rejected"] == "Card? No." for row in everything) == 2  # a vote and a rating gap
    kept = run_export(store, ExportOptions(format="dpo", exclude_ids=(ids["same_q_low"],)),
                      tmp_path / "kept.jsonl")
    assert _lines(kept.path) == [{"prompt": "Where is my parcel?", "chosen": "Track it under Orders.",
                                  "rejected": "No idea."}]


def test_preview_rows_say_which_interactions_they_use(filled):
    store, ids = filled
    [pair] = preview(store, ExportOptions(format="dpo", dpo_sources=("ratings",)))
    assert pair["_ids"] == (ids["meh"], ids["same_q_low"]) and pair["_source"] == "ratings"


def test_the_command_line_refuses_a_one_label_kto_file_and_says_why(filled, tmp_path, capsys):
    store, _ = filled
    out = tmp_path / "kto.jsonl"
    code = cli.main(["export", "--format", "kto", "--min-stars", "4", "--out", str(out),
                     "--db", store.path])
    err = capsys.readouterr().err
    assert code == 1 and not out.exists()
    assert f"Nothing written to {out}. Every one of the 4 rows is labelled true" in err
    assert "pass --any-rating" in err and "--write-anyway" in err
    assert cli.main(["export", "--format", "kto", "--min-stars", "4", "--out", str(out),
                     "--db", store.path, "--write-anyway"]) == 0
    assert len(_lines(out)) == 4
    assert cli.main(["export", "--format", "kto", "--out", str(out), "--db", store.path]) == 0
    assert "4 labelled true, 2 labelled false" in capsys.readouterr().out
    assert cli.main(["export", "--format", "dpo", "--min-stars", "4", "--db", store.path]) == 2
    assert "--min-stars does not apply to dpo" in capsys.readouterr().err


# -- the documented defaults, on the demo data ----------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    with Store(path) as store:
        load_demo(store)
        yield store


def _ratings_by_item(store) -> dict[int, dict]:
    """Each answered interaction's ratings and newest ideal answer, read straight from the tables."""
    items: dict[int, dict] = {}
    for iid, question, answer in store.db.execute(
            "SELECT id, question, answer FROM interactions WHERE answer IS NOT NULL"):
        items[iid] = {"question": question, "answer": answer, "stars": [], "up": 0, "down": 0,
                      "ideal": None}
    for iid, stars, thumbs, ideal in store.db.execute(
            "SELECT interaction_id, stars, thumbs, ideal_answer FROM ratings ORDER BY updated_at"):
        if iid not in items:
            continue
        item = items[iid]
        if stars is not None:
            item["stars"].append(stars)
        item["up"] += thumbs == 1
        item["down"] += thumbs == -1
        if ideal:
            item["ideal"] = ideal
    return items


def _documented_label(item: dict) -> bool | None:
    """The README's rule: true for an ideal answer, thumbs up or 4-5 stars; false for thumbs
    down or 1-2 stars; 3 stars alone (or reviewers cancelling out) is left out."""
    if item["ideal"]:
        return True
    votes = item["up"] - item["down"]
    if item["stars"]:
        mean = sum(item["stars"]) / len(item["stars"])
        votes += 1 if mean >= 4 else -1 if mean <= 2 else 0
    return None if votes == 0 else votes > 0


def _approved(item: dict) -> bool:
    """The README's approval at the default threshold: an ideal answer, else a mean of at least
    4 stars, else (no stars) more thumbs up than down."""
    if item["ideal"]:
        return True
    if item["stars"]:
        return sum(item["stars"]) / len(item["stars"]) >= 4
    return item["up"] > item["down"]


def test_every_format_from_default_options_is_as_documented(demo, tmp_path):
    items = _ratings_by_item(demo).values()
    approved = Counter((i["question"], i["ideal"] or i["answer"]) for i in items if _approved(i))
    labelled = Counter((i["question"], i["ideal"] or i["answer"], _documented_label(i))
                       for i in items if _documented_label(i) is not None)
    columns = {"sft": ["messages"], "alpaca": ["input", "instruction", "output"],
               "input-output": ["input", "output"], "dpo": ["chosen", "prompt", "rejected"],
               "kto": ["completion", "label", "prompt"],
               "openai-preference": ["input", "non_preferred_output", "preferred_output"]}
    for fmt in FORMATS:
        result = run_export(demo, ExportOptions(format=fmt), tmp_path / f"{fmt}.jsonl",
                            refuse_one_sided=True)
        data = _load(result.path)
        assert sorted(data.column_names) == columns[fmt]
        assert len(data) == result.counts.written > 0
        rows = _lines(result.path)
        if fmt == "kto":
            assert data.features["label"].dtype == "bool"
            assert Counter((r["prompt"], r["completion"], r["label"]) for r in rows) == labelled
            assert result.counts.kto_undecided == len(items) - len(rows)
            assert 0 < result.counts.kto_false < result.counts.kto_true
        elif fmt == "dpo":
            assert all(row["chosen"] != row["rejected"] for row in rows)
            assert all(isinstance(row[k], str) for row in rows for k in ("prompt", "chosen", "rejected"))
        elif fmt == "openai-preference":
            assert all(row["preferred_output"] != row["non_preferred_output"] for row in rows)
            assert all(row["input"]["messages"][-1]["role"] == "user" for row in rows)
        elif fmt == "sft":
            assert all(m["role"] in ("system", "user", "assistant") for r in rows for m in r["messages"])
            last = Counter((r["messages"][-2]["content"], r["messages"][-1]["content"]) for r in rows)
            assert all(r["messages"][-1]["role"] == "assistant" for r in rows)
            assert not last - approved  # every conversation ends on an approved answer
        else:
            key = "instruction" if fmt == "alpaca" else "input"
            assert Counter((r[key], r["output"]) for r in rows) == approved
