"""Widgets of the Export page: options that suit each format, a preview that reads like the
file, hand exclusion, a build that warns before writing a one-sided file, and the download.

A built file belongs to the settings it was built from: as soon as the format, a filter or a
curation option changes, the file and its download leave the screen.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.exporting import (
    DPO_SOURCES,
    FILE_TYPES,
    PAIR_FORMATS,
    ExportOptions,
    ExportRefused,
    ExportResult,
    OneSidedExport,
    count_rows,
    default_min_stars,
    preview,
    run_export,
)
from dashboard.filters import Filters
from dashboard.safe_text import inert_markdown
from store import Store

EXCLUDED_KEY = "export.excluded"
RESULT_KEY = "export.result"  # (options, result): the last file built and the settings it came from
PENDING_KEY = "export.pending"  # (options, warning): a one-sided file waiting for "Build it anyway"
REBUILT_KEY = "export.rebuilt"  # (export id, result): a past export built again
PREVIEW_LIMIT_KEY = "export.preview_limit"
PREVIEW_STEP = 10

FORMAT_HELP = {
    "sft": "Chat messages (system, user, assistant) for OpenAI fine-tuning and TRL's SFTTrainer. "
           "Approved answers only.",
    "alpaca": "instruction / input / output records of approved answers.",
    "input-output": "input / output records of approved answers.",
    "dpo": "prompt / chosen / rejected pairs from blind votes, ideal answers and rating gaps "
           "(TRL's DPOTrainer).",
    "kto": "prompt / completion / label for TRL's KTOTrainer: true for an ideal answer, thumbs up "
           "or 4–5 stars, false for thumbs down or 1–2 stars; 3 stars alone is left out.",
    "openai-preference": "input.messages / preferred_output / non_preferred_output: the "
                         "preference fine-tuning layout that OpenAI and several hosted services "
                         "read, from the same pairs as DPO.",
}
FILE_TYPE_HELP = ("JSONL: one JSON object per line. Parquet: the same rows in columns, which "
                  "`datasets.load_dataset(\"parquet\", ...)` and pandas read.")
STARS_HELP = {
    "kto": "KTO labels each answer from its ratings, good (true) and bad (false) alike, so it "
           "starts with “any rating”: a threshold leaves out the answers below it, and with them "
           "the false examples.",
}
DEFAULT_STARS_HELP = ("An item with an ideal answer is always approved: stars judge the model's "
                      "answer only where nobody wrote a better one.")
SOURCE_SHORT = {"votes": "blind votes", "ideal": "ideal answers", "ratings": "rating gaps"}
SOURCES_HELP = ("Blind votes: the winning answer against the losing one. Ideal answers: a "
                "reviewer's ideal answer against the model's answer. Rating gaps: the better "
                "against the worse rated answer to the same question.")


def export_dir(store: Store) -> Path:
    """Where built files go: an exports folder beside the database."""
    if store.path == ":memory:":
        return Path(tempfile.gettempdir()) / "loupe-exports"
    return Path(store.path).resolve().parent / "exports"


# -- options ------------------------------------------------------------------------------


def options_form(store: Store, fmt: str, filters: Filters) -> ExportOptions:
    """Curation and cleaning options, each starting at what suits the format."""
    excluded = tuple(sorted(st.session_state.get(EXCLUDED_KEY, set())))
    left, right = st.columns(2)
    with left:
        st.markdown("**Curation**")
        stars: float | None = None
        only_ideal = only_agree = False
        sources: tuple[str, ...]
        sources, layout, gap = DPO_SOURCES, "standard", 1.0
        if fmt in PAIR_FORMATS:
            sources = tuple(st.multiselect(
                "Pairs from", DPO_SOURCES, default=list(DPO_SOURCES), key="export.dpo_sources",
                format_func=SOURCE_SHORT.__getitem__, help=SOURCES_HELP))
            if fmt == "dpo":
                layout = st.radio("Layout", ["standard", "conversational"], horizontal=True,
                                  key="export.dpo_layout",
                                  help="standard: plain strings; conversational: lists of messages.")
            gap = st.slider("Rating gap for a pair (stars)", 0.5, 4.0, 1.0, 0.5, key="export.gap",
                            help="Two answers to the same question make a pair when their mean "
                                 "stars are at least this far apart.")
        else:
            choices: list[float | None] = [None, 3.0, 4.0, 5.0]
            # one key per format: each format starts at its own default
            stars = st.selectbox(
                "Approve answers rated at least", choices,
                index=choices.index(default_min_stars(fmt)), key=f"export.min_stars.{fmt}",
                format_func=lambda s: "any rating" if s is None else f"{s:g} stars (mean)",
                help=STARS_HELP.get(fmt, DEFAULT_STARS_HELP))
            only_ideal = st.checkbox("Only items with an ideal answer", key="export.only_ideal")
            only_agree = st.checkbox("Leave out items where reviewers disagree",
                                     key="export.only_agree",
                                     help="Stars more than one apart, or thumbs split.")
    with right:
        st.markdown("**Cleaning**")
        dedupe = st.checkbox("Remove near-duplicate questions (keep the best rated)", key="export.dedupe")
        threshold = st.slider("Similarity above which questions are duplicates", 0.5, 1.0, 0.9, 0.01,
                              disabled=not dedupe, key="export.threshold")
        scrub = st.checkbox("Replace emails, phone and card numbers, IP addresses", key="export.pii")
        fraction = st.slider("Validation share", 0, 50, 0, 5, key="export.validation",
                             help="All answers to the same question land on the same side.") / 100
        sets = store.experiments.list_question_sets()
        names = {0: "none"} | {s["id"]: s["name"] for s in sets}  # 0: no set
        leakage = st.selectbox("Evaluation set to keep out", list(names), key="export.leakage",
                               format_func=names.__getitem__) or None
        action = st.radio("If exported questions are in it", ["refuse", "warn"], horizontal=True,
                          key="export.leakage_action", disabled=leakage is None)
        file_type = st.radio("File", FILE_TYPES, horizontal=True, key="export.file_type",
                             format_func={"jsonl": "JSONL", "parquet": "Parquet"}.__getitem__,
                             help=FILE_TYPE_HELP)
    return ExportOptions(
        format=fmt, filters=filters, min_stars=stars, only_ideal=only_ideal, only_agree=only_agree,
        exclude_ids=excluded, dedupe=dedupe, dedupe_threshold=threshold, scrub_pii=scrub,
        validation_fraction=fraction, leakage_set_id=leakage, leakage_action=action,
        dpo_sources=sources, dpo_layout=layout, dpo_min_gap=gap, file_type=file_type,
    )


def forget_stale_result(options: ExportOptions) -> None:
    """Drop the built file and a waiting warning when the settings they came from changed."""
    for key in (RESULT_KEY, PENDING_KEY):
        kept = st.session_state.get(key)
        if kept is not None and kept[0] != options:
            del st.session_state[key]


# -- preview ------------------------------------------------------------------------------


def preview_rows(store: Store, options: ExportOptions) -> None:
    """The first rows of the file as a trainer will read them, each with a box to leave it out."""
    limit = st.session_state.get(PREVIEW_LIMIT_KEY, PREVIEW_STEP)
    rows = preview(store, options, limit=limit)
    excluded: set[int] = st.session_state.setdefault(EXCLUDED_KEY, set())
    if rows:
        st.caption(f"The first {len(rows)} rows of the file, before cleaning. “Leave out” keeps "
                   "an item out of the file.")
        for row in rows:
            _preview_card(options, row)
        if len(rows) == limit:
            st.button(f"Show {PREVIEW_STEP} more", key="export.preview_more",
                      on_click=_show_more, args=(limit,))
    else:
        st.info("Nothing to export with these filters and options.", icon=":material/info:")
    if excluded:
        st.caption(f"Left out by hand: {', '.join(f'#{i}' for i in sorted(excluded))}.")
        st.button("Put them back", key="export.clear_excluded", on_click=excluded.clear)


def _show_more(limit: int) -> None:
    st.session_state[PREVIEW_LIMIT_KEY] = limit + PREVIEW_STEP


def _leave_out(ids: tuple[int, ...]) -> None:
    st.session_state.setdefault(EXCLUDED_KEY, set()).update(ids)


def _preview_card(options: ExportOptions, row: dict[str, Any]) -> None:
    fmt = options.format
    with st.container(border=True):
        head, badge, toggle = st.columns([6, 2, 1.4], vertical_alignment="center")
        head.caption(_row_title(row))
        if fmt == "kto":
            if row["label"]:
                badge.badge("label: true", icon=":material/thumb_up:", color="green",
                            help="desirable: an ideal answer, thumbs up or 4–5 stars")
            else:
                badge.badge("label: false", icon=":material/thumb_down:", color="red",
                            help="undesirable: thumbs down or 1–2 stars")
        toggle.checkbox("Leave out", key=f"export.leave_out.{fmt}.{row.get('_source', '')}{row['_id']}",
                        on_change=_leave_out, args=(tuple(row["_ids"]),))
        if fmt == "sft":
            _messages(row["messages"])
        elif fmt == "alpaca":
            _turn("user", row["instruction"], "instruction")
            if row["input"]:
                _turn("user", row["input"], "input")
            _turn("assistant", row["output"], "output")
        elif fmt == "input-output":
            _turn("user", row["input"], "input")
            _turn("assistant", row["output"], "output")
        elif fmt == "kto":
            _turn("user", row["prompt"], "prompt")
            _turn("assistant", row["completion"], "completion")
        else:
            _pair(row)


def _row_title(row: dict[str, Any]) -> str:
    ids = row["_ids"]
    source = row.get("_source")
    if source == "votes":
        return f"Blind vote between items #{ids[0]} and #{ids[1]}"
    if source == "ideal":
        return f"Item #{ids[0]}: the ideal answer against the model's answer"
    if source == "ratings":
        return f"Items #{ids[0]} (rated higher) and #{ids[1]} (rated lower), same question"
    if "messages" in row:
        turns = sum(m["role"] == "user" for m in row["messages"])
        return f"Item #{row['_id']}" + (f" · conversation of {turns} turns" if turns > 1 else "")
    return f"Item #{row['_id']}"


def _turn(role: str, text: str, field: str | None = None) -> None:
    """One message: the field or role it is written under, then the text shown as written."""
    system = role == "system"
    with st.chat_message(role, avatar=":material/settings:" if system else None):
        if field:
            st.caption(field)
        body = inert_markdown(text) or "*(empty)*"
        if system:  # the same system prompt opens many rows: keep it quiet
            st.caption(body)
        else:
            st.markdown(body)


def _messages(messages: list[dict[str, str]]) -> None:
    for message in messages:
        _turn(message["role"], message["content"], message["role"])


def _pair(row: dict[str, Any]) -> None:
    def text(value: Any) -> str:  # standard layout: a string; conversational: a list of messages
        return value if isinstance(value, str) else "\n\n".join(m["content"] for m in value)

    if "preferred_output" in row:  # OpenAI's preference layout
        names = ("input.messages", "preferred_output", "non_preferred_output")
        prompt, better, worse = (row["input"]["messages"], row["preferred_output"],
                                 row["non_preferred_output"])
    else:
        names = ("prompt", "chosen", "rejected")
        prompt, better, worse = row["prompt"], row["chosen"], row["rejected"]
    _turn("user", text(prompt), names[0])
    chosen, rejected = st.columns(2)
    with chosen:
        st.badge(names[1], icon=":material/thumb_up:", color="green")
        _turn("assistant", text(better))
    with rejected:
        st.badge(names[2], icon=":material/thumb_down:", color="red")
        _turn("assistant", text(worse))


# -- counts, build, result ------------------------------------------------------------------


def _breakdown(result: ExportResult, *, labels: bool = True) -> str:
    """What the rows are made of, and what was left out, in one line."""
    c = result.counts
    parts = []
    if labels and (c.kto_true or c.kto_false):
        parts.append(f"{c.kto_true:,} labelled true, {c.kto_false:,} labelled false")
    if c.by_source:
        parts.append("pairs: " + ", ".join(
            f"{n:,} from {SOURCE_SHORT[s]}" for s, n in c.by_source.items()))
    if c.dpo_identical:
        parts.append(f"{c.dpo_identical:,} pairs left out: the same text on both sides")
    if c.kto_undecided:
        parts.append(f"{c.kto_undecided:,} answers left out as neither good nor bad "
                     "(3 stars alone, reviewers cancelling out, or unrated)")
    return " · ".join(parts)


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
    st.markdown(" · ".join(parts))
    if _breakdown(result):
        st.caption(_breakdown(result))
    for warning in result.warnings:
        st.warning(warning, icon=":material/warning:")


def build_section(store: Store, options: ExportOptions, who: str | None) -> None:
    """The Build button; a warning to confirm when the file would be one-sided; the result."""
    forget_stale_result(options)
    if st.button("Build the file", type="primary", icon=":material/build:", key="export.build"):
        build(store, options, who)
    pending = st.session_state.get(PENDING_KEY)
    if pending is not None:
        slot = st.empty()
        with slot.container():
            st.warning(pending[1], icon=":material/warning:")
            anyway = st.button("Build it anyway", key="export.build_anyway")
        if anyway:
            slot.empty()
            build(store, options, who, anyway=True)
    kept = st.session_state.get(RESULT_KEY)
    if kept is not None:
        show_result(kept[1], "latest")


def build(store: Store, options: ExportOptions, who: str | None, *, anyway: bool = False) -> None:
    """Build the file; a one-sided file waits for confirmation instead of being written."""
    result = _write(store, options, who, refuse_one_sided=not anyway)
    st.session_state.pop(RESULT_KEY, None)
    st.session_state.pop(PENDING_KEY, None)
    if isinstance(result, OneSidedExport):
        st.session_state[PENDING_KEY] = (options, str(result))
    elif result is not None:
        st.session_state[RESULT_KEY] = (options, result)


def _write(store: Store, options: ExportOptions, who: str | None, *,
           refuse_one_sided: bool) -> ExportResult | OneSidedExport | None:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    out = export_dir(store) / f"loupe-{options.format}-{stamp}.{options.file_type}"
    bar = st.progress(0.0, text="Writing…")
    try:
        result = run_export(store, options, out, who=who or None, refuse_one_sided=refuse_one_sided,
                            on_progress=lambda n: bar.progress(0.5, text=f"{n:,} rows written…"))
    except OneSidedExport as exc:
        bar.empty()
        return exc
    except ExportRefused as exc:
        bar.empty()
        st.error(str(exc))
        return None
    bar.progress(1.0, text=f"{result.counts.written:,} rows written")
    return result


def show_result(result: ExportResult, key: str) -> None:
    """Counts of a built file and its download buttons."""
    c = result.counts
    metrics: list[tuple[str, str, str | None]] = [("Rows written", f"{c.written:,}", None)]
    if c.kto_true or c.kto_false:
        metrics.append(("Labelled true / false", f"{c.kto_true:,} / {c.kto_false:,}", None))
    if c.duplicates_dropped:
        metrics.append(("Duplicates dropped", f"{c.duplicates_dropped:,}", None))
    if c.pii_replacements:
        metrics.append(("PII replaced", f"{c.pii_replacements:,}", f"in {c.rows_with_pii:,} rows"))
    if c.validation:
        metrics.append(("Train / validation", f"{c.train:,} / {c.validation:,}", None))
    for column, (label, value, help_text) in zip(st.columns(4), metrics):
        column.metric(label, value, help=help_text)
    if _breakdown(result, labels=False):
        st.caption(_breakdown(result, labels=False))
    for warning in result.warnings:
        st.warning(warning, icon=":material/warning:")
    path = Path(result.path or "")
    st.caption(f"sha256 `{result.sha256}` · `{path}`")
    left, middle, right = st.columns(3)
    mime = "application/vnd.apache.parquet" if path.suffix == ".parquet" else "application/jsonl"
    left.download_button("Download", path.read_bytes, file_name=path.name, key=f"export.download.{key}",
                         mime=mime, icon=":material/download:", type="primary",
                         on_click="ignore")
    manifest = path.with_name(path.name + ".manifest.json")
    middle.download_button("Manifest", manifest.read_bytes, file_name=manifest.name,
                           key=f"export.manifest.{key}", mime="application/json", on_click="ignore")
    if result.validation_path:
        validation = Path(result.validation_path)
        right.download_button("Validation file", validation.read_bytes, file_name=validation.name,
                              key=f"export.validation.{key}", mime=mime,
                              on_click="ignore")


def past_exports(store: Store, who: str | None) -> None:
    """Earlier exports, each of which can be built again with the same options."""
    exports = store.exports.list_exports()
    if not exports:
        st.caption("No export yet.")
        return
    st.dataframe(
        pd.DataFrame([{"id": e["id"], "when": e["created_at"][:16].replace("T", " "),
                       "format": e["format"], "rows": e["rows"], "who": e["who"] or "",
                       "sha256": e["sha256"][:16] + "…"} for e in exports]),
        hide_index=True, width="stretch")
    chosen = st.selectbox("Export to build again", [e["id"] for e in exports], key="export.rerun_id")
    record = next(e for e in exports if e["id"] == chosen)
    if st.button("Build again with the same options", key="export.rerun"):
        # the file was written once already: a warning about it is shown, not asked again
        result = _write(store, ExportOptions.from_dict(record["options"]), who, refuse_one_sided=False)
        if isinstance(result, ExportResult):
            st.session_state[REBUILT_KEY] = (chosen, result)
    rebuilt = st.session_state.get(REBUILT_KEY)
    if rebuilt is None or rebuilt[0] != chosen:
        return
    result = rebuilt[1]
    same = result.sha256 == record["sha256"]
    (st.success if same else st.info)(
        "Same file, byte for byte." if same else
        "The data changed since: the new file differs from the recorded one.")
    show_result(result, "rebuilt")
