"""Clusters queries of the Store (a mixin: uses the Store's _rows, _one, _scalar and write)."""

from __future__ import annotations


class ClustersMixin:
    """Clusters methods of the Store."""
