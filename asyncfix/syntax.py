"""Python's own parser for the screens and the project index, on source that may use the
syntax of a newer Python than the one running asyncfix.

Without a tree, a file gets no prescreen: every codemod whose trigger bytes match parses
it with libcst and walks it (a project on Python 3.14 checked from a 3.11 CI image pays
that on every file). Where this interpreter's parser fails, the statements it lacks are
written the old way, column for column where the language allows, and parsed again:

- PEP 758 (3.14) `except A, B:` -> `except(A, B):`, the very tree 3.14 makes of it;
- PEP 701 (3.12) f-strings that reuse their own quote inside a replacement field
  (`f"{d["k"]}"`): the inner strings take the other quote, same length, same columns;
- PEP 695 (3.12) type parameters `def f[T](...)`, `class C[T]:` are blanked out, and
  `type X = ...` becomes `X = ...`: the tree loses the parameters' names and bounds and
  reads an alias as an assignment. Nothing asyncfix rewrites lives in a type parameter
  or an alias's value.

libcst still parses the real source; only the screening tree is the lowered one. Source
that still fails (a PEP 701 f-string holding both quotes, say) raises the first SyntaxError.
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from asyncfix.linediff import Matcher

if TYPE_CHECKING:
    import libcst as cst

    from asyncfix.report import Finding

_OPENING = {"(", "[", "{"}
_CLOSING = {")", "]", "}"}
_STATEMENT_ENDS = {tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
_Edit = tuple[int, int, str]  # (start, end, replacement) offsets into the text
# The lowered text of the last sources that needed it (plans parse a module again when
# its tree was dropped; a rewrite's check parses the new source).
_LOWERED: dict[bytes | str, str | None] = {}
_LOWERED_SIZE = 256
# The tree of the last lowered text `lower` parsed to check it and that gave no warning:
# `parse` takes it instead of parsing that text again (the lowered file's fourth parse).
_CHECKED: tuple[str, ast.Module] | None = None
_NEWLINE = re.compile(r"(?<=\r\n)|(?<=\r)(?!\n)|(?<=\n)")
_Offset = Callable[[tuple[int, int]], int]  # tokenize's (row, column) -> offset


def parse(data: bytes | str, filename: str = "<unknown>") -> ast.Module:
    """`ast.parse(data)`; where that fails on syntax of a newer Python, the tree of the
    same source written the old way (see the module's docstring). Raises the first
    SyntaxError when the lowered source does not parse either."""
    known = _LOWERED.get(data) if sys.version_info < (3, 14) else None
    if known is not None:
        # Lowered once already, so this parser fails on `data`: a failed parse costs
        # about two (3.11 parses again for its message), so go to the lowering at once.
        try:
            return ast.parse(known, filename=filename)
        except SyntaxError:
            pass  # (the source's own error is the one to raise: the full way below)
    try:
        return ast.parse(data, filename=filename)
    except SyntaxError as first:
        if sys.version_info >= (3, 14):
            raise
        if data in _LOWERED:
            lowered = _LOWERED[data]
        else:
            lowered = _LOWERED[data] = lower(data)  # (tokenize is slow: once per source)
            if len(_LOWERED) > _LOWERED_SIZE:
                del _LOWERED[next(iter(_LOWERED))]
        if lowered is None:
            raise
        checked = _checked(lowered)
        if checked is not None:
            return checked
        try:
            return ast.parse(lowered, filename=filename)
        except SyntaxError:
            raise first from None


def lowering_of(data: bytes) -> str | None:
    """The lowered text `parse` made of `data` in this process (None: none made, or the
    source needs none): a worker sends it on, so that no other process lowers it again."""
    return _LOWERED.get(data)


def remember_lowering(data: bytes, lowered: str) -> None:
    """Keep `lowered`, the lowered text of `data` made in another process, for `parse`:
    lowering tokenizes the source and round-trips it through libcst, several times the
    cost of an ast parse, and a file is parsed by the index, the plans and its rewrite."""
    _LOWERED[data] = lowered
    if len(_LOWERED) > _LOWERED_SIZE:
        del _LOWERED[next(iter(_LOWERED))]


def compiles(source: bytes | str, filename: str = "<asyncfix>") -> bool:
    """Does `source` compile? The check every rewrite passes: new code must compile where
    the original did. compile() only builds a code object; nothing of the user's code runs."""
    try:
        compile(source, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def parsed_text(data: bytes) -> str:
    """The text `ast.parse` reads from `data`: decoded by its declared encoding (PEP 263
    cookie or BOM), the BOM dropped ("utf-8-sig"). Raises SyntaxError (a bad cookie),
    UnicodeDecodeError or LookupError (an unknown codec)."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding)


def may_declare_encoding(data: bytes) -> bool:
    """Could the source `data` declare an encoding of its own (a PEP 263 cookie, on its
    first or second line)? Read loosely: any `coding` there."""
    return any(b"coding" in line for line in data.split(b"\n", 2)[:2])


def lower(data: bytes | str) -> str | None:
    """The source with the newer statements written the old way; None when it has none
    or cannot be tokenized."""
    try:
        text = parsed_text(data) if isinstance(data, bytes) else data
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (SyntaxError, UnicodeDecodeError, LookupError, tokenize.TokenError):
        return None
    starts = [0]
    for line in io.StringIO(text):  # the lines tokenize numbered
        starts.append(starts[-1] + len(line))
    edits = _edits(tokens, starts, text)
    chars = text
    for start, end, new in sorted(edits, reverse=True):
        chars = chars[:start] + new + chars[end:]
    if edits and _parses(chars, keep=True):
        # No f-string reuses its quote (3.11's parser would fail on it): requoting, which
        # needs a libcst parse (~25 ast parses), would find nothing to change.
        return chars
    requoted = (
        _requote_fstrings(chars) if sys.version_info < (3, 12) and _may_requote(tokens) else None
    )
    if requoted is not None:
        return requoted
    return chars if edits else None


def _parses(text: str, keep: bool = False) -> bool:
    """Does `text` parse? `keep`: its tree is kept for `parse` (see _CHECKED) when the
    parse gave no warning, the only thing a second parse of it could add."""
    global _CHECKED
    _CHECKED = None
    try:
        # (invalid escapes: the real parse reports them)
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    if keep and not warned:
        _CHECKED = (text, tree)
    return True


def _checked(lowered: str) -> ast.Module | None:
    """The tree `_parses` kept of the very text `lowered`, once (None: none kept)."""
    global _CHECKED
    found, _CHECKED = _CHECKED, None
    return found[1] if found is not None and found[0] is lowered else None


# Python's own limits (its parser rejects deeper source); libcst's native parser, which
# requoting needs, would recurse past the C stack on source nested more deeply.
_MAX_BRACKETS = 200
_MAX_INDENTS = 100


def _may_requote(tokens: Sequence[tokenize.TokenInfo]) -> bool:
    """Is there an f-string to requote, in source libcst can parse without crashing?"""
    fstring = brackets = indents = 0
    for token in tokens:
        if token.type == tokenize.STRING:
            prefix = token.string[: len(token.string) - len(token.string.lstrip("rbfuRBFU"))]
            fstring += "f" in prefix.lower()
        elif token.type == tokenize.OP and token.string in _OPENING:
            brackets += 1
            if brackets > _MAX_BRACKETS:
                return False
        elif token.type == tokenize.OP and token.string in _CLOSING:
            brackets -= 1
        elif token.type == tokenize.INDENT:
            indents += 1
            if indents > _MAX_INDENTS:
                return False
        elif token.type == tokenize.DEDENT:
            indents -= 1
    return fstring > 0


def _requote_fstrings(text: str) -> str | None:
    """PEP 701: the strings inside an f-string's replacement fields that use the f-string's
    own quote take the other one (None when there are none, or libcst cannot parse the
    text). Only where the string holds neither the other quote nor a backslash, and is
    on one line: then the value is the same and every column stays where it was."""
    # Imported here: a run whose every file is cached never imports libcst (test_cache).
    import libcst as cst
    from libcst.metadata import PositionProvider

    try:
        wrapper = cst.MetadataWrapper(cst.parse_module(text), unsafe_skip_copy=True)
        positions = wrapper.resolve(PositionProvider)
    except (cst.ParserSyntaxError, RecursionError, ValueError):
        return None
    starts = [0]
    for line in _NEWLINE.split(text)[:-1]:  # libcst's lines: \r\n, \r and \n end them
        starts.append(starts[-1] + len(line))
    chars = list(text)
    changed = False
    for node in positions:
        if not isinstance(node, cst.FormattedString) or len(node.quote) != 1:
            continue
        other = "'" if node.quote == '"' else '"'
        for part in node.parts:
            if not isinstance(part, cst.FormattedStringExpression):
                continue
            for inner in _strings_in(part.expression):
                value = inner.value
                body = value.lstrip("rbuRBU")
                span = positions[inner]
                if (
                    body[:1] != node.quote
                    or body[:3] == node.quote * 3
                    or other in body
                    or "\\" in body
                    or span.start.line != span.end.line
                ):
                    continue
                begin = starts[span.start.line - 1] + span.start.column
                end = begin + len(value) - 1
                chars[begin + len(value) - len(body)] = other
                chars[end] = other
                changed = True
    return "".join(chars) if changed else None


def _strings_in(node: cst.CSTNode) -> list[cst.SimpleString]:
    """The simple strings of an expression, nested f-strings' fields aside."""
    import libcst as cst

    found: list[cst.SimpleString] = []
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.SimpleString):
            found.append(current)
        elif not isinstance(current, cst.FormattedString):
            stack.extend(current.children)
    return found


def _edits(tokens: Sequence[tokenize.TokenInfo], starts: list[int], text: str) -> list[_Edit]:
    def at(position: tuple[int, int]) -> int:
        return starts[position[0] - 1] + position[1]

    code = [t for t in tokens if t.type not in (tokenize.NL, tokenize.COMMENT)]
    pep695 = sys.version_info < (3, 12)  # (this Python reads PEP 695 itself from 3.12)
    edits: list[_Edit] = []
    for i, token in enumerate(code):
        if token.type != tokenize.NAME:
            continue
        following = code[i + 1 : i + 3]
        named = len(following) == 2 and following[0].type == tokenize.NAME
        if pep695 and token.string in ("def", "class") and named and following[1].string == "[":
            edits += _blank(code, i + 2, at, text)
        elif (
            pep695
            and token.string == "type"
            and named
            and following[1].string in ("=", "[")
            and _starts_statement(code, i)
            and token.start[0] == following[0].end[0]
        ):
            # `type X = v` -> `X        = v`: the statement keeps its column.
            name = following[0]
            span = at(name.end) - at(token.start)
            edits.append((at(token.start), at(name.end), name.string.ljust(span)))
            if following[1].string == "[":
                edits += _blank(code, i + 2, at, text)
        elif token.string == "except":
            edits += _parenthesize(code, i, at, text)
    return edits


def _starts_statement(code: Sequence[tokenize.TokenInfo], i: int) -> bool:
    if i == 0:
        return True
    before = code[i - 1]
    return before.type in _STATEMENT_ENDS or before.string in (";", ":")


def _closing(code: Sequence[tokenize.TokenInfo], opening: int) -> int | None:
    """Index of the token that closes the bracket at `opening`."""
    depth = 0
    for j in range(opening, len(code)):
        if code[j].type != tokenize.OP:
            continue
        if code[j].string in _OPENING:
            depth += 1
        elif code[j].string in _CLOSING:
            depth -= 1
            if depth == 0:
                return j
    return None


def _blank(code: Sequence[tokenize.TokenInfo], opening: int, at: _Offset, text: str) -> list[_Edit]:
    """Type parameters `[...]` -> spaces; a line break inside them gets a backslash
    before it, so that the statement goes on."""
    closing = _closing(code, opening)
    if closing is None:
        return []
    start, end = at(code[opening].start), at(code[closing].end)
    lines = text[start:end].split("\n")
    blanked = []
    for n, line in enumerate(lines):
        body = " " * len(line.rstrip("\r"))
        if n < len(lines) - 1:
            if not body:
                return []  # an empty line: no room for the backslash
            body = body[:-1] + "\\"
        blanked.append(body + line[len(line.rstrip("\r")) :])
    return [(start, end, "\n".join(blanked))]


def _parenthesize(
    code: Sequence[tokenize.TokenInfo], i: int, at: _Offset, text: str
) -> list[_Edit]:
    """`except A, B:` -> `except(A, B):`."""
    first = i + 1
    if first < len(code) and code[first].string == "*":  # except* A, B:
        first += 1
    depth, comma = 0, False
    for j in range(first, len(code)):
        token = code[j]
        if token.type == tokenize.OP and token.string in _OPENING:
            depth += 1
        elif token.type == tokenize.OP and token.string in _CLOSING:
            depth -= 1
        elif depth == 0 and token.string == ",":
            comma = True
        elif (depth == 0 and token.string == "as") or token.type in _STATEMENT_ENDS:
            return []  # `except A, B as e:` stays an error, as in 3.14
        elif depth == 0 and token.string == ":":
            if not comma or j == first:
                return []
            opening, closing = at(code[first].start), at(code[j - 1].end)
            # The blank after `except` makes room for the parenthesis where there is one.
            before = opening - 1 if text[opening - 1] in " \t" else opening
            return [(before, opening, "("), (closing, closing, ")")]
    return []


# -- form feeds ----------------------------------------------------------------------------
# A form feed at the start of a line of code sets Python's column count back to 0: it is
# layout (a page break), nothing more. libcst does not reproduce it there: before a
# top-level statement it is dropped, and on a block's first line it becomes part of the
# block's indentation, copied onto every line of the block (and a codemod that builds a
# statement with that indentation fails). The driver parses the source without these form
# feeds and puts them back on the same lines of the output.
FORM_FEED = b"\x0c"
_LAYOUT = {
    tokenize.ENCODING,
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.COMMENT,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENDMARKER,
}


@dataclass(frozen=True)
class FormFeeds:
    """The form feeds that start lines of code, taken out of the source."""

    stripped: bytes  # the source without them
    feeds: dict[int, bytes]  # line index (0-based) -> the form feeds it started with

    @classmethod
    def strip(cls, data: bytes) -> FormFeeds | None:
        """None when no line of code starts with a form feed (or the source does not
        tokenize: then libcst's own parse decides)."""
        if FORM_FEED not in data:
            return None
        lines = data.splitlines(keepends=True)
        starts = _code_line_starts(lines)
        if starts is None:
            return None
        feeds: dict[int, bytes] = {}
        for index in starts:
            line = lines[index]
            kept = line.lstrip(FORM_FEED)
            if len(kept) < len(line):
                feeds[index] = line[: len(line) - len(kept)]
                lines[index] = kept
        return cls(b"".join(lines), feeds) if feeds else None

    def in_source(self, finding: Finding) -> Finding:
        """A finding on the stripped source, its column counted on the file's line."""
        feed = self.feeds.get(finding.line - 1)
        return finding if feed is None else replace(finding, column=finding.column + len(feed))

    def restore(self, new: bytes) -> bytes:
        """`new` (a rewrite of `stripped`) with the form feeds back at the start of the
        lines they began: the lines it kept, and in a changed run of lines the line at
        the same place, when that one still starts a line of code. A form feed whose line
        a rewrite removed goes with it."""
        old_lines = self.stripped.splitlines(keepends=True)
        new_lines = new.splitlines(keepends=True)
        starts = _code_line_starts(new_lines) or set()
        matcher = Matcher(old_lines, new_lines)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag not in ("equal", "replace"):
                continue
            for offset in range(min(i2 - i1, j2 - j1)):
                feed = self.feeds.get(i1 + offset)
                if feed is not None and j1 + offset in starts:
                    new_lines[j1 + offset] = feed + new_lines[j1 + offset]
        return b"".join(new_lines)


def _code_line_starts(lines: Sequence[bytes]) -> set[int] | None:
    """Indexes of the physical lines on which a logical line of code starts (not a line
    inside a string, a bracket or after a backslash); None when they do not tokenize."""
    starts: set[int] = set()
    at_start = True
    try:
        for token in tokenize.tokenize(iter(lines).__next__):
            if token.type in _LAYOUT:
                at_start = at_start or token.type == tokenize.NEWLINE
            elif at_start:
                starts.add(token.start[0] - 1)
                at_start = False
    except (SyntaxError, tokenize.TokenError, UnicodeDecodeError, LookupError):
        return None
    return starts
