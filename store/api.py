"""Reads for the feedback collection service (a Store mixin)."""

from __future__ import annotations

import json
from typing import Any


class ApiMixin:
    """API methods of the Store."""

    def interaction_for_record(self, external_id: str | None, content_hash: str) -> int | None:
        """The id of the stored interaction an imported record landed in."""
        if external_id is not None:
            return self._scalar(
                "SELECT id FROM interactions WHERE external_id = ? ORDER BY id DESC LIMIT 1",
                [external_id],
            )
        return self._scalar(
            "SELECT id FROM interactions WHERE content_hash = ? ORDER BY id DESC LIMIT 1",
            [content_hash],
        )

    def feedback_page(self, after_id: int = 0, limit: int = 50) -> list[dict[str, Any]]:
        """Interactions with their ratings, oldest first, after an id (keyset pagination)."""
        rows = self._rows(
            "SELECT id, conversation_id, turn, question, answer, model, source, external_id,"
            " error, created_at FROM interactions WHERE id > ? ORDER BY id LIMIT ?",
            [after_id, limit],
        )
        if not rows:
            return rows
        ids = [row["id"] for row in rows]
        ratings = self._rows(
            "SELECT interaction_id, reviewer, stars, thumbs, comment, tags, ideal_answer, updated_at"
            f" FROM ratings WHERE interaction_id IN ({', '.join('?' for _ in ids)}) ORDER BY id",
            ids,
        )
        by_item: dict[int, list[dict[str, Any]]] = {}
        for rating in ratings:
            rating["tags"] = json.loads(rating["tags"] or "[]")
            by_item.setdefault(rating.pop("interaction_id"), []).append(rating)
        for row in rows:
            row["ratings"] = by_item.get(row["id"], [])
        return rows
