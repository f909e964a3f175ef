"""`apply --interactive`, driven through a pseudo-terminal like a person at the keyboard."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")

LEGACY = "import time\n\n\nasync def {name}():\n    time.sleep(1)\n"
FIXED = "import asyncio\n\n\nasync def {name}():\n    await asyncio.sleep(1)\n"
PROMPT = "Apply this change? [a]ccept, [s]kip, [e]dit in $EDITOR, [q]uit:"

# Editors: a script that changes the temporary copy asyncfix opens, as a person would.
APPEND = "import sys\nopen(sys.argv[1], 'a').write('# reviewed\\n')\n"
BREAK = "import sys\nopen(sys.argv[1], 'a').write('def (\\n')\n"


class Terminal:
    """The real CLI on a pty: what it prints, and answers typed at its prompts."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "asyncfix", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env=env,
            close_fds=True,
        )
        os.close(slave)
        self.master = master
        self.seen = ""
        self.pos = 0

    def expect(self, text: str, timeout: float = 60) -> str:
        """Wait for `text` after what was already matched; returns the output up to it."""
        deadline = time.monotonic() + timeout
        while text not in self.seen[self.pos :]:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {text!r}; got:\n{self.seen}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"ended before {text!r}; got:\n{self.seen}")
                # The terminal turns "\n" into "\r\n"; compare with what the program wrote.
                self.seen += chunk.decode(errors="replace").replace("\r\n", "\n")
        end = self.seen.index(text, self.pos) + len(text)
        before, self.pos = self.seen[self.pos : end], end
        return before

    def send(self, line: str) -> None:
        os.write(self.master, line.encode())

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    chunk = b""
                self.seen += chunk.decode(errors="replace").replace("\r\n", "\n")
                if not chunk:
                    break
            elif self.proc.poll() is not None:
                break
        code = self.proc.wait(timeout=max(1, deadline - time.monotonic()))
        os.close(self.master)
        return code, self.seen[self.pos :]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    for name in ("a", "b", "c", "d"):
        (tmp_path / "src" / f"{name}.py").write_text(LEGACY.format(name=name))
    return tmp_path


def _env(tmp_path: Path, editor_script: str) -> dict[str, str]:
    editor = tmp_path / "editor.py"
    editor.write_text(editor_script)
    env = dict(os.environ)
    env.update(EDITOR=f'"{sys.executable}" "{editor}"', VISUAL="", TERM="dumb")
    env.pop("PYTHONSTARTUP", None)
    return env


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    started: list[Terminal] = []
    yield started
    for terminal in started:
        if terminal.proc.poll() is None:
            terminal.proc.kill()
            terminal.proc.wait()


def test_skip_edit_accept_quit(project: Path, terminals: list[Terminal]) -> None:
    term = Terminal(["apply", "--no-cache", "--interactive", "src"], project, _env(project, APPEND))
    terminals.append(term)
    shown = term.expect(PROMPT)
    assert "[1/4] src/a.py\n--- a/src/a.py\n+++ b/src/a.py\n" in shown
    assert "+    await asyncio.sleep(1)\n" in shown
    term.send("s\n")
    assert "[2/4] src/b.py" in term.expect(PROMPT)
    term.send("e\n")
    # The diff again, now with the edit, and the same question.
    again = term.expect(PROMPT)
    assert "[2/4] src/b.py" in again and "+# reviewed\n" in again
    term.send("a\n")
    assert "[3/4] src/c.py" in term.expect(PROMPT)
    term.send("x\n")  # not an answer: asked again
    assert "Error: 'x' is not one of" in term.expect(PROMPT)
    term.send("A\n")
    assert "[4/4] src/d.py" in term.expect(PROMPT)
    term.send("q\n")
    code, rest = term.finish()
    assert code == 1, rest  # a.py and d.py are left to do
    assert "2 changed" in rest
    src = project / "src"
    assert (src / "a.py").read_text() == LEGACY.format(name="a")
    assert (src / "b.py").read_text() == FIXED.format(name="b") + "# reviewed\n"
    assert (src / "c.py").read_text() == FIXED.format(name="c")
    assert (src / "d.py").read_text() == LEGACY.format(name="d")


def test_an_edit_that_does_not_compile_is_refused(project: Path, terminals: list[Terminal]) -> None:
    term = Terminal(
        ["apply", "--no-cache", "--interactive", "--patch", "review.patch", "src/a.py"],
        project,
        _env(project, BREAK),
    )
    terminals.append(term)
    term.expect(PROMPT)
    term.send("e\n")
    refused = term.expect(PROMPT)
    assert "the edited file does not compile" in refused
    assert "keeping the previous version" in refused
    assert "def (" not in refused
    term.send("a\n")
    code, rest = term.finish()
    assert code == 0, rest
    assert (project / "src" / "a.py").read_text() == FIXED.format(name="a")
    # The patch holds what was accepted.
    assert "+    await asyncio.sleep(1)\n" in (project / "review.patch").read_text()


def test_end_of_input_writes_nothing(project: Path, terminals: list[Terminal]) -> None:
    term = Terminal(["apply", "--no-cache", "-i", "src"], project, _env(project, APPEND))
    terminals.append(term)
    term.expect(PROMPT)
    term.send("a\n")
    term.expect(PROMPT)
    term.send("\x04")  # Ctrl-D: the user walks away; even the accepted file is not written
    code, rest = term.finish()
    assert code == 2
    assert "interrupted; no file was written" in rest
    assert (project / "src" / "a.py").read_text() == LEGACY.format(name="a")


def test_interactive_and_dry_run_exclude_each_other(project: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "asyncfix", "apply", "-i", "--dry-run", "src"],
        cwd=project,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2
    assert "--interactive and --dry-run exclude each other" in proc.stderr
