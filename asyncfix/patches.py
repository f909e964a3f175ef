"""Unified diffs that `git apply` accepts, byte for byte (CRLF, BOM, no final newline)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import pathspec


def split_lines(text: str) -> list[str]:
    # Split on "\n" only, as git does; str.splitlines would also split on \f, \x1c, ...
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def unified_diff(display: str, old: str, new: str) -> str:
    out: list[str] = []
    for line in difflib.unified_diff(
        split_lines(old), split_lines(new), f"a/{display}", f"b/{display}", n=3
    ):
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


# -- splitting a batch change into reviewable patches -----------------------------------

SPLITS = ("codeowners", "top-dir")
# Where GitHub looks for CODEOWNERS, in its order.
CODEOWNERS_PLACES = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
UNOWNED = "unowned"


@dataclass(frozen=True)
class CodeOwners:
    """CODEOWNERS rules (gitignore-style patterns; the last matching rule wins)."""

    rules: tuple[tuple[pathspec.GitIgnoreSpec, tuple[str, ...]], ...]

    @classmethod
    def parse(cls, text: str) -> CodeOwners:
        rules = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            # An owner list may end with a comment; a pattern holds no unescaped spaces.
            parts = line.split("#", 1)[0].split() if " #" in line else line.split()
            pattern, owners = parts[0], tuple(parts[1:])
            rules.append((pathspec.GitIgnoreSpec.from_lines([pattern]), owners))
        return cls(tuple(rules))

    @classmethod
    def find(cls, root: Path) -> CodeOwners | None:
        for place in CODEOWNERS_PLACES:
            candidate = root / place
            if candidate.is_file():
                return cls.parse(candidate.read_text(encoding="utf-8", errors="replace"))
        return None

    def owners(self, path: str) -> tuple[str, ...]:
        found: tuple[str, ...] = ()
        for spec, owners in self.rules:
            if spec.match_file(path):
                found = owners
        return found


def group_name(path: str, split_by: str, codeowners: CodeOwners | None) -> str:
    """The patch a changed file belongs to: its owners, or its top-level directory."""
    if split_by == "top-dir":
        head, sep, _ = path.partition("/")
        return head if sep else "root"
    owners = codeowners.owners(path) if codeowners else ()
    return " ".join(owners) if owners else UNOWNED


def patch_file_name(group: str) -> str:
    """`@org/team-a @bob` -> `org-team-a_bob.patch`: a safe, readable file name."""
    owners = [re.sub(r"[^A-Za-z0-9._-]+", "-", o.lstrip("@")).strip("-.") for o in group.split()]
    return "_".join(o for o in owners if o) + ".patch" if any(owners) else "root.patch"
