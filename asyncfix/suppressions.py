"""Suppression comments, as people write them for asyncfix, ruff/flake8 and fixit.

- `# asyncfix: ignore` / `# asyncfix: ignore[AF203, http_client]`: trailing, or on its own
  line directly above a statement;
- `# noqa` / `# noqa: AF203, E501`: trailing only, as in ruff and flake8; ruff's code for
  the same problem counts too (`# noqa: RUF006` silences AF502, see RUFF_TWINS);
- fixit's `# lint-ignore` / `# lint-fixme: AF203`: trailing, or on its own line above.

A trailing comment on the closing line of a multi-line statement covers all its lines.
No libcst here: the command line reads these without importing the codemods.
"""

from __future__ import annotations

import io
import os
import re
import tokenize
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from tokenize import NEWLINE
from typing import TYPE_CHECKING

# `# asyncfix: ignore` or `# asyncfix: ignore[AF203, http_client]`
_SUPPRESS = re.compile(r"#\s*asyncfix:\s*ignore(?:\[(?P<codes>[^\]]*)\])?")
# ruff's form: bare, or `noqa: AF203`, `NOQA:AF203,E501` (a `#` before each).
_NOQA = re.compile(
    r"#\s*noqa(?::\s?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE
)
# fixit's own directives, honoured too: `# lint-ignore`, `# lint-fixme: AF203, OtherRule`.
_LINT_IGNORE = re.compile(r"#\s*lint-(?:ignore|fixme)(?:(?::\s*|\s+)(?P<names>\w+(?:,\s*\w+)*))?")
# ruff's rules that flag what an asyncfix rule fixes: a project that silenced one on a line
# (a noqa for RUF006 on `asyncio.create_task(...)`: a fire-and-forget it meant) silenced both.
RUFF_TWINS: dict[str, tuple[str, ...]] = {
    "RUF006": ("AF502",),  # asyncio-dangling-task
    "ASYNC210": ("AF201", "AF202"),  # blocking HTTP call in an async function
    "ASYNC220": ("AF204", "AF207"),  # subprocess in an async function
    "ASYNC221": ("AF204", "AF207"),
    "ASYNC222": ("AF204", "AF207"),
    "ASYNC230": ("AF204",),  # open() in an async function
    "ASYNC240": ("AF204",),  # os.path in an async function
    "ASYNC251": ("AF203",),  # time.sleep in an async function
}
_NOT_CODE = frozenset(
    {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
)

if TYPE_CHECKING:
    import pathspec

    from asyncfix.config import Config

Suppressions = dict[int, frozenset[str] | None]


@dataclass(frozen=True)
class Directive:
    """One suppression comment: the lines it covers and what it names (None: all)."""

    kind: str  # "asyncfix", "noqa" or "lint"
    line: int  # the comment's own line
    column: int  # 1-based
    codes: tuple[str, ...] | None
    lines: tuple[int, ...]


def _may_hold(source: str) -> bool:
    return "asyncfix:" in source or "lint-" in source or "noqa" in source.lower()


def directives(source: str) -> Iterator[Directive]:
    """Every suppression comment of `source`, from its tokens (never from strings)."""
    if not _may_hold(source):
        return
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return
    start = 1  # the first line of the logical line being read
    fresh = True
    for index, tok in enumerate(tokens):
        if tok.type not in _NOT_CODE and fresh:
            start, fresh = tok.start[0], False
        if tok.type == NEWLINE:
            fresh = True
        if tok.type != tokenize.COMMENT:
            continue
        found = _parse(tok.string)
        if found is None:
            continue
        kind, codes = found
        line = tok.start[0]
        lines: tuple[int, ...] = (line,)
        if not tok.line[: tok.start[1]].strip():
            if kind == "noqa":
                continue  # ruff and flake8 read a noqa only at the end of a line
            # A comment line: it belongs to the next line of code.
            following = (t for t in tokens[index + 1 :] if t.type not in _NOT_CODE)
            lines = (next((t.start[0] for t in following), line),)
        elif start < line and tokens[index + 1 : index + 2] and tokens[index + 1].type == NEWLINE:
            # The closing line of a multi-line statement: the whole statement.
            lines = tuple(range(start, line + 1))
        yield Directive(kind, line, tok.start[1] + 1, codes, lines)


def _parse(comment: str) -> tuple[str, tuple[str, ...] | None] | None:
    for kind, pattern, group in (
        ("asyncfix", _SUPPRESS, "codes"),
        ("noqa", _NOQA, "codes"),
        ("lint", _LINT_IGNORE, "names"),
    ):
        match = pattern.search(comment)
        if match is not None:
            text = match.group(group)
            if text is None:
                return kind, None
            codes = [c for c in re.split(r"[,\s]+", text) if c]
            if kind == "noqa":
                codes = [c.upper() for c in codes]
                codes += [twin for c in codes for twin in RUFF_TWINS.get(c, ())]
            return kind, tuple(codes)
    return None


def parse_suppressions(source: str, *, bare_noqa: bool = True) -> Suppressions:
    """Line -> the selectors suppressed there (None: everything). Comments only.

    `bare_noqa=False` (`ignore-bare-noqa = true`): a `# noqa` naming no code is meant for
    other linters and suppresses nothing here.
    """
    found: Suppressions = {}
    for directive in directives(source):
        if directive.codes is None and directive.kind == "noqa" and not bare_noqa:
            continue
        for line in directive.lines:
            have = found.get(line, frozenset())
            if directive.codes is None or have is None:
                found[line] = None
            else:
                found[line] = have | frozenset(directive.codes)
    return found


def silences(found: Suppressions, code: str, family: str, lines: Iterable[int]) -> bool:
    """Does a suppression on one of `lines` cover `code`: everything, the code, a prefix
    of it (`AF2`), or its family's name?"""
    for line in lines:
        if line not in found:
            continue
        selectors = found[line]
        if selectors is None or any(code.startswith(s) or s == family for s in selectors):
            return True
    return False


def suppressions_for(source: str, path: str, config: Config) -> Suppressions:
    """The suppressions of the file at `path` (a display path): its comments, its
    `per-file-ignores` as if every line said `# asyncfix: ignore[CODES]`, and the run's
    suppressed sites (`Config.suppress`) as if theirs did. One form for all, so that every
    codemod and every plan that honours a comment honours these."""
    found = parse_suppressions(source, bare_noqa=not config.ignore_bare_noqa)
    codes = ignored_in(path, config)
    if codes:
        for line in range(1, source.count("\n") + 2):
            _add(found, line, codes)
    for where, line, code in config.suppress:
        if where == path:
            _add(found, line, frozenset({code}))
    return found


def _add(found: Suppressions, line: int, codes: frozenset[str]) -> None:
    have = found.get(line, frozenset())
    found[line] = None if have is None else have | codes


def ignored_in(path: str, config: Config) -> frozenset[str]:
    """The codes `per-file-ignores` ignores in the file at `path`."""
    if not config.per_file_ignores:
        return frozenset()
    relative = _relative(path, config.root)
    return frozenset(
        code
        for pattern, codes in config.per_file_ignores.items()
        if _spec(pattern).match_file(relative)
        for code in codes
    )


def _relative(path: str, root: Path) -> str:
    real = os.path.realpath(path)
    return Path(os.path.relpath(real, os.path.realpath(root))).as_posix()


@cache
def _spec(pattern: str) -> pathspec.GitIgnoreSpec:
    import pathspec  # (as the file discovery matches `exclude`)

    return pathspec.GitIgnoreSpec.from_lines([pattern])


# A no-qa comment naming a code that starts with AF, on one line (any case, as ruff reads it).
_NOQA_AF = re.compile(rb"(?i)noqa[^\n]*?\bAF")


def may_name_codes(data: bytes) -> bool:
    """Can `data` hold a selector `unknown_codes` checks? Most files with a noqa name only
    other linters' codes: they are neither tokenized nor make a run import the registry."""
    return b"asyncfix:" in data or _NOQA_AF.search(data) is not None


def unknown_codes(source: str, known: Callable[[str], bool]) -> Iterator[tuple[int, int, str]]:
    """(line, column, selector) of each selector in a suppression that names nothing of
    asyncfix's: any in `# asyncfix: ignore[...]`, and those starting with AF in a noqa
    (the others belong to other linters, fixit's rule names to fixit)."""
    for directive in directives(source):
        if directive.kind == "lint":
            continue
        for code in directive.codes or ():
            if directive.kind == "noqa" and not code.upper().startswith("AF"):
                continue
            if not known(code):
                yield directive.line, directive.column, code
