"""A/B experiments: run a question set through variants, resume after interruptions, pick blind pairs."""

from __future__ import annotations

import hashlib
import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dashboard.llm import (
    EMBEDDED,
    EMBEDDED_MODEL,
    OLLAMA,
    Backend,
    ChatStream,
    GenerationOptions,
    backend_named,
)
from dashboard.pairwise import vote_report, votes_from_rows
from store import Store

CHOICES = ("left", "right", "tie", "both_bad")


def variant_label(variant: dict[str, Any]) -> str:
    """How a variant version is named in votes and charts, e.g. 'concise v2'."""
    return f"{variant['name']} v{variant['version']}"


def render_messages(variant: dict[str, Any], question: str) -> list[dict[str, str]]:
    """The chat messages a variant sends for a question (system prompt + filled template)."""
    template = variant.get("template") or "{question}"
    messages = []
    if variant.get("system_prompt"):
        messages.append({"role": "system", "content": variant["system_prompt"]})
    messages.append({"role": "user", "content": template.replace("{question}", question)})
    return messages


def generation_options(variant: dict[str, Any]) -> GenerationOptions:
    """Sampling settings from a variant's params."""
    params = variant.get("params") or {}
    return GenerationOptions(
        temperature=float(params.get("temperature", 0.7)),
        max_tokens=int(params.get("max_tokens", 512)),
        seed=int(params["seed"]) if params.get("seed") is not None else None,
    )


def variant_backend_name(variant: dict[str, Any]) -> str:
    """The backend a variant runs on: the one its params name (e.g. 'openai:vllm'); without
    one, 'embedded' for the embedded model, else 'ollama'."""
    named = (variant.get("params") or {}).get("backend")
    if named:
        return str(named)
    model = variant.get("model")
    return EMBEDDED if not model or model == EMBEDDED_MODEL else OLLAMA


def backend_for_variant(variant: dict[str, Any]) -> Backend:
    """The backend object for a variant (see variant_backend_name)."""
    return backend_named(variant_backend_name(variant))


# -- question sets ------------------------------------------------------------------


@dataclass
class ParsedQuestions:
    """Questions read from pasted text or a file, and the lines that were refused."""

    items: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def parse_questions(text: str, name: str = "pasted text") -> ParsedQuestions:
    """One question per line, or JSONL with question and optional reference_answer, category."""
    parsed = ParsedQuestions()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                parsed.refused.append(f"{name}:{number}: not valid JSON ({exc.msg})")
                continue
            question = record.get("question") if isinstance(record, dict) else None
            if not isinstance(question, str) or not question.strip():
                parsed.refused.append(f"{name}:{number}: no \"question\" text")
                continue
            item: dict[str, Any] = {"question": question.strip()}
            for key in ("reference_answer", "category"):
                value = record.get(key)
                if value is not None and not isinstance(value, str):
                    parsed.refused.append(f"{name}:{number}: \"{key}\" must be text")
                    break
                item[key] = value
            else:
                parsed.items.append(item)
        else:
            parsed.items.append({"question": line})
    return parsed


# -- running --------------------------------------------------------------------------


@dataclass
class RunProgress:
    """Where an experiment run stands."""

    total: int = 0
    done: int = 0
    failed: int = 0
    running: bool = False
    stopped: bool = False
    message: str = ""


def run_experiment(
    store: Store,
    experiment_id: int,
    *,
    backend_for: Callable[[dict[str, Any]], Backend] = backend_for_variant,
    retry_failed: bool = False,
    on_progress: Callable[[RunProgress], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> RunProgress:
    """Answer every due (question, variant) pair; each answer is stored as soon as it is ready.

    Answers already stored are never asked again, so an interrupted run resumes where it stopped.
    A failed call is stored with its error and the run goes on.
    """
    experiment = store.experiments.get_experiment(experiment_id)
    if experiment is None:
        raise ValueError(f"no experiment with id {experiment_id}")
    variants = {v["id"]: v for v in experiment["variants"]}
    due = store.experiments.experiment_runs_due(experiment_id, retry_failed=retry_failed)
    progress = RunProgress(total=len(due), running=True)
    if on_progress:
        on_progress(progress)
    for run in due:
        if should_stop():
            progress.stopped = True
            break
        variant = variants[run["variant_id"]]
        backend = backend_for(variant)
        model = variant.get("model") or EMBEDDED_MODEL
        options = generation_options(variant)
        result = ChatStream(backend, model, render_messages(variant, run["question"]), options).run()
        store.experiments.record_experiment_answer(
            experiment_id,
            run["item_id"],
            run["variant_id"],
            run["question"],
            system_prompt=variant.get("system_prompt"),
            params=variant.get("params") or {},
            **result.as_record(),
        )
        progress.done += 1
        progress.failed += result.error is not None
        if on_progress:
            on_progress(progress)
    progress.running = False
    return progress


class ExperimentRunner:
    """Runs experiments in background threads, so a run outlives the page that started it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._threads: dict[int, threading.Thread] = {}
        self._progress: dict[int, RunProgress] = {}
        self._stop: dict[int, threading.Event] = {}

    def start(self, store: Store, experiment_id: int, **kwargs: Any) -> bool:
        """Start (or resume) a run unless one is already going; return whether it started."""
        with self._lock:
            thread = self._threads.get(experiment_id)
            if thread is not None and thread.is_alive():
                return False
            stop = threading.Event()
            self._stop[experiment_id] = stop
            self._progress[experiment_id] = RunProgress(running=True)

            def work() -> None:
                try:
                    run_experiment(
                        store,
                        experiment_id,
                        on_progress=lambda p: self._progress.__setitem__(experiment_id, p),
                        should_stop=stop.is_set,
                        **kwargs,
                    )
                except Exception as exc:  # noqa: BLE001 - reported on the page
                    self._progress[experiment_id].message = f"The run stopped: {exc}"
                finally:
                    self._progress[experiment_id].running = False

            thread = threading.Thread(target=work, name=f"experiment-{experiment_id}", daemon=True)
            self._threads[experiment_id] = thread
            thread.start()
            return True

    def stop(self, experiment_id: int) -> None:
        """Ask a run to stop after the answer in progress."""
        event = self._stop.get(experiment_id)
        if event:
            event.set()

    def progress(self, experiment_id: int) -> RunProgress | None:
        """The progress of the latest run of this experiment in this process, if any."""
        return self._progress.get(experiment_id)

    def wait(self, experiment_id: int, timeout: float | None = None) -> None:
        """Block until the experiment's run ends."""
        thread = self._threads.get(experiment_id)
        if thread is not None:
            thread.join(timeout)


# -- blind pairs --------------------------------------------------------------------------


@dataclass(frozen=True)
class BlindPair:
    """Two answers to one question, shown without names; ``left_side`` says which is on the left."""

    experiment_id: int
    item_id: int
    question: str
    a: dict[str, Any]
    b: dict[str, Any]
    left_side: str  # "a" or "b"

    @property
    def left(self) -> dict[str, Any]:
        """The answer shown as Answer 1."""
        return self.a if self.left_side == "a" else self.b

    @property
    def right(self) -> dict[str, Any]:
        """The answer shown as Answer 2."""
        return self.b if self.left_side == "a" else self.a

    def winner(self, choice: str) -> str:
        """The stored winner (a, b, tie, both_bad) for what the reviewer chose on screen."""
        if choice not in CHOICES:
            raise ValueError(f"a choice is one of {CHOICES}, not {choice!r}")
        if choice == "left":
            return self.left_side
        if choice == "right":
            return "b" if self.left_side == "a" else "a"
        return choice

    def label(self, side: str) -> str:
        """The variant label of side a or b (only to reveal after the vote)."""
        row = self.a if side == "a" else self.b
        return f"{row['variant_name']} v{row['variant_version']}"


def blind_pairs_left(store: Store, experiment_id: int, reviewer: str) -> list[tuple[dict, dict]]:
    """Answer pairs of this experiment the reviewer has not voted on yet (both answered)."""
    by_item: dict[int, list[dict[str, Any]]] = {}
    for row in store.experiments.experiment_answers(experiment_id):
        if row["answer"] and not row["error"]:
            by_item.setdefault(row["item_id"], []).append(row)
    voted = store.experiments.voted_pairs(experiment_id, reviewer)
    pairs = []
    for rows in by_item.values():
        for i, first in enumerate(rows):
            for second in rows[i + 1 :]:
                if (first["interaction_id"], second["interaction_id"]) not in voted:
                    pairs.append((first, second))
    return pairs


def next_blind_pair(
    store: Store, experiment_id: int, reviewer: str, rng: random.Random | None = None
) -> BlindPair | None:
    """The next pair for this reviewer, in an order of their own, with a random left side."""
    pairs = blind_pairs_left(store, experiment_id, reviewer)
    if not pairs:
        return None
    key = f"{experiment_id}:{reviewer}".encode()
    order = random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))
    order.shuffle(pairs)
    first, second = pairs[0]
    rng = rng or random.SystemRandom()
    return BlindPair(
        experiment_id=experiment_id,
        item_id=first["item_id"],
        question=first["question"],
        a=first,
        b=second,
        left_side=rng.choice("ab"),
    )


def cast_vote(
    store: Store, pair: BlindPair, choice: str, reviewer: str, reason: str | None = None
) -> int:
    """Store the reviewer's choice for a blind pair, with the side that was on the left."""
    return store.experiments.record_vote(
        question=pair.question,
        interaction_a=pair.a["interaction_id"],
        interaction_b=pair.b["interaction_id"],
        variant_a=pair.label("a"),
        variant_b=pair.label("b"),
        winner=pair.winner(choice),
        left_side=pair.left_side,
        reason=reason,
        reviewer=reviewer,
        experiment_id=pair.experiment_id,
        item_id=pair.item_id,
        length_a=len(pair.a["answer"] or ""),
        length_b=len(pair.b["answer"] or ""),
    )



def pairwise_report(
    store: Store, experiment_id: int | None = None, sources: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Pair statistics, the leaderboard (with what it can show) and the bias checks."""
    return vote_report(votes_from_rows(store.experiments.votes(experiment_id=experiment_id, sources=sources)))
