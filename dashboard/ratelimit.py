"""A token-bucket rate limiter keyed by reviewer or API token, safe across threads."""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
# A bucket this close to one whole token counts as holding it: floating-point sums of refills
# must not turn away a client that waited exactly as long as it was told.
_SLACK = 1e-6


def parse_rate(text: str) -> tuple[int, float]:
    """'20/minute' -> (20, 60.0); also 'N/second', 'N/hour', 'N/day'."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(second|minute|hour|day)s?\s*", text or "")
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"a rate looks like '20/minute', not {text!r}")
    return int(match.group(1)), float(_UNITS[match.group(2)])


class RateLimiter:
    """Allows ``limit`` events per ``period`` seconds per key, refilling continuously."""

    def __init__(self, limit: int, period: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.period, self.clock = limit, period, clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_text(cls, text: str, clock: Callable[[], float] = time.monotonic) -> RateLimiter:
        """A limiter from '20/minute'."""
        limit, period = parse_rate(text)
        return cls(limit, period, clock)

    def allow(self, key: str) -> tuple[bool, float]:
        """(allowed, seconds to wait before the next event would be allowed)."""
        now = self.clock()
        rate = self.limit / self.period
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.limit), now))
            tokens = min(float(self.limit), tokens + (now - last) * rate)
            if tokens >= 1 - _SLACK:
                self._buckets[key] = (tokens - 1, now)
                return True, 0.0
            self._buckets[key] = (tokens, now)
            return False, (1 - tokens) / rate


def retry_after(wait: float) -> int:
    """Whole seconds for a Retry-After header: rounded up, so waiting that long is enough."""
    return max(1, math.ceil(round(wait, 9)))
