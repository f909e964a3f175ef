"""`apply --format auto|black|none`: how the lines asyncfix wrote are laid out.

`auto` (the default) formats only the statements asyncfix rewrote, with the project's own
formatter, so every other byte stays as it was:

- black (`[tool.black]` in pyproject.toml, a black pre-commit hook, or `black --check` in
  its task files or CI): black with that table's mode, on the rewritten lines (black's
  line ranges).
- ruff format (`[tool.ruff.format]`, a ruff-format hook or a `ruff format` command, or a
  ruff configuration and a file ruff format leaves as it is): `ruff format --range` with the
  project's configuration, when ruff is installed; otherwise black with ruff's line length
  and quote style.
- No formatter configured, but the file is black-clean: black's defaults, on those lines.
- No formatter at all: the project's style is its own, so nothing is restyled; only a
  rewritten line longer than the limit is wrapped by black, without touching its quotes.
  The limit is ruff's line-length where ruff is configured (for linting), else 88 or the
  file's longest line if longer: a file written with 110-column lines keeps them.

A file that passed the formatter's check before the rewrite passes it after: where the
range formatting leaves it unclean, the formatter's whole-file output is used (it differs
from the rewrite only around the rewritten lines, since the rest was already clean).
`black` formats the whole file with black, as before; `none` writes the rewrite as it is.
"""

from __future__ import annotations

import ast
import io
import re
import shutil
import subprocess
import sys
import tokenize
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from asyncfix.linediff import Matcher

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FORMATS = ("auto", "black", "none")
# black's default, and the limit a project without a formatter gets.
DEFAULT_LINE_LENGTH = 88
RUFF_CONFIGS = ("ruff.toml", ".ruff.toml")
RUFF_TIMEOUT = 60

# A line indented with a tab.
_TAB_INDENT = re.compile(r"^ *\t", re.MULTILINE)

LineRange = tuple[int, int]  # 1-based, inclusive, in the rewritten text


class FormatError(Exception):
    """`--format black` asked for, but black cannot be used."""


def _black() -> Any | None:
    try:
        import black  # imported lazily: black is an optional extra
    except ImportError:
        return None
    return black


def _load(path: Path) -> Mapping[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _table(doc: Mapping[str, Any], *keys: str) -> Mapping[str, Any] | None:
    for key in keys:
        doc = doc.get(key)  # type: ignore[assignment]
        if not isinstance(doc, dict):
            return None
    return doc


@cache
def black_table(pyproject: Path | None) -> Mapping[str, Any] | None:
    """The project's `[tool.black]` table, or None when it has none."""
    return None if pyproject is None else _table(_load(pyproject), "tool", "black")


@dataclass(frozen=True)
class RuffConfig:
    path: Path
    line_length: int
    quote_style: str
    magic_trailing_comma: bool
    formats: bool  # a `format` table: the project runs ruff format


@cache
def ruff_config(directory: Path, pyproject: Path | None) -> RuffConfig | None:
    """The project's ruff configuration: ruff.toml / .ruff.toml in `directory` (ruff reads
    them before pyproject.toml), else `[tool.ruff]`."""
    for name in RUFF_CONFIGS:
        path = directory / name
        if path.is_file():
            table: Mapping[str, Any] | None = _load(path)
            break
    else:
        if pyproject is None:
            return None
        path, table = pyproject, _table(_load(pyproject), "tool", "ruff")
    if table is None:
        return None
    fmt = _table(table, "format")
    length = table.get("line-length", DEFAULT_LINE_LENGTH)
    return RuffConfig(
        path=path,
        line_length=length if isinstance(length, int) else DEFAULT_LINE_LENGTH,
        quote_style=str((fmt or {}).get("quote-style", "double")),
        magic_trailing_comma=not (fmt or {}).get("skip-magic-trailing-comma", False),
        formats=fmt is not None,
    )


# A pre-commit hook that formats: the project runs that formatter even without a table.
_FORMAT_HOOK = re.compile(r"^[ \t-]*id:[ \t]*['\"]?(black|ruff-format)\b", re.MULTILINE)
# A command that runs one, in the files where projects keep their task commands
# (taskipy/poe/hatch scripts in pyproject.toml, a Makefile, tox.ini, CI workflows,
# shell scripts under scripts/), at a command's start; comment lines are not read.
_FORMAT_COMMAND = re.compile(
    r"(?:^|&&|;|[\"']|run:|-m)[ \t]*(?:(ruff)[ \t]+format|black)[ \t]+[-\w./]", re.MULTILINE
)
_COMMENT = re.compile(r"^[ \t]*#.*$", re.MULTILINE)
_TASK_FILES = ("pyproject.toml", "Makefile", "tox.ini", "noxfile.py", "justfile")


@cache
def configured_formatter(directory: Path, pyproject: Path | None) -> str:
    """The formatter the project at `directory` says it runs: "black" (`[tool.black]`),
    "ruff" (a ruff `format` table), either as a pre-commit hook or as a command in its
    task files or CI workflows, or ""."""
    if black_table(pyproject) is not None:
        return "black"
    ruff = ruff_config(directory, pyproject)
    if ruff is not None and ruff.formats:
        return "ruff"
    hooks = _FORMAT_HOOK.findall(_read(directory / ".pre-commit-config.yaml"))
    if hooks:
        return "black" if "black" in hooks else "ruff"
    scripts = [
        *sorted((directory / ".github" / "workflows").glob("*.y*ml")),
        *sorted(p for p in (directory / "scripts").glob("*") if p.suffix in ("", ".sh")),
    ]
    for path in [*(directory / name for name in _TASK_FILES), *scripts]:
        command = _FORMAT_COMMAND.search(_COMMENT.sub("", _read(path)))
        if command is not None:
            return "ruff" if command.group(1) else "black"
    return ""


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def _mode(black: Any, table: Mapping[str, Any] | None) -> Any:
    table = table or {}
    targets = {
        black.TargetVersion[v.upper()]
        for v in table.get("target-version", [])
        if v.upper() in black.TargetVersion.__members__
    }
    return black.Mode(
        target_versions=targets,
        line_length=int(table.get("line-length", black.DEFAULT_LINE_LENGTH)),
        string_normalization=not table.get("skip-string-normalization", False),
        magic_trailing_comma=not table.get("skip-magic-trailing-comma", False),
        preview=bool(table.get("preview", False)),
    )


def _ruff_as_black(ruff: RuffConfig) -> Mapping[str, Any]:
    """ruff format's settings as a `[tool.black]` table, for black to stand in for it."""
    return {
        "line-length": ruff.line_length,
        "skip-string-normalization": ruff.quote_style == "preserve",
        "skip-magic-trailing-comma": not ruff.magic_trailing_comma,
    }


def _split_bom(text: str) -> tuple[str, str]:
    return ("\ufeff", text[1:]) if text.startswith("\ufeff") else ("", text)


def _format(
    black: Any, text: str, mode: Any, *, fast: bool = False, lines: Sequence[LineRange] = ()
) -> str:
    """black's output for `text` (only `lines` of it, when given), keeping the BOM and CRLF
    line endings. Its own safety checks (the same ast, a second pass that changes nothing)
    are on unless `fast`: for a text only compared, never written."""
    bom, source = _split_bom(text)
    crlf = "\r\n" in source
    source = source.replace("\r\n", "\n") if crlf else source
    try:
        formatted: str = black.format_file_contents(source, fast=fast, mode=mode, lines=lines)
    except black.NothingChanged:
        formatted = source
    return bom + (formatted.replace("\n", "\r\n") if crlf else formatted)


def ruff_binary() -> str | None:
    """The ruff executable: the one on PATH (the project's), else the `ruff` package's."""
    found = shutil.which("ruff")
    if found:
        return found
    try:
        from ruff.__main__ import find_ruff_bin  # type: ignore[import-untyped]
    except ImportError:
        return None
    try:
        return str(find_ruff_bin())
    except FileNotFoundError:
        return None


def _ruff_format(
    ruff: str, text: str, path: Path, cwd: Path, line_range: LineRange | None = None
) -> str | None:
    """`ruff format` of `text` as the file at `path` (its configuration, its excludes), or
    None when ruff cannot."""
    bom, source = _split_bom(text)
    command = [
        ruff,
        "format",
        "--no-cache",
        "--force-exclude",
        "--stdin-filename",
        str(path.resolve()),
    ]
    if line_range is not None:
        # The end's column defaults to 1 (the line's start): name its end.
        start, end = line_range
        lines = source.splitlines()
        width = len(lines[end - 1]) + 1 if end <= len(lines) else 1
        command.append(f"--range={start}:1-{end}:{width}")
    try:
        done = subprocess.run(
            [*command, "-"],
            input=source.encode("utf-8"),
            capture_output=True,
            cwd=cwd,
            timeout=RUFF_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return bom + done.stdout.decode("utf-8")


def changed_lines(original: str, new: str) -> list[LineRange]:
    """The line ranges of `new` that are not lines of `original` (what asyncfix wrote)."""
    old_lines, new_lines = original.splitlines(), new.splitlines()
    matcher = Matcher(old_lines, new_lines)
    return [
        (j1 + 1, j2)
        for tag, _, _, j1, j2 in matcher.get_opcodes()
        if tag in ("replace", "insert") and j2 > j1
    ]


@dataclass(frozen=True)
class _Plan:
    """How a changed file is formatted."""

    tool: str  # "black", "ruff" or "wrap" (no formatter: wrap long lines only)
    mode: Any  # black's mode: black itself, black standing in for ruff, or wrapping
    ruff: str | None = None  # the ruff executable, for "ruff"
    line_length: int = DEFAULT_LINE_LENGTH
    clean: bool | None = None  # did the original pass the formatter's check (None: not known)


def _plan(
    black: Any, original: str, path: Path | None, pyproject: Path | None, directory: Path
) -> _Plan:
    configured = configured_formatter(directory, pyproject)
    if configured == "black":
        return _Plan("black", _mode(black, black_table(pyproject)))
    ruff = ruff_config(directory, pyproject)
    if configured == "ruff":
        table = _ruff_as_black(ruff) if ruff is not None else None
        length = ruff.line_length if ruff is not None else DEFAULT_LINE_LENGTH
        return _Plan("ruff", _mode(black, table), ruff_binary() if path else None, length)
    if ruff is not None:
        binary = ruff_binary() if path is not None else None
        plan = _Plan("ruff", _mode(black, _ruff_as_black(ruff)), binary, ruff.line_length)
        # Ruff is configured, maybe for linting alone: it formats only files it already has.
        if _whole(black, plan, original, path, directory, fast=True) == original:
            return replace(plan, clean=True)
        return _Plan("wrap", _wrap_mode(black, ruff.line_length), None, ruff.line_length)
    plan = _Plan("black", _mode(black, None))
    if _whole(black, plan, original, path, directory, fast=True) == original:
        return replace(plan, clean=True)
    limit = _own_limit(original)
    return _Plan("wrap", _wrap_mode(black, limit), None, limit)


def _own_limit(original: str) -> int:
    """No formatter and no limit configured: a line is too long where it is longer than 88
    and than every line the file already had (a file of 110-column lines keeps them)."""
    return max([DEFAULT_LINE_LENGTH, *map(len, original.splitlines())])


# A plain string in single quotes, with no quote or backslash inside: black writes it in
# double quotes (an f-string only when its fields allow, so none is taken).
_SINGLE_QUOTED = re.compile(r"[bBuUrR]{0,2}'[^'\"\\\n]*'")


def _black_would_change(text: str) -> bool:
    """True only where black's default mode changes `text` (or cannot format it): it holds
    a plain string in single quotes outside any region black leaves as it is (`# fmt:`,
    `# yapf:` comments; then, as when it cannot tokenize, False: not known)."""
    _, source = _split_bom(text)
    if "fmt:" in source or "yapf:" in source:
        return False
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.STRING and _SINGLE_QUOTED.fullmatch(token.string):
                return True
    except (tokenize.TokenError, SyntaxError):
        return False
    return False


def _wrap_mode(black: Any, line_length: int) -> Any:
    # No formatter: black only splits what is too long, and leaves the quotes alone.
    return _mode(black, {"line-length": line_length, "skip-string-normalization": True})


def _too_long(text: str, ranges: Sequence[LineRange], limit: int) -> list[LineRange]:
    lines = text.splitlines()
    return [
        (start, end)
        for start, end in ranges
        if any(len(line) > limit for line in lines[start - 1 : end])
    ]


def _apply(
    black: Any,
    plan: _Plan,
    text: str,
    ranges: Sequence[LineRange],
    path: Path | None,
    directory: Path,
) -> str:
    """`text` with `ranges` formatted, where the formatter keeps to their statements."""
    spans = _statements(text)
    if plan.tool == "ruff" and plan.ruff is not None and path is not None:
        ruff = plan.ruff
        # `--range` takes one range: bottom up, so the line numbers above stay valid.
        for line_range in sorted(ranges, reverse=True):
            formatted = _ruff_format(ruff, text, path, directory, line_range)
            if formatted is None:
                break
            if _confined(text, formatted, _widen([line_range], spans)):
                text = formatted
        return text
    formatted = _format(black, text, plan.mode, lines=ranges)
    if _confined(text, formatted, _widen(ranges, spans)):
        return formatted
    # black moved a line beyond the rewritten statements (with line ranges it can drop a
    # blank line after an import): range by range, keeping those that stay inside.
    for line_range in sorted(ranges, reverse=True):
        one = _format(black, text, plan.mode, lines=[line_range])
        if _confined(text, one, _widen([line_range], spans)):
            text = one
    return text


def _statements(text: str) -> list[LineRange]:
    """The lines of each simple statement, and of each compound statement's header."""
    try:
        tree = ast.parse(text.lstrip("\ufeff"))
    except (SyntaxError, ValueError):
        return []
    spans = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt) or node.end_lineno is None:
            continue
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        body = getattr(node, "body", None)
        last = body[0].lineno - 1 if isinstance(body, list) and body else node.end_lineno
        spans.append((first, max(first, last)))
    return spans


def _widen(ranges: Sequence[LineRange], spans: Sequence[LineRange]) -> list[LineRange]:
    """`ranges` grown to the whole statements they touch (a formatter reflows those)."""
    widened = []
    for start, end in ranges:
        for first, last in spans:
            if first <= end and start <= last:
                start, end = min(start, first), max(end, last)
        widened.append((start, end))
    return widened


def _confined(before: str, after: str, ranges: Sequence[LineRange]) -> bool:
    """Does `after` differ from `before` only on the lines of `ranges` (1-based)?"""
    matcher = Matcher(before.splitlines(), after.splitlines())
    return all(
        any(start - 1 <= i1 and i2 <= end for start, end in ranges)
        for tag, i1, i2, _, _ in matcher.get_opcodes()
        if tag != "equal"
    )


def _whole(
    black: Any, plan: _Plan, text: str, path: Path | None, directory: Path, *, fast: bool = False
) -> str | None:
    """The formatter's output for the whole file (its check passes on it); None: ruff
    could not format it."""
    if plan.tool == "ruff" and plan.ruff is not None and path is not None:
        return _ruff_format(plan.ruff, text, path, directory)
    return _format(black, text, plan.mode, fast=fast)


def format_change(
    original: str, new: str, choice: str, pyproject: Path | None, path: Path | None = None
) -> str:
    """The text to write for the file at `path` that asyncfix rewrote from `original` to
    `new`."""
    if choice == "none":
        return new
    black = _black()
    if black is None:
        if choice == "black":
            raise FormatError("--format black needs black: pip install 'asyncfix[black]'")
        return new
    try:
        if choice == "black":
            return _format(black, new, _mode(black, black_table(pyproject)))
        return _format_auto(black, original, new, pyproject, path)
    except Exception:
        # The formatter cannot handle this file (its syntax, or its safety check failed):
        # the rewrite stands as asyncfix wrote it, already checked.
        return new


def _format_auto(
    black: Any, original: str, new: str, pyproject: Path | None, path: Path | None
) -> str:
    ranges = changed_lines(original, new)
    if not ranges or _TAB_INDENT.search(original):
        # black and ruff indent with spaces: in a tab-indented file they would mix the two.
        return new
    directory = pyproject.parent if pyproject is not None else Path.cwd()
    if (
        configured_formatter(directory, pyproject) == ""
        and ruff_config(directory, pyproject) is None
        and not _too_long(new, ranges, _own_limit(original))
        and _black_would_change(original)
    ):
        # No formatter, and a file black would restyle: `_plan` would run black over all
        # of it (twice, since it changes it) to learn that, and choose wrapping, which
        # leaves `new` as it is when no rewritten line is too long. (Where black cannot
        # format the file, `new` stands too.)
        return new
    plan = _plan(black, original, path, pyproject, directory)
    if plan.tool == "wrap":
        long = _too_long(new, ranges, plan.line_length)
        return _apply(black, plan, new, long, path, directory) if long else new
    formatted = _apply(black, plan, new, ranges, path, directory)
    clean = plan.clean
    if clean is None:
        clean = _whole(black, plan, original, path, directory, fast=True) == original
    if not clean:
        return formatted  # the file did not pass the check before: nothing to keep
    whole = _whole(black, plan, formatted, path, directory)
    if whole is None or whole == formatted:
        return formatted
    # The rewrite touched more than its lines (blank lines around a removed import, say):
    # the formatter's own output, which passes its check.
    return whole
