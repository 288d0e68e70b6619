"""The price table of Insights: everyone reads it, admins add prices."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from dashboard.safe_text import plain_text
from dashboard.ui.auth import allowed
from dashboard.ui.guard import permitted
from store import Store

MODEL_KEY = "insights.price_model"
FROM_KEY = "insights.price_from"
IN_KEY = "insights.price_in"
OUT_KEY = "insights.price_out"


def price_editor(store: Store, models: list[str], editor: str) -> None:
    """The prices per million tokens, and for admins a form that sets one from a day on."""
    prices = store.insights.model_prices()
    if prices:
        st.dataframe(
            pd.DataFrame(prices)[["model", "effective_from", "input_per_million",
                                  "output_per_million", "created_by"]].fillna({"created_by": ""}),
            hide_index=True, width="stretch",
            column_config={
                "model": "Model", "effective_from": "Applies from (UTC day)",
                "input_per_million": st.column_config.NumberColumn(
                    "Input, $ per million tokens", format="$%.4f"),
                "output_per_million": st.column_config.NumberColumn(
                    "Output, $ per million tokens", format="$%.4f"),
                "created_by": "Set by",
            },
        )
    else:
        st.caption("No prices yet: without one, a model's tokens are counted but not costed.")
    if not allowed(store, "prices"):
        st.caption("Only admins can change prices.")
        return
    with st.form("insights.price_form", border=False, clear_on_submit=True):
        left, middle = st.columns(2)
        model = left.text_input(
            "Model", key=MODEL_KEY, placeholder=models[0] if models else "e.g. gpt-4o-mini",
            help="Exactly as Insights names it" + (f", e.g. {', '.join(models[:5])}." if models
                                                     else "."))
        since = middle.date_input("Applies from (UTC day)", key=FROM_KEY, value=date.today(),
                                  format="YYYY-MM-DD",
                                  help="Until the model's next price; a price set for the same "
                                       "day replaces it.")
        left, middle = st.columns(2)
        price_in = left.number_input("Input, $ per million tokens", 0.0, 1e6, 0.0, 0.01,
                                     format="%.4f", key=IN_KEY)
        price_out = middle.number_input("Output, $ per million tokens", 0.0, 1e6, 0.0, 0.01,
                                        format="%.4f", key=OUT_KEY)
        if not st.form_submit_button("Save price", type="primary"):
            return
    if not permitted(store, "prices"):
        return
    try:
        store.insights.set_model_price(model, since.isoformat(), float(price_in), float(price_out),
                              created_by=editor or None)
    except ValueError as exc:
        st.error(plain_text(f"{str(exc).capitalize()}."))
        return
    st.toast(f"Saved the price of {plain_text(model.strip())} from {since}.",
             icon=":material/check:")
    st.rerun()
