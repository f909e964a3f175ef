"""SARIF 2.1.0 for `asyncfix check --output-format sarif` (GitHub code scanning loads it)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from asyncfix import __version__
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


def sarif_log(
    findings: Sequence[Finding],
    errors: Sequence[FileError],
    rules: Mapping[str, tuple[type[AsyncfixCodemod], Rule]],
    shares: Mapping[Finding, Share] | None = None,
) -> dict[str, Any]:
    """`shares`: each finding's cost in --profile's profiles, as a result property."""
    codes = sorted(rules)
    index = {code: i for i, code in enumerate(codes)}
    results = []
    for finding in findings:
        text = finding.message
        if not finding.fixable:
            text += f" (manual review: {finding.reason})"
        result: dict[str, Any] = {
            "ruleId": finding.code,
            "level": "warning",
            "message": {"text": text},
            "locations": [_location(finding.path, finding.line, finding.column)],
            "properties": {"fixable": finding.fixable, "family": finding.family},
        }
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
    shares: Mapping[Finding, Share] | None = None,
) -> str:
    return json.dumps(sarif_log(findings, errors, rules, shares), indent=2)
