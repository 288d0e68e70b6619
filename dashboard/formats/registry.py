"""The one registry of import formats: name -> which containers, how to recognise a record,
how to read one.

A file's container (JSON lines, a JSON array, CSV, Parquet) is read from its content; its
format is recognised from its first record, unless forced by name (``--format NAME``). Every
format yields the same record types (store.ingest.ImportRow, ImportVote) into the same pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dashboard import pairwise_import
from dashboard.formats import loupe, openwebui, otlp, trl
from store.ingest import ImportRow, ImportVote

Record = ImportRow | ImportVote
JSONL, JSON_ARRAY, CSV, PARQUET = "jsonl", "json", "csv", "parquet"
CONTAINER_NAMES = {JSONL: "JSON lines", JSON_ARRAY: "a JSON array", CSV: "CSV", PARQUET: "Parquet"}


@dataclass(frozen=True)
class Format:
    """One import format."""

    name: str
    title: str
    containers: tuple[str, ...]
    detect: Callable[[dict[str, Any]], bool]
    parse: Callable[[Any], list[Any]]


FORMATS: dict[str, Format] = {
    f.name: f for f in (
        # In the order a first record is tried against them.
        Format("otlp", "OpenTelemetry GenAI spans (OTLP JSON)", (JSONL,), otlp.detect, otlp.parse),
        Format("openwebui", "Open WebUI feedback export", (JSON_ARRAY, JSONL), openwebui.detect,
               openwebui.parse),
        Format("openai-preference", "OpenAI preference fine-tuning data", (JSONL, PARQUET),
               trl.detect_openai, trl.parse_openai),
        Format("pairwise", "Pairwise votes", (JSONL, CSV, PARQUET), pairwise_import.detect,
               pairwise_import.parse),
        Format("trl", "Hugging Face / TRL dataset", (JSONL, PARQUET, CSV), trl.detect, trl.parse),
        Format("jsonl", "Loupe interactions (JSON lines)", (JSONL, PARQUET), loupe.detect,
               loupe.parse),
        Format("csv", "Loupe interactions (CSV)", (CSV,), loupe.detect, loupe.parse),
    )
}
NAMES = ("auto", *FORMATS)


def recognise(container: str, first: Any) -> Format:
    """The format of a file in ``container`` whose first record is ``first``."""
    if isinstance(first, dict):
        for fmt in FORMATS.values():
            if container in fmt.containers and fmt is not FORMATS["jsonl"] and fmt.detect(first):
                return fmt
    return FORMATS["csv"] if container == CSV else FORMATS["jsonl"]
