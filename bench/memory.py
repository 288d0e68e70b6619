"""Memory of the Streamlit server over long browser sessions.

    python -m bench.memory [--size N] [--sessions S] [--steps K] [--settle SECONDS]

Loads the demo data set into a new database (and, with --size N > 0, into a larger one built
with bench.synthetic first), starts `streamlit run app.py` on each, and drives Debian's
Chromium through Playwright: S sessions one after another, each a new browser context (a new
tab with its own cookies) that types a reviewer name, then makes K moves: page switches from
the sidebar, filter changes, opened items, pages of results, blind votes (writes, which change
every cache key that follows the data), and now and then a shared link opened in a new tab.
Each context is closed at the end of its session.

Prints the server's resident memory (VmRSS from /proc) after every session and at the end,
after waiting --settle seconds so that closed sessions can expire (Streamlit keeps a
disconnected session for server.disconnectedSessionTTL, 120 s by default). Prints figures
only: nothing here fails on memory.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dashboard.demo import load_demo
from store import Store
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.paths import free_port

ROOT = Path(__file__).resolve().parent.parent

PAGES = ("Insights", "Review", "Failure themes", "Agreement", "Annotate", "Experiments", "Vote",
         "Results", "Export", "Variants")
REVIEWERS = ("ana", "ben", "chen", "dara", "eli", "fatma", "gus", "hana")
SEARCH_WORDS = ("refund", "password", "hub", "invoice", "token", "wifi", "delivery", "")
RUN_TIMEOUT_MS = 180_000  # Failure themes on a large database takes a while the first time


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (VmRSS of /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Sampler(threading.Thread):
    """Samples a process's RSS twice a second and keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except OSError:
                return
            self.stop.wait(0.5)


@contextmanager
def streamlit_server(db_path: Path, log_path: Path):
    """`streamlit run app.py` on a free port; yield (url, process)."""
    port = free_port()
    env = {**os.environ, "LOUPE_DB": str(db_path),
           "OLLAMA_HOST": f"http://127.0.0.1:{free_port()}"}  # no model server: no chat calls
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.headless", "true", "--server.address", "localhost",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        url = f"http://localhost:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("streamlit did not start:\n" + log_path.read_text()) from None
                    time.sleep(0.2)
            yield url, process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def held_by_streamlit(url: str) -> dict[str, float]:
    """MB that Streamlit counts per cache, for session state and for media files
    (its /_stcore/metrics cache_memory_bytes family), largest first."""
    held: dict[str, float] = {}
    try:
        with urllib.request.urlopen(f"{url}/_stcore/metrics?families=cache_memory_bytes",
                                    timeout=30) as response:
            text = response.read().decode()
    except OSError:
        return held
    for line in text.splitlines():
        match = re.match(r'cache_memory_bytes\{cache_type="([^"]*)",cache="([^"]*)"\} (\S+)', line)
        if match:
            kind, name, value = match.groups()
            label = f"{kind} {name.removeprefix('dashboard.ui.')}".strip()
            held[label] = held.get(label, 0.0) + float(value) / 1e6
    return dict(sorted(held.items(), key=lambda kv: -kv[1]))


def print_held(url: str, top: int = 6) -> None:
    """The largest things Streamlit holds, one line."""
    held = held_by_streamlit(url)
    if held:
        total = sum(held.values())
        parts = [f"{name} {mb:.1f}" for name, mb in list(held.items())[:top]]
        print(f"      held by caches, session state and media: {total:.1f} MB"
              f" ({'; '.join(parts)})", flush=True)


def wait_for_run(page: Any) -> None:
    """Wait until Streamlit has finished running the script."""
    time.sleep(0.3)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
        timeout=RUN_TIMEOUT_MS,
    )
    time.sleep(0.2)


class Journey:
    """One browser session's moves; each move is best effort and counted."""

    def __init__(self, page: Any, url: str, rng: random.Random, item_ids: list[int],
                 pid: int, growth: dict[str, float]) -> None:
        self.page, self.url, self.rng, self.item_ids = page, url, rng, item_ids
        self.pid, self.growth = pid, growth  # page title -> MB the server grew during its moves
        self.done: dict[str, int] = {}
        self.failed: dict[str, int] = {}

    def _try(self, name: str, move: Any) -> None:
        try:
            move()
            wait_for_run(self.page)
        except Exception:  # noqa: BLE001 - a move that does not apply to this screen is skipped
            self.failed[name] = self.failed.get(name, 0) + 1
        else:
            self.done[name] = self.done.get(name, 0) + 1

    def start(self, reviewer: str) -> None:
        page = self.page
        page.goto(self.url)
        wait_for_run(page)
        box = page.get_by_label("Your name", exact=True)
        box.fill(reviewer)
        box.press("Enter")
        wait_for_run(page)

    def switch(self, title: str) -> None:
        before = rss_mb(self.pid)
        self._try("page switch", lambda: self.page.get_by_role("link", name=title, exact=True)
                  .first.click(timeout=5_000))
        self.act(title)
        self.growth[title] = self.growth.get(title, 0.0) + max(0.0, rss_mb(self.pid) - before)

    def act(self, title: str) -> None:
        page, rng = self.page, self.rng
        if title == "Review":
            choice = rng.randrange(4)
            if choice == 0:
                self._try("filter", lambda: page.get_by_test_id("stButtonGroup").first
                          .get_by_role("radio", name=rng.choice(["Up", "Down"])).click(timeout=3_000))
            elif choice == 1:
                def search() -> None:
                    box = page.get_by_role("textbox", name="Search", exact=True)
                    box.fill(rng.choice(SEARCH_WORDS), timeout=3_000)
                    box.press("Enter")
                self._try("search", search)
            elif choice == 2:
                self._try("open item", lambda: self._click_row(rng.randrange(1, 8)))
            else:
                self._try("next page", lambda: page.get_by_test_id("stPagination").first
                          .get_by_role("button").last.click(timeout=3_000))
        elif title == "Insights":
            choice = rng.randrange(3)
            if choice == 0:
                self._try("filter", lambda: page.get_by_role("radio", name=rng.choice(
                    ["Model", "Variant"]), exact=True).first.click(timeout=3_000))
            elif choice == 1:
                self._try("filter", lambda: page.get_by_text("Star ratings per model").click(
                    timeout=3_000))
            else:
                self._try("filter", lambda: page.get_by_text("Tags per model").click(
                    timeout=3_000))
        elif title == "Export" and rng.random() < 0.5:
            self._try("export built", lambda: page.get_by_role("button", name="Build the file")
                      .click(timeout=3_000))
        elif title == "Vote":
            label = rng.choice(["Answer 1 is better", "Answer 2 is better", "Tie", "Both bad"])
            self._try("vote", lambda: page.get_by_role("button", name=label).click(timeout=3_000))
            self._try("next pair", lambda: page.get_by_role("button", name="Next pair")
                      .click(timeout=3_000))

    def _click_row(self, row: int) -> None:
        grid = self.page.get_by_test_id("stDataFrame").first
        grid.scroll_into_view_if_needed(timeout=3_000)
        box = grid.bounding_box()
        self.page.mouse.click(box["x"] + 16, box["y"] + 35 + 18 + 35 * (row - 1))

    def shared_link(self, context: Any) -> None:
        """Open a link someone shared: a filtered Review with an item open, in a new tab."""
        item = self.rng.choice(self.item_ids)
        stars = self.rng.choice(["stars_max=2", "stars_min=4", "thumbs=down", "models=qwen2.5:7b"])
        tab = context.new_page()
        try:
            tab.goto(f"{self.url}/review?{stars}&item={item}")
            wait_for_run(tab)
            self.done["shared link"] = self.done.get("shared link", 0) + 1
        except Exception:  # noqa: BLE001
            self.failed["shared link"] = self.failed.get("shared link", 0) + 1
        finally:
            tab.close()


def drive(url: str, pid: int, sessions: int, steps: int, seed: int, item_ids: list[int],
          settle: float) -> list[tuple[str, float]]:
    """Run the sessions against one server; return (moment, RSS MB) figures."""
    from playwright.sync_api import sync_playwright

    rng = random.Random(seed)
    figures = [("server started", rss_mb(pid))]
    print(f"  {'server started':<34} {figures[0][1]:7.0f} MB", flush=True)
    sampler = Sampler(pid)
    sampler.start()
    moves: dict[str, int] = {}
    growth: dict[str, float] = {}
    failures: dict[str, int] = {}
    began = time.monotonic()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for number in range(1, sessions + 1):
            context = browser.new_context(viewport={"width": 1400, "height": 1600})
            page = context.new_page()
            journey = Journey(page, url, rng, item_ids, pid, growth)
            journey.start(REVIEWERS[(number - 1) % len(REVIEWERS)])
            for step in range(steps):
                journey.switch(rng.choice(PAGES))
                if step % 10 == 9:
                    journey.shared_link(context)
            context.close()
            for name, count in journey.done.items():
                moves[name] = moves.get(name, 0) + count
            for name, count in journey.failed.items():
                failures[name] = failures.get(name, 0) + count
            label = f"after session {number} ({time.monotonic() - began:.0f} s)"
            figures.append((label, rss_mb(pid)))
            print(f"  {label:<34} {figures[-1][1]:7.0f} MB", flush=True)
            print_held(url)
        browser.close()
    print(f"  moves: {', '.join(f'{k} {v}' for k, v in sorted(moves.items()))}")
    print("  the server grew during moves on: " + ", ".join(
        f"{title} {mb:.0f} MB" for title, mb in sorted(growth.items(), key=lambda kv: -kv[1])))
    if failures:
        print(f"  moves skipped (no such widget on that screen): "
              f"{', '.join(f'{k} {v}' for k, v in sorted(failures.items()))}")
    if settle:
        time.sleep(settle)
        figures.append((f"{settle:.0f} s after the last session", rss_mb(pid)))
        print(f"  {figures[-1][0]:<34} {figures[-1][1]:7.0f} MB")
        print_held(url)
    sampler.stop.set()
    figures.append(("peak", sampler.peak))
    print(f"  {'peak':<34} {sampler.peak:7.0f} MB", flush=True)
    return figures


def prepare(directory: Path, size: int) -> Path:
    """A database with the demo data set (on top of ``size`` synthetic interactions).

    The larger one is built once per folder (``--keep``) and copied for each run, so runs
    before and after a change start from the same file."""
    path = directory / (f"synthetic-{size}.db" if size else "demo.db")
    pristine = path.with_suffix(".pristine.db")
    if not pristine.exists():
        if size:
            from bench.synthetic import build

            build(str(pristine), size).close()
        with Store(pristine) as store:
            load_demo(store, seed=7)
    for leftover in directory.glob(f"{path.name}*"):
        leftover.unlink()
    with Store(pristine) as store:
        store.backup(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200_000,
                        help="interactions of the larger database (0: the demo database only)")
    parser.add_argument("--sessions", type=int, default=6)
    parser.add_argument("--steps", type=int, default=40, help="moves per session")
    parser.add_argument("--settle", type=float, default=150.0,
                        help="seconds to wait after the last session before the last figure")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="keep the databases in this folder")
    parser.add_argument("--skip-demo", action="store_true", help="only the larger database")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        sizes = [args.size] if args.skip_demo and args.size else [0, args.size]
        for size in dict.fromkeys(sizes):
            began = time.perf_counter()
            db = prepare(folder, size)
            with Store(db) as store:
                count = store.summary()["interactions"]
                last = store.ingest.max_interaction_id()
            item_ids = random.Random(args.seed).sample(range(1, last + 1), 200)
            print(f"\n{db.name}: {count:,} interactions (prepared in "
                  f"{time.perf_counter() - began:.0f} s); {args.sessions} sessions of "
                  f"{args.steps} moves", flush=True)
            with streamlit_server(db, folder / f"{db.stem}.log") as (url, process):
                drive(url, process.pid, args.sessions, args.steps, args.seed, item_ids,
                      args.settle)


if __name__ == "__main__":
    main()
