"""`apply` for review and CI: patches split for a monorepo, black, annotations, dependencies."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from dataclasses import replace
from pathlib import Path

import libcst as cst
import pytest
from click.testing import CliRunner, Result
from libcst.codemod.visitors import AddImportsVisitor

import asyncfix.codemods
import asyncfix.formatting
import asyncfix.pipeline
from asyncfix.annotations import annotate, strip_annotations
from asyncfix.cli import main
from asyncfix.codemods import all_codemods
from asyncfix.codemods.base import AsyncfixCodemod, Rule
from asyncfix.deps import DepsError, add_dependencies
from asyncfix.patches import CodeOwners, group_name, patch_file_name
from asyncfix.report import Finding

LEGACY = "import time\n\n\nasync def handler():\n    time.sleep(1)\n    return 1\n"
FIXED = "import asyncio\n\n\nasync def handler():\n    await asyncio.sleep(1)\n    return 1\n"
LOCKED = "import time\n\n\nasync def handler(lock):\n    with lock:\n        time.sleep(1)\n"
TODO = (
    "# TODO(asyncfix AF203 cbd3c8): "
    "awaiting while a thread lock is held can deadlock the event loop"
)


def invoke(*args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(
        main, [args[0], "--no-cache", *args[1:]], catch_exceptions=False
    )


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository with a committed, clean tree: what `git apply --check` needs."""
    monkeypatch.chdir(tmp_path)
    files = {
        "services/billing/api.py": LEGACY,
        "services/search/api.py": LEGACY.replace("handler", "search"),
        "libs/common/util.py": LEGACY.replace("handler", "util"),
        "manage.py": LEGACY.replace("handler", "manage"),
        "services/billing/clean.py": FIXED,
        ".github/CODEOWNERS": (
            "# owners\n*.py @org/platform\n/services/billing/ @org/billing @alice\n"
            "/services/search/ @org/search  # search team\n"
        ),
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "x")
    return tmp_path


def _git(cwd: Path, *args: str) -> str:
    if shutil.which("git") is None:
        pytest.fail("git is needed to check that the patches apply")
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# -- patches ------------------------------------------------------------------------------


def test_one_combined_patch_applies_and_equals_apply(repo: Path) -> None:
    result = invoke("apply", "--dry-run", "--patch", "out/all.patch", ".")
    assert result.exit_code == 1
    patch = (repo / "out" / "all.patch").read_text()
    assert patch == result.output  # the same diffs, in the same (path) order
    assert [line[6:] for line in patch.splitlines() if line.startswith("+++ ")] == [
        "libs/common/util.py",
        "manage.py",
        "services/billing/api.py",
        "services/search/api.py",
    ]
    _git(repo, "apply", "--check", "out/all.patch")
    _git(repo, "apply", "out/all.patch")
    assert (repo / "services/billing/api.py").read_text() == FIXED
    assert invoke("apply", "--dry-run", ".").exit_code == 0  # nothing left to do


def test_split_by_codeowners_one_patch_per_owner(repo: Path) -> None:
    result = invoke("apply", "--dry-run", "--patch-dir", "out", "--split-by", "codeowners", ".")
    assert result.exit_code == 1
    patches = sorted(p.name for p in (repo / "out").iterdir())
    assert patches == ["org-billing_alice.patch", "org-platform.patch", "org-search.patch"]
    assert _targets(repo / "out" / "org-platform.patch") == [
        "libs/common/util.py",
        "manage.py",
    ]
    assert _targets(repo / "out" / "org-billing_alice.patch") == ["services/billing/api.py"]
    for patch in patches:  # each one on its own, on the clean tree
        _git(repo, "apply", "--check", f"out/{patch}")
    for patch in patches:
        _git(repo, "apply", f"out/{patch}")
    assert invoke("apply", "--dry-run", ".").exit_code == 0


def test_split_by_top_dir(repo: Path) -> None:
    invoke("apply", "--dry-run", "--patch-dir", "out", "--split-by", "top-dir", ".")
    assert sorted(p.name for p in (repo / "out").iterdir()) == [
        "libs.patch",
        "root.patch",
        "services.patch",
    ]
    assert _targets(repo / "out" / "services.patch") == [
        "services/billing/api.py",
        "services/search/api.py",
    ]
    for patch in ("libs.patch", "root.patch", "services.patch"):
        _git(repo, "apply", "--check", f"out/{patch}")


def test_split_by_codeowners_without_codeowners(repo: Path) -> None:
    (repo / ".github" / "CODEOWNERS").unlink()
    result = invoke("apply", "--dry-run", "--patch-dir", "out", "--split-by", "codeowners", ".")
    assert "no CODEOWNERS here" in result.stderr
    assert [p.name for p in (repo / "out").iterdir()] == ["unowned.patch"]
    assert len(_targets(repo / "out" / "unowned.patch")) == 4


def test_split_by_needs_patch_dir(repo: Path) -> None:
    result = invoke("apply", "--split-by", "top-dir", ".")
    assert result.exit_code == 2
    assert "--split-by needs --patch-dir" in result.stderr
    assert (repo / "manage.py").read_text() == LEGACY.replace("handler", "manage")


def test_codeowners_rules() -> None:
    owners = CodeOwners.parse(
        "*.py @all\n/docs/ @docs\napps/ @apps\n/apps/legacy/** @old @older\nnobody/\n"
    )
    assert owners.owners("x/y.py") == ("@all",)
    assert owners.owners("docs/a.py") == ("@docs",)
    assert owners.owners("sub/docs/a.py") == ("@all",)  # anchored to the root
    assert owners.owners("apps/a.py") == ("@apps",)
    assert owners.owners("apps/legacy/a/b.py") == ("@old", "@older")  # the last match wins
    assert owners.owners("nobody/a.py") == ()
    assert group_name("nobody/a.py", "codeowners", owners) == "unowned"
    assert group_name("setup.py", "top-dir", None) == "root"
    assert patch_file_name("@org/team-a bob@example.com") == "org-team-a_bob-example.com.patch"


def _targets(patch: Path) -> list[str]:
    return [line[6:] for line in patch.read_text().splitlines() if line.startswith("+++ ")]


# -- formatting ---------------------------------------------------------------------------

LONG = (
    "import time\n\n\nasync def handler(first_delay_in_seconds, second_delay_in_seconds):\n"
    "    time.sleep(first_delay_in_seconds + second_delay_in_seconds + 0.25 * 30 - 1.5 * 2.5)\n"
)
# Black-clean as written (88 columns); the rewrite makes the call line longer than that.
assert max(len(line) for line in LONG.splitlines()) == 88


@pytest.fixture
def formatting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    asyncfix.formatting.black_table.cache_clear()
    asyncfix.formatting.ruff_config.cache_clear()
    asyncfix.formatting.configured_formatter.cache_clear()
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "clean.py").write_text(LONG)  # black-clean; the rewrite makes it too long
    (tmp_path / "messy.py").write_text(LONG.replace("import time\n", "import time\nx={'a':1}\n"))
    return tmp_path


def test_format_auto_formats_only_the_rewritten_lines(formatting: Path) -> None:
    assert invoke("apply", ".").exit_code == 0
    clean = (formatting / "clean.py").read_text()
    assert "    await asyncio.sleep(\n        first_delay_in_seconds" in clean
    messy = (formatting / "messy.py").read_text()
    assert "x={'a':1}" in messy  # no formatter in this project: its own lines stay
    # ... but the line asyncfix wrote is kept within 88 columns.
    assert "    await asyncio.sleep(\n        first_delay_in_seconds" in messy
    assert max(len(line) for line in messy.splitlines()) <= 88


def test_format_auto_follows_a_project_that_configures_black(formatting: Path) -> None:
    (formatting / "pyproject.toml").write_text("[tool.black]\nline-length = 120\n")
    assert invoke("apply", ".").exit_code == 0
    # Formatted with the project's settings (120: the long call now fits on one line) ...
    assert (
        "    await asyncio.sleep(first_delay_in_seconds + second"
        in (formatting / "clean.py").read_text()
    )
    # ... on the rewritten lines only: the project's other lines are its reviewers' business.
    assert "\nx={'a':1}\n" in (formatting / "messy.py").read_text()


def test_format_none_and_black(formatting: Path) -> None:
    assert invoke("apply", "--format", "none", "clean.py").exit_code == 0
    assert (
        "    await asyncio.sleep(first_delay_in_seconds + second"
        in (formatting / "clean.py").read_text()
    )
    assert invoke("apply", "--format", "black", "messy.py").exit_code == 0
    assert 'x = {"a": 1}' in (formatting / "messy.py").read_text()


def test_black_is_optional(formatting: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asyncfix.formatting, "_black", lambda: None)
    result = invoke("apply", "--format", "black", ".")
    assert result.exit_code == 2
    assert "pip install 'asyncfix[black]'" in result.stderr
    assert (formatting / "clean.py").read_text() == LONG
    assert invoke("apply", ".").exit_code == 0  # auto without black: written unformatted
    assert (
        "await asyncio.sleep(first_delay_in_seconds + second"
        in (formatting / "clean.py").read_text()
    )


def test_formatting_keeps_crlf_and_bom(formatting: Path) -> None:
    data = ("\ufeff" + LONG).replace("\n", "\r\n").encode()
    (formatting / "clean.py").write_bytes(data)
    assert invoke("apply", "--format", "black", "clean.py").exit_code == 0
    new = (formatting / "clean.py").read_bytes()
    assert new.startswith(b"\xef\xbb\xbfimport asyncio\r\n")
    assert b"await asyncio.sleep(\r\n" in new and b"\n" not in new.replace(b"\r\n", b"")


# -- annotations --------------------------------------------------------------------------


def test_annotate_writes_a_todo_once_and_strip_removes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    source = LOCKED + "\n\nasync def other():\n    time.sleep(2)\n"
    (tmp_path / "app.py").write_text(source)
    result = invoke("apply", "--annotate", "app.py")
    assert result.exit_code == 1  # a finding is still left for review
    annotated = (tmp_path / "app.py").read_text()
    assert annotated == (
        "import asyncio\nimport time\n\n\nasync def handler(lock):\n    with lock:\n"
        f"        {TODO}\n        time.sleep(1)\n\n\nasync def other():\n"
        "    await asyncio.sleep(2)\n"
    )
    again = invoke("apply", "--annotate", "--dry-run", "app.py")
    assert again.exit_code == 1 and again.output.count("---") == 0  # no second TODO
    stripped = invoke("apply", "--strip-annotations", ".")
    assert stripped.exit_code == 0, stripped.stderr
    assert (tmp_path / "app.py").read_text() == annotated.replace(f"        {TODO}\n", "")


def test_annotate_without_changes_and_in_a_dry_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.py").write_text(LOCKED)
    result = invoke("apply", "--annotate", "--dry-run", "app.py")
    assert result.exit_code == 1
    assert f"+        {TODO}\n" in result.output
    assert (tmp_path / "app.py").read_text() == LOCKED


def test_annotation_placement() -> None:
    finding = Finding("a.py", 4, 9, "AF203", "http_client", "m", False, "why")
    source = "import x\n\n@deco(\n    time.sleep(1))\ndef f():\n    pass\n"
    assert annotate(source, source, [finding]) == (
        "import x\n\n# TODO(asyncfix AF203 54288d): why\n@deco(\n"
        "    time.sleep(1))\ndef f():\n    pass\n"
    )
    # A line the rewrite changed is not guessed at.
    assert annotate(source, source.replace("sleep(1)", "sleep(2)"), [finding]) == (
        source.replace("sleep(1)", "sleep(2)")
    )
    fixable = Finding("a.py", 4, 9, "AF203", "http_client", "m", True, "")
    assert annotate(source, source, [fixable]) == source


def test_annotation_lines_are_python_lines() -> None:
    # A form feed is whitespace to Python, not a line break: the TODO goes above line 3.
    source = "x = 1  # \x0c page\n\nwith lock:\n    time.sleep(1)\n"
    finding = Finding("a.py", 4, 5, "AF203", "http_client", "m", False, "why")
    annotated = annotate(source, source, [finding])
    assert annotated == source.replace(
        "    time", "    # TODO(asyncfix AF203 54288d): why\n    time"
    )
    assert strip_annotations(annotated) == source
    assert annotate(annotated, annotated, [replace(finding, line=5)]) == annotated  # once


def test_strip_annotations_leaves_strings_and_other_comments() -> None:
    text = (
        f'x = """\n{TODO}\n"""\n# TODO(asyncfix): not ours\n\r\nif x:\r\n    {TODO}\r\n    pass\r\n'
    )
    assert strip_annotations(text) == (
        f'x = """\n{TODO}\n"""\n# TODO(asyncfix): not ours\n\r\nif x:\r\n    pass\r\n'
    )


def test_strip_annotations_removes_only_what_annotate_wrote() -> None:
    # Issue 20, item 9: the tag's digest is of the code and the text as asyncfix wrote them.
    ours = "    # TODO(asyncfix AF203 54288d): why\n"
    kept = [
        "    # TODO(asyncfix AF203): my own note\n",  # hand-written
        "    # TODO(asyncfix AF203 54288d): why, and more\n",  # edited since
        "    # TODO(asyncfix AF205 54288d): why\n",  # another code
        "    # TODO(asyncfix AF203 000000): why\n",  # a digest made up
    ]
    source = "if x:\n" + ours + "".join(kept) + "    time.sleep(1)\n"
    assert strip_annotations(source) == "if x:\n" + "".join(kept) + "    time.sleep(1)\n"


# -- dependencies -------------------------------------------------------------------------

_ORJSON = Rule("AF997", "fake-orjson", "s", "w", "f", "slow_dumps(1)\n", "slow_dumps(1)\n")


class _FakeOrjson(AsyncfixCodemod):
    """Rewrites `slow_dumps(x)` into `orjson.dumps(x)`: a rewrite that needs a package."""

    NAME = "fake-orjson"
    FAMILY = "serializer"
    RULES = (_ORJSON,)
    TRIGGERS = (b"slow_dumps",)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        func = original_node.func
        if not (isinstance(func, cst.Name) and func.value == "slow_dumps"):
            return updated_node
        if not self.report(original_node, "AF997", "slow"):
            return updated_node
        AddImportsVisitor.add_needed_import(self.context, "orjson")
        self.require_package("orjson")
        return updated_node.with_changes(func=cst.parse_expression("orjson.dumps"))


@pytest.fixture
def needs_orjson(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    registry = (*all_codemods(), _FakeOrjson)
    monkeypatch.setattr(asyncfix.codemods, "all_codemods", lambda: registry)
    monkeypatch.setattr(asyncfix.pipeline, "all_codemods", lambda: registry)
    (tmp_path / "app.py").write_text("def f():\n    return slow_dumps(1)\n")
    return tmp_path


PYPROJECT = textwrap.dedent(
    """\
    [project]
    name = "svc"
    dependencies = [
        'fastapi>=0.131',  # the web framework
        'httpx'
    ]

    [tool.other]
    dependencies = []
    """
)


def test_add_deps_edits_project_dependencies_in_place(needs_orjson: Path) -> None:
    (needs_orjson / "pyproject.toml").write_text(PYPROJECT)
    result = invoke("apply", "--jobs", "1", "--add-deps", ".")
    assert result.exit_code == 0, result.stderr
    assert (needs_orjson / "app.py").read_text().startswith("import orjson\n")
    assert (needs_orjson / "pyproject.toml").read_text() == PYPROJECT.replace(
        "    'httpx'\n", "    'httpx',\n    'orjson>=2.6'\n"
    )
    assert "adding to pyproject.toml: orjson>=2.6" in result.stderr
    assert "need these packages" not in result.stderr


def test_without_add_deps_the_summary_lists_them(needs_orjson: Path) -> None:
    (needs_orjson / "pyproject.toml").write_text(PYPROJECT)
    result = invoke("apply", "--jobs", "1", "--dry-run", ".")
    assert "the rewrites need these packages: orjson" in result.stderr
    assert (needs_orjson / "pyproject.toml").read_text() == PYPROJECT


def test_a_package_the_project_declares_is_not_listed(needs_orjson: Path) -> None:
    # Declared by the file's own service, not by the root: still not new.
    (needs_orjson / "pyproject.toml").write_text(PYPROJECT)
    service = needs_orjson / "svc"
    service.mkdir()
    (needs_orjson / "app.py").rename(service / "app.py")
    (service / "requirements.txt").write_text("fastapi\norjson\n")
    result = invoke("apply", "--jobs", "1", "--dry-run", "--add-deps", ".")
    assert result.exit_code == 1, result.stderr
    assert "+import orjson" in result.output
    assert "need these packages" not in result.stderr
    assert "adding to" not in result.stderr
    assert (needs_orjson / "pyproject.toml").read_text() == PYPROJECT


def test_add_deps_dry_run_shows_the_dependency_diff(needs_orjson: Path) -> None:
    (needs_orjson / "requirements.txt").write_text("fastapi\r\nhttpx")
    result = invoke("apply", "--jobs", "1", "--dry-run", "--add-deps", ".")
    assert result.exit_code == 1
    assert "+++ b/requirements.txt\n" in result.output
    assert (needs_orjson / "requirements.txt").read_bytes() == b"fastapi\r\nhttpx"
    assert invoke("apply", "--jobs", "1", "--add-deps", ".").exit_code == 0
    assert (
        needs_orjson / "requirements.txt"
    ).read_bytes() == b"fastapi\r\nhttpx\r\norjson>=2.6\r\n"


def test_add_deps_with_nowhere_to_add_is_an_error(needs_orjson: Path) -> None:
    result = invoke("apply", "--jobs", "1", "--add-deps", ".")
    assert result.exit_code == 2
    assert "add these packages yourself: orjson" in result.stderr


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("dependencies = []\n", 'dependencies = ["orjson>=2.6"]\n'),
        ('dependencies = ["a"]\n', 'dependencies = ["a", "orjson>=2.6"]\n'),
        ('dependencies = ["a",]\n', 'dependencies = ["a", "orjson>=2.6"]\n'),
        (
            'dependencies = [\n  "a[x]>=1",\n]\n',
            'dependencies = [\n  "a[x]>=1",\n  "orjson>=2.6",\n]\n',
        ),
        (
            'dependencies = [\n    "a",  # pinned\n]\n',
            'dependencies = [\n    "a",  # pinned\n    "orjson>=2.6",\n]\n',
        ),
        (
            'dependencies = [\n    "a"  # no comma\n]\n',
            'dependencies = [\n    "a",  # no comma\n    "orjson>=2.6"\n]\n',
        ),
        ('dependencies = ["ORJSON>=3"]\n', None),
    ],
)
def test_pyproject_dependency_edits(tmp_path: Path, before: str, after: str | None) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[project]\nname = 'x'\n{before}")
    edit = add_dependencies(tmp_path, {"orjson"})
    if after is None:
        assert edit is None
    else:
        assert edit is not None
        assert edit.new.decode() == f"[project]\nname = 'x'\n{after}"


def test_dynamic_dependencies_use_requirements(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\ndynamic = ['dependencies']\n")
    (tmp_path / "requirements-prod.txt").write_text("# prod\nhttpx==0.27\n")
    edit = add_dependencies(tmp_path, {"httpx", "orjson"})
    assert edit is not None and edit.path.name == "requirements-prod.txt"
    assert edit.new == b"# prod\nhttpx==0.27\norjson>=2.6\n"
    (tmp_path / "requirements-prod.txt").unlink()
    with pytest.raises(DepsError):
        add_dependencies(tmp_path, {"orjson"})
