"""Unified diffs that `git apply` accepts, byte for byte (CRLF, BOM, no final newline)."""

from __future__ import annotations

import difflib


def _lines(text: str) -> list[str]:
    # Split on "\n" only, as git does; str.splitlines would also split on \f, \x1c, ...
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def unified_diff(display: str, old: str, new: str) -> str:
    out: list[str] = []
    for line in difflib.unified_diff(_lines(old), _lines(new), f"a/{display}", f"b/{display}", n=3):
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)
