"""SARIF 2.1.0 for `asyncfix check --output-format sarif` (GitHub code scanning loads it)."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from asyncfix import __version__
from asyncfix.linediff import Matcher
from asyncfix.report import FileError, Finding

if TYPE_CHECKING:
    from asyncfix.codemods.base import AsyncfixCodemod, Rule
    from asyncfix.profiles import Share

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = "https://pypi.org/project/asyncfix/"


def artifact_uri(path: str) -> str:
    """A relative URI for a path under the current directory (what code scanning maps to
    the repository), an absolute file URI otherwise."""
    if os.path.isabs(path) or path.startswith("../"):
        return Path(os.path.abspath(path)).as_uri()
    return quote(path.replace(os.sep, "/"))


def _rule(codemod: type[AsyncfixCodemod], rule: Rule) -> dict[str, Any]:
    example = f"Before:\n\n```python\n{rule.before}```\n"
    if rule.after != rule.before:
        example += f"\nAfter:\n\n```python\n{rule.after}```\n"
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.why},
        "help": {
            "text": f"{rule.why}\n\n{rule.fix}\n\nasyncfix explain {rule.code}",
            "markdown": f"{rule.why}\n\n{rule.fix}\n\n{example}",
        },
        "defaultConfiguration": {"level": "warning"},
        "properties": {"tags": [codemod.FAMILY], "precision": "high"},
    }


def _location(path: str, line: int, column: int) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": artifact_uri(path)},
            "region": {"startLine": line, "startColumn": column},
        }
    }


# A result's identity across runs, for code scanning to match alerts: not its line number,
# which any edit above it moves, but its rule, file and line text (and which of the same).
FINGERPRINT = "asyncfix/v1"


def _fingerprints(findings: Sequence[Finding], sources: Mapping[str, str]) -> list[str]:
    seen: Counter[str] = Counter()
    prints = []
    for finding in findings:
        lines = sources.get(finding.path, "").splitlines()
        text = lines[finding.line - 1].strip() if finding.line <= len(lines) else ""
        key = "\0".join((finding.code, finding.path, text))
        prints.append(f"{hashlib.sha256(key.encode()).hexdigest()[:32]}:{seen[key]}")
        seen[key] += 1
    return prints


def _fix(finding: Finding, old: str, new: str) -> dict[str, Any]:
    """A SARIF fix: the file's changed line runs, each a replacement of characters
    (code points, the run's columnKind) of the original."""
    before, after = old.splitlines(keepends=True), new.splitlines(keepends=True)
    starts = [0]
    for line in before:
        starts.append(starts[-1] + len(line))
    matcher = Matcher(before, after)
    replacements = [
        {
            "deletedRegion": {"charOffset": starts[i1], "charLength": starts[i2] - starts[i1]},
            "insertedContent": {"text": "".join(after[j1:j2])},
        }
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]
    return {
        "description": {"text": f"asyncfix apply: fix {finding.code} at line {finding.line}"},
        "artifactChanges": [
            {"artifactLocation": {"uri": artifact_uri(finding.path)}, "replacements": replacements}
        ],
    }


def sarif_log(
    findings: Sequence[Finding],
    errors: Sequence[FileError],
    rules: Mapping[str, tuple[type[AsyncfixCodemod], Rule]],
    sources: Mapping[str, str] | None = None,
    fixes: Mapping[Finding, str] | None = None,
    shares: Mapping[Finding, Share] | None = None,
) -> dict[str, Any]:
    """`sources`: each file's text (path -> text), for fingerprints; `fixes`: the file's
    text after a fixable finding's fix alone (see driver.fix_of); `shares`: each finding's
    cost in --profile's profiles, as a result property."""
    codes = sorted(rules)
    index = {code: i for i, code in enumerate(codes)}
    sources, fixes = sources or {}, fixes or {}
    results = []
    for finding, fingerprint in zip(findings, _fingerprints(findings, sources), strict=True):
        text = finding.message
        if not finding.fixable:
            text += f" (manual review: {finding.reason})"
        result: dict[str, Any] = {
            "ruleId": finding.code,
            "level": "warning",
            "message": {"text": text},
            "locations": [_location(finding.path, finding.line, finding.column)],
            "partialFingerprints": {FINGERPRINT: fingerprint},
            "properties": {"fixable": finding.fixable, "family": finding.family},
        }
        if finding in fixes and finding.path in sources:
            result["fixes"] = [_fix(finding, sources[finding.path], fixes[finding])]
        if finding.code in index:
            result["ruleIndex"] = index[finding.code]
        if finding.reason:
            result["properties"]["reason"] = finding.reason
        if shares is not None:
            result["properties"]["profile"] = shares[finding].as_json()
        results.append(result)
    notifications = [
        {
            "level": "error",
            "message": {"text": error.message},
            "locations": [_location(error.path, error.line, error.column)],
        }
        for error in errors
    ]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "asyncfix",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [_rule(*rules[code]) for code in codes],
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not errors,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def sarif_json(
    findings: Sequence[Finding],
    errors: Sequence[FileError],
    rules: Mapping[str, tuple[type[AsyncfixCodemod], Rule]],
    sources: Mapping[str, str] | None = None,
    fixes: Mapping[Finding, str] | None = None,
    shares: Mapping[Finding, Share] | None = None,
) -> str:
    return json.dumps(sarif_log(findings, errors, rules, sources, fixes, shares), indent=2)
