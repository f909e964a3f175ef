"""Family `async_def`: options, the cross-file plan and its consistency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from asyncfix.codemods.async_def import AF601, AsyncWithoutAwait
from asyncfix.codemods.shared.async_def_facts import Walked, may_name_framework
from asyncfix.codemods.shared.async_def_plan import Planner
from asyncfix.config import Config, ConfigError
from asyncfix.driver import Pipeline, run
from asyncfix.files import SourceFile, discover
from asyncfix.index import ProjectIndex

UTIL = "async def _fmt(x):\n    return str(x).upper()\n"
CALLER = "from .util import _fmt\n\n\nasync def show(send):\n    await send(await _fmt(1))\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "util.py").write_text(UTIL)
    (pkg / "caller.py").write_text(CALLER)
    return tmp_path


def _changes(config: Config) -> dict[str, bytes]:
    result = run([Path(".")], config, jobs=1)
    assert not result.errors, result.errors
    return {o.file.display: o.new for o in result.outcomes if o.new is not None}


def test_converts_across_files(project: Path) -> None:
    changed = _changes(Config(select=("AF601",)))
    assert changed == {
        "pkg/util.py": UTIL.replace("async def", "def").encode(),
        "pkg/caller.py": CALLER.replace("await _fmt", "_fmt").encode(),
    }


def test_a_suppressed_call_site_elsewhere_keeps_everything(project: Path) -> None:
    (project / "pkg" / "caller.py").write_text(
        CALLER.replace("(1))\n", "(1))  # asyncfix: ignore[AF601]\n")
    )
    assert _changes(Config(select=("AF601",))) == {}


def test_a_use_elsewhere_that_is_not_awaited_keeps_everything(project: Path) -> None:
    (project / "pkg" / "jobs.py").write_text(
        "import asyncio\n\nfrom .util import _fmt\n\n\nasync def later():\n"
        "    return asyncio.create_task(_fmt(2))\n"
    )
    result = run([Path(".")], Config(select=("AF601",)), jobs=1)
    assert not [o for o in result.outcomes if o.new is not None]
    [finding] = result.findings
    assert finding.path == "pkg/util.py" and not finding.fixable
    assert "pkg/jobs.py:7" in finding.reason


def test_a_dropped_call_blocks_the_conversion_unless_af501_runs(project: Path) -> None:
    (project / "pkg" / "caller.py").write_text(CALLER + "\n\nasync def fire():\n    _fmt(3)\n")
    alone = run([Path(".")], Config(select=("AF601",)), jobs=1)
    assert not [o for o in alone.outcomes if o.new is not None]
    assert [f.code for f in alone.findings] == ["AF601"] and not alone.findings[0].fixable
    # With AF501 the call would get an await; AF601 makes it a def instead, and the dropped
    # call simply runs. A second run changes nothing.
    both = _changes(Config(select=("AF501", "AF601")))
    assert both["pkg/caller.py"].endswith(b"    _fmt(3)\n")
    assert both["pkg/util.py"].startswith(b"def _fmt")
    for path, data in both.items():
        Path(path).write_bytes(data)
    assert _changes(Config(select=("AF501", "AF601"))) == {}


def test_files_the_project_does_not_change_are_not_planned(project: Path) -> None:
    # A verdict the file reaches on its own is re-derived by the transformer, so that the
    # file stays cacheable; only cross-file verdicts are planned.
    (project / "pkg" / "public.py").write_text("async def shown():\n    return 1\n")
    files, _ = discover([Path(".")])
    plan = AsyncWithoutAwait.plan(ProjectIndex(files), Config(select=("AF601",)), {"AF601"})
    assert plan is not None
    # util.py alone already decides to convert _fmt; only caller.py needs the project.
    assert set(plan) == {"pkg/caller.py"}
    assert plan["pkg/caller.py"]["names"] == ["_fmt"]
    # A use elsewhere that forbids the conversion: now util.py needs the plan too.
    (project / "pkg" / "jobs.py").write_text("from .util import _fmt\n\nHANDLERS = [_fmt]\n")
    files, _ = discover([Path(".")])
    plan = AsyncWithoutAwait.plan(ProjectIndex(files), Config(select=("AF601",)), {"AF601"})
    assert plan is not None and set(plan) == {"pkg/util.py"}
    assert "_fmt" in plan["pkg/util.py"]["refuse"]


def test_a_planned_function_that_awaits_after_other_fixes_is_not_converted() -> None:
    # The plan rules this out; should it happen, the def stays and a finding says so.
    plan = {
        "convert": ["_f"],
        "refuse": {},
        "names": [],
        "methods": [],
        "dropped": [],
        "dropped_methods": [],
    }
    source = b"async def _f(x):\n    await x\n"
    outcome = Pipeline(Config(select=("AF601",))).process(
        SourceFile(Path("m.py"), "m.py"), source, plans={AsyncWithoutAwait.NAME: plan}
    )
    assert outcome.new is None
    [finding] = outcome.findings
    assert not finding.fixable and "please report" in finding.reason


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"closed_world": True}, "unknown key 'closed_world'"),
        ({"closed-world": "yes"}, "closed-world must be true or false"),
    ],
)
def test_options_are_validated(project: Path, options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        run([Path(".")], Config(families={"async_def": options}), jobs=1)


def test_closed_world_converts_public_names(project: Path) -> None:
    (project / "pkg" / "util.py").write_text(UTIL.replace("_fmt", "fmt"))
    (project / "pkg" / "caller.py").write_text(CALLER.replace("_fmt", "fmt"))
    assert _changes(Config(select=("AF601",))) == {}
    closed = _changes(Config(select=("AF601",), families={"async_def": {"closed-world": True}}))
    assert set(closed) == {"pkg/util.py", "pkg/caller.py"}


def test_explain_says_why_fastapi_functions_stay_async() -> None:
    assert "thread pool" in AF601.why and "FastAPI" in AF601.why


def test_each_module_is_walked_once_for_all_targets_and_let_go(project: Path) -> None:
    # Two targets used in the same modules: each module is walked once, for both, and the
    # walk (it keeps the whole tree) goes when they are done with it; the targets' own
    # modules stay for their one-file plans. Every use is still found.
    (project / "pkg" / "util.py").write_text(UTIL + "\n\n" + UTIL.replace("_fmt", "_low"))
    for name in ("a", "b"):
        (project / "pkg" / f"{name}.py").write_text(
            f"from .util import _fmt, _low\n\n\nasync def show_{name}(send):\n"
            "    await send(await _fmt(1), await _low(2))\n"
        )
    files, _ = discover([Path(".")], ())
    walks: list[str] = []
    real = Walked.__init__

    def counted(self: Walked, tree: ast.Module) -> None:
        walks.append(
            next(
                f.display
                for f in files
                if ast.dump(ast.parse(f.path.read_bytes())) == ast.dump(tree)
            )
        )
        real(self, tree)

    planner = Planner(ProjectIndex(files), Config(select=("AF601",)), {"AF601"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Walked, "__init__", counted)
        plan = planner.plan()
    assert sorted(walks) == sorted(set(walks)) and {"pkg/a.py", "pkg/b.py"} <= set(walks)
    assert set(planner._walked) == {"pkg/util.py"}
    assert {path: sorted(entry["names"]) for path, entry in plan.items() if entry["names"]} == {
        "pkg/a.py": ["_fmt", "_low"],
        "pkg/b.py": ["_fmt", "_low"],
        "pkg/caller.py": ["_fmt"],
    }


def _fullwidth(word: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in word)


@pytest.mark.parametrize(
    ("source", "may"),
    [
        ("x = helper()\n", False),
        ("# 注释\nx = helper()\n", False),  # non-ASCII bytes, no framework word
        ("from fastapi import Depends\n", True),
        (f"from fastapi import {_fullwidth('Depends')}\n", True),  # Python reads `Depends`
        ("x = 1  # asyncfix: ignore\n", True),
    ],
)
def test_a_framework_use_is_looked_for_only_where_the_source_may_name_one(
    source: str, may: bool
) -> None:
    assert may_name_framework(source.encode()) is may
