"""Faults: every one gives a clear `path:line:col: error: message`, exit code 2, and leaves
every file unchanged except the ones reported as written.

The interrupt tests (SIGINT and SIGTERM during a parallel run) are in test_cli.py; the
write phase being interrupted is here. These tests run as root in CI containers, where a
directory's permission bits do not stop anyone: a read-only directory is simulated by
making the creation of the temporary file fail as the kernel would (EACCES).
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import libcst as cst
import pytest
from click.testing import CliRunner, Result

from asyncfix import driver
from asyncfix.cli import main
from asyncfix.codemods import AsyncfixCodemod, Rule, all_codemods, resolve_selection
from asyncfix.files import MAX_FILE_BYTES, atomic_write, discover

LEGACY = "import time\n\n\nasync def handler():\n    time.sleep(1)\n    return 1\n"
FIXED = "import asyncio\n\n\nasync def handler():\n    await asyncio.sleep(1)\n    return 1\n"


def invoke(*args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(main, [*args, "--no-cache"], catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    (work / "src").mkdir(parents=True)
    monkeypatch.chdir(work)
    (work / "src" / "a.py").write_text(LEGACY)
    (work / "src" / "b.py").write_text(LEGACY)
    return work


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if ": error: " in line]


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def no_temporaries(root: Path) -> bool:
    return not [p for p in root.rglob("*.asyncfix") if p.name.startswith(".")]


# -- writing -----------------------------------------------------------------------------


def test_read_only_directory(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulated (root ignores a directory's mode bits): creating the temporary file next
    # to src/a.py fails with EACCES, exactly what a non-root user gets.
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
        if Path(kwargs["dir"]).name == "src" and kwargs["prefix"] == ".a.py.":
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    result = invoke("apply", "src")
    assert result.exit_code == 2
    # The directory is named: the file itself may well be writable.
    assert error_lines(result) == [
        "src/a.py:1:1: error: cannot write: permission denied in directory src"
    ]
    assert (project / "src" / "a.py").read_text() == LEGACY
    assert (project / "src" / "b.py").read_text() == FIXED
    assert "1 changed" in result.stderr  # the summary counts what was written
    assert no_temporaries(project)


def test_disk_full_during_the_write(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The first file fits, then the disk is full: fsync of the second temporary fails.
    calls = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    result = invoke("apply", "src")
    assert result.exit_code == 2
    assert error_lines(result) == ["src/b.py:1:1: error: cannot write: no space left on device"]
    assert (project / "src" / "a.py").read_text() == FIXED
    assert (project / "src" / "b.py").read_text() == LEGACY
    assert no_temporaries(project)


def test_disk_full_writing_patches(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def replace(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", replace)
    before = snapshot(project)
    result = invoke("apply", "--dry-run", "--patch-dir", "patches", "src")
    assert result.exit_code == 2
    assert all("cannot write patch: No space left on device" in e for e in error_lines(result))
    assert len(error_lines(result)) == 2
    assert snapshot(project) == before  # no patch, no half patch, sources untouched


def test_file_deleted_after_processing(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_run = driver.run

    def run_then_delete(*args: Any, **kwargs: Any) -> driver.RunResult:
        result = real_run(*args, **kwargs)
        (project / "src" / "a.py").unlink()  # gone before the write phase
        return result

    monkeypatch.setattr("asyncfix.cli.run", run_then_delete)
    result = invoke("apply", "src")
    assert result.exit_code == 2
    assert error_lines(result) == ["src/a.py:1:1: error: cannot write: no such file or directory"]
    assert not (project / "src" / "a.py").exists()  # not recreated
    assert (project / "src" / "b.py").read_text() == FIXED


def test_file_deleted_before_it_is_read(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:

    def discover_then_delete(*args: Any, **kwargs: Any) -> Any:
        found = discover(*args, **kwargs)
        (project / "src" / "a.py").unlink()
        return found

    monkeypatch.setattr("asyncfix.driver.discover", discover_then_delete)
    result = invoke("apply", "--jobs", "1", "src")
    assert result.exit_code == 2
    assert error_lines(result) == ["src/a.py:1:1: error: cannot read: no such file or directory"]
    assert not (project / "src" / "a.py").exists()
    assert (project / "src" / "b.py").read_text() == FIXED


def test_interrupted_during_the_writes(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Extends test_cli's interrupt tests: Ctrl-C between two atomic writes keeps the first.
    calls: list[Path] = []

    def write(path: Path, data: bytes) -> None:
        calls.append(path)
        if len(calls) > 1:
            raise KeyboardInterrupt
        atomic_write(path, data)

    monkeypatch.setattr("asyncfix.review.atomic_write", write)
    result = invoke("apply", "src")
    assert result.exit_code == 2
    assert "asyncfix: interrupted; 1 files written" in result.stderr
    assert (project / "src" / "a.py").read_text() == FIXED
    assert (project / "src" / "b.py").read_text() == LEGACY
    assert no_temporaries(project)


# -- owners, modes, links and leftovers (issue 20, item 6 and 7) -------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_written_file_keeps_its_owner_group_and_mode(project: Path) -> None:
    target = project / "src" / "a.py"
    os.chown(target, 12345, 23456)
    os.chmod(target, 0o640)
    result = invoke("apply", "src")
    assert result.exit_code == 0, result.stderr
    info = os.stat(target)
    assert target.read_text() == FIXED
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (12345, 23456, 0o640)
    assert no_temporaries(project)


def test_an_owner_that_cannot_be_given_back_is_written_in_place(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a user who may write another user's (group-writable) file meets: chown fails.
    target = project / "src" / "a.py"
    os.chown(target, os.getuid(), os.getgid() + 1)  # (root: any group; others: one of theirs)

    def chown(path: str, uid: int, gid: int) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "chown", chown)
    inode = os.stat(target).st_ino
    result = invoke("apply", "src")
    assert result.exit_code == 0, result.stderr
    assert target.read_text() == FIXED
    assert os.stat(target).st_ino == inode  # the same file, so the same owner
    assert os.stat(target).st_gid == os.getgid() + 1
    assert no_temporaries(project)


def test_hard_links_are_kept(project: Path) -> None:
    target = project / "src" / "a.py"
    elsewhere = project / "backup.py.txt"
    os.link(target, elsewhere)
    result = invoke("apply", "src")
    assert result.exit_code == 0, result.stderr
    assert target.read_text() == FIXED
    assert elsewhere.read_text() == FIXED  # one file under two names, still
    assert os.stat(target).st_ino == os.stat(elsewhere).st_ino
    assert os.stat(target).st_nlink == 2
    assert no_temporaries(project)


def test_a_hard_linked_file_cut_short_keeps_its_new_content(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Written in place (see files._write_in_place), the file's content is at risk while
    # the write lasts: the new content stays beside it until the user has looked.
    target = project / "src" / "a.py"
    os.link(target, project / "link.py.txt")

    real_write = os.write

    def write(fd: int, data: bytes) -> int:
        # The disk fails after ten bytes of the file: it is half old, half new.
        real_write(fd, bytes(data[:10]))
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    with monkeypatch.context() as patched:
        patched.setattr(os, "write", write)
        result = invoke("apply", "src/a.py")
    assert result.exit_code == 2
    [copy] = (project / "src").glob(".a.py.*.asyncfix-copy")
    assert copy.read_text() == FIXED
    assert error_lines(result) == [
        f"src/a.py:1:1: error: cannot write: input/output error; it may be incomplete, "
        f"see src/{copy.name}"
    ]
    half = target.read_bytes()
    assert half.startswith(FIXED[:10].encode()) and half != FIXED.encode()
    # The next run neither removes the copy nor writes the file: both wait for the user.
    again = invoke("apply", "src")
    assert again.exit_code == 2
    assert copy.exists()
    assert (
        f"src/a.py:1:1: error: an interrupted write may have left this file incomplete; its "
        f"new content is in src/{copy.name} (remove that file when done)"
    ) in error_lines(again)
    assert target.read_bytes() == half
    # Once the file holds the copy's content, the copy is only a leftover.
    target.write_bytes(copy.read_bytes())
    assert invoke("apply", "src").exit_code == 0
    assert not copy.exists()


def test_a_symlink_named_on_the_command_line_stays_a_link(project: Path) -> None:
    link = project / "link.py"
    link.symlink_to(project / "src" / "a.py")
    result = invoke("apply", "link.py")
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink()
    assert (project / "src" / "a.py").read_text() == FIXED
    assert no_temporaries(project)


def test_a_killed_run_leaves_a_temporary_file_the_next_run_removes(project: Path) -> None:
    # A real SIGKILL at the worst moment: the temporary file is written, not yet renamed.
    script = (
        "import os, signal, sys\n"
        "os.replace = lambda src, dst: os.kill(os.getpid(), signal.SIGKILL)\n"
        "from asyncfix.cli import main\n"
        "main(['apply', '--no-cache', 'src/a.py'])\n"
    )
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert killed.returncode == -9
    [leftover] = (project / "src").glob(".a.py.*.asyncfix")
    assert leftover.read_text() == FIXED
    assert (project / "src" / "a.py").read_text() == LEGACY
    # Files of the user's that only look alike stay.
    mine = [
        "a.py.12345678.asyncfix",
        ".a.py.1234567.asyncfix",
        ".a.py.12345678.asyncfix.bak",
        ".notes.txt.12345678.asyncfix",  # asyncfix's pattern, but beside no file it reads
    ]
    for name in mine:
        (project / "src" / name).write_text("mine")
    result = invoke("apply", "src")
    assert result.exit_code == 0, result.stderr
    assert f"removed the temporary files of an interrupted run: src/{leftover.name}" in (
        result.stderr
    )
    assert not leftover.exists()
    assert all((project / "src" / name).read_text() == "mine" for name in mine)
    assert (project / "src" / "a.py").read_text() == FIXED


def test_a_dry_run_removes_nothing(project: Path) -> None:
    leftover = project / "src" / ".a.py.abcd_123.asyncfix"
    leftover.write_text(FIXED)
    assert invoke("apply", "--dry-run", "src").exit_code == 1
    assert invoke("check", "src").exit_code == 1
    assert leftover.exists()


# -- reading and discovery ---------------------------------------------------------------


def test_symlinks_are_not_followed(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "ext.py").write_text(LEGACY)
    src = project / "src"
    (src / "ext").symlink_to(outside)  # a directory out of the given paths
    (src / "ext_file.py").symlink_to(outside / "ext.py")  # a file out of them
    (src / "sub").mkdir()
    (src / "sub" / "up").symlink_to(src)  # a loop back up: inside, so skipped quietly
    (src / "alias.py").symlink_to(src / "b.py")  # inside: b.py is processed once, directly
    (src / "loop.py").symlink_to(src / "loop.py")  # a link to itself
    (src / "dangling.py").symlink_to(src / "gone.py")
    result = invoke("apply", "src")
    assert result.exit_code == 2
    real_outside = os.path.realpath(outside)
    assert error_lines(result) == [
        "src/dangling.py:1:1: error: broken symbolic link; not followed",
        f"src/ext:1:1: error: symbolic link to {real_outside}, outside the given paths; "
        "not followed",
        f"src/ext_file.py:1:1: error: symbolic link to {real_outside}/ext.py, outside the "
        "given paths; not followed",
        "src/loop.py:1:1: error: symbolic link loop; not followed",
    ]
    assert (outside / "ext.py").read_text() == LEGACY
    assert (src / "a.py").read_text() == FIXED
    assert (src / "b.py").read_text() == FIXED
    assert (src / "alias.py").is_symlink()
    assert "2 changed" in result.stderr


def test_excluded_symlinks_are_silent(project: Path, tmp_path: Path) -> None:
    (project / "src" / "loop.py").symlink_to(project / "src" / "loop.py")
    result = invoke("apply", "--exclude", "loop.py", "src")
    assert result.exit_code == 0, result.stderr
    assert error_lines(result) == []


def test_a_symlink_loop_named_on_the_command_line(project: Path) -> None:
    (project / "loop.py").symlink_to(project / "loop.py")
    result = invoke("apply", "loop.py", "src")
    assert result.exit_code == 2
    assert error_lines(result) == ["loop.py:1:1: error: symbolic link loop"]
    assert (project / "src" / "a.py").read_text() == FIXED


def test_files_over_the_size_limit_are_skipped(project: Path) -> None:
    assert MAX_FILE_BYTES == 10 * 1024 * 1024
    big = project / "src" / "big.py"
    padding = b"# " + b"x" * 98 + b"\n"
    big.write_bytes(LEGACY.encode() + padding * (MAX_FILE_BYTES // len(padding) + 1))
    before = big.read_bytes()
    result = invoke("apply", "src")
    assert result.exit_code == 2
    assert error_lines(result) == ["src/big.py:1:1: error: larger than 10 MB; skipped"]
    assert big.read_bytes() == before
    assert (project / "src" / "a.py").read_text() == FIXED


def test_binary_file_named_py(project: Path) -> None:
    # No trigger token in it, and still reported: it is not Python source.
    binary = project / "src" / "image.py"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00")
    result = invoke("apply", "src")
    assert result.exit_code == 2
    assert error_lines(result) == ["src/image.py:3:1: error: source contains a NUL byte"]
    assert binary.read_bytes().startswith(b"\x89PNG")
    assert (project / "src" / "a.py").read_text() == FIXED


def test_nul_byte_in_a_file_that_would_be_rewritten(project: Path) -> None:
    data = LEGACY.encode() + b"x = '\x00'\n"
    (project / "src" / "a.py").write_bytes(data)
    result = invoke("apply", "src")
    assert result.exit_code == 2
    assert error_lines(result) == ["src/a.py:7:6: error: source contains a NUL byte"]
    assert (project / "src" / "a.py").read_bytes() == data


def test_a_named_file_that_is_not_valid_python_is_an_error(project: Path) -> None:
    # Issue 22, item 8: no trigger token in any of them, and still reported when named.
    (project / "bad.py").write_text("def f(:\n    pass\n")
    (project / "notebook.ipynb").write_text('{"cells": [], "nbformat": 4}\n')  # valid Python!
    (project / "notes.txt").write_text("x = 1\n")
    (project / "script").write_text("#!/usr/bin/env python3\nx = 1\n")
    (project / "ok.py").write_text("x = 1\n")
    for command in ("check", "apply"):
        result = invoke(command, "bad.py", "notebook.ipynb", "notes.txt", "script", "ok.py")
        assert result.exit_code == 2
        assert error_lines(result) == [
            "bad.py:1:7: error: syntax error: invalid syntax",
            "notebook.ipynb:1:1: error: not Python source (a .ipynb file); "
            "asyncfix reads .py files",
            "notes.txt:1:1: error: not Python source (a .txt file); asyncfix reads .py files",
        ]
    # Found by walking a directory, a file is only parsed when it may need a rewrite.
    (project / "src" / "bad.py").write_text("def f(:\n    pass\n")
    assert invoke("check", "src/bad.py").exit_code == 2
    (project / "src" / "a.py").write_text("x = 1\n")
    (project / "src" / "b.py").write_text("x = 2\n")
    assert invoke("check", "src").exit_code == 0


def test_a_fifo_named_py_does_not_hang(project: Path) -> None:
    os.mkfifo(project / "src" / "pipe.py")
    result = invoke("apply", "src")
    assert result.exit_code == 2
    assert error_lines(result) == ["src/pipe.py:1:1: error: not a regular file; skipped"]
    assert (project / "src" / "a.py").read_text() == FIXED


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # CRLF and LF mixed: each untouched line keeps its own ending.
        (
            b"import time\r\n\r\n\r\nasync def f():\n    time.sleep(1)\r\n    return 2\n",
            b"import asyncio\r\n\r\n\r\nasync def f():\n    await asyncio.sleep(1)\r\n"
            b"    return 2\n",
        ),
        # Old Mac line endings, down to the very last byte (libcst drops a final lone CR).
        (
            b"import time\r\r\rasync def f():\r    time.sleep(1)\r    return 2\r",
            b"import asyncio\r\r\rasync def f():\r    await asyncio.sleep(1)\r    return 2\r",
        ),
    ],
    ids=["crlf-lf", "cr"],
)
def test_mixed_line_endings(project: Path, before: bytes, after: bytes) -> None:
    target = project / "src" / "a.py"
    target.write_bytes(before)
    result = invoke("apply", "src/a.py")
    assert result.exit_code == 0, result.stderr
    assert target.read_bytes() == after
    again = invoke("apply", "src/a.py")
    assert again.exit_code == 0 and target.read_bytes() == after


def test_deeply_nested_expressions(project: Path) -> None:
    # libcst's native parser overflows the C stack on these (a segfault, not an exception):
    # run in a subprocess so that a regression fails this test, not the whole session.
    head = LEGACY.encode()
    cases = {
        "parens.py": head + b"x = " + b"(" * 5000 + b"1" + b")" * 5000 + b"\n",
        "plus.py": head + b"x = " + b"1 + " * 20000 + b"1\n",
        "bools.py": head + b"x = " + b"a and " * 20000 + b"b\n",
        "calls.py": head + b"x = f" + b"(a)" * 10000 + b"\n",
        "indent.py": head
        + b"".join(b" " * i + b"if x:\n" for i in range(120))
        + b" " * 120
        + b"pass\n",
    }
    for name, data in cases.items():
        (project / "src" / name).write_bytes(data)
    proc = subprocess.run(
        [sys.executable, "-m", "asyncfix", "apply", "--no-cache", "--jobs", "1", "src"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if ": error: " in line]
    assert errors == [
        "src/bools.py:7:5: error: too deeply nested to parse",
        "src/calls.py:1:1: error: too deeply nested to parse",
        "src/indent.py:107:1: error: syntax error: too many levels of indentation",
        "src/parens.py:7:205: error: syntax error: too many nested parentheses",
        "src/plus.py:1:1: error: too deeply nested to parse",
    ]
    for name, data in cases.items():
        assert (project / "src" / name).read_bytes() == data
    assert (project / "src" / "a.py").read_text() == FIXED


# -- a worker process that dies ----------------------------------------------------------

KILL_RULE = Rule("AF999", "killer", "test", "why", "fix", "", "")
PARENT = os.getpid()


class _Killer(AsyncfixCodemod):
    """Kills the worker process it runs in (as a segfault in native code would)."""

    NAME = "killer"
    FAMILY = "awaits"
    RULES: ClassVar[tuple[Rule, ...]] = (KILL_RULE,)
    TRIGGERS = (b"KILL_THE_WORKER",)

    def transform(self, module: cst.Module) -> cst.Module:
        if os.getpid() == PARENT:  # never take the test session down
            raise AssertionError("the killer ran in the parent process")
        os._exit(3)


@pytest.mark.skipif(
    multiprocessing.get_start_method() != "fork",
    reason="injecting a codemod into workers needs the fork start method",
)
def test_a_worker_process_that_dies(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = all_codemods()
    monkeypatch.setattr("asyncfix.pipeline.all_codemods", lambda: (*real, _Killer))

    def enable(select: Any, ignore: Any) -> frozenset[str]:
        return resolve_selection(select, ignore) | {"AF999"}

    monkeypatch.setattr("asyncfix.pipeline.resolve_selection", enable)
    for i in range(10):
        (project / "src" / f"m{i}.py").write_text(LEGACY)
    victim = project / "src" / "m3.py"
    victim.write_text(LEGACY + "# KILL_THE_WORKER\n")
    result = invoke("apply", "--jobs", "2", "src")
    assert result.exit_code == 2
    assert error_lines(result) == [
        "src/m3.py:1:1: error: internal error: the worker process died while rewriting this "
        "file (a crash in native code, or out of memory); file left unchanged, please report "
        "this"
    ]
    assert victim.read_text() == LEGACY + "# KILL_THE_WORKER\n"
    others = [p for p in (project / "src").glob("*.py") if p != victim]
    assert len(others) == 11
    assert all(p.read_text() == FIXED for p in others)
    assert "11 changed" in result.stderr


# -- security ----------------------------------------------------------------------------


def test_the_code_read_is_never_imported_or_executed(project: Path, tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    evil = (
        "import pathlib\n"
        f"pathlib.Path({str(marker)!r}).write_text('ran')\n"
        "raise SystemExit(9)\n" + LEGACY
    )
    for name in ("evil.py", "conftest.py", "__init__.py", "setup.py"):
        (project / "src" / name).write_text(evil)
    result = invoke("apply", "src")
    assert result.exit_code == 0, result.stderr
    assert not marker.exists()
    assert not [m for m in sys.modules if m in ("evil", "src", "src.evil", "conftest")]
    assert "import asyncio" in (project / "src" / "evil.py").read_text()


def test_patches_never_name_paths_outside_the_working_directory(
    project: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.py").write_text(LEGACY)
    result = invoke(
        "apply",
        "--dry-run",
        "--patch-dir",
        "patches",
        "--patch",
        "all.patch",
        "src/../../outside/x.py",
        "src/../src/a.py",
        str(outside / "x.py"),
    )
    assert result.exit_code == 2
    shown = os.path.realpath(outside / "x.py")
    assert set(error_lines(result)) == {
        f"{shown}:1:1: error: outside the current directory; no patch written"
    }
    patches = [*(project / "patches").iterdir(), project / "all.patch"]
    assert [p.name for p in patches] == ["src__a.py.patch", "all.patch"]
    for patch in patches:
        text = patch.read_text()
        assert "--- a/src/a.py\n+++ b/src/a.py\n" in text
        assert ".." not in text and str(tmp_path) not in text
    assert (outside / "x.py").read_text() == LEGACY


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('select = ["AF2", 3]', "select must be a list of strings"),
        ("exclude = 3", "exclude must be a list of strings"),
        ('select = ["AF9"]', "unknown rule selector 'AF9'"),
        ("fastapi-version = 131", "fastapi-version must be a string"),
        ('fastapi-version = "banana"', "fastapi-version must be a version"),
        ("jobs = 4", "unknown key 'jobs'"),
        ('tests = "some"', 'tests must be "correctness" or "all"'),
        ("test-paths = 1", "test-paths must be a list of strings"),
        ("http_client = 1", "http_client must be a table"),
        ("[tool.asyncfix.http_client]\nbogus = 1", "unknown key 'bogus'"),
    ],
)
def test_config_values_are_validated(project: Path, table: str, message: str) -> None:
    (project / "pyproject.toml").write_text(f"[tool.asyncfix]\n{table}\n")
    result = invoke("apply", "src")
    assert result.exit_code == 2
    assert message in result.stderr
    assert (project / "src" / "a.py").read_text() == LEGACY
