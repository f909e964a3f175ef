"""AF207: the rewritten Popen sites run real `python -c` children and return what the
original code returns (output, text decoding, exit codes, the exception of a missing
program)."""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

CASE = Path(__file__).resolve().parent.parent / "testdata" / "http_client" / "popen_to_asyncio"
# The arguments each case function is called with.
ARGS: dict[str, tuple[Any, ...]] = {
    "text_round_trip": ("héllo\r\nwörld\n",),
    "explicit_encoding": ("abc\n",),
    "exit_code_and_env": (3,),
}


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"popen_case_{path.stem.replace('.', '_')}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cases() -> list[str]:
    source = _load(CASE.with_suffix(".input.py"))
    return [n for n, f in vars(source).items() if inspect.iscoroutinefunction(f)]


@pytest.mark.parametrize("name", _cases())
def test_rewritten_code_returns_what_the_original_did(name: str) -> None:
    before = _load(CASE.with_suffix(".input.py"))
    after = _load(CASE.with_suffix(".expected.py"))
    args = ARGS.get(name, ())
    expected = asyncio.run(getattr(before, name)(*args))
    assert asyncio.run(getattr(after, name)(*args)) == expected


def test_every_site_of_the_case_is_rewritten() -> None:
    # The comparison above would pass on an unchanged file: the rewrite must be there.
    rewritten = CASE.with_suffix(".expected.py").read_text()
    assert "subprocess.Popen" not in rewritten
    assert rewritten.count("await asyncio.create_subprocess_") == len(_cases())


def test_the_rewrite_does_not_block_the_loop() -> None:
    # While the rewritten child runs, another task on the same loop makes progress.
    after = _load(CASE.with_suffix(".expected.py"))

    async def main() -> list[str]:
        order: list[str] = []

        async def ticker() -> None:
            order.append("tick")

        async def child() -> None:
            await after.exit_code_and_env(0)
            order.append("child done")

        await asyncio.gather(child(), ticker())
        return order

    assert asyncio.run(main()) == ["tick", "child done"]
