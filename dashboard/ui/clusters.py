"""Failure-theme widgets: options, cached clustering with progress, map, table, detail, actions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import streamlit as st

from dashboard.charts import map_figure, weekly_figure
from dashboard.clustering import (
    DEFAULT_MAX_ITEMS,
    DEFAULT_VECTORIZER,
    EXAMPLES,
    MAX_THEMES,
    OLLAMA_PREFIX,
    OPENAI_PREFIX,
    OTHER_ID,
    QUESTION_SET_LIMIT,
    QUEUE_LIMIT,
    SORTS,
    VECTORIZERS,
    ThemeOptions,
    ThemeReport,
    distinct_question_count,
    embedding_models,
    find_themes,
    map_frame,
    name_theme,
    name_themes,
    question_set_items,
    queue_ids,
    share_text,
    theme_title,
    themes_frame,
    trend_frame,
)
from dashboard.filters import Filters
from dashboard.llm import BackendError
from dashboard.pages import QUEUE_PAGE, REVIEW_PAGE
from dashboard.review import ITEM_PARAM, preview, stars_mean_text
from dashboard.safe_text import inert_markdown, plain_text
from dashboard.theme_runs import (
    UNASSIGNED,
    busiest,
    latest_week,
    placed,
    propose_mapping,
    run_to_save,
    weekly,
)
from dashboard.ui.auth import allowed
from dashboard.ui.chat import make_backend, model_catalog
from dashboard.ui.common import reviewer
from dashboard.ui.guard import permitted
from store import Store
from store.clusters import LOW_RATED_TEXT

# The type Streamlit gives format_func; the boxes pass dict.get, whose None for a value not
# offered Streamlit reads as no choice.
_Format = Callable[[Any], str]
K_KEY = "clusters.k"
ANSWERS_KEY = "clusters.answers"
SEED_KEY = "clusters.seed"
VECTORIZER_KEY = "clusters.vectorizer"
LOW_RATED_KEY = "clusters.low_rated"
THEME_KEY = "clusters.theme"
SORT_KEY = "clusters.sort"
TABLE_KEY = "clusters.table"  # followed by ".<sort>"
PICKED_KEY = "clusters.picked"
NAMES_KEY = "clusters.names"  # {(label, first member): name} written by a chat model
NAMER_KEY = "clusters.namer"
SET_NAME_KEY = "clusters.set_name"  # followed by ".<theme id>"
NOTICE_KEY = "clusters.notice"
RENAMED_KEY = "clusters.renamed"  # set when a theme got a new name: the picker shows it
RUN_KEY = "clusters.run"  # the saved run followed week by week
RUN_NAME_KEY = "clusters.run_name"
DRAWN_KEY = "clusters.drawn"  # followed by ".<run id>": the saved themes drawn on the chart
SAVED_KEY = "clusters.saved"  # the sentence shown once after a run was saved
AUTO = 0  # the "number of themes" choice meaning automatic


@dataclass(frozen=True)
class Settings:
    """Everything besides the filters that decides the themes."""

    options: ThemeOptions
    low_rated: bool = True

    def to_query_params(self) -> dict[str, str]:
        """The settings that differ from the defaults, for the URL."""
        params: dict[str, str] = {}
        if self.options.k:
            params["themes"] = str(self.options.k)
        if self.options.seed:
            params["seed"] = str(self.options.seed)
        if self.options.with_answers:
            params["answers"] = "1"
        if not self.low_rated:
            params["scope"] = "all"
        if self.options.vectorizer != DEFAULT_VECTORIZER:
            params["vectors"] = self.options.vectorizer
        return params

    @classmethod
    def from_query_params(cls, params: Any) -> Settings:
        """Settings read back from the URL; bad values fall back to the defaults."""
        def number(name: str, low: int, high: int) -> int | None:
            try:
                value = int(str(params.get(name)))
            except (TypeError, ValueError):
                return None
            return value if low <= value <= high else None

        return cls(
            ThemeOptions(
                k=number("themes", 2, MAX_THEMES), seed=number("seed", 0, 10**6) or 0,
                with_answers=params.get("answers") == "1",
                vectorizer=_vectorizer_param(params.get("vectors")),
            ),
            low_rated=params.get("scope") != "all",
        )


def _vectorizer_param(value: Any) -> str:
    value = str(value or "")
    known = value in VECTORIZERS or value.startswith((OLLAMA_PREFIX, OPENAI_PREFIX))
    return value if known else DEFAULT_VECTORIZER


def view_params(filters: Filters, settings: Settings) -> dict[str, str | list[str]]:
    """The URL of a view: its filters and the settings that differ from the defaults."""
    return {**filters.to_query_params(), **settings.to_query_params()}


def reset_settings(settings: Settings) -> None:
    """Show ``settings`` in the option widgets."""
    state = st.session_state
    state[K_KEY] = settings.options.k or AUTO
    state[SEED_KEY] = settings.options.seed
    state[ANSWERS_KEY] = settings.options.with_answers
    state[LOW_RATED_KEY] = settings.low_rated
    state[VECTORIZER_KEY] = settings.options.vectorizer


# -- cached reads -------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=32, ttl="1h")
def _source(_store: Store, path: str, stamp: Any, filters: Filters, low_rated: bool) -> dict[str, Any]:
    return _store.themes.cluster_source(filters, low_rated=low_rated)


def theme_source(store: Store, filters: Filters, low_rated: bool) -> dict[str, Any]:
    """How many items are in scope and their fingerprint (cached until the data changes)."""
    return _source(store, store.path, store.data_stamp(), filters, low_rated)


@st.cache_data(show_spinner=False, max_entries=4)
def _themes(_store: Store, path: str, fingerprint: Any, filters: Filters, settings: Settings,
            max_items: int) -> ThemeReport:
    # The progress bar is made, moved and removed inside the cached call, so a cache hit
    # replays nothing visible.
    holder = st.empty()
    with holder.container():
        bar = st.progress(0.0, text="Fetching the questions…")
    try:
        rows = _store.themes.cluster_items(filters, low_rated=settings.low_rated,
                                    with_answers=settings.options.with_answers, limit=max_items)
        total = fingerprint[0] if fingerprint else len(rows)
        return find_themes(rows, settings.options, total=total,
                           progress=lambda stage, f: bar.progress(min(1.0, max(0.0, f)), text=stage + "…"))
    finally:
        holder.empty()


def theme_report(store: Store, filters: Filters, settings: Settings, source: dict[str, Any],
                 max_items: int = DEFAULT_MAX_ITEMS) -> ThemeReport:
    """The themes, computed with a progress bar, then cached until the items in scope change."""
    return _themes(store, store.path, source["fingerprint"], filters, settings, max_items)


# -- options ------------------------------------------------------------------


def vectorizer_choices() -> list[str]:
    """The embedded model, with TF-IDF or alone, TF-IDF, and every embedding model the Ollama
    server or a configured OpenAI-compatible endpoint lists (``openai:ENDPOINT:MODEL``)."""
    catalog = model_catalog()
    choices = [*VECTORIZERS] + [OLLAMA_PREFIX + m for m in embedding_models(catalog.get("ollama", []))]
    for backend, models in catalog.items():
        if backend.startswith(OPENAI_PREFIX):
            choices += [f"{backend}:{m}" for m in embedding_models(models)]
    return choices


def _vectorizer_label(value: str) -> str:
    if value in VECTORIZERS:
        return VECTORIZERS[value]
    if value.startswith(OPENAI_PREFIX):
        endpoint, _, model = value[len(OPENAI_PREFIX):].partition(":")
        return f"OpenAI-compatible ({endpoint}) · {model}"
    return f"Ollama · {value[len(OLLAMA_PREFIX):]}"


def settings_row() -> Settings:
    """The number of themes, the scope, and (in a popover) answers, seed and vectorizer."""
    state = st.session_state
    state.setdefault(K_KEY, AUTO)
    state.setdefault(LOW_RATED_KEY, True)
    state.setdefault(ANSWERS_KEY, False)
    state.setdefault(SEED_KEY, 0)
    state.setdefault(VECTORIZER_KEY, DEFAULT_VECTORIZER)
    count, scope, more = st.columns([2, 3, 2], vertical_alignment="bottom")
    count.selectbox(
        "Number of themes", [AUTO, *range(2, MAX_THEMES + 1)], key=K_KEY,
        format_func=lambda k: "Automatic" if k == AUTO else str(k),
        help=f"Automatic tries 2 to {MAX_THEMES} themes (at most one per 5 items) and keeps the "
             "count whose themes are best separated (highest silhouette), preferring fewer on a "
             "near tie.",
    )
    scope.toggle("Low-rated only", key=LOW_RATED_KEY,
                 help=f"Low-rated: {LOW_RATED_TEXT}. "
                      "Turn off to find themes among every item the filters match.")
    with more.popover("Options", icon=":material/tune:", width="stretch"):
        st.toggle("Include the answers", key=ANSWERS_KEY,
                  help="Cluster each question together with the start of its answer.")
        st.number_input("Seed", min_value=0, max_value=10**6, step=1, key=SEED_KEY,
                        help="The same seed and data always give the same themes.")
        choices = vectorizer_choices()
        if state.get(VECTORIZER_KEY) not in choices:
            state[VECTORIZER_KEY] = DEFAULT_VECTORIZER
        st.selectbox("Vectorizer", choices, key=VECTORIZER_KEY, format_func=_vectorizer_label,
                     help="How questions become vectors. The embedded model needs no server and "
                          "groups questions by meaning; TF-IDF by shared words and spellings. "
                          "Embedding models appear when the Ollama server or an OpenAI-compatible "
                          "endpoint lists one (bge-m3 puts Korean and English questions on one "
                          "topic together).")
    options = ThemeOptions(
        k=int(state[K_KEY]) or None, seed=int(state[SEED_KEY] or 0),
        with_answers=bool(state[ANSWERS_KEY]), vectorizer=state[VECTORIZER_KEY],
    )
    return Settings(options, low_rated=bool(state[LOW_RATED_KEY]))


# -- the map, the table, a theme ----------------------------------------------


def theme_names(report: ThemeReport) -> dict[int, str]:
    """Names written by a chat model for this report's themes (this session)."""
    saved = st.session_state.get(NAMES_KEY, {})
    return {t["id"]: saved[_name_key(t)] for t in report.clusters if _name_key(t) in saved}


def _name_key(theme: dict[str, Any]) -> tuple[str, int]:
    return theme["label"], theme["members"][0] if theme["members"] else 0


def theme_map(report: ThemeReport, names: dict[int, str]) -> None:
    """The 2-D map of the items, coloured by theme."""
    frame = map_frame(report, names)
    st.plotly_chart(map_figure(frame), width="stretch", config={"displaylogo": False})
    shown = len(frame)
    note = f" ({shown:,} of {report.n_items:,} items drawn)" if shown < report.n_items else ""
    st.caption("Each dot is a question, coloured by theme. Themes whose questions use similar "
               "words sit closer together; the dots around a theme show how varied its questions "
               f"are{note}. Hover a dot to read its question.")


def theme_table(report: ThemeReport, names: dict[int, str],
                continues: dict[int, str] | None = None) -> int | None:
    """The themes table with its sort order; returns the theme id of a newly selected row."""
    sort = st.segmented_control("Sort", list(SORTS), key=SORT_KEY,
                                format_func=cast(_Format, SORTS.get),
                                default="size", label_visibility="collapsed") or "size"
    frame = themes_frame(report, sort, names, continues)
    event = st.dataframe(
        frame, key=f"{TABLE_KEY}.{sort}", on_select="rerun", selection_mode="single-row", hide_index=True,
        width="stretch",
        column_config={
            "Theme": st.column_config.TextColumn(width="large"),
            "Share": st.column_config.NumberColumn(format="%.1f%%", help="Share of all clustered items"),
            "Mean stars": st.column_config.NumberColumn(format="%.2f ★"),
            "Thumbs down": st.column_config.NumberColumn(format="%.0f%%", help="Items with a thumbs down"),
            "Trend": st.column_config.LineChartColumn(
                f"Items per {report.period}", help="From the first to the last day of the data"),
            "Saved theme": st.column_config.TextColumn(
                help="The saved theme this one continues: the one holding most of its items, or "
                     "else the one whose centre is near enough; “new” when none is."),
        },
    )
    rows = event.selection.rows if event and event.selection else []
    picked = int(frame.index[rows[0]]) if rows else None
    if picked is not None and st.session_state.get(PICKED_KEY) != picked:
        st.session_state[PICKED_KEY] = picked
        return picked
    return None


def theme_picker(report: ThemeReport, names: dict[int, str], picked: int | None) -> dict[str, Any]:
    """A select box of themes (the table's selection moves it); returns the chosen theme."""
    ids = [t["id"] for t in report.clusters]
    state = st.session_state
    if picked is not None:
        state[THEME_KEY] = picked
    if state.get(THEME_KEY) not in ids:
        state[THEME_KEY] = ids[0]
    if state.pop(RENAMED_KEY, False):
        # Set again, so the browser is sent the value with its new name: it would
        # otherwise keep showing the label it knew.
        state[THEME_KEY] = state[THEME_KEY]
    titles = {t["id"]: f"{theme_title(t, names)} ({t['size']:,})" for t in report.clusters}
    chosen = st.selectbox("Theme", ids, key=THEME_KEY, format_func=cast(_Format, titles.get))
    theme = report.theme(cast(int, chosen))
    assert theme is not None, "the box offers only the report's themes"
    return theme


def theme_detail(report: ThemeReport, theme: dict[str, Any], names: dict[int, str]) -> None:
    """Size, ratings, terms, models, trend and the most typical examples of one theme."""
    size, share, stars, down = st.columns(4)
    size.metric("Items", f"{theme['size']:,}")
    share.metric("Share of clustered items", f"{theme['share']:.1%}")
    stars.metric("Mean stars", f"{theme['mean_stars']:.2f}" if theme["mean_stars"] is not None else "—")
    down.metric("Thumbs down", f"{theme['thumbs_down_share']:.0%}")
    words, chart = st.columns([2, 3])
    with words:
        if theme["id"] == OTHER_ID:
            st.caption(f"Items from themes of fewer than {report.min_size} items.")
        st.markdown("**Distinguishing terms**")
        st.markdown(inert_markdown(", ".join(theme["top_terms"]) or "—"))
        st.markdown("**Models it hits most**")
        st.markdown(inert_markdown(share_text(theme["models"])))
        st.markdown("**Variants**")
        st.markdown(inert_markdown(share_text(theme["variants"])))
    with chart:
        st.markdown(f"**Items per {report.period}**")
        st.bar_chart(trend_frame(theme), height=200)
    st.markdown(f"**Most typical examples** (closest to the theme's centre; {EXAMPLES} of {theme['size']:,})")
    for iid in theme["examples"]:
        item = report.items.get(iid, {})
        link, text = st.columns([1, 6], vertical_alignment="center")
        link.page_link(REVIEW_PAGE, label=f"#{iid}", icon=":material/open_in_new:",
                       query_params={ITEM_PARAM: str(iid)}, help="Open in Review")
        rating = stars_mean_text(item.get("stars_mean")) or "no stars"
        if item.get("thumbs_down"):
            rating += " · thumbs down"
        text.markdown(inert_markdown(preview(item.get("question"), 220)) + f"  \n:gray[{rating}]")


# -- actions ------------------------------------------------------------------


def send_to_queue(store: Store, theme: dict[str, Any]) -> None:
    """A button that opens the annotation queue on the theme's items (the most typical first)."""
    ids, cut = queue_ids(theme)
    label = f"Annotate these {len(ids):,} items"
    note = (f"Sends the {QUEUE_LIMIT} most typical of its {theme['size']:,} items."
            if cut else "Opens the annotation queue on this theme's items.")
    # A key keeps the button the same widget when the role (and so ``disabled``) changes:
    # a click from a page drawn before is then refused here, not lost.
    if st.button(label, icon=":material/checklist:", help=note, width="stretch",
                 key="clusters.annotate", disabled=not allowed(store, "rate")
                 ) and permitted(store, "rate"):
        st.switch_page(QUEUE_PAGE, query_params=Filters(ids=tuple(ids)).to_query_params())
    if cut:
        st.caption(note)


def make_question_set(
    store: Store, report: ThemeReport, theme: dict[str, Any], names: dict[int, str]
) -> None:
    """A form turning the theme's questions into a question set for an A/B experiment."""
    distinct = distinct_question_count(theme, report.items)
    count = min(distinct, QUESTION_SET_LIMIT)
    can = allowed(store, "variants")
    with st.form(f"clusters.set.{theme['id']}", border=False):
        name = st.text_input("Question set name", value=f"Theme: {theme_title(theme, names)}"[:80],
                             key=f"{SET_NAME_KEY}.{theme['id']}", disabled=not can)
        done = st.form_submit_button(f"Make a question set of {count:,} questions",
                                     icon=":material/playlist_add:", width="stretch",
                                     key=f"clusters.set.make.{theme['id']}", disabled=not can)
    if distinct > QUESTION_SET_LIMIT:
        st.caption(f"Takes the {QUESTION_SET_LIMIT} most typical of its {distinct:,} distinct questions.")
    if done and permitted(store, "variants"):
        try:
            set_id = store.experiments.create_question_set(
                name, question_set_items(theme, report.items), origin="theme",
                description=f"{count} questions of the failure theme “{theme_title(theme, names)}”.",
            )
        except ValueError as exc:
            st.error(f"The question set was not made: {plain_text(exc)}.")
            return
        st.success(f"Question set #{set_id} “{plain_text(name.strip())}” holds {count:,} "
                   "questions: pick it on the Experiments page.", icon=":material/check:")


def chat_models() -> list[tuple[str, str]]:
    """(backend, model) pairs that can write a theme name (embedding models left out)."""
    catalog = model_catalog()
    return [(backend, model) for backend, models in catalog.items() for model in models
            if model not in embedding_models([model])]


def name_with_model(store: Store, report: ThemeReport, theme: dict[str, Any]) -> None:
    """A button asking a chat model for a one-line name of the theme."""
    can = allowed(store, "chat")
    if notice := st.session_state.pop(NOTICE_KEY, None):
        st.info(notice, icon=":material/info:")
    choices = chat_models() if can else []
    if can and not choices:
        st.caption("No chat model answers now, so themes keep their word labels.")
        return
    if choices:
        default = (st.session_state.get("chat.backend"), st.session_state.get("chat.model"))
        if st.session_state.get(NAMER_KEY) not in choices:
            st.session_state[NAMER_KEY] = default if default in choices else choices[0]
        st.selectbox("Model", choices, key=NAMER_KEY, format_func=lambda c: f"{c[1]} ({c[0]})")
    if st.button("Name this theme", icon=":material/edit_note:", width="stretch", disabled=not can,
                 key="clusters.name",
                 help="Asks the model for a short name from the theme's terms and typical questions."
                 ) and permitted(store, "chat"):
        backend, model = st.session_state[NAMER_KEY]
        with st.spinner(f"Asking {plain_text(model)}…"):
            try:
                name = name_theme(make_backend(backend), model, theme, report.items)
            except BackendError as exc:
                st.error(plain_text(exc))
                return
        st.session_state.setdefault(NAMES_KEY, {})[_name_key(theme)] = name
        st.session_state[RENAMED_KEY] = True
        st.rerun()


def name_all_with_model(store: Store, report: ThemeReport) -> None:
    """A button asking the chosen chat model to name every theme (replies that do not read as
    a name are refused, and those themes keep their phrase names)."""
    if not allowed(store, "chat") or not st.session_state.get(NAMER_KEY):
        return
    count = sum(1 for t in report.clusters if t["id"] != OTHER_ID)
    if st.button(f"Name all {min(count, 40)} themes", icon=":material/edit_note:", width="stretch",
                 key="clusters.name_all",
                 help="Asks the model above for a name of each of the largest 40 themes.",
                 ) and permitted(store, "chat"):
        backend, model = st.session_state[NAMER_KEY]
        bar = st.progress(0.0, text="Naming the themes…")
        try:
            names, refused = name_themes(make_backend(backend), model, report,
                                         progress=lambda text, f: bar.progress(f, text=text + "…"))
        except BackendError as exc:
            st.error(plain_text(exc))
            return
        finally:
            bar.empty()
        saved = st.session_state.setdefault(NAMES_KEY, {})
        for theme in report.clusters:
            if theme["id"] in names:
                saved[_name_key(theme)] = names[theme["id"]]
        if refused:
            st.session_state[NOTICE_KEY] = (f"{refused} of the model's replies did not read as names of "
                                            "their questions: those themes keep their phrase names.")
        st.session_state[RENAMED_KEY] = True
        st.rerun()


# -- saved runs: themes followed week after week -------------------------------


@st.cache_data(show_spinner=False, max_entries=8)
def _followed(_store: Store, path: str, fingerprint: Any, run_id: int, filters: Filters) -> dict[str, Any]:
    rows = _store.themes.cluster_items(filters, low_rated=True)
    saved = _store.themes.saved_themes(run_id)
    members = _store.themes.saved_theme_members(run_id)
    themes = placed(rows, saved, members)
    frame = weekly(rows, themes, saved)
    return {"saved": saved, "members": members, "frame": frame,
            "unassigned": sum(1 for t in themes if t == 0), "items": len(rows)}


def followed_themes(store: Store, filters: Filters) -> dict[str, Any] | None:
    """The saved run picked (the latest by default): its themes' weekly items, share and mean
    stars, new items placed in the nearest saved theme. Returns the run's data, or None."""
    runs = store.themes.theme_runs()
    if not runs:
        st.caption("No run is saved yet. Save the themes below to follow each of them week "
                   "after week; new low-rated items then join the nearest saved theme.")
        return None
    ids = [r["id"] for r in runs]
    if st.session_state.get(RUN_KEY) not in ids:
        st.session_state[RUN_KEY] = ids[0]
    titles = {r["id"]: f"{r['name']} · {r['created_at'][:10]} · {r['themes']} themes of "
                       f"{r['n_items']:,} items" for r in runs}
    run_id = st.selectbox("Saved run", ids, key=RUN_KEY, format_func=cast(_Format, titles.get))  # options show as text
    source = theme_source(store, filters, True)
    with st.spinner("Placing new items in the saved themes…"):
        data = _followed(store, store.path, source["fingerprint"], cast(int, run_id), filters)
    frame = data["frame"]
    if frame.empty:
        st.info("No low-rated item with a readable date matches these filters.", icon=":material/inbox:")
        return data
    every = [t["name"] for t in data["saved"]] + [UNASSIGNED]
    drawn_key = f"{DRAWN_KEY}.{run_id}"
    if drawn_key not in st.session_state:
        st.session_state[drawn_key] = busiest(frame, data["saved"])
    drawn = st.multiselect("Themes drawn", every, key=drawn_key,
                           help="The saved themes with the most items over the last four weeks "
                                "are drawn first; add or remove any.")
    if drawn:
        figure = weekly_figure(frame[frame["theme"].isin(drawn)])
        st.plotly_chart(figure, width="stretch", config={"displaylogo": False}, key="clusters.weekly")
    table = latest_week(frame, data["saved"])  # a data frame shows its text as text
    last, before = [*table.attrs.get("weeks", []), "Last week", "Week before"][:2]
    st.dataframe(
        table, hide_index=True, width="stretch", key="clusters.followed",
        column_config={
            "Theme": st.column_config.TextColumn(width="large"),
            "Last week": st.column_config.NumberColumn(
                last, help="Low-rated items in the last week of the data (it may not be over)"),
            "Share": st.column_config.NumberColumn(format="%.1f%%", help=f"Share of the low-rated items of the {last.lower()}"),
            "Mean stars": st.column_config.NumberColumn(format="%.2f ★", help=f"Mean stars of its items of the {last.lower()}"),
            "Week before": st.column_config.NumberColumn(before, help="Low-rated items the week before"),
            "All weeks": st.column_config.LineChartColumn("Items per week"),
        },
    )
    st.caption(f"Items the run held stay in their theme; the {data['items']:,} low-rated items now "
               "in scope that it did not hold join the saved theme whose centre is nearest, when "
               f"near enough, else “{UNASSIGNED}” ({data['unassigned']:,} now).")
    return data


@st.cache_data(show_spinner=False, max_entries=8)
def _continued(_report: ThemeReport, _followed: dict[str, Any], key: Any) -> dict[int, str]:
    mapping = propose_mapping(_report, _followed["saved"], _followed["members"])
    return {theme_id: found["name"] for theme_id, found in mapping.items()}


def continued_themes(store: Store, report: ThemeReport, followed: dict[str, Any] | None,
                     filters: Filters, settings: Settings, source: dict[str, Any]) -> dict[int, str]:
    """For each theme of this report, the name of the saved theme it continues (cached until
    the items, the settings or the saved run change)."""
    if not followed:
        return {}
    run = (st.session_state.get(RUN_KEY), tuple((t["id"], t["name"]) for t in followed["saved"]))
    return _continued(report, followed, (store.path, source["fingerprint"], filters, settings, run))


def save_run(store: Store, report: ThemeReport, names: dict[int, str], settings: Settings,
             filters: Filters) -> None:
    """A form saving these themes (names and members) as a run to follow week after week."""
    can = allowed(store, "rate")
    themes = sum(1 for t in report.clusters if t["id"] != OTHER_ID)
    if notice := st.session_state.pop(SAVED_KEY, None):
        st.success(notice, icon=":material/check:")
        st.session_state[RUN_NAME_KEY] = ""  # saved: the box is ready for the next run's name
    with st.form("clusters.save", border=False):
        name = st.text_input("Run name", key=RUN_NAME_KEY, placeholder="e.g. Week of 2 March",
                             max_chars=80, disabled=not can)
        done = st.form_submit_button(f"Save these {themes} themes", icon=":material/bookmark_add:",
                                     width="stretch", disabled=not can,
                                     help="Keeps each theme's name, its members and its centre, "
                                          "so that new items can join it and its trend be followed.")
    if done and permitted(store, "rate"):
        name = " ".join(name.split())
        if not name:
            st.error("Give the run a name, then save it.")
            return
        with st.spinner("Saving the themes…"):
            run, saved = run_to_save(
                report, names, name=name, created_by=reviewer() or None,
                vectorizer=settings.options.vectorizer,
                settings={"filters": filters.to_query_params(), **settings.to_query_params()},
            )
            run_id = store.themes.save_theme_run(run, saved)
        st.session_state[RUN_KEY] = run_id
        st.session_state[SAVED_KEY] = (f"Saved run #{run_id} “{plain_text(name)}” with {len(saved)} themes: "
                                       "it is followed week by week at the top of this page.")
        _followed.clear()
        st.rerun()
