"""`apply --format auto|black|none`: black stays optional (`pip install 'asyncfix[black]'`).

`auto` formats a changed file only when black would leave the original as it is (so only
the lines asyncfix wrote can move) or when the project configures `[tool.black]`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FORMATS = ("auto", "black", "none")


class FormatError(Exception):
    """`--format black` asked for, but black cannot be used."""


def _black() -> Any | None:
    try:
        import black  # imported lazily: black is an optional extra
    except ImportError:
        return None
    return black


@cache
def black_table(pyproject: Path | None) -> Mapping[str, Any] | None:
    """The project's `[tool.black]` table, or None when it has none."""
    if pyproject is None:
        return None
    try:
        with pyproject.open("rb") as fh:
            table = tomllib.load(fh).get("tool", {}).get("black")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return table if isinstance(table, dict) else None


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


def _format(black: Any, text: str, mode: Any, *, fast: bool = False) -> str:
    """black's output for `text`, keeping CRLF line endings. Its own safety checks (the
    same ast, a second pass that changes nothing) are on unless `fast`: for a text only
    compared, never written."""
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    crlf = "\r\n" in text
    source = text[len(bom) :]
    source = source.replace("\r\n", "\n") if crlf else source
    try:
        formatted: str = black.format_file_contents(source, fast=fast, mode=mode)
    except black.NothingChanged:
        formatted = source
    return bom + (formatted.replace("\n", "\r\n") if crlf else formatted)


def format_change(original: str, new: str, choice: str, pyproject: Path | None) -> str:
    """The text to write for a file asyncfix rewrote from `original` to `new`."""
    if choice == "none":
        return new
    black = _black()
    if black is None:
        if choice == "black":
            raise FormatError("--format black needs black: pip install 'asyncfix[black]'")
        return new
    table = black_table(pyproject)
    mode = _mode(black, table)
    try:
        clean = choice != "auto" or table is not None
        if not clean and _format(black, original, mode, fast=True) != original:
            return new  # black would reformat the user's own lines too: leave it to them
        return _format(black, new, mode)
    except Exception:
        # black cannot handle this file (its syntax, or its safety check failed): the
        # rewrite stands as asyncfix wrote it, already checked.
        return new
