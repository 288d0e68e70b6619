"""`users add` never takes a password on the command line: it reads one line of stdin
(--password-stdin) or asks twice on the terminal without echo."""

from __future__ import annotations

import os
import select
import subprocess
import sys

import pytest

from dashboard.auth import verify_password
from store import Store
from tests.paths import ROOT
from tests.test_cli_commands import cli


def _hash(db: str, name: str) -> str | None:
    with Store(db) as store:
        account = store.users.get_user(name)
    return account["password_hash"] if account else None


def test_a_password_piped_on_stdin_signs_in_and_its_line_end_is_not_part_of_it(tmp_path):
    db = str(tmp_path / "l.db")
    added = cli("users", "add", "ana", "--role", "admin", "--password-stdin", "--db", db,
                stdin="correct horse battery\n")
    assert added.returncode == 0, added.stderr
    assert verify_password("correct horse battery", _hash(db, "ana"))
    assert not verify_password("correct horse battery\n", _hash(db, "ana"))
    windows = cli("users", "add", "bo", "--role", "viewer", "--password-stdin", "--db", db,
                  stdin="  spaces kept  \r\nsecond line ignored\n")
    assert windows.returncode == 0, windows.stderr
    assert verify_password("  spaces kept  ", _hash(db, "bo"))
    short = cli("users", "add", "cy", "--role", "viewer", "--password-stdin", "--db", db,
                stdin="short\n")
    assert (short.returncode, short.stderr.strip()) == (
        2, "A password needs at least 8 characters.")
    assert _hash(db, "cy") is None


def test_a_password_on_the_command_line_is_refused_with_what_to_do_instead(tmp_path):
    db = str(tmp_path / "l.db")
    refused = cli("users", "add", "ana", "--role", "admin", "--password", "long enough pw",
                  "--db", db)
    assert refused.returncode == 2
    assert "--password-stdin" in refused.stderr and "shell history" in refused.stderr
    assert "Traceback" not in refused.stderr
    with Store(db) as store:
        assert store.users.user_count() == 0


def test_without_a_terminal_or_stdin_flag_nothing_is_read_or_created(tmp_path):
    db = str(tmp_path / "l.db")
    piped = cli("users", "add", "ana", "--role", "admin", "--db", db, stdin="long enough pw\n")
    assert piped.returncode == 2
    assert piped.stderr.strip() == ("No terminal to type the password at: pipe it in with "
                                    "--password-stdin.")
    with Store(db) as store:
        assert store.users.user_count() == 0
    # an identity-provider account needs no password at all
    by_email = cli("users", "add", "ida", "--role", "admin", "--email", "ida@example.org",
                   "--db", db, stdin="")
    assert by_email.returncode == 0, by_email.stderr


def _on_a_terminal(args: list[str], answers: list[str]) -> tuple[int, str]:
    """Run the command with a terminal of its own; type each answer after the next prompt."""
    import fcntl
    import termios

    master, slave = os.openpty()

    def take_terminal() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    process = subprocess.Popen([sys.executable, "-m", "dashboard", *args], cwd=ROOT,
                               stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                               preexec_fn=take_terminal)  # noqa: PLW1509 - before exec only
    os.close(slave)
    seen = b""
    pending = list(answers)
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            process.kill()
            raise AssertionError(f"no output from the command; so far: {seen!r}")
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the command ended and closed its terminal
            break
        if not chunk:
            break
        seen += chunk
        if pending and chunk.rstrip().endswith(b":"):  # a new prompt
            os.write(master, pending.pop(0).encode() + b"\n")
    os.close(master)
    return process.wait(timeout=60), seen.decode(errors="replace")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="drives a Linux terminal")
def test_at_a_terminal_the_password_is_asked_twice_and_never_shown(tmp_path):
    db = str(tmp_path / "l.db")
    code, screen = _on_a_terminal(["users", "add", "ana", "--role", "admin", "--db", db],
                                  ["typed secret 1", "typed secret 1"])
    assert code == 0, screen
    assert "Password for ana:" in screen and "The same password again:" in screen
    assert "typed secret" not in screen  # not echoed
    assert verify_password("typed secret 1", _hash(db, "ana"))

    code, screen = _on_a_terminal(["users", "add", "bo", "--role", "viewer", "--db", db],
                                  ["typed secret 1", "typed secret 2"])
    assert code == 2
    assert "The two passwords differ: run the command again." in screen
    assert _hash(db, "bo") is None
