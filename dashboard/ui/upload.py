"""The upload box: import a feedback file from the browser, through the same pipeline as the
command line (every format, detected from the content or chosen by name)."""

from __future__ import annotations

import io
import sqlite3
from typing import Any

import streamlit as st

from dashboard.formats.registry import FORMATS
from dashboard.importing import (
    DEFAULT_REVIEWER,
    ImportProblem,
    ImportReport,
    Refusal,
    import_stream,
    write_rejected,
)
from dashboard.safe_text import plain_text
from dashboard.ui.guard import permitted
from store import Store

FILE_KEY = "upload.file"
SKIP_KEY = "upload.skip_invalid"
FORMAT_KEY = "upload.format"
AUTO = "auto"
BUTTON_KEY = "upload.import"
RESULT_KEY = "upload.result"
SHOWN_REFUSALS = 50

HELP = (
    "One record per line (JSONL) or per row (CSV with a header). Needs a `question` (or `input`,"
    " `prompt`); takes `answer` (or `response`, `output`), `rating` 1-5, `thumbs`, `comment`,"
    " `tags`, `ideal_answer`, `reviewer`, `model`, `variant`, `created_at`, `conversation_id`,"
    f" `turn`, `external_id` and `meta`. Ratings without a reviewer are filed under"
    f" \"{DEFAULT_REVIEWER}\". Fields up to 1 MB each. Also read as their tools write them:"
    " pairwise votes (`question`, `answer_a`, `answer_b`, `winner`), Hugging Face / TRL datasets"
    " (`messages`; `prompt`, `chosen`, `rejected`; `prompt`, `completion`, `label`) in JSONL or"
    " Parquet, OpenAI preference data, Open WebUI's feedback export (JSON) and OpenTelemetry"
    " spans (OTLP JSON lines). The format is recognised from the content."
)


def _run_import(store: Store, uploaded: Any, skip_invalid: bool, fmt: str = AUTO) -> dict[str, Any]:
    """Import the uploaded file with a progress bar; return what the result panel shows."""
    shown = plain_text(uploaded.name)
    bar = st.progress(0.0, text=f"Importing {shown}…")
    rejected = io.BytesIO()

    def progress(records: int, done: int, total: int) -> None:
        share = min(1.0, done / total) if total else 1.0
        bar.progress(share, text=f"Importing {shown}… {records:,} lines read")

    def refused(refusal: Refusal) -> None:
        if refusal.line:
            write_rejected([refusal], rejected)

    # A connection of its own: a long import must not hold up the pages other people read.
    own = Store(store.path) if store.path != ":memory:" else None
    try:
        uploaded.seek(0)
        report = import_stream(
            own or store, uploaded, uploaded.name, fmt=fmt, skip_invalid=skip_invalid,
            progress=progress, on_refused=refused, total_bytes=uploaded.size,
        )
    except ImportProblem as problem:
        return {"name": uploaded.name, "problem": str(problem)}
    except sqlite3.OperationalError as exc:
        return {"name": uploaded.name,
                "problem": f"The database refused the write ({exc}); nothing was imported."
                           " Try again in a moment."}
    finally:
        bar.empty()
        if own is not None:
            own.close()
    return {"name": uploaded.name, "report": report, "rejected": rejected.getvalue()}


def _show(result: dict[str, Any]) -> None:
    name = plain_text(result["name"])
    if "problem" in result:
        st.error(plain_text(result["problem"]), icon=":material/error:")
        return
    report: ImportReport = result["report"]
    if report.fatal is not None:
        st.error(f"{name}: {plain_text(report.fatal.reason)}. Nothing was imported.",
                 icon=":material/error:")
        return
    if report.committed:
        st.success(f"{name}: {report.summary()}.", icon=":material/check_circle:")
        st.caption(f"Read as {FORMATS[report.format].title}. {report.details()}")
        if report.refused:
            st.warning(
                f"{report.refused:,} refused {'line was' if report.refused == 1 else 'lines were'}"
                " left out: the list says why, and the download keeps their text.",
                icon=":material/warning:",
            )
    else:
        lines = "line" if report.valid == 1 else "lines"
        st.error(
            report.closing(
                skip_hint=f"tick “Skip invalid lines” to land the {report.valid:,} valid {lines}"
                " and download the refused ones"
            ),
            icon=":material/error:",
        )
    if report.refusals:
        shown = report.refusals[:SHOWN_REFUSALS]
        if report.refused > len(shown):
            st.caption(f"The first {len(shown)} of {report.refused:,} refused lines:")
        # FILE:LINE: why, as the command line prints it (a code block shows data as plain text)
        st.code("\n".join(r.where(result["name"]) for r in shown), language=None,
                wrap_lines=True)
        st.download_button(
            "Download the refused lines (JSONL)",
            data=result["rejected"],
            file_name=f"{result['name']}.rejected.jsonl",
            mime="application/jsonl",
            icon=":material/download:",
            on_click="ignore",
        )


def import_box(store: Store) -> None:
    """File picker, a skip-invalid option and an Import button; then what landed or was refused."""
    uploaded = st.file_uploader(
        "Feedback file (JSONL, JSON, CSV or Parquet)",
        type=["jsonl", "ndjson", "json", "csv", "tsv", "parquet"], key=FILE_KEY, help=HELP,
    )
    st.selectbox(
        "Format", [AUTO, *FORMATS], key=FORMAT_KEY,
        format_func=lambda name: "Recognise from the content" if name == AUTO else FORMATS[name].title,
        help="Leave it on “Recognise from the content” unless the file is read the wrong way.",
    )
    st.checkbox(
        "Skip invalid lines",
        key=SKIP_KEY,
        help="Import the valid lines and let you download the refused ones. Without it, one"
        " refused line stops the whole import and nothing lands.",
    )
    if st.button("Import", key=BUTTON_KEY, type="primary", disabled=uploaded is None,
                 icon=":material/upload:") and uploaded is not None and permitted(store, "import"):
        skip = bool(st.session_state.get(SKIP_KEY))
        st.session_state[RESULT_KEY] = _run_import(
            store, uploaded, skip, st.session_state.get(FORMAT_KEY) or AUTO
        )
    result = st.session_state.get(RESULT_KEY)
    if result is not None:
        _show(result)
