"""Widgets of the Export page: options, preview with hand exclusion, build and download."""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard.exporting import (
    DPO_SOURCES,
    ExportOptions,
    ExportRefused,
    count_rows,
    preview,
    run_export,
)
from dashboard.filters import Filters
from store import Store

EXCLUDED_KEY = "export.excluded"
RESULT_KEY = "export.result"
FORMAT_HELP = {
    "sft": "Chat messages (system, user, assistant) for OpenAI fine-tuning and TRL's SFTTrainer.",
    "alpaca": "instruction / input / output records.",
    "input-output": "input / output records.",
    "dpo": "prompt / chosen / rejected from blind votes, ideal answers and rating gaps (TRL DPO).",
    "kto": "prompt / completion / label (true: approved, false: rejected) for TRL's KTOTrainer.",
}


def export_dir(store: Store) -> Path:
    """Where built files go: an exports folder beside the database."""
    if store.path == ":memory:":
        return Path(tempfile.gettempdir()) / "loupe-exports"
    return Path(store.path).resolve().parent / "exports"


def options_form(store: Store, fmt: str, filters: Filters) -> ExportOptions:
    """Curation and cleaning options for a format."""
    excluded = tuple(sorted(st.session_state.get(EXCLUDED_KEY, set())))
    left, right = st.columns(2)
    with left:
        st.markdown("**Curation**")
        stars = st.selectbox(
            "Approve answers rated at least", [None, 3, 4, 5], index=0 if fmt in ("kto", "dpo") else 2,
            format_func=lambda s: "any rating" if s is None else f"{s} stars (mean)",
            help="An item with an ideal answer is always approved: stars judge the model's "
                 "answer only where nobody wrote a better one.", key="export.min_stars")
        only_ideal = st.checkbox("Only items with an ideal answer", key="export.only_ideal")
        only_agree = st.checkbox("Leave out items where reviewers disagree", key="export.only_agree",
                                 help="Stars more than one apart, or thumbs split.")
        sources, layout, gap = DPO_SOURCES, "standard", 1.0
        if fmt == "dpo":
            sources = tuple(st.multiselect("Pairs from", DPO_SOURCES, default=list(DPO_SOURCES),
                                           key="export.dpo_sources"))
            layout = st.radio("Layout", ["standard", "conversational"], horizontal=True,
                              key="export.dpo_layout")
            gap = st.slider("Rating gap for a pair (stars)", 0.5, 4.0, 1.0, 0.5, key="export.gap")
    with right:
        st.markdown("**Cleaning**")
        dedupe = st.checkbox("Remove near-duplicate questions (keep the best rated)", key="export.dedupe")
        threshold = st.slider("Similarity above which questions are duplicates", 0.5, 1.0, 0.9, 0.01,
                              disabled=not dedupe, key="export.threshold")
        scrub = st.checkbox("Replace emails, phone and card numbers, IP addresses", key="export.pii")
        fraction = st.slider("Validation share", 0, 50, 0, 5, key="export.validation",
                             help="All answers to the same question land on the same side.") / 100
        sets = store.list_question_sets()
        leakage = st.selectbox("Evaluation set to keep out", [None] + [s["id"] for s in sets],
                               format_func=lambda i: "none" if i is None else
                               next(s["name"] for s in sets if s["id"] == i), key="export.leakage")
        action = st.radio("If exported questions are in it", ["refuse", "warn"], horizontal=True,
                          key="export.leakage_action", disabled=leakage is None)
    return ExportOptions(
        format=fmt, filters=filters, min_stars=stars, only_ideal=only_ideal, only_agree=only_agree,
        exclude_ids=excluded, dedupe=dedupe, dedupe_threshold=threshold, scrub_pii=scrub,
        validation_fraction=fraction, leakage_set_id=leakage, leakage_action=action,
        dpo_sources=sources or DPO_SOURCES, dpo_layout=layout, dpo_min_gap=gap,
    )


def preview_editor(store: Store, options: ExportOptions) -> None:
    """The first rows of the export, with a box to leave single items out by hand."""
    rows = preview(store, options, limit=25)
    if not rows:
        st.info("Nothing to export with these filters and options.")
        return
    excluded: set[int] = st.session_state.setdefault(EXCLUDED_KEY, set())
    frame = pd.DataFrame(
        [{"leave out": False, "id": r["_id"],
          **{k: _short(v) for k, v in r.items() if not k.startswith("_")}} for r in rows]
    )
    edited = st.data_editor(frame, hide_index=True, width="stretch", key="export.preview",
                            disabled=[c for c in frame.columns if c != "leave out"])
    newly = {int(i) for i in edited.loc[edited["leave out"], "id"]}
    if newly - excluded:
        excluded |= newly
        st.rerun()
    if excluded:
        st.caption(f"Left out by hand: {', '.join(map(str, sorted(excluded)))}.")
        if st.button("Put them back", key="export.clear_excluded"):
            excluded.clear()
            st.rerun()


def counts_before_writing(store: Store, options: ExportOptions) -> None:
    """How many rows the export would write, and what each cleaning step would change."""
    if not st.button("Count rows", key="export.count", icon=":material/functions:"):
        return
    with st.spinner("Counting…"):
        try:
            result = count_rows(store, options)
        except ExportRefused as exc:
            st.error(str(exc))
            return
    c = result.counts
    parts = [f"**{c.written:,} rows** would be written"]
    if options.validation_fraction:
        parts.append(f"{c.train:,} train / {c.validation:,} validation")
    if options.dedupe:
        parts.append(f"{c.duplicates_dropped:,} near-duplicates dropped")
    if options.scrub_pii:
        parts.append(f"{c.pii_replacements:,} PII replacements")
    if c.kto_undecided:
        parts.append(f"{c.kto_undecided:,} left out as neither good nor bad")
    st.markdown(" · ".join(parts))
    for warning in result.warnings:
        st.warning(warning)


def build(store: Store, options: ExportOptions, who: str | None) -> None:
    """Build the file (only when asked), then offer it for download."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    out = export_dir(store) / f"loupe-{options.format}-{stamp}.jsonl"
    bar = st.progress(0.0, text="Writing…")
    try:
        result = run_export(store, options, out, who=who or None,
                            on_progress=lambda n: bar.progress(0.5, text=f"{n:,} rows written…"))
    except ExportRefused as exc:
        bar.empty()
        st.error(str(exc))
        return
    bar.progress(1.0, text=f"{result.counts.written:,} rows written")
    st.session_state[RESULT_KEY] = result


def show_result() -> None:
    """Counts of the last build and its download buttons."""
    result = st.session_state.get(RESULT_KEY)
    if result is None:
        return
    counts = asdict(result.counts)
    cols = st.columns(4)
    cols[0].metric("Rows written", f"{counts['written']:,}")
    cols[1].metric("Duplicates dropped", f"{counts['duplicates_dropped']:,}")
    cols[2].metric("PII replaced", f"{counts['pii_replacements']:,}",
                   help=f"in {counts['rows_with_pii']:,} rows")
    cols[3].metric("Train / validation", f"{counts['train']:,} / {counts['validation']:,}")
    for warning in result.warnings:
        st.warning(warning)
    st.caption(f"sha256 {result.sha256} · {result.path}")
    path = Path(result.path)
    left, middle, right = st.columns(3)
    left.download_button("Download", path.read_bytes(), file_name=path.name,
                         mime="application/jsonl", icon=":material/download:", type="primary")
    manifest = path.with_name(path.name + ".manifest.json")
    middle.download_button("Manifest", manifest.read_bytes(), file_name=manifest.name,
                           mime="application/json")
    if result.validation_path:
        validation = Path(result.validation_path)
        right.download_button("Validation file", validation.read_bytes(), file_name=validation.name,
                              mime="application/jsonl")


def past_exports(store: Store, who: str | None) -> None:
    """Earlier exports, each of which can be built again with the same options."""
    exports = store.list_exports()
    if not exports:
        st.caption("No export yet.")
        return
    st.dataframe(
        pd.DataFrame([{"id": e["id"], "when": e["created_at"][:16].replace("T", " "),
                       "format": e["format"], "rows": e["rows"], "who": e["who"] or "",
                       "sha256": e["sha256"][:16] + "…"} for e in exports]),
        hide_index=True, width="stretch")
    chosen = st.selectbox("Export to build again", [e["id"] for e in exports], key="export.rerun_id")
    if st.button("Build again with the same options", key="export.rerun"):
        record = next(e for e in exports if e["id"] == chosen)
        build(store, ExportOptions.from_dict(record["options"]), who)
        result = st.session_state.get(RESULT_KEY)
        if result is not None:
            same = result.sha256 == record["sha256"]
            (st.success if same else st.info)(
                "Same file, byte for byte." if same else
                "The data changed since: the new file differs from the recorded one.")


def _short(value: object, limit: int = 160) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[:limit] + "…"
