"""A tree cut to the statements that span some lines (codemods/speed/partial.py): each
statement it holds is the whole tree's own, node for node, at the same lines and columns."""

from __future__ import annotations

import ast
import sys

import pytest
from test_prescreen import SOURCES

from asyncfix import syntax
from asyncfix.codemods.speed.partial import Outline, cut, outline


def _dump(node: ast.AST) -> str:
    return ast.dump(node, include_attributes=True)


def _same(data: bytes, lines: list[int]) -> ast.Module | None:
    """The cut of `data` for `lines`, each of its statements checked against the tree's."""
    tree = syntax.parse(data)
    shape = outline(tree, data)
    made = cut(data, shape, lines)
    if made is None:
        return None
    at = {(s.lineno, s.col_offset): s for s in tree.body}
    whole = {s.lineno: s for s in tree.body}
    whole |= {  # (a cut class starts at its decorators, and has no column)
        min(d.lineno for d in s.decorator_list): s
        for s in tree.body
        if isinstance(s, ast.ClassDef) and s.decorator_list
    }
    members = {
        (m.lineno, m.col_offset): m
        for s in tree.body
        if isinstance(s, ast.ClassDef)
        for m in s.body
    }
    for stmt in made.body:
        original = at.get((stmt.lineno, stmt.col_offset)) or whole[stmt.lineno]
        if isinstance(stmt, ast.ClassDef) and not stmt.decorator_list and stmt.bases == []:
            if _dump(stmt) == _dump(original):
                continue
            # a class cut to some of its statements: its name and lines, and those
            assert isinstance(original, ast.ClassDef)
            assert (stmt.name, stmt.end_lineno) == (original.name, original.end_lineno)
            for member in stmt.body:
                assert _dump(member) == _dump(members[(member.lineno, member.col_offset)])
        else:
            assert _dump(stmt) == _dump(original)
    return made


def test_every_source_cut_at_each_call() -> None:
    checked = 0
    for _, data in SOURCES:
        try:
            tree = syntax.parse(data)
        except (SyntaxError, ValueError):
            continue
        calls = sorted({n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call)})
        for lines in ([line] for line in calls[:20]):
            checked += _same(data, lines) is not None
        _same(data, calls)
    assert checked > 100


def test_statements_sharing_a_line_come_together() -> None:
    data = b"class C:\n    a = 1; b = f(\n        2)\n    c = g()\n\nx = 1; y = h()\n"
    made = _same(data, [3, 6])
    assert made is not None
    cls = made.body[0]
    assert isinstance(cls, ast.ClassDef)
    assert [s.lineno for s in cls.body] == [2, 2]  # (not `c = g()`)
    assert [s.lineno for s in made.body[1:]] == [6, 6]


def test_a_line_of_a_class_header_is_not_cut() -> None:
    data = b"@deco(f())\nclass C(Base):\n    def m(self):\n        g()\n"
    assert _same(data, [1, 4]) is None
    assert _same(data, [4]) is not None


def test_a_class_whose_body_starts_on_its_line_is_taken_whole() -> None:
    data = b"class C: x = f()\n\nclass D:\n    y = g()\n"
    made = _same(data, [1])
    assert made is not None and _dump(made.body[0]) == _dump(syntax.parse(data).body[0])


@pytest.mark.parametrize(
    "data",
    [
        b"class C:\r\n    def m(self):\r\n        f()\r\n    def n(self):\r\n        g()\r\n",
        b"# -*- coding: latin-1 -*-\nclass C:\n    s = '\xe9'\n    t = f('\xe9')\n",
        b"\xef\xbb\xbfclass C:\n    a = 1\n    b = f('\xc3\xa9')\n",
        b"class C:\n\tdef m(self):\n\t\tf()\n\n\tdef n(self):\n\t\tg()\n",
        b"x = 1\n\x0cclass C:\n    @d\n    def m(self):\n        f()\n",
        b'class C:\n    def m(self):\n        x = """\nf()\n"""\n        f(x)\n',
    ],
    ids=["crlf", "latin-1", "bom", "tabs", "form-feed", "string-at-column-0"],
)
def test_line_ends_encodings_and_indents(data: bytes) -> None:
    lines = sorted({n.lineno for n in ast.walk(syntax.parse(data)) if isinstance(n, ast.Call)})
    assert _same(data, lines[-1:]) is not None


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="lowered only before 3.12")
def test_a_lowered_source_is_cut_from_its_lowered_text() -> None:
    data = b"class C:\n    def m[T](self, x: T) -> T:\n        return f(x)\n    y = g()\n"
    tree = syntax.parse(data)
    shape = outline(tree, data)
    assert shape.lowered
    assert _same(data, [3]) is not None
    # Where this process holds no lowered text, no cut.
    assert cut(data, Outline(shape.spans, shape.classes, True), [3]) is not None
    assert cut(b"# other\n" + data, Outline(shape.spans, shape.classes, True), [4]) is None
