"""Parsing a file for the pipeline: Python's parser first (a bounded guard, and the stdlib
tree the prescreens read), then libcst's; and the module's bytes back, exactly."""

from __future__ import annotations

import ast
import sys
import threading
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from asyncfix import syntax
from asyncfix.files import SourceError

if TYPE_CHECKING:
    import libcst as cst

_T = TypeVar("_T")

TOO_DEEP = "too deeply nested to rewrite"
# CPython compiles 99 levels of indentation, 200 of brackets and chains of about 2,000
# unary operators (`not not ... x`); libcst's visitors take several Python frames per
# level: 2,000 `not`s need between 6,000 and 20,000. A thread's stack must hold them.
_DEEP_RECURSION_LIMIT = 30_000
_DEEP_STACK_BYTES = 512 * 1024 * 1024  # (address space: pages are used as touched)


def deeply(work: Callable[[], _T]) -> _T:
    """`work()`, on a thread with a stack and a recursion limit for `_DEEP_RECURSION_LIMIT`
    frames. The limit is the interpreter's: it is raised while the thread runs (the
    caller only waits meanwhile) and then put back."""
    done: list[_T] = []
    failed: list[BaseException] = []

    def target() -> None:
        try:
            done.append(work())
        except BaseException as exc:  # raised again in the caller's thread
            failed.append(exc)

    limit = sys.getrecursionlimit()
    previous = threading.stack_size(_DEEP_STACK_BYTES)
    try:
        thread = threading.Thread(target=target, name="asyncfix-deep", daemon=True)
        sys.setrecursionlimit(max(limit, _DEEP_RECURSION_LIMIT))
        thread.start()
    finally:
        threading.stack_size(previous)
    try:
        thread.join()
    finally:
        sys.setrecursionlimit(limit)
    if failed:
        raise failed[0]
    return done[0]


# Python's parser rejects these with a SyntaxError; libcst's native parser would recurse
# into them until the process dies with a stack overflow.
_NESTING_LIMITS = ("too many nested parentheses", "too many levels of indentation")
# libcst nests `a and b and ...` (flat in Python's ast) one level per operand.
MAX_BOOL_OPERANDS = 1000


def may_chain_too_long(data: bytes) -> bool:
    """May the source hold an `and`/`or` chain longer than libcst can parse (see
    guard_depth, which then reads the tree)? A byte count: False rules it out."""
    return data.count(b" and ") + data.count(b" or ") > MAX_BOOL_OPERANDS


def guard_depth(data: bytes) -> ast.Module | None:
    """SourceError for source nested too deeply for libcst to parse without crashing.

    Python's own parser (C, bounded) goes first: cheap next to libcst's parse. Its tree is
    returned for the codemods' screens (None where Python could not parse the source)."""
    try:
        with warnings.catch_warnings():  # invalid escapes etc.: not ours to report
            warnings.simplefilter("ignore")
            tree = syntax.parse(data)
    except SyntaxError as exc:
        if any(limit in str(exc.msg) for limit in _NESTING_LIMITS):
            raise SourceError(exc.lineno or 1, exc.offset or 1, f"syntax error: {exc.msg}") from exc
        return None  # newer syntax than this interpreter's, perhaps: libcst decides
    except (RecursionError, MemoryError) as exc:
        raise SourceError(1, 1, "too deeply nested to parse") from exc
    except ValueError:
        return None
    if may_chain_too_long(data):
        for node in ast.walk(tree):
            if isinstance(node, ast.BoolOp) and len(node.values) > MAX_BOOL_OPERANDS:
                raise SourceError(node.lineno, node.col_offset + 1, "too deeply nested to parse")
    return tree


def cst_parse(data: bytes) -> tuple[cst.Module, syntax.FormFeeds | None]:
    """libcst's parse of bytes that passed `guard_depth`, and the form feeds that start
    lines of code (see syntax.FormFeeds): the tree is then that of the source without
    them, which `code_of` puts back."""
    import libcst as cst

    feeds = syntax.FormFeeds.strip(data)
    source = data if feeds is None else feeds.stripped
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        # Python's own message and position are the ones users know; libcst's serve only
        # where the interpreter accepts what libcst does not.
        try:
            ast.parse(data)
        except SyntaxError as py:
            raise SourceError(py.lineno or 1, py.offset or 1, f"syntax error: {py.msg}") from exc
        except (ValueError, RecursionError, MemoryError):
            pass
        first = exc.message.strip().splitlines()[0] if exc.message.strip() else "invalid syntax"
        raise SourceError(
            exc.editor_line, exc.editor_column, f"syntax libcst cannot parse: {first}"
        ) from exc
    except RecursionError as exc:
        raise SourceError(1, 1, "too deeply nested to parse") from exc
    if syntax.FORM_FEED in data and (code := code_of(module, source)) != source:
        # A form feed elsewhere that libcst would move: no rewrite could keep the bytes.
        pairs = enumerate(zip(code.splitlines(), source.splitlines(), strict=False), 1)
        line = next((n for n, (ours, theirs) in pairs if ours != theirs), 1)
        raise SourceError(line, 1, "a form feed here that libcst cannot reproduce")
    return module, feeds


def code_of(
    module: cst.Module,
    original: bytes,
    feeds: syntax.FormFeeds | None = None,
    made: bytes | None = None,
) -> bytes:
    """The module's bytes. libcst drops a lone CR (old Mac line ending) at the very end
    of a file; it is put back so that nothing outside a rewrite changes, as are the form
    feeds taken out before the parse (`feeds`). `made`: `module.bytes`, when the caller
    has them already."""
    code = module.bytes if made is None else made
    if original.endswith(b"\r") and not code.endswith((b"\r", b"\n")):
        code += b"\r"
    return code if feeds is None else feeds.restore(code)
