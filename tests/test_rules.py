"""The fixit bridge: one LintRule per rule code, sharing the codemod's matching code."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import libcst as cst
import pytest
from fixit import Invalid, Valid
from fixit.engine import LintRunner
from fixit.ftypes import Config as FixitConfig
from fixit.ftypes import LintViolation
from fixit.testing import LintRuleTestCase

import asyncfix.codemods
import asyncfix.rules
from asyncfix.codemods import all_codemods, all_rules, every_rule
from asyncfix.codemods.base import AsyncfixCodemod, Rule
from asyncfix.fixit_bridge import AsyncfixLintRule, build_rules

ROOT = Path(__file__).resolve().parent.parent


def _cases() -> list[tuple[str, Valid | Invalid]]:
    cases: list[tuple[str, Valid | Invalid]] = []
    for code in asyncfix.rules.__all__:
        rule = getattr(asyncfix.rules, code)
        for case in (*rule.VALID, *rule.INVALID):
            assert isinstance(case, Valid | Invalid)
            cases.append((code, case))
    return cases


def test_every_registered_code_is_a_fixit_rule() -> None:
    # AF701/AF702 (from --profile) too: fixit knows every code asyncfix reports.
    assert asyncfix.rules.__all__ == sorted(every_rule())
    assert set(asyncfix.rules.__all__) - set(all_rules()) == {"AF701", "AF702"}
    for code, (codemod, rule) in every_rule().items():
        lint_rule = getattr(asyncfix.rules, code)
        assert issubclass(lint_rule, AsyncfixLintRule)
        assert lint_rule.CODEMOD is codemod and lint_rule.RULE is rule
        assert (rule.local_fix and rule.after != rule.before) == lint_rule.AUTOFIX
        assert codemod.FAMILY in lint_rule.TAGS


def test_only_generated_rules_are_bound_in_the_module() -> None:
    # fixit collects every LintRule subclass it finds in the module it enables.
    from fixit.config import walk_module

    assert sorted(walk_module(asyncfix.rules)) == sorted(every_rule())


def test_profile_rules_report_nothing_in_fixit() -> None:
    # Their findings come from a profile (`asyncfix check --profile`), which fixit never
    # passes: the rule's own blocking example lints clean, so no invalid case exists.
    for code in ("AF701", "AF702"):
        rule = getattr(asyncfix.rules, code)
        assert rule.INVALID == [] and rule.VALID
        violations, _ = _lint(rule, every_rule()[code][1].before)
        assert violations == []


@pytest.mark.parametrize(
    ("code", "case"), _cases(), ids=lambda v: v if isinstance(v, str) else type(v).__name__
)
def test_fixit_examples(code: str, case: Valid | Invalid) -> None:
    # fixit's own test method: what `fixit test asyncfix.rules` runs for each example.
    rule = getattr(asyncfix.rules, code)
    LintRuleTestCase()._test_method(case, rule())


def test_af203_examples_are_the_rule_examples() -> None:
    rule = asyncfix.rules.AF203  # type: ignore[attr-defined]
    _, af203 = all_rules()["AF203"]
    assert [Invalid(af203.before, expected_replacement=af203.after)] == rule.INVALID
    assert Valid(af203.after) in rule.VALID


def test_fixit_test_command_runs_every_example() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "fixit", "test", "asyncfix.rules"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Ran {len(_cases())} tests" in proc.stderr


def _lint(rule: type[AsyncfixLintRule], source: str) -> tuple[list[LintViolation], str]:
    path = Path("example.py")
    runner = LintRunner(path, textwrap.dedent(source).encode())
    violations = list(runner.collect_violations([rule()], FixitConfig(path=path)))
    return violations, runner.apply_replacements(violations).code


def test_fix_leaves_lint_ignored_and_asyncfix_ignored_sites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    violations, fixed = _lint(
        asyncfix.rules.AF203,  # type: ignore[attr-defined]
        """\
        import time


        async def a(lock):
            time.sleep(1)
            # lint-ignore: AF203
            time.sleep(2)
            time.sleep(3)  # asyncfix: ignore[AF203]
            with lock:
                time.sleep(4)
        """,
    )
    assert [(v.range.start.line, v.range.start.column) for v in violations] == [(5, 4), (10, 8)]
    assert violations[0].replacement is not None and violations[0].autofixable
    assert violations[1].replacement is None
    assert "manual review: awaiting while a thread lock is held" in violations[1].message
    assert fixed == textwrap.dedent(
        """\
        import asyncio
        import time


        async def a(lock):
            await asyncio.sleep(1)
            # lint-ignore: AF203
            time.sleep(2)
            time.sleep(3)  # asyncfix: ignore[AF203]
            with lock:
                time.sleep(4)
        """
    )
    # The reported range is the call's, as the codemod reported it.
    assert (violations[0].range.end.line, violations[0].range.end.column) == (5, 17)


def test_lint_ignore_without_names_and_other_rule_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    rule = asyncfix.rules.AF203  # type: ignore[attr-defined]
    source = "import time\n\n\nasync def a():\n    time.sleep(1)  # lint-ignore{}\n"
    assert _lint(rule, source.format(""))[0] == []
    assert _lint(rule, source.format(": AF203, Other"))[0] == []
    assert len(_lint(rule, source.format(": SomeOtherRule"))[0]) == 1


# -- rules that do not exist yet: fake codemods -----------------------------------------

_PRINT = Rule(
    code="AF998",
    name="print-call",
    summary="print() -> log()",
    why="test",
    fix="test",
    before="print(1)\n",
    after="log(1)\n",
    local_fix=True,
    valid=("log(2)\n",),
)
_STRUCTURAL = Rule(
    code="AF999",
    name="structural",
    summary="print() restructured across files",
    why="test",
    fix="test",
    before="print(1)\n",
    after="log(1)\n",
)


class _FakePrint(AsyncfixCodemod):
    NAME = "fake-print"
    FAMILY = "awaits"
    RULES = (_PRINT,)
    TRIGGERS = (b"print",)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        if not isinstance(original_node.func, cst.Name) or original_node.func.value != "print":
            return updated_node
        code = self.RULES[0].code
        if len(original_node.args) != 1:
            self.report(original_node, code, "print()", reason="unusual arguments")
            return updated_node
        if not self.report(original_node, code, "print() should be log()"):
            return updated_node
        return updated_node.with_changes(func=cst.Name("log"))


class _FakeSometimesStructural(_FakePrint):
    """`print(<literal>)` is fixed on the spot; `print(<name>)` would need more (say, an
    import in another module): a structural site of a rule whose fix is otherwise local."""

    NAME = "fake-sometimes"
    RULES = (replace(_PRINT, code="AF996"),)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        if not isinstance(original_node.func, cst.Name) or original_node.func.value != "print":
            return updated_node
        structural = isinstance(original_node.args[0].value, cst.Name)
        if not self.report(original_node, "AF996", "print", structural=structural):
            return updated_node
        return updated_node.with_changes(func=cst.Name("log"))


class _FakeStructural(_FakePrint):
    NAME = "fake-structural"
    FAMILY = "lifespan"
    RULES = (_STRUCTURAL,)


@pytest.fixture
def fake_rules(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, type[AsyncfixLintRule]]:
    monkeypatch.chdir(tmp_path)
    fakes: list[type[AsyncfixCodemod]] = [_FakePrint, _FakeStructural, _FakeSometimesStructural]
    registry = (*all_codemods(), *fakes)
    monkeypatch.setattr(asyncfix.codemods, "all_codemods", lambda: registry)
    return build_rules(__name__, {c.RULES[0].code: (c, c.RULES[0]) for c in fakes})


def test_local_rule_from_a_new_family_autofixes(
    fake_rules: dict[str, type[AsyncfixLintRule]],
) -> None:
    rule = fake_rules["AF998"]
    assert rule.__name__ == "AF998" and rule.AUTOFIX
    assert [Valid("log(1)\n"), Valid("log(2)\n")] == rule.VALID
    for case in (*rule.VALID, *rule.INVALID):
        assert isinstance(case, Valid | Invalid)
        LintRuleTestCase()._test_method(case, rule())
    violations, fixed = _lint(rule, "print(1)\nprint(2, 3)\nprint(4)  # lint-ignore\n")
    assert [v.range.start.line for v in violations] == [1, 2]
    assert fixed == "log(1)\nprint(2, 3)\nprint(4)  # lint-ignore\n"
    assert violations[1].message == "print() (manual review: unusual arguments)"


def test_structural_rule_reports_and_points_to_asyncfix_apply(
    fake_rules: dict[str, type[AsyncfixLintRule]],
) -> None:
    rule = fake_rules["AF999"]
    assert not rule.AUTOFIX
    assert [Invalid("print(1)\n", expected_replacement=None)] == rule.INVALID
    case = rule.INVALID[0]
    assert isinstance(case, Invalid)
    LintRuleTestCase()._test_method(case, rule())
    violations, fixed = _lint(rule, "print(1)\n")
    assert [v.replacement for v in violations] == [None]
    assert violations[0].message == (
        "print() should be log() (fix with `asyncfix apply --select AF999`)"
    )
    assert fixed == "print(1)\n"


def test_a_fix_that_fails_verification_is_not_offered(
    fake_rules: dict[str, type[AsyncfixLintRule]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A rewrite that a second run would change again must not reach `fixit fix`.
    monkeypatch.setattr(
        _FakePrint,
        "leave_Call",
        lambda self, o, u: (
            u.with_changes(args=(*u.args, cst.Arg(cst.Integer("0"))))
            if self.report(o, "AF998", "grows")
            else u
        ),
    )
    violations, fixed = _lint(fake_rules["AF998"], "print(1)\n")
    assert len(violations) == 1 and violations[0].replacement is None
    assert "asyncfix apply" in violations[0].message
    assert fixed == "print(1)\n"


def test_fixit_cli_fix_with_tool_fixit_enable(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.fixit]\nenable = ["asyncfix.rules"]\ndisable = ["fixit.rules"]\n'
    )
    _, af203 = all_rules()["AF203"]
    (tmp_path / "app.py").write_text(af203.before)
    lint = subprocess.run(
        [sys.executable, "-m", "fixit", "lint", "app.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 1
    assert "app.py@6:8 AF203: time.sleep() blocks the event loop" in lint.stdout
    fix = subprocess.run(
        [sys.executable, "-m", "fixit", "fix", "--automatic", "app.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert fix.returncode in (0, 1), fix.stderr
    assert (tmp_path / "app.py").read_text() == af203.after


def test_structural_sites_of_a_local_rule_are_reported_without_the_fix(
    fake_rules: dict[str, type[AsyncfixLintRule]],
) -> None:
    rule = fake_rules["AF996"]
    violations, fixed = _lint(rule, "print(1)\nprint(x)\nprint(2)\n")
    assert [(v.range.start.line, v.replacement is not None) for v in violations] == [
        (1, True),
        (2, False),
        (3, True),
    ]
    assert "fix with `asyncfix apply --select AF996`" in violations[1].message
    # `fixit fix` makes the local fixes and leaves the structural site as written.
    assert fixed == "log(1)\nprint(x)\nlog(2)\n"


def test_asyncfix_apply_honours_fixit_directives_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from asyncfix.cli import main

    monkeypatch.chdir(tmp_path)
    source = textwrap.dedent(
        """\
        import time


        async def a():
            time.sleep(1)  # lint-ignore: AF203
            # lint-fixme: SomeRule, AF203
            # (a reason)
            time.sleep(2)
            time.sleep(3)  # lint-ignore: SomeOtherRule
            # lint-ignore
            if time.sleep(4):
                time.sleep(5)
        """
    )
    (tmp_path / "app.py").write_text(source)
    result = CliRunner(mix_stderr=False).invoke(main, ["apply", "--no-cache", "app.py"])
    assert result.exit_code == 0, result.stderr
    # As in fixit: the directive covers its statement, not the statements nested in it.
    assert (tmp_path / "app.py").read_text() == source.replace(
        "import time\n", "import asyncio\nimport time\n"
    ).replace("time.sleep(3)", "await asyncio.sleep(3)").replace(
        "time.sleep(5)", "await asyncio.sleep(5)"
    )
    # And fixit itself agrees, site by site.
    violations, _ = _lint(asyncfix.rules.AF203, source)  # type: ignore[attr-defined]
    assert [v.range.start.line for v in violations] == [9, 12]


def _fixit(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fixit", *args], cwd=cwd, capture_output=True, text=True
    )


def test_fixit_uses_the_files_project_configuration(tmp_path: Path) -> None:
    # Run from outside the project: its pyproject.toml still decides, every family's
    # options are accepted (not only the rule's own), and `ignore` holds.
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[tool.fixit]\nroot = true\nenable = ["asyncfix.rules"]\ndisable = ["fixit.rules"]\n'
        '[tool.asyncfix]\nignore = ["AF201", "AF701"]\n[tool.asyncfix.http_client]\n'
        "timeout = 10\n"
    )
    (project / "app.py").write_text(
        "import time\n\nimport requests\n\n\nasync def a():\n    time.sleep(1)\n"
        '    return requests.get("https://example.com")\n'
    )
    lint = _fixit(tmp_path, "lint", "proj/app.py")
    assert "Traceback" not in lint.stderr and "takes no options" not in lint.stdout
    assert [line.split(" ")[1] for line in lint.stdout.splitlines()] == ["AF203:"]


def test_fixit_fix_automatic_lands_every_fix_it_reports(tmp_path: Path) -> None:
    # Two rules whose fixes each replace the module: fixit keeps one replacement per node,
    # so the second rule's fix waits for the next run instead of being counted and dropped.
    (tmp_path / "pyproject.toml").write_text(
        '[tool.fixit]\nroot = true\nenable = ["asyncfix.rules"]\ndisable = ["fixit.rules"]\n'
    )
    _, af101 = all_rules()["AF101"]
    source = af101.before.replace("import json\n", "import json\nimport time\n") + (
        "\n\nasync def pause():\n    time.sleep(1)\n"
    )
    (tmp_path / "app.py").write_text(source)
    for _ in range(2):
        before = len(_fixit(tmp_path, "lint", "app.py").stdout.splitlines())
        # (which rule's fix comes first may differ between runs: fixit's rule order does)
        fix = _fixit(tmp_path, "fix", "--automatic", "app.py")
        offered = fix.stdout.count("(has autofix)")
        assert offered >= 1
        assert f"{offered} fix{'es' if offered != 1 else ''} applied" in fix.stderr
        after = len(_fixit(tmp_path, "lint", "app.py").stdout.splitlines())
        assert after == before - offered  # each fix it counted landed
    fixed = (tmp_path / "app.py").read_text()
    assert "orjson.dumps" in fixed and "await asyncio.sleep(1)" in fixed
    assert _fixit(tmp_path, "lint", "app.py").returncode == 0


def test_docs_way_to_keep_fixits_own_sleep_rule_from_double_reporting(tmp_path: Path) -> None:
    # docs/editors.md: fixit's UseAsyncSleepInAsyncDef reports what AF203 does.
    docs = (ROOT / "docs" / "editors.md").read_text()
    snippet = docs[docs.index("[tool.fixit]\nenable") :].split("```")[0]
    _, af203 = all_rules()["AF203"]
    (tmp_path / "app.py").write_text(af203.before)
    (tmp_path / "pyproject.toml").write_text(
        "[tool.fixit]\nroot = true\nenable = ['asyncfix.rules']\n"
    )
    both = _fixit(tmp_path, "lint", "app.py").stdout
    assert "UseAsyncSleepInAsyncDef" in both and "AF203" in both
    (tmp_path / "pyproject.toml").write_text(
        snippet.replace("[tool.fixit]\n", "[tool.fixit]\nroot = true\n")
    )
    once = _fixit(tmp_path, "lint", "app.py").stdout
    assert "UseAsyncSleepInAsyncDef" not in once and once.count("AF203") == 1
