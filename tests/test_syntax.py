"""asyncfix.syntax: the screening tree of source written for a newer Python.

A file this interpreter cannot parse gets no prescreen, and the project index learns
nothing of it. The lowering must give the tree the newer Python gives (PEP 758), or one
that differs only where no rule looks (PEP 695), and never hide a real syntax error.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import pytest
from test_golden import single_cases

from asyncfix import syntax
from asyncfix.config import Config
from asyncfix.driver import Pipeline, run
from asyncfix.files import SourceFile

OLD_PYTHON = pytest.mark.skipif(
    sys.version_info >= (3, 12), reason="this Python parses PEP 695 itself"
)


def _same_tree(new: str, old: str) -> None:
    assert ast.dump(syntax.parse(new.encode())) == ast.dump(ast.parse(old))


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="this Python parses PEP 758 itself")
@pytest.mark.parametrize(
    ("new", "lowered", "old"),
    [
        (
            "try:\n    f()\nexcept A, B:\n    pass\n",
            "try:\n    f()\nexcept(A, B):\n    pass\n",
            "try:\n    f()\nexcept (A, B):\n    pass\n",
        ),
        (
            "try:\n    f()\nexcept* a.A,B: pass\n",
            "try:\n    f()\nexcept*(a.A,B): pass\n",
            "try:\n    f()\nexcept* (a.A, B): pass\n",
        ),
        (  # a first type in parentheses, a call among the types
            "try:\n    f()\nexcept(A), g(x, y) :\n    pass\n",
            "try:\n    f()\nexcept((A), g(x, y)) :\n    pass\n",
            "try:\n    f()\nexcept (A, g(x, y)):\n    pass\n",
        ),
    ],
)
def test_unparenthesized_except_types_read_as_python_3_14_does(
    new: str, lowered: str, old: str
) -> None:
    assert syntax.lower(new.encode()) == lowered
    _same_tree(new, old)


@OLD_PYTHON
def test_type_parameters_are_blanked_column_for_column() -> None:
    new = (
        "type Pair[T] = tuple[T, T]\n"
        "class Box[T: (int, str)](Base):\n"
        "    async def get[**P, R](self, f: Callable[P, R]) -> R:\n"
        "        return await f()\n"
    )
    lowered = syntax.lower(new.encode())
    assert lowered is not None
    assert [line.index("=") for line in (new, lowered)] == [13, 13]
    assert lowered == (
        "Pair         = tuple[T, T]\n"
        "class Box               (Base):\n"
        "    async def get        (self, f: Callable[P, R]) -> R:\n"
        "        return await f()\n"
    )
    tree = syntax.parse(new.encode())
    method = tree.body[1].body[0]  # type: ignore[attr-defined]
    assert isinstance(method, ast.AsyncFunctionDef)
    assert (method.lineno, method.col_offset, method.name) == (3, 4, "get")
    _same_tree(new, "Pair = tuple[T, T]\n" + "\n".join(lowered.splitlines()[1:]) + "\n")


@OLD_PYTHON
def test_type_parameters_over_lines_keep_the_lines() -> None:
    new = "def f[\n    T: int,  # a comment [\n](x: T):\n    return x\n\n\ny = 1\n"
    tree = syntax.parse(new.encode())
    assert [type(s).__name__ for s in tree.body] == ["FunctionDef", "Assign"]
    assert tree.body[1].lineno == 7
    assert tree.body[0].body[0].lineno == 4  # type: ignore[attr-defined]


@OLD_PYTHON
def test_type_alias_in_a_one_line_block_and_type_as_a_name() -> None:
    _same_tree(
        "if TYPE_CHECKING: type X = int\ntype = 3\ntype(x)\n",
        "if TYPE_CHECKING: X = int\ntype = 3\ntype(x)\n",
    )


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="this Python parses PEP 758 itself")
@pytest.mark.parametrize(
    "source",
    [
        # Still an error on 3.14: `as` needs the parentheses.
        "try:\n    f()\nexcept A, B as e:\n    pass\n",
        # A genuine error after the newer syntax: the first error is reported.
        "try:\n    f()\nexcept A, B:\n    pass\nx = = 1\n",
        # Before 3.12 a nested quote ends the f-string: one holding both quotes stays so.
        'try:\n    f()\nexcept A, B:\n    pass\nx = f"{d["k\'"]}"\n',
        # No room for a line continuation on an empty line inside type parameters.
        "def f[\n\n    T](x):\n    pass\n",
    ],
)
def test_what_stays_an_error_raises_the_first_error(source: str) -> None:
    with pytest.raises(SyntaxError) as raised:
        syntax.parse(source.encode())
    with pytest.raises(SyntaxError) as plain:
        ast.parse(source)
    assert (raised.value.msg, raised.value.lineno) == (plain.value.msg, plain.value.lineno)


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="this Python parses PEP 758 itself")
def test_declared_encoding_and_bom() -> None:
    latin = "# -*- coding: latin-1 -*-\ntry:\n    f('é')\nexcept A, B:\n    pass\n"
    tree = syntax.parse(latin.encode("latin-1"))
    call = tree.body[0].body[0].value  # type: ignore[attr-defined]
    assert call.args[0].value == "é"
    bom = b"\xef\xbb\xbftry:\n    f()\nexcept A, B:\n    pass\n"
    assert ast.dump(syntax.parse(bom)) == ast.dump(ast.parse(b"try:\n f()\nexcept (A, B): pass"))


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="this Python parses PEP 758 itself")
def test_a_source_is_tokenized_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bytes | str] = []
    lower = syntax.lower

    def counted(data: bytes | str) -> str | None:
        calls.append(data)
        return lower(data)

    monkeypatch.setattr(syntax, "lower", counted)
    source = b"try:\n    f()\nexcept A, B:\n    pass  # once\n"
    assert syntax.parse(source) is not syntax.parse(source)  # a new tree each time
    assert calls == [source]


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="this Python parses PEP 695 itself")
def test_a_lowered_source_is_parsed_once_more_and_warns_as_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = b"def f[T](x: T) -> T:\n    return x\n"
    lowered = syntax.lower(source)
    assert lowered is not None
    syntax._LOWERED.clear()
    parse, parsed = ast.parse, list[bytes | str]()

    def counted(text: bytes | str, **options: Any) -> ast.Module:
        parsed.append(text)
        tree: ast.Module = parse(text, **options)
        return tree

    monkeypatch.setattr(ast, "parse", counted)
    # The source, then the lowered text's check, whose tree is taken (once: the next
    # parse of the same bytes parses the lowered text again).
    assert ast.dump(syntax.parse(source)) == ast.dump(parse(lowered))
    assert parsed == [source, lowered]
    monkeypatch.undo()
    assert ast.dump(syntax.parse(source)) == ast.dump(ast.parse(lowered))
    # A warning of the lowered text's parse is given by the parse that returns the tree.
    escaped = b'def f[T]() -> str:\n    return "\\d"\n'
    syntax._LOWERED.clear()
    with pytest.warns(DeprecationWarning, match="invalid escape"):
        syntax.parse(escaped, filename="escaped.py")


# Newer statements at the end of every golden input, and the same lines as this Python
# writes them: the findings, errors and rewrites must be the same.
_NEWER = (
    "type _Newer[T] = list[T]\n\n\ndef _newer[T: int](x: T) -> T:\n"
    "    try:\n        return x\n    except ValueError, TypeError:\n        return x\n"
)
_OLDER = (
    "_Newer = list\n\n\ndef _newer(x: int) -> int:\n"
    "    try:\n        return x\n    except (ValueError, TypeError):\n        return x\n"
)


def _with(data: bytes, block: str) -> bytes:
    newline = b"\r\n" if b"\r\n" in data else b"\n"
    start = b"" if data.endswith((b"\n", b"\r")) or not data else newline
    return data + start + block.encode().replace(b"\n", newline)


@pytest.mark.parametrize("case", single_cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_newer_syntax_changes_no_result(case: Path) -> None:
    data = case.read_bytes()
    pipeline = Pipeline(Config())
    file = SourceFile(case, case.name)
    newer = pipeline.process(file, _with(data, _NEWER))
    older = pipeline.process(file, _with(data, _OLDER))
    assert newer.findings == older.findings
    assert [(e.line, e.column) for e in newer.errors] == [(e.line, e.column) for e in older.errors]
    if older.new is None:
        assert newer.new is None
    else:
        old_block, new_block = _with(data, _OLDER)[len(data) :], _with(data, _NEWER)[len(data) :]
        assert newer.new is not None and older.new.endswith(old_block)
        assert newer.new == older.new[: -len(old_block)] + new_block


def test_a_module_in_newer_syntax_is_indexed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The coroutine's module uses PEP 695 and 758: the project index still knows that
    # `fetch` is a coroutine, so the call that never awaits it is found.
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "client.py").write_text(
        "type Payload = dict[str, object]\n\n\n"
        "async def fetch(url: str) -> Payload:\n"
        "    try:\n        return await get(url)\n"
        "    except ValueError, KeyError:\n        return {}\n"
    )
    (tmp_path / "app" / "views.py").write_text(
        "from app.client import fetch\n\n\nasync def view():\n    fetch('x')\n    return 1\n"
    )
    monkeypatch.chdir(tmp_path)
    result = run([Path(".")], Config(), jobs=1)
    assert not result.errors
    assert [(f.path, f.line, f.code) for f in result.findings] == [("app/views.py", 5, "AF501")]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (b"x = 1\n", True),
        ("async def f():\n    await g()\n", True),
        (b"def f():\n    await g()\n", False),  # parses, but does not compile
        (b"return 1\n", False),
        (b"x = (\n", False),
        (b"x = '\0'\n", False),  # ValueError, not SyntaxError
    ],
)
def test_compiles(source: bytes | str, expected: bool) -> None:
    assert syntax.compiles(source) is expected
