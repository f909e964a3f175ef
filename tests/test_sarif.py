"""`check --output-format sarif|github`: SARIF 2.1.0 and GitHub workflow annotations."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from asyncfix.cli import main
from asyncfix.codemods import all_rules
from asyncfix.profiles import profile_rules
from asyncfix.report import FileError, Finding, github_annotations
from asyncfix.sarif import SCHEMA_URI, artifact_uri, sarif_log

# The official SARIF 2.1.0 schema, copied unmodified from the OASIS SARIF TC's repository
# under its notice (tests/data/sarif-schema-2.1.0.NOTICE.md says where from, and its hash).
SCHEMA_FILE = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"

LEGACY = (
    "import time\n\n\nasync def handler(lock):\n"
    "    time.sleep(1)\n    with lock:\n        time.sleep(2)\n"
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(LEGACY)
    (tmp_path / "src" / "broken name.py").write_text("import time\nasync def f(:\n  sleep\n")
    return tmp_path


def _check(*args: str) -> tuple[int, str, str]:
    result = CliRunner(mix_stderr=False).invoke(main, ["check", *args], catch_exceptions=False)
    return result.exit_code, result.output, result.stderr


def _sarif(project: Path) -> dict[str, Any]:
    code, out, _ = _check("--output-format", "sarif", "src")
    assert code == 2  # the file that does not parse
    doc: dict[str, Any] = json.loads(out)
    return doc


def test_sarif_carries_results_rules_and_errors(project: Path) -> None:
    doc = _sarif(project)
    assert doc["version"] == "2.1.0"
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "asyncfix"
    rules = driver["rules"]
    # AF701/AF702 (from --profile) are rules like the codemods' own.
    assert [r["id"] for r in rules] == sorted({**all_rules(), **profile_rules()})
    fixed, refused = run["results"]
    assert fixed["ruleId"] == "AF203" and rules[fixed["ruleIndex"]]["id"] == "AF203"
    assert fixed["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "src/app.py"},
        "region": {"startLine": 5, "startColumn": 5},
    }
    assert fixed["properties"]["fixable"] is True
    assert refused["locations"][0]["physicalLocation"]["region"]["startLine"] == 7
    assert "manual review: awaiting while a thread lock is held" in refused["message"]["text"]
    assert refused["properties"]["fixable"] is False
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "error"
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "src/broken%20name.py"
    )
    assert note["message"]["text"].startswith("syntax error")


def test_sarif_has_what_github_code_scanning_requires(project: Path) -> None:
    # https://docs.github.com/en/code-security/code-scanning (SARIF support): each result
    # needs ruleId, message.text and a physical location with a relative uri and startLine;
    # each rule an id and a short description; the run a driver name.
    doc = _sarif(project)
    run = doc["runs"][0]
    assert doc["$schema"].endswith("sarif-schema-2.1.0.json")
    for rule in run["tool"]["driver"]["rules"]:
        assert rule["id"] and rule["shortDescription"]["text"] and rule["help"]["text"]
    for result in run["results"]:
        assert result["ruleId"] and result["message"]["text"]
        location = result["locations"][0]["physicalLocation"]
        assert not location["artifactLocation"]["uri"].startswith(("/", "file:"))
        assert location["region"]["startLine"] >= 1 and location["region"]["startColumn"] >= 1
        assert result["level"] in ("none", "note", "warning", "error")


def test_sarif_validates_against_the_official_schema(project: Path) -> None:
    # The copy is the official file, unmodified (its notice allows no other).
    assert hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest() == SCHEMA_SHA256
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["id"] == SCHEMA_URI
    # A fixable finding (fixes), a refused one, and a file that does not parse.
    (project / "src" / "other.py").write_text(
        "import time\n\n\nasync def other():\n    time.sleep(3)\n"
    )
    doc = _sarif(project)
    results = doc["runs"][0]["results"]
    assert doc["$schema"] == SCHEMA_URI
    assert all(r["partialFingerprints"] for r in results)
    assert sum("fixes" in r for r in results) == 2
    assert doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    validator = jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )
    validator.validate(doc)
    # The validator rejects what the schema forbids, in the parts under test too: the test
    # cannot pass vacuously.
    for path, bad in (
        (("level",), "fatal"),
        (("partialFingerprints",), {"asyncfix/v1": 1}),
        (("fixes", 0, "artifactChanges"), []),
        (
            ("fixes", 0, "artifactChanges", 0, "replacements", 0, "deletedRegion"),
            {"charOffset": -2},
        ),
    ):
        broken = copy.deepcopy(doc)
        holder = next(r for r in broken["runs"][0]["results"] if "fixes" in r)
        for key in path[:-1]:
            holder = holder[key]
        holder[path[-1]] = bad
        assert not validator.is_valid(broken), path


def test_sarif_paths_outside_the_current_directory_are_file_uris(tmp_path: Path) -> None:
    outside = str(tmp_path / "x y.py")
    assert artifact_uri(outside) == (tmp_path / "x y.py").as_uri()
    assert artifact_uri("pkg/ä.py") == "pkg/%C3%A4.py"
    doc = sarif_log([], [], {})
    assert doc["runs"][0]["results"] == [] and doc["runs"][0]["tool"]["driver"]["rules"] == []


def test_github_annotations(project: Path) -> None:
    code, out, err = _check("--output-format", "github", "src")
    assert code == 2
    assert out.splitlines() == [
        "::warning file=src/app.py,line=5,col=5,title=asyncfix AF203::time.sleep() blocks the "
        "event loop inside async def; use await asyncio.sleep()",
        "::warning file=src/app.py,line=7,col=9,title=asyncfix AF203::time.sleep() blocks the "
        "event loop inside async def (manual review: awaiting while a thread lock is held can "
        "deadlock the event loop)",
        "::error file=src/broken name.py,line=2,col=13,title=asyncfix::syntax error: invalid "
        "syntax",
    ]
    assert "asyncfix: 2 files scanned" in err


def test_github_annotations_escape_workflow_command_syntax() -> None:
    finding = Finding("a,b:c.py", 1, 2, "AF1", "serializer", "50%\nmore", False, "r")
    error = FileError("x.py", 3, 4, "bad\r\n")
    assert github_annotations([finding], [error]) == (
        "::warning file=a%2Cb%3Ac.py,line=1,col=2,title=asyncfix AF1::50%25%0Amore "
        "(manual review: r)\n"
        "::error file=x.py,line=3,col=4,title=asyncfix::bad%0D%0A\n"
    )


def test_clean_tree_exits_0_with_empty_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ok.py").write_text("x = 1\n")
    code, out, _ = _check("--output-format", "github", ".")
    assert (code, out) == (0, "")
    code, out, _ = _check("--output-format", "sarif", ".")
    assert code == 0
    assert json.loads(out)["runs"][0]["results"] == []


def _replace(text: str, replacements: list[dict[str, Any]]) -> str:
    """A SARIF fix applied as a viewer would: char offsets into the original, last first."""
    for replacement in sorted(replacements, key=lambda r: -r["deletedRegion"]["charOffset"]):
        region = replacement["deletedRegion"]
        start, end = region["charOffset"], region["charOffset"] + region["charLength"]
        text = text[:start] + replacement["insertedContent"]["text"] + text[end:]
    return text


def test_sarif_fixes_are_what_apply_writes(project: Path) -> None:
    source = LEGACY.replace("    with lock:\n        time.sleep(2)\n", "    time.sleep(2)\n")
    (project / "src" / "app.py").write_text(source)
    doc = _sarif(project)
    first, second = doc["runs"][0]["results"]
    # Each fix is its finding's alone; applied one after the other, as apply writes.
    (change,) = first["fixes"][0]["artifactChanges"]
    assert change["artifactLocation"]["uri"] == "src/app.py"
    once = _replace(source, change["replacements"])
    assert "await asyncio.sleep(1)" in once and "    time.sleep(2)" in once
    assert once != _replace(source, second["fixes"][0]["artifactChanges"][0]["replacements"])
    CliRunner(mix_stderr=False).invoke(main, ["apply", "--no-cache", "src/app.py"])
    assert (project / "src" / "app.py").read_text().count("await asyncio.sleep") == 2


def test_sarif_fingerprints_survive_lines_moving(project: Path) -> None:
    before = _sarif(project)["runs"][0]["results"]
    (project / "src" / "app.py").write_text("# a new first line\n" + LEGACY)
    after = _sarif(project)["runs"][0]["results"]
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in after] == [
        6,
        8,
    ]
    assert [r["partialFingerprints"] for r in after] == [r["partialFingerprints"] for r in before]
    # Same rule, same text, same file: told apart by their order.
    (project / "src" / "app.py").write_text(
        "import time\n\n\nasync def handler():\n    time.sleep(1)\n    time.sleep(1)\n"
    )
    prints = [
        r["partialFingerprints"]["asyncfix/v1"] for r in _sarif(project)["runs"][0]["results"]
    ]
    assert [p.rsplit(":", 1)[1] for p in prints] == ["0", "1"]
    assert len(set(prints)) == 2
