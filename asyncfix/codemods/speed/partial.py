"""A module's tree cut down to the statements that span some lines, parsed from those
lines alone: for a screen that walks only such statements (forgotten-await's walk enters
only the statements that span a candidate line), in a worker that has the file's bytes
but not its tree. The worker that indexed the module, which had the tree, notes where its
statements are (`outline`); the cut tree (`cut`) then has the very nodes of the whole
tree for those statements, at the same lines and columns. Imports no libcst."""

from __future__ import annotations

import ast
import re
import warnings
from array import array
from bisect import bisect_left
from collections.abc import Sequence
from typing import NamedTuple

from asyncfix import syntax

__all__ = ["Outline", "cut", "outline"]

# Python's own line ends (str.splitlines also splits on form feeds and others).
_LINE_ENDS = re.compile(r"(?<=\r\n)|(?<=\r)(?!\n)|(?<=\n)")


class Outline(NamedTuple):
    """Where a module's statements are: each top-level statement's first line (its
    decorators' for a def or class) and last line, flat in `spans`; for a top-level class
    (by its index in `spans`), its name and the same of each statement of its body, when
    the class's own line holds none of them (else the class is one statement here);
    whether the tree was parsed from a lowered text (see syntax.lower)."""

    spans: array[int]
    classes: dict[int, tuple[str, array[int]]]
    lowered: bool


def _span(stmt: ast.stmt) -> tuple[int, int]:
    start = stmt.lineno
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        start = min([start, *(d.lineno for d in stmt.decorator_list)])
    end = stmt.end_lineno
    assert end is not None
    return start, end


def outline(tree: ast.Module, data: bytes) -> Outline:
    """The `Outline` of `tree`, the module parsed from `data`."""
    spans = array("i")
    classes: dict[int, tuple[str, array[int]]] = {}
    for index, stmt in enumerate(tree.body):
        spans.extend(_span(stmt))
        if isinstance(stmt, ast.ClassDef) and stmt.body:
            members = array("i")
            for inner in stmt.body:
                members.extend(_span(inner))
            if members[0] > stmt.lineno:
                classes[index] = (stmt.name, members)
    return Outline(spans, classes, syntax.lowering_of(data) is not None)


def _holding(spans: Sequence[int], lines: list[int]) -> list[int]:
    """The indexes of the spans (flat pairs) that hold one of the sorted `lines`."""
    held = []
    for index in range(0, len(spans), 2):
        at = bisect_left(lines, spans[index])
        if at < len(lines) and lines[at] <= spans[index + 1]:
            held.append(index // 2)
    return held


def _closed(spans: Sequence[int], chosen: list[int]) -> list[tuple[int, int]]:
    """The line ranges of the `chosen` spans (flat pairs), merged, each widened to the
    whole of every span that shares a line with it (`a = 1; b = f()` on one line)."""
    ranges = [(spans[2 * i], spans[2 * i + 1]) for i in chosen]
    pairs = list(zip(spans[::2], spans[1::2], strict=True))
    while True:
        merged: list[tuple[int, int]] = []
        for start, end in sorted(ranges):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        wider = [
            (first, last)
            for first, last in pairs
            for start, end in merged
            if first <= end and last >= start and not (start <= first and last <= end)
        ]
        if not wider:
            return merged
        ranges = merged + wider


def _text(data: bytes, lowered: bool) -> str | None:
    """The text the module's tree was parsed from (None: not at hand here)."""
    if lowered:
        return syntax.lowering_of(data)
    return syntax.parsed_text(data)


def _parse(lines: list[str], start: int, end: int, wrapper: str = "") -> list[ast.stmt]:
    """The statements of lines `start`..`end` (1-based), at their own lines and columns:
    blank lines before them, and `wrapper` (a class header) on the line just above."""
    padding = "\n" * (start - 1 - bool(wrapper))
    with warnings.catch_warnings():  # (invalid escapes etc.: not ours to report)
        warnings.simplefilter("ignore")
        module = ast.parse(padding + wrapper + "".join(lines[start - 1 : end]))
    if wrapper:
        only = module.body[0]
        assert isinstance(only, ast.ClassDef)
        return only.body
    return module.body


def cut(data: bytes, shape: Outline, lines: list[int]) -> ast.Module | None:
    """A module holding the statements of the tree of `data` (as `outline` gave its
    `shape`) that span one of the sorted `lines`, and the statements sharing a line with
    those; a top-level class that is cut keeps its name and lines but only those of its
    statements (the expressions of its header, decorators and bases, are left out, so
    no line of `lines` may be among them). None where it cannot be made here."""
    body: list[ast.stmt] = []
    try:
        text = _text(data, shape.lowered)
        if text is None:
            return None
        source = _LINE_ENDS.split(text)
        alone = []  # (the top-level statements taken whole)
        for index in _holding(shape.spans, lines):
            if index not in shape.classes:
                alone.append(index)
                continue
            start, end = shape.spans[2 * index], shape.spans[2 * index + 1]
            name, members = shape.classes[index]
            if bisect_left(lines, start) != bisect_left(lines, members[0]):
                return None  # (a line of its header)
            inner: list[ast.stmt] = []
            for first, last in _closed(members, _holding(members, lines)):
                inner += _parse(source, first, last, "class _:\n")
            body.append(
                ast.ClassDef(
                    name=name,
                    bases=[],
                    keywords=[],
                    body=inner,
                    decorator_list=[],
                    lineno=start,
                    col_offset=0,
                    end_lineno=end,
                    end_col_offset=0,
                )
            )
        for first, last in _closed(shape.spans, alone):
            body += _parse(source, first, last)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return ast.Module(body=body, type_ignores=[])
