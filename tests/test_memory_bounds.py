"""What the Streamlit server keeps stays bounded: cached reads have a limit and entries keyed on
the database's change stamp expire, and the allocator hands back what page runs free.

The memory itself is measured by `python -m bench.memory` (figures in the README), not here.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import ROOT

SOURCES = sorted([ROOT / "app.py", *ROOT.glob("views/*.py"), *ROOT.glob("dashboard/**/*.py")])


def _cached_functions(kind: str) -> list[tuple[str, set[str], list[str]]]:
    """(where, decorator keywords, parameter names) of every function decorated with st.<kind>."""
    found = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for decorator in node.decorator_list:
                call = decorator if isinstance(decorator, ast.Call) else None
                target = call.func if call else decorator
                if isinstance(target, ast.Attribute) and target.attr == kind:
                    keywords = {k.arg for k in call.keywords if k.arg} if call else set()
                    params = [a.arg for a in node.args.args + node.args.kwonlyargs]
                    where = f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
                    found.append((where, keywords, params))
    return found


def test_the_scan_sees_the_cached_reads():
    names = [where for where, _, _ in _cached_functions("cache_data")]
    assert any("views/results.py" in w for w in names)
    assert any("dashboard/ui/review.py" in w for w in names)
    assert any("dashboard/ui/insight_filters.py" in w for w in names)


def test_every_cached_read_with_arguments_keeps_a_bounded_number_of_entries():
    unbounded = [where for where, keywords, params in _cached_functions("cache_data")
                 if params and "max_entries" not in keywords]
    assert not unbounded, f"st.cache_data without max_entries: {unbounded}"


def test_entries_keyed_on_the_data_stamp_expire():
    # a write changes the stamp, so entries for the old one are never read again
    lingering = [where for where, keywords, params in _cached_functions("cache_data")
                 if any("stamp" in p for p in params) and "ttl" not in keywords]
    assert not lingering, f"keyed on the data stamp without a ttl: {lingering}"
    per_write = [where for where, _, params in _cached_functions("cache_resource")
                 if any("stamp" in p for p in params)]
    assert not per_write, f"a resource per write would never be freed: {per_write}"


ARENA_PROBE = """
import ctypes, sys, tempfile, threading
if sys.argv[1] == "server":
    import dashboard.ui  # what app.py imports first
libc = ctypes.CDLL("libc.so.6")
barrier = threading.Barrier(8)
def work():
    barrier.wait()
    blocks = [ctypes.create_string_buffer(4096) for _ in range(2000)]
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
path = tempfile.mktemp()
libc.fopen.restype = ctypes.c_void_p
out = ctypes.c_void_p(libc.fopen(path.encode(), b"w"))
libc.malloc_info(0, out)
libc.fclose(out)
print(open(path).read().count("<heap nr="))
"""


def _arenas(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", ARENA_PROBE, mode], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


@pytest.mark.skipif(not Path("/proc/self/maps").exists()
                    or "libc.so.6" not in Path("/proc/self/maps").read_text(),
                    reason="glibc only")
def test_script_run_threads_share_two_malloc_arenas_in_the_server():
    # Streamlit runs each script run on a new thread; each could keep an arena of freed memory
    assert _arenas("plain") > 2
    assert _arenas("server") <= 2
