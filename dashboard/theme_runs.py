"""Themes that last: save a run, place new low-rated items in its themes, follow them weekly.

A saved theme keeps its centre in the embedded model's vector space (``dashboard/embedding.py``),
whatever vectorizer found the themes, so that new questions can be placed with no server and
the same result next week. A new item joins the saved theme whose centre is most similar, if
that similarity reaches the theme's threshold (the similarity of all but its 5 % least typical
members, and at least ``MIN_SIMILARITY``); otherwise it is "new and unassigned". Re-clustering
proposes, for each new theme, the saved theme it continues: the one holding most of its items,
or else the one whose centre is nearest and close enough.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, cast

import numpy as np

from dashboard.clustering import OTHER_ID, ThemeReport, theme_title
from store.dates import stored_day

EMBEDDING = "wordllama:l2_supercat_256"
MIN_SIMILARITY = 0.5  # a new item never joins a theme whose centre is less similar than this
THRESHOLD_PERCENTILE = 5  # the threshold lets in all but this share (%) of the members
UNASSIGNED = "new and unassigned"
UNASSIGNED_ID = 0
OVERLAP_MIN = 0.5  # share of a new theme's items that a saved theme must hold to continue it


def _embed(texts: list[str]) -> np.ndarray:
    from dashboard.embedding import embed_texts

    return embed_texts(texts)


def to_blob(vector: np.ndarray) -> bytes:
    """A centre as stored: float32 bytes."""
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    """A stored centre back as a vector."""
    return np.frombuffer(blob, dtype=np.float32)


def _centre(vectors: np.ndarray) -> np.ndarray:
    mean = vectors.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm else mean


def run_to_save(
    report: ThemeReport, names: dict[int, str] | None = None, *, name: str, created_by: str | None,
    vectorizer: str, settings: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The run and its themes (not 'other') as ``store.themes.save_theme_run`` takes them."""
    themes = []
    for theme in report.clusters:
        if theme["id"] == OTHER_ID or not theme["members"]:
            continue
        questions = [report.items.get(i, {}).get("question") or "" for i in theme["members"]]
        vectors = _embed(questions)
        centre = _centre(vectors)
        similarity = vectors @ centre
        threshold = max(MIN_SIMILARITY, float(np.percentile(similarity, THRESHOLD_PERCENTILE)))
        themes.append({
            "name": theme_title(theme, names), "label": theme["label"], "terms": theme["top_terms"],
            "centre": to_blob(centre), "threshold": round(threshold, 4),
            "members": list(zip(theme["members"], similarity.tolist())),
        })
    run = {"name": name, "created_by": created_by, "vectorizer": vectorizer, "embedding": EMBEDDING,
           "settings": settings or {}, "n_items": report.n_items}
    return run, themes


def assign(
    questions: Sequence[str], saved: Sequence[dict[str, Any]]
) -> tuple[np.ndarray, np.ndarray]:
    """The saved theme id each question joins (``UNASSIGNED_ID`` when none is near enough),
    and its similarity to that theme's centre."""
    if not len(questions) or not saved:
        return np.full(len(questions), UNASSIGNED_ID, dtype=np.int64), np.zeros(len(questions), np.float32)
    centres = np.stack([from_blob(t["centre"]) for t in saved])
    thresholds = np.array([t["threshold"] for t in saved], dtype=np.float32)
    ids = np.array([t["id"] for t in saved], dtype=np.int64)
    vectors = _embed(list(questions))
    out = np.empty(len(questions), dtype=np.int64)
    best_similarity = np.empty(len(questions), dtype=np.float32)
    for start in range(0, len(questions), 20_000):
        sims = vectors[start:start + 20_000] @ centres.T
        best = sims.argmax(axis=1)
        similarity = sims[np.arange(len(best)), best]
        out[start:start + 20_000] = np.where(similarity >= thresholds[best], ids[best], UNASSIGNED_ID)
        best_similarity[start:start + 20_000] = similarity
    return out, best_similarity


def placed(
    rows: Sequence[dict[str, Any]], saved: Sequence[dict[str, Any]], members: dict[int, int]
) -> list[int]:
    """The saved theme of each row: its own when the run holds it, else the nearest (or
    ``UNASSIGNED_ID``)."""
    out = [members.get(int(r["id"]), -1) for r in rows]
    new = [i for i, theme in enumerate(out) if theme == -1]
    joined, _ = assign([rows[i].get("question") or "" for i in new], saved)
    for i, theme in zip(new, joined.tolist()):
        out[i] = theme
    return out


def weekly(
    rows: Sequence[dict[str, Any]], themes: Sequence[int], saved: Sequence[dict[str, Any]]
) -> Any:
    """Per week (its Monday) and saved theme: items, share of the week's low-rated items, mean
    stars. Columns: week, theme_id, theme, items, share, mean_stars."""
    import pandas as pd

    names = {t["id"]: t["name"] for t in saved}
    names[UNASSIGNED_ID] = UNASSIGNED
    records = []
    for row, theme in zip(rows, themes):
        day = stored_day(row.get("created_at"))
        if day is None:
            continue
        records.append({"week": day - timedelta(days=day.weekday()), "theme_id": theme,
                        "stars": row.get("stars_mean")})
    columns = ["week", "theme_id", "theme", "items", "share", "mean_stars"]
    if not records:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(records)
    grouped = frame.groupby(["week", "theme_id"]).agg(items=("stars", "size"), mean_stars=("stars", "mean"))
    grouped = grouped.reset_index()
    # Every theme in every week, so that a week without items shows as 0, not as a gap.
    weeks = pd.date_range(min(frame["week"]), max(frame["week"]), freq="7D").date
    grid = pd.MultiIndex.from_product([weeks, [t["id"] for t in saved] + [UNASSIGNED_ID]],
                                      names=["week", "theme_id"]).to_frame(index=False)
    out = grid.merge(grouped, on=["week", "theme_id"], how="left")
    out["items"] = out["items"].fillna(0).astype(int)
    totals = out.groupby("week")["items"].transform("sum")
    out["share"] = np.where(totals > 0, out["items"] / totals.where(totals > 0, 1), 0.0)
    out["theme"] = out["theme_id"].map(names)
    out["week"] = pd.to_datetime(out["week"])
    return out[columns]


def week_title(week: Any) -> str:
    """'Week of 23 Feb' for a week's Monday."""
    import pandas as pd

    return f"Week of {pd.Timestamp(week).day} {pd.Timestamp(week):%b}"


def latest_week(frame: Any, saved: Sequence[dict[str, Any]]) -> Any:
    """One row per saved theme (and the unassigned): items, share and mean stars of the last
    week of the data, the items of the week before, and the items of every week. The first
    columns are named after their weeks ('Week of 23 Feb'); they are ``LAST``, ``SHARE``..."""
    import pandas as pd

    columns = ["Theme", "Last week", "Share", "Mean stars", "Week before", "All weeks"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    weeks = sorted(frame["week"].unique())
    last = frame[frame["week"] == weeks[-1]].set_index("theme_id")
    before = frame[frame["week"] == weeks[-2]].set_index("theme_id") if len(weeks) > 1 else None
    rows = []
    for theme_id in [t["id"] for t in saved] + [UNASSIGNED_ID]:
        if theme_id not in last.index:
            continue
        history = frame[frame["theme_id"] == theme_id].sort_values("week")["items"].tolist()
        rows.append({
            "Theme": last.loc[theme_id, "theme"],
            "Last week": int(last.loc[theme_id, "items"]),
            "Share": float(last.loc[theme_id, "share"]) * 100,
            "Mean stars": None if pd.isna(last.loc[theme_id, "mean_stars"])
            else round(float(last.loc[theme_id, "mean_stars"]), 2),
            "Week before": int(before.loc[theme_id, "items"]) if before is not None
            and theme_id in before.index else None,
            "All weeks": history,
        })
    out = pd.DataFrame(rows, columns=columns)
    out.attrs["weeks"] = [week_title(w) for w in weeks[-2:]][::-1]  # last, before
    return out


def busiest(frame: Any, saved: Sequence[dict[str, Any]], count: int = 6) -> list[str]:
    """The names of the saved themes with the most items over the last four weeks."""
    if frame.empty:
        return []
    weeks = sorted(frame["week"].unique())[-4:]
    recent = frame[frame["week"].isin(weeks) & (frame["theme_id"] != UNASSIGNED_ID)]
    totals = recent.groupby("theme")["items"].sum().sort_values(ascending=False, kind="stable")
    order = {t["name"]: i for i, t in enumerate(saved)}
    ranked = sorted(totals.index, key=lambda name: (-totals[name], order.get(name, 0)))
    return ranked[:count]


def propose_mapping(
    report: ThemeReport, saved: Sequence[dict[str, Any]], members: dict[int, int]
) -> dict[int, dict[str, Any]]:
    """For each new theme, the saved theme it continues: {new id: {saved_id, name, how, value}}.

    ``how`` is "items" when the saved theme holds at least ``OVERLAP_MIN`` of its items that
    the run knew, else "centre" when the nearest saved centre passes that theme's threshold.
    """
    if not saved:
        return {}
    names = {t["id"]: t["name"] for t in saved}
    centres = np.stack([from_blob(t["centre"]) for t in saved])
    thresholds = np.array([t["threshold"] for t in saved], dtype=np.float32)
    out: dict[int, dict[str, Any]] = {}
    for theme in report.clusters:
        if theme["id"] == OTHER_ID or not theme["members"]:
            continue
        known = [members[i] for i in theme["members"] if i in members]
        if known:
            counted = np.bincount(np.array(known) - min(known))
            top = int(counted.argmax()) + min(known)
            share = counted.max() / len(theme["members"])
            if share >= OVERLAP_MIN:
                out[theme["id"]] = {"saved_id": top, "name": names[top], "how": "items",
                                    "value": round(float(share), 3)}
                continue
        questions = [report.items.get(i, {}).get("question") or "" for i in theme["members"][:500]]
        centre = _centre(_embed(questions))
        sims = centres @ centre
        best = int(sims.argmax())
        if sims[best] >= thresholds[best]:
            out[theme["id"]] = {"saved_id": int(saved[best]["id"]), "name": saved[best]["name"],
                                "how": "centre", "value": round(float(sims[best]), 3)}
    return out


# -- the command line -----------------------------------------------------------


def followed_json(store: Any, filters: Any, run: dict[str, Any]) -> dict[str, Any]:
    """A saved run's themes week by week (items, share, mean stars), new items placed."""
    rows = store.themes.cluster_items(filters, low_rated=True)
    saved = store.themes.saved_themes(run["id"])
    themes = placed(rows, saved, store.themes.saved_theme_members(run["id"]))
    frame = weekly(rows, themes, saved)
    out = []
    for theme_id, name in [(t["id"], t["name"]) for t in saved] + [(UNASSIGNED_ID, UNASSIGNED)]:
        part = frame[frame["theme_id"] == theme_id].sort_values("week")
        out.append({
            "id": theme_id, "name": name,
            "weeks": [{"week": week.date().isoformat(), "items": int(items), "share": round(float(share), 4),
                       "mean_stars": None if stars != stars else round(float(stars), 3)}
                      for week, items, share, stars in zip(part["week"], part["items"], part["share"],
                                                           part["mean_stars"])],
        })
    return {"run": {k: run[k] for k in ("id", "name", "created_at", "created_by", "n_items", "themes")},
            "themes": out}


def chat_backend(spec: str, ollama_timeout: float = 60.0) -> tuple[Any, str]:
    """The backend and model that ``spec`` names: 'auto' (the first that answers), 'embedded',
    or 'ollama:MODEL'; raises ValueError with a sentence when none answers."""
    from dashboard.clustering import embedding_models
    from dashboard.llm import EmbeddedBackend, OllamaBackend, available_backends

    if spec.startswith("ollama:"):
        return OllamaBackend(timeout=ollama_timeout), spec[len("ollama:"):]
    backends = [EmbeddedBackend()] if spec == "embedded" else available_backends(ollama_timeout)
    if spec not in ("auto", "embedded"):
        raise ValueError(f"unknown model {spec!r}: use auto, embedded or ollama:MODEL")
    for backend in backends:
        try:
            models = [m for m in backend.models() if m not in embedding_models([m])]
        except Exception:  # noqa: BLE001 - a backend that cannot list models is skipped
            models = []
        if models and (spec != "embedded" or cast(EmbeddedBackend, backend).is_up()):
            return backend, models[0]
    raise ValueError("no chat model answers now: start Ollama or install the embedded model")


def cluster_command(
    store: Any, filters: Any, *, k: int | None = None, seed: int = 0, with_answers: bool = False,
    vectorizer: str = "wordllama", low_rated: bool = True, max_items: int = 200_000,
    name_with: str | None = None, save_as: str | None = None, created_by: str | None = None,
) -> dict[str, Any]:
    """The themes as JSON with their names (model-written with ``name_with``), the saved theme
    each continues and the latest saved run week by week; ``save_as`` saves them as a run."""
    import time

    from dashboard.clustering import ThemeOptions, find_themes, name_themes

    started = time.perf_counter()
    total = store.themes.cluster_source(filters, low_rated=low_rated)["count"]
    rows = store.themes.cluster_items(filters, low_rated=low_rated, with_answers=with_answers, limit=max_items)
    fetch = time.perf_counter() - started
    options = ThemeOptions(k=k, seed=seed, with_answers=with_answers, vectorizer=vectorizer)
    report = find_themes(rows, options, total=total)
    report.timings = {"fetch": fetch, **report.timings}
    names: dict[int, str] = {}
    out = report.to_json()
    if name_with:
        backend, model = chat_backend(name_with)
        names, refused = name_themes(backend, model, report)
        out["naming"] = {"model": model, "named": len(names), "refused": refused}
    runs = store.themes.theme_runs()
    mapping = {}
    if runs:
        mapping = propose_mapping(report, store.themes.saved_themes(runs[0]["id"]),
                                  store.themes.saved_theme_members(runs[0]["id"]))
    for cluster in out["clusters"]:
        cluster["name"] = names.get(cluster["id"]) or cluster["label"]
        cluster["saved_theme"] = mapping.get(cluster["id"])
    if save_as:
        run, themes = run_to_save(report, names, name=save_as, created_by=created_by,
                                  vectorizer=vectorizer, settings={"k": k, "seed": seed, "low_rated": low_rated})
        out["saved_run"] = {"id": store.themes.save_theme_run(run, themes), "name": save_as, "themes": len(themes)}
        runs = store.themes.theme_runs()
    out["followed"] = followed_json(store, filters, runs[0]) if runs else None
    return out
