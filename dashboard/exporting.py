"""Fine-tuning exports: curation, formats, de-duplication, PII scrubbing, splits and a manifest.

Rows stream from the store to the file: memory stays flat whatever the size (de-duplication,
when asked, keeps one small key per question). Nothing is dropped or rewritten unless asked,
and every export says how many rows each step changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import textdistance

from dashboard.evaluate import normalize
from dashboard.filters import Filters
from store import Store

FORMATS = ("sft", "alpaca", "input-output", "dpo", "kto", "openai-preference")
# Formats made of preference pairs (a chosen and a rejected answer to the same question).
PAIR_FORMATS = ("dpo", "openai-preference")
FILE_TYPES = ("jsonl", "parquet")
DPO_SOURCES = ("votes", "ideal", "ratings")
# Formats whose rows are answers to learn from: only approved answers belong in them. KTO labels
# each answer good or bad from its ratings and DPO pairs a better with a worse answer, so both
# need the low-rated answers that a star threshold would remove.
APPROVAL_FORMATS = ("sft", "alpaca", "input-output")
DEFAULT_MIN_STARS = 4.0
BY_FORMAT = "by format"  # min_stars: the format's default threshold


def default_min_stars(fmt: str) -> float | None:
    """The star threshold a format starts with: 4 for answers to learn from, none for KTO and DPO."""
    return DEFAULT_MIN_STARS if fmt in APPROVAL_FORMATS else None


class ExportRefused(Exception):
    """The export was refused (for example: leakage into an evaluation set)."""


class OneSidedExport(ExportRefused):
    """The file would hold no rows, only one KTO label, or no usable DPO pair."""

    def __init__(self, message: str, counts: ExportCounts) -> None:
        super().__init__(message)
        self.counts = counts


@dataclass(frozen=True)
class ExportOptions:
    """Everything that decides what an export contains: stored with it to reproduce it."""

    format: str = "sft"
    filters: Filters = field(default_factory=Filters)
    # answers without an ideal answer need this mean of stars (None: any rating);
    # BY_FORMAT gives 4 for sft, alpaca and input-output and none for kto and dpo
    min_stars: float | str | None = BY_FORMAT
    only_ideal: bool = False
    only_agree: bool = False
    exclude_ids: tuple[int, ...] = ()
    dedupe: bool = False
    dedupe_threshold: float = 0.9
    scrub_pii: bool = False
    validation_fraction: float = 0.0
    seed: int = 0
    leakage_set_id: int | None = None
    leakage_action: str = "refuse"  # or "warn"
    dpo_sources: tuple[str, ...] = DPO_SOURCES
    dpo_layout: str = "standard"  # or "conversational"
    dpo_min_gap: float = 1.0
    file_type: str = "jsonl"  # or "parquet"

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"unknown format '{self.format}': choose one of {', '.join(FORMATS)}")
        if self.min_stars == BY_FORMAT:
            object.__setattr__(self, "min_stars", default_min_stars(self.format))
        elif isinstance(self.min_stars, str):
            raise ValueError(f"the star threshold is a number, not '{self.min_stars}'")
        if not 0 <= self.validation_fraction < 1:
            raise ValueError("the validation share must be at least 0 and below 1")
        if self.file_type not in FILE_TYPES:
            raise ValueError(f"the file type is jsonl or parquet, not '{self.file_type}'")
        if self.leakage_action not in ("refuse", "warn"):
            raise ValueError("the leakage action is 'refuse' or 'warn'")
        unknown = set(self.dpo_sources) - set(DPO_SOURCES)
        if unknown:
            raise ValueError(f"unknown DPO sources: {sorted(unknown)}")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready options (filters as their URL parameters)."""
        data = asdict(self)
        data["filters"] = self.filters.to_query_params()
        data["exclude_ids"] = list(self.exclude_ids)
        data["dpo_sources"] = list(self.dpo_sources)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExportOptions:
        """Options read back from a manifest or the exports table."""
        data = dict(data)
        data["filters"] = Filters.from_query_params(data.get("filters") or {})
        data["exclude_ids"] = tuple(data.get("exclude_ids") or ())
        data["dpo_sources"] = tuple(data.get("dpo_sources", DPO_SOURCES))
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def star_threshold(self) -> float | None:
        """The mean of stars an answer without an ideal answer needs (None: any rating)."""
        return None if isinstance(self.min_stars, str) else self.min_stars


@dataclass
class ExportCounts:
    """What each step did."""

    candidates: int = 0
    written: int = 0
    train: int = 0
    validation: int = 0
    duplicates_dropped: int = 0
    pii_replacements: int = 0
    rows_with_pii: int = 0
    kto_undecided: int = 0
    kto_true: int = 0
    kto_false: int = 0
    dpo_identical: int = 0
    leaked: int = 0
    by_source: dict[str, int] = field(default_factory=dict)


# -- PII ------------------------------------------------------------------------------

_PII_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("[EMAIL]", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b")),
    ("[IP]", re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b")),
    ("[IP]", re.compile(r"\b(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}\b")),
    ("[CARD]", re.compile(r"\b(?:\d[ -]?){12,18}\d\b")),
    ("[PHONE]", re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]\d{2,4}){2,4}\b")),
]


def _luhn_ok(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for index, char in enumerate(digits):
        value = int(char)
        if index % 2 == parity:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def scrub_pii(text: str) -> tuple[str, int]:
    """Replace emails, IP addresses, card-like numbers and phone numbers by placeholders."""
    count = 0
    for placeholder, pattern in _PII_PATTERNS:
        def replace_match(match: re.Match[str], placeholder: str = placeholder) -> str:
            nonlocal count
            if placeholder == "[CARD]":
                digits = re.sub(r"\D", "", match.group(0))
                if not 13 <= len(digits) <= 19 or not _luhn_ok(digits):
                    return match.group(0)
            count += 1
            return placeholder

        text = pattern.sub(replace_match, text)
    return text, count


# -- duplicates and splits ------------------------------------------------------------------


def near_duplicate_keep(
    items: Iterable[tuple[int, str, float]], threshold: float, window: int = 8
) -> set[int]:
    """Ids to keep: among questions whose normalized similarity exceeds ``threshold`` keep the
    best-rated one. Exact duplicates are found by hashing, near ones by comparing each question
    with its neighbours in sorted order (and in order of sorted words, which catches reordering).
    """
    best: dict[str, tuple[float, int]] = {}
    for item_id, question, score in items:
        key = normalize(question)
        current = best.get(key)
        if current is None or (score, -item_id) > (current[0], -current[1]):
            best[key] = (score, item_id)
    keys = list(best)
    parent = {key: key for key in keys}

    def find(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    similarity = textdistance.levenshtein.normalized_similarity
    for ordering in (sorted(keys), sorted(keys, key=lambda k: " ".join(sorted(k.split())))):
        for index, key in enumerate(ordering):
            for other in ordering[index + 1 : index + 1 + window]:
                if abs(len(key) - len(other)) > (1 - threshold) * max(len(key), len(other)):
                    continue
                if similarity(key, other) > threshold:
                    parent[find(other)] = find(key)
    groups: dict[str, tuple[float, int]] = {}
    for key, (score, item_id) in best.items():
        root = find(key)
        current = groups.get(root)
        if current is None or (score, -item_id) > (current[0], -current[1]):
            groups[root] = (score, item_id)
    return {item_id for _, item_id in groups.values()}


def split_of(question: str, fraction: float, seed: int = 0) -> str:
    """'train' or 'validation', decided by the normalized question so that every answer to the
    same question lands on the same side."""
    if fraction <= 0:
        return "train"
    digest = hashlib.sha256(f"{seed}:{normalize(question)}".encode()).digest()
    return "validation" if int.from_bytes(digest[:8], "big") / 2**64 < fraction else "train"


# -- records ---------------------------------------------------------------------------


def _target(item: dict[str, Any]) -> str:
    return item["ideal"] if item.get("ideal") else item["answer"]


def kto_label(item: dict[str, Any]) -> bool | None:
    """True for approved (ideal answer, thumbs up or 4-5 stars), False for 1-2 stars or thumbs
    down, None when the ratings say neither (3 stars alone, or a tie between reviewers)."""
    if item.get("ideal"):
        return True
    score = (item.get("thumbs_up") or 0) - (item.get("thumbs_down") or 0)
    stars = item.get("stars_mean")
    if stars is not None:
        score += 1 if stars >= 4 else -1 if stars <= 2 else 0
    return True if score > 0 else False if score < 0 else None


def _messages(store: Store, item: dict[str, Any]) -> list[dict[str, str]]:
    messages: list[dict[str, str]] = []
    if item.get("system_prompt"):
        messages.append({"role": "system", "content": item["system_prompt"]})
    if item.get("conversation_id") and (item.get("turn") or 1) > 1:
        for turn in store.exports.conversation_context(item["conversation_id"], item["turn"]):
            if turn["id"] == item["id"]:
                break
            if turn["error"] and not turn["ideal"]:
                continue
            messages.append({"role": "user", "content": turn["question"]})
            messages.append({"role": "assistant", "content": _target(turn)})
    messages.append({"role": "user", "content": item["question"]})
    messages.append({"role": "assistant", "content": _target(item)})
    return messages


# -- the export -------------------------------------------------------------------------


@dataclass
class ExportResult:
    """Where the file went and what it holds."""

    path: str | None
    sha256: str
    counts: ExportCounts
    warnings: list[str] = field(default_factory=list)
    export_id: int | None = None
    validation_path: str | None = None


def _single_targets(store: Store, options: ExportOptions) -> Iterator[dict[str, Any]]:
    """Target items; for multi-turn conversations only the last selected turn (kept whole)."""
    deferred: dict[int, dict[str, Any]] = {}
    for item in store.exports.iter_export_items(
        options.filters,
        min_stars=options.star_threshold,
        only_ideal=options.only_ideal,
        only_agree=options.only_agree,
        exclude_ids=options.exclude_ids,
    ):
        if options.format == "sft" and (item.get("last_turn") or 1) > 1 and item["conversation_id"]:
            current = deferred.get(item["conversation_id"])
            if current is None or item["turn"] > current["turn"]:
                deferred[item["conversation_id"]] = item
            continue
        yield item
    yield from deferred.values()


def _records(store: Store, options: ExportOptions, counts: ExportCounts) -> Iterator[tuple[str, dict]]:
    """(question, record) pairs in the chosen format, before cleaning."""
    if options.format in PAIR_FORMATS:
        yield from _dpo_records(store, options, counts)
        return
    for item in _single_targets(store, options):
        counts.candidates += 1
        question, target = item["question"], _target(item)
        if options.format == "sft":
            record: dict[str, Any] = {"messages": _messages(store, item)}
        elif options.format == "alpaca":
            record = {"instruction": question, "input": "", "output": target}
        elif options.format == "input-output":
            record = {"input": question, "output": target}
        else:  # kto
            label = kto_label(item)
            if label is None:
                counts.kto_undecided += 1
                continue
            record = {"prompt": question, "completion": target, "label": label}
        yield question, record | {"_id": item["id"], "_ids": (item["id"],), "_score": _score(item)}


def _score(item: dict[str, Any]) -> float:
    if item.get("ideal"):
        return 10.0
    return float(item.get("stars_mean") or 0) + 0.1 * ((item.get("thumbs_up") or 0) - (item.get("thumbs_down") or 0))


def _dpo_records(store: Store, options: ExportOptions, counts: ExportCounts) -> Iterator[tuple[str, dict]]:
    """Pairs from each chosen source. A pair is left out when an interaction it uses was left out
    by hand, and when its two answers are the same text (counted: it teaches nothing)."""
    excluded = set(options.exclude_ids)

    def pairs() -> Iterator[tuple[str, str, str, str, int, tuple[int, ...]]]:
        if "votes" in options.dpo_sources:
            for vote in store.exports.iter_vote_pairs(options.filters):
                winner_a = vote["winner"] == "a"
                yield (vote["question"],
                       vote["answer_a"] if winner_a else vote["answer_b"],
                       vote["answer_b"] if winner_a else vote["answer_a"],
                       "votes", -vote["id"], (vote["interaction_a"], vote["interaction_b"]))
        if "ideal" in options.dpo_sources:
            for item in store.exports.iter_export_items(options.filters, only_ideal=True,
                                                exclude_ids=options.exclude_ids):
                if item["answer"]:
                    yield item["question"], item["ideal"], item["answer"], "ideal", item["id"], (item["id"],)
        if "ratings" in options.dpo_sources:
            for pair in store.exports.rated_answers_by_question(options.filters, options.dpo_min_gap):
                yield (pair["question"], pair["chosen"], pair["rejected"], "ratings",
                       pair["chosen_id"], (pair["chosen_id"], pair["rejected_id"]))

    for prompt, chosen, rejected, source, key, ids in pairs():
        if excluded.intersection(ids):
            continue
        if chosen == rejected:
            counts.dpo_identical += 1
            continue
        counts.candidates += 1
        if options.format == "openai-preference":
            body: dict[str, Any] = {
                "input": {"messages": [{"role": "user", "content": prompt}]},
                "preferred_output": [{"role": "assistant", "content": chosen}],
                "non_preferred_output": [{"role": "assistant", "content": rejected}],
            }
        elif options.dpo_layout == "conversational":
            body = {
                "prompt": [{"role": "user", "content": prompt}],
                "chosen": [{"role": "assistant", "content": chosen}],
                "rejected": [{"role": "assistant", "content": rejected}],
            }
        else:
            body = {"prompt": prompt, "chosen": chosen, "rejected": rejected}
        yield prompt, body | {"_id": key, "_ids": ids, "_source": source, "_score": 0.0}


def _scrub_record(record: dict[str, Any]) -> tuple[dict[str, Any], int]:
    total = 0

    def clean(value: Any) -> Any:
        nonlocal total
        if isinstance(value, str):
            text, count = scrub_pii(value)
            total += count
            return text
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    return {k: (clean(v) if not k.startswith("_") else v) for k, v in record.items()}, total


def run_export(
    store: Store,
    options: ExportOptions,
    out: str | os.PathLike[str],
    *,
    who: str | None = None,
    on_progress: Callable[[int], object] | None = None,
    record: bool = True,
    refuse_one_sided: bool = False,
) -> ExportResult:
    """Write the export to ``out`` (and ``<out>.validation.jsonl`` when splitting), write a
    manifest beside it, and record it in the store.

    A file that would hold no rows, only one KTO label or no DPO pair gets a warning saying why
    and what to change; with ``refuse_one_sided`` it is not written at all (OneSidedExport).
    """
    out = Path(out)
    counts = ExportCounts()
    warnings: list[str] = []

    leaked_questions: set[str] = set()
    if options.leakage_set_id is not None:
        leaked_questions = {normalize(q) for q in store.exports.set_questions(options.leakage_set_id)}

    kept: set[int] | None = None
    if options.dedupe:
        probe = ExportCounts()
        keys = [(rec["_id"], question, rec["_score"]) for question, rec in _records(store, options, probe)]
        kept = near_duplicate_keep(keys, options.dedupe_threshold)
        counts.duplicates_dropped = len(keys) - len(kept)

    file_type = "parquet" if out.suffix.lower() == ".parquet" else options.file_type
    validation_path = (out.with_name(out.stem + f".validation.{file_type}")
                       if options.validation_fraction else None)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(out.name + ".partial")
    validation_temporary = validation_path.with_name(validation_path.name + ".partial") if validation_path else None
    writer = _ParquetRows if file_type == "parquet" else _JsonLines
    try:
        with writer(temporary) as train_file, (
            writer(validation_temporary) if validation_temporary else _NullFile()
        ) as validation_file:
            for question, rec in _records(store, options, counts):
                if kept is not None and rec["_id"] not in kept:
                    continue
                if leaked_questions and normalize(question) in leaked_questions:
                    counts.leaked += 1
                    if options.leakage_action == "refuse":
                        raise ExportRefused(
                            "The export contains questions of the evaluation question set; "
                            "choose another set, exclude them, or choose 'warn'."
                        )
                if options.scrub_pii:
                    rec, replaced = _scrub_record(rec)
                    counts.pii_replacements += replaced
                    counts.rows_with_pii += replaced > 0
                row = {k: v for k, v in rec.items() if not k.startswith("_")}
                side = split_of(question, options.validation_fraction, options.seed)
                if side == "validation":
                    validation_file.write(row)
                    counts.validation += 1
                else:
                    train_file.write(row)
                    counts.train += 1
                counts.written += 1
                if options.format == "kto":
                    if rec["label"]:
                        counts.kto_true += 1
                    else:
                        counts.kto_false += 1
                if "_source" in rec:
                    counts.by_source[rec["_source"]] = counts.by_source.get(rec["_source"], 0) + 1
                if on_progress and counts.written % 10_000 == 0:
                    on_progress(counts.written)
        one_sided = one_sided_warning(options, counts)
        if one_sided and refuse_one_sided:
            raise OneSidedExport(one_sided, counts)
        os.replace(temporary, out)
        if validation_temporary and validation_path:
            os.replace(validation_temporary, validation_path)
    finally:
        for leftover in (temporary, validation_temporary):
            if leftover and leftover.exists():
                leftover.unlink()
    if one_sided:
        warnings.append(one_sided)
    if counts.leaked:
        warnings.append(f"{counts.leaked} exported questions also appear in the evaluation set.")
    result = ExportResult(str(out), _sha256(out), counts, warnings,
                          validation_path=str(validation_path) if validation_path else None)
    manifest: dict[str, Any] = {
        "format": options.format,
        "options": options.as_dict(),
        "counts": asdict(counts),
        "sha256": result.sha256,
        "file": out.name,
        "validation_file": validation_path.name if validation_path else None,
        "validation_sha256": _sha256(validation_path) if validation_path else None,
        "who": who,
        "warnings": warnings,
    }
    if record:
        result.export_id = store.exports.record_export(
            format=options.format, options=options.as_dict(), counts=asdict(counts),
            sha256=result.sha256, path=str(out), who=who,
        )
        manifest["export_id"] = result.export_id
    out.with_name(out.name + ".manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    return result


_REMEDIES = {
    # what to change, in the words of the page and of the command line
    "min_stars": ("set “Approve answers rated at least” to “any rating”", "pass --any-rating"),
    "only_ideal": ("untick “Only items with an ideal answer”", "drop --only-ideal"),
    "only_agree": ("untick “Leave out items where reviewers disagree”", "drop --only-agree"),
    "excluded": ("put the items left out by hand back", "drop --exclude"),
    "filters": ("widen the filters", "widen the filter options"),
    "sources": ("add sources under “Pairs from”", "add sources to --dpo-sources"),
    "gap": ("lower “Rating gap for a pair”", "lower --dpo-min-gap"),
}


def _remedy(names: list[str], cli: bool) -> str:
    steps = [_REMEDIES[name][1 if cli else 0] for name in names]
    return steps[0] if len(steps) == 1 else ", ".join(steps[:-1]) + " or " + steps[-1]


def _stars_text(stars: float) -> str:
    return f"{stars:g} stars"


def one_sided_warning(options: ExportOptions, counts: ExportCounts, *, cli: bool = False) -> str | None:
    """Why a file would be useless for training, and what to change; None when it is fine.

    A file is useless when it holds no rows, when a KTO file holds only one label (KTO learns
    from desirable and undesirable answers together), or when DPO finds no pair (a better and
    a worse answer to the same question). ``cli`` names command-line options instead of the
    page's.
    """
    filters_on = not options.filters.is_empty()
    if options.format in PAIR_FORMATS:
        if counts.written:
            return None
        found = (f" (the {counts.dpo_identical:,} found had the same text on both sides)"
                 if counts.dpo_identical else "")
        names = ["filters"] if filters_on else []
        if set(options.dpo_sources) != set(DPO_SOURCES):
            names.append("sources")
        if "ratings" in options.dpo_sources and options.dpo_min_gap > 1:
            names.append("gap")
        if options.exclude_ids:
            names.append("excluded")
        advice = (_remedy(names, cli) if names else
                  "vote in blind comparisons, write ideal answers, or rate more answers to the same "
                  "questions")
        return (f"No DPO pairs to write{found}: a pair needs a chosen and a rejected answer to the "
                f"same question, from a blind vote, an ideal answer or a rating gap. To get pairs, "
                f"{advice}.")

    threshold = options.star_threshold
    if counts.written == 0:
        names = ["filters"] if filters_on else []
        if threshold is not None:
            names.append("min_stars")
        for name in ("only_ideal", "only_agree"):
            if getattr(options, name):
                names.append(name)
        if options.exclude_ids:
            names.append("excluded")
        if options.format == "kto" and counts.kto_undecided:
            why = (f"none of the {counts.kto_undecided:,} answers selected is rated clearly good or "
                   "bad (KTO leaves out 3 stars alone and unrated answers)")
        else:
            why = "no answer passes these filters and options"
        advice = _remedy(names, cli) if names else "rate some answers first"
        return f"No rows to write: {why}. To get rows, {advice}."

    if options.format != "kto" or (counts.kto_true and counts.kto_false):
        return None
    label, missing = ("true", "false") if counts.kto_true else ("false", "true")
    head = (f"Every one of the {counts.written:,} rows is labelled {label}: KTO learns from "
            f"desirable (true) and undesirable (false) answers together, and this file has no "
            f"{missing} one.")
    if label == "true":
        if threshold is not None:
            return (f"{head} The threshold of {_stars_text(threshold)} leaves out every answer "
                    f"rated below it, so no bad answer comes in; {_remedy(['min_stars'], cli)} so "
                    "that answers rated 1–2 stars or thumbs down come in as false.")
        if options.only_ideal:
            return (f"{head} Every item with an ideal answer counts as approved (true); "
                    f"{_remedy(['only_ideal'], cli)}.")
        if filters_on:
            return (f"{head} The filters ({options.filters.describe()}) keep no answer rated "
                    f"1–2 stars or thumbs down; {_remedy(['filters'], cli)}.")
        return (f"{head} None of the selected answers is rated 1–2 stars or thumbs down: rate "
                "the poor answers too before training on this file.")
    if filters_on:
        return (f"{head} The filters ({options.filters.describe()}) keep no answer rated 4–5 "
                f"stars, thumbs up or corrected; {_remedy(['filters'], cli)}.")
    return (f"{head} None of the selected answers is rated 4–5 stars, thumbs up or corrected "
            "with an ideal answer: rate or correct the good answers too before training on this "
            "file.")


def count_rows(store: Store, options: ExportOptions) -> ExportResult:
    """Every count of an export, by running it into a scratch file that is then removed."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        return run_export(store, options, Path(folder) / "count.jsonl", record=False)


def preview(store: Store, options: ExportOptions, limit: int = 20) -> list[dict[str, Any]]:
    """The first records of an export, without writing anything (ids kept for exclusion)."""
    rows = []
    for _, rec in _records(store, replace(options, dedupe=False), ExportCounts()):
        rows.append(rec)
        if len(rows) >= limit:
            break
    return rows


class _NullFile:
    def __enter__(self) -> _NullFile:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def write(self, row: dict[str, Any]) -> None:
        raise ExportRefused("internal error: a validation row without a validation file")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _JsonLines:
    """Rows as JSON lines (UTF-8, one object per line)."""

    def __init__(self, path: Path) -> None:
        self.stream = open(path, "wb")  # noqa: SIM115 - closed by __exit__

    def __enter__(self) -> _JsonLines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stream.close()

    def write(self, row: dict[str, Any]) -> None:
        self.stream.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))


class _ParquetRows:
    """Rows as a Parquet file (row groups of PARQUET_ROWS; columns typed from the first rows),
    which ``datasets.load_dataset("parquet", ...)`` reads."""

    PARQUET_ROWS = 10_000

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: list[dict[str, Any]] = []
        self.writer: Any = None
        self.schema: Any = None

    def __enter__(self) -> _ParquetRows:
        return self

    def write(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.PARQUET_ROWS:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.writer is None:
            table = pa.Table.from_pylist(self.rows)
            self.schema = table.schema
            self.writer = pq.ParquetWriter(str(self.path), self.schema)
        else:
            table = pa.Table.from_pylist(self.rows, schema=self.schema)
        self.writer.write_table(table)
        self.rows = []

    def __exit__(self, *exc: object) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.rows or self.writer is None:
            if self.writer is None and not self.rows:
                pq.write_table(pa.table({}), str(self.path))
                return
            self._flush()
        self.writer.close()
