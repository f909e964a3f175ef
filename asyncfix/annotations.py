"""`apply --annotate`: a `# TODO(asyncfix AFxxx): reason` above each site left for review.

The comment goes on its own line above the statement that holds the finding, indented like
it, so the migration's diff carries its own to-do list. An annotation already there is not
written again. Its tag carries a digest of its code and text, `# TODO(asyncfix AF203 1a2b3c):
reason`: `--strip-annotations` removes exactly the comment lines asyncfix wrote (never
strings, never a hand-written `# TODO(asyncfix AF203): my own note`, nor one edited since).
"""

from __future__ import annotations

import ast
import hashlib
import io
import re
import tokenize
from collections.abc import Iterable, Sequence

from asyncfix import syntax
from asyncfix.linediff import Matcher
from asyncfix.patches import split_lines
from asyncfix.report import Finding

MARKER = "TODO(asyncfix "
_ANNOTATION = re.compile(r"[ \t]*# TODO\(asyncfix (AF\d+) ([0-9a-f]{6})\): (.*)")


def annotation(finding: Finding) -> str:
    reason = " ".join(finding.reason.split()) or finding.message
    return f"# TODO(asyncfix {finding.code} {_digest(finding.code, reason)}): {reason}"


def _digest(code: str, reason: str) -> str:
    return hashlib.sha256(f"{code}: {reason}".encode()).hexdigest()[:6]


def _ours(line: str) -> bool:
    """Is `line` (without its line break) an annotation exactly as `annotation` wrote it?"""
    match = _ANNOTATION.fullmatch(line)
    return match is not None and match[2] == _digest(match[1], match[3])


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _line_map(old: list[str], new: list[str]) -> dict[int, int]:
    """1-based line in `old` -> the same, untouched line in `new`."""
    mapping: dict[int, int] = {}
    matcher = Matcher(old, new)
    for tag, i1, i2, j1, _ in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                mapping[i1 + k + 1] = j1 + k + 1
    return mapping


def _statement_starts(tree: ast.Module) -> list[tuple[int, int]]:
    """(first line incl. decorators, last line) of every statement."""
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt):
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            spans.append((first, node.end_lineno or node.lineno))
    return spans


def annotate(original: str, new: str, findings: Iterable[Finding]) -> str:
    """`new` (the rewrite of `original`) with an annotation above each unfixed finding.

    Findings carry lines of `original`; a site whose line the rewrite changed is skipped
    rather than guessed at.
    """
    todo = [f for f in findings if not f.fixable]
    if not todo:
        return new
    bom = "\ufeff" if new.startswith("\ufeff") else ""
    try:
        tree = syntax.parse(new[len(bom) :])
    except (SyntaxError, ValueError):
        return new
    spans = _statement_starts(tree)
    old_lines = split_lines(original)
    lines = split_lines(new)
    mapping = _line_map(old_lines, lines)
    inserts: dict[int, list[str]] = {}  # 1-based line of `new` -> annotations above it
    for finding in sorted(todo):
        line = mapping.get(finding.line)
        if line is None:
            continue
        holders = [s for s in spans if s[0] <= line <= s[1]]
        if not holders:
            continue
        # The innermost statement: the one that starts last.
        start = max(s[0] for s in holders)
        text = annotation(finding)
        existing = _comments_above(lines, start)
        if text in existing or text in inserts.get(start, []):
            continue
        inserts.setdefault(start, []).append(text)
    if not inserts:
        return new
    newline = _newline(new)
    out: list[str] = []
    for number, line_text in enumerate(lines, 1):
        prefix = ""
        if number == 1 and bom:
            prefix, line_text = bom, line_text[len(bom) :]
        if number in inserts:
            indent = line_text[: len(line_text) - len(line_text.lstrip(" \t"))]
            out.append(prefix + "".join(f"{indent}{c}{newline}" for c in inserts[number]))
            prefix = ""
        out.append(prefix + line_text)
    return "".join(out)


def _comments_above(lines: Sequence[str], start: int) -> list[str]:
    """The full-line comments directly above 1-based line `start`."""
    found = []
    index = start - 2
    while index >= 0 and lines[index].lstrip("\ufeff").strip().startswith("#"):
        found.append(lines[index].lstrip("\ufeff").strip())
        index -= 1
    return found


def strip_annotations(text: str) -> str:
    """`text` without the annotation comment lines (found by the tokenizer: never strings)."""
    if MARKER not in text:
        return text
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text.lstrip("\ufeff")).readline))
    except (tokenize.TokenError, SyntaxError):
        return text
    comment_lines = {t.start[0] for t in tokens if t.type == tokenize.COMMENT}
    lines = split_lines(text)
    kept = []
    for number, line in enumerate(lines, 1):
        bare = line.lstrip("\ufeff") if number == 1 else line
        if number in comment_lines and _ours(bare.rstrip("\r\n")):
            if number == 1 and line.startswith("\ufeff"):
                kept.append("\ufeff")
            continue
        kept.append(line)
    return "".join(kept)
