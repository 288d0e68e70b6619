"""Keep the Streamlit server's memory from creeping up with every page run.

Streamlit runs each script run on a new thread. With glibc's malloc each thread may get an arena
of its own (up to eight per core), and the dynamic mmap threshold rises after the first large
buffers are freed, so later large buffers (pandas and numpy arrays, query results, chart JSON)
come from those arenas; what a page run frees there is kept by the process rather than returned.
Measured with ``python -m bench.memory``, the live Python objects stayed near 105 MB while the
memory malloc held free grew past 400 MB over five sessions. So the server uses two arenas and a
fixed mmap threshold: buffers of 128 KiB and more are mapped and unmapped on their own.
Elsewhere than glibc (macOS, musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

ARENAS = 2
LARGE_BYTES = 128 * 1024  # glibc's default mmap threshold, kept fixed
# mallopt parameter numbers from glibc's malloc.h
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

_lock = threading.Lock()
_applied: bool | None = None


def _glibc() -> Any | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") else None


def keep_memory_low() -> bool:
    """Tune glibc's malloc for a long-running server, once per process; return whether it
    applies (False where the allocator is not glibc's)."""
    global _applied
    with _lock:
        if _applied is None:
            libc = _glibc()
            _applied = libc is not None and all(
                libc.mallopt(parameter, value) == 1
                for parameter, value in ((_M_ARENA_MAX, ARENAS), (_M_MMAP_THRESHOLD, LARGE_BYTES),
                                         (_M_TRIM_THRESHOLD, LARGE_BYTES))
            )
        return _applied

