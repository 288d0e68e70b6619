"""The filters every list, queue, chart and export shares (defined in store/filters.py)."""

from store.filters import (
    STARS_MODE_LABELS,
    STARS_MODES,
    THUMBS_VALUES,
    Filters,
    mean_tenths,
)

__all__ = ["STARS_MODES", "STARS_MODE_LABELS", "THUMBS_VALUES", "Filters", "mean_tenths"]
