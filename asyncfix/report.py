"""Findings and errors are plain data; this module turns them into text or JSON."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, order=True)
class Finding:
    """One site a rule matched: fixed (or fixable), or left for manual review."""

    path: str
    line: int
    column: int  # 1-based, like every editor and linter
    code: str
    family: str
    message: str
    fixable: bool
    reason: str = ""  # why it was not fixed; empty when fixable

    def format(self) -> str:
        tail = " [fixable]" if self.fixable else f" [manual review: {self.reason}]"
        return f"{self.path}:{self.line}:{self.column}: {self.code} {self.message}{tail}"


@dataclass(frozen=True, order=True)
class FileError:
    """A file that could not be processed; it is left byte for byte as it was."""

    path: str
    line: int
    column: int
    message: str

    def format(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: error: {self.message}"


@dataclass
class Summary:
    scanned: int = 0
    parsed: int = 0
    changed: int = 0
    errors: int = 0
    seconds: float = 0.0
    by_code: Counter[str] = field(default_factory=Counter)
    packages: set[str] = field(default_factory=set)

    def format(self, *, wrote: bool) -> str:
        verb = "changed" if wrote else "would change"
        codes = ", ".join(f"{code}={n}" for code, n in sorted(self.by_code.items())) or "none"
        line = (
            f"asyncfix: {self.scanned} files scanned, {self.parsed} parsed, "
            f"{self.changed} {verb}; findings: {codes}; "
            f"{self.errors} error{'s' if self.errors != 1 else ''}; {self.seconds:.2f}s"
        )
        if self.packages:
            line += (
                f"\nasyncfix: the rewrites need these packages: {', '.join(sorted(self.packages))}"
            )
        return line


def statistics(findings: Iterable[Finding], names: Mapping[str, str]) -> str:
    """`check --statistics`, as ruff prints it: count, code, [*] when some of them can be
    fixed by `asyncfix apply` ([ ] when none), the rule's name; most frequent first."""
    counts = Counter(f.code for f in findings)
    fixable = {f.code for f in findings if f.fixable}
    width = len(str(max(counts.values(), default=0)))
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return "".join(
        f"{n:>{width}}\t{code}\t{'[*]' if code in fixable else '[ ]'} {names.get(code, '')}\n"
        for code, n in rows
    )


class _Profiled(Protocol):
    def as_json(self) -> dict[str, Any]: ...


def findings_json(
    findings: Sequence[Finding],
    errors: Iterable[FileError],
    summary: Summary,
    shares: Mapping[Finding, _Profiled] | None = None,
) -> str:
    """`shares`: each finding's cost in --profile's profiles, as its "profile" property."""
    doc = {
        "findings": [
            asdict(f) if shares is None else {**asdict(f), "profile": shares[f].as_json()}
            for f in findings
        ],
        "errors": [asdict(e) for e in errors],
        "summary": {
            "files_scanned": summary.scanned,
            "files_parsed": summary.parsed,
            "files_changed": summary.changed,
            "errors": summary.errors,
            "findings_by_code": dict(sorted(summary.by_code.items())),
            "packages_needed": sorted(summary.packages),
        },
    }
    return json.dumps(doc, indent=2)


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github_annotations(findings: Iterable[Finding], errors: Iterable[FileError]) -> str:
    """GitHub Actions workflow commands: one annotation per finding and per error."""
    lines = []
    for f in findings:
        tail = "" if f.fixable else f" (manual review: {f.reason})"
        props = (
            f"file={_escape_property(f.path)},line={f.line},col={f.column},"
            f"title={_escape_property(f'asyncfix {f.code}')}"
        )
        lines.append(f"::warning {props}::{_escape_data(f.message + tail)}")
    for e in errors:
        props = f"file={_escape_property(e.path)},line={e.line},col={e.column},title=asyncfix"
        lines.append(f"::error {props}::{_escape_data(e.message)}")
    return "".join(line + "\n" for line in lines)
