"""AF204's file-system calls run for real: testdata/http_client/af204_file_system as
written and as rewritten (tests/test_golden.py proves the expected file is asyncfix's
output) do the same to a real directory, and the rewritten one does its os, os.path,
shutil and pathlib I/O in a worker thread, not on the event loop's.
asyncfix itself never imports user code; this test does, on purpose.
"""

import asyncio
import importlib.util
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

CASES = Path(__file__).resolve().parent.parent / "testdata" / "http_client"


def _load(file: str, uploads: Path) -> ModuleType:
    path = CASES / file
    spec = importlib.util.spec_from_file_location(f"fs_case_{path.name.split('.')[1]}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.UPLOADS = uploads  # type: ignore[attr-defined]
    return module


def _recording(monkeypatch: pytest.MonkeyPatch, threads: list[tuple[str, bool]]) -> None:
    """Record, for each blocking call, whether it ran on the main (the loop's) thread."""

    def wrap(owner: Any, name: str, label: str) -> None:
        original: Callable[..., Any] = getattr(owner, name)

        def recorded(*args: Any, **kwargs: Any) -> Any:
            threads.append((label, threading.current_thread() is threading.main_thread()))
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, recorded)

    wrap(os, "makedirs", "os.makedirs")
    wrap(os.path, "getsize", "os.path.getsize")
    wrap(os.path, "exists", "os.path.exists")
    wrap(os, "listdir", "os.listdir")
    wrap(shutil, "copy2", "shutil.copy2")
    wrap(Path, "write_bytes", "Path.write_bytes")
    wrap(Path, "read_text", "Path.read_text")


def _run(module: ModuleType, uploads: Path) -> list[Any]:
    async def scenario() -> list[Any]:
        return [
            await module.save("a.txt", b"hello"),
            await module.show("a.txt", uploads),
            await module.show("missing.txt", uploads),
            await module.count("a.txt"),
        ]

    return asyncio.run(scenario())


@pytest.mark.parametrize("file", ["af204_file_system.input.py", "af204_file_system.expected.py"])
def test_same_effects_and_threads(
    file: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    module = _load(file, uploads)
    threads: list[tuple[str, bool]] = []
    _recording(monkeypatch, threads)
    answers = _run(module, uploads)
    assert answers == [
        {"size": 5},
        "hello",
        None,
        {"count": 2},  # a.txt and thumbs/
    ]
    assert (uploads / "thumbs" / "a.txt").read_bytes() == b"hello"
    on_loop = {label for label, main in threads if main}
    offloaded = {label for label, main in threads if not main}
    if file.endswith(".input.py"):
        assert not offloaded  # as written, every call blocks the loop
    else:
        # Rewritten: all of them in a worker thread, but os.listdir, which AF204 left on
        # the loop (it would split the read and the write of INDEX).
        assert on_loop == {"os.listdir"}
        assert offloaded == {
            "os.makedirs",
            "os.path.getsize",
            "os.path.exists",
            "shutil.copy2",
            "Path.write_bytes",
            "Path.read_text",
        }
