"""PEP 701 f-strings (Python 3.12) on an older interpreter: a call inside a replacement
field that reuses the f-string's quote is found as the same call written the 3.11 way.

Before, such a file had no screening tree on 3.11: every family that screens on the
stdlib ast missed the whole file (a `json.loads` in `f"{json.loads(raw)["key"]}"` among them).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from asyncfix import syntax
from asyncfix.config import Config
from asyncfix.driver import Pipeline
from asyncfix.files import SourceFile

# The same module twice: with PEP 701 f-strings, and as Python 3.11 must write them.
NEWER = """import json

import requests
from fastapi import FastAPI

app = FastAPI()


@app.get("/x")
async def x(raw: str, path: str):
    title = f"value: {json.loads(raw)["key"]}"
    body = f"{open(path).read()}"
    return {"title": title, "page": f"{requests.get(raw, timeout=5).json()["name"]}", "body": body}
"""
OLDER = NEWER.replace('["key"]', "['key']").replace('["name"]', "['name']")


def test_requoted_columns_and_values() -> None:
    source = 'x = f"{d["a"]} {d[\'b\']}"\r\ny = f"{"q\'"}"\n'
    # The first line's inner string takes the other quote; the second holds both: kept.
    assert syntax._requote_fstrings(source) == 'x = f"{d[\'a\']} {d[\'b\']}"\r\ny = f"{"q\'"}"\n'


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="this Python parses PEP 701 itself")
def test_the_screening_tree_is_the_older_spelling() -> None:
    assert ast.dump(syntax.parse(NEWER.encode()), include_attributes=True) == ast.dump(
        ast.parse(OLDER), include_attributes=True
    )


def test_calls_in_fstrings_are_found_as_in_the_older_spelling() -> None:
    pipeline = Pipeline(Config())
    file = SourceFile(Path("m.py"), "m.py")
    newer = pipeline.process(file, NEWER.encode())
    older = pipeline.process(file, OLDER.encode())
    assert not newer.errors and not older.errors
    assert [(f.line, f.column, f.code) for f in newer.findings] == [
        (f.line, f.column, f.code) for f in older.findings
    ]
    codes = {f.code for f in newer.findings}
    assert {"AF102", "AF204"} <= codes  # json.loads and open() inside the f-strings
    assert older.new is not None and newer.new is not None
    assert newer.new.decode() == older.new.decode().replace("['key']", '["key"]').replace(
        "['name']", '["name"]'
    )


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="this Python parses PEP 701 itself")
def test_type_parameters_with_fstrings_are_lowered_without_requoting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Requoting costs a libcst parse: where blanking the type parameters is enough for
    # this Python's parser (no f-string reuses its quote), it is not attempted.
    def requote(text: str) -> str | None:
        raise AssertionError("requoted")

    monkeypatch.setattr(syntax, "_requote_fstrings", requote)
    source = b'def f[T](x: T) -> str:\n    return f"{x!r} {x}"\n'
    assert syntax.lower(source) == 'def f   (x: T) -> str:\n    return f"{x!r} {x}"\n'


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="this Python parses PEP 701 itself")
def test_type_parameters_and_a_requoted_fstring() -> None:
    source = b'class C[T]:\n    def g(self, d: dict) -> str:\n        return f"{d["k"]}"\n'
    lowered = syntax.lower(source)
    expected = "class C   :\n    def g(self, d: dict) -> str:\n        return f\"{d['k']}\"\n"
    assert lowered == expected
    ast.parse(lowered)
