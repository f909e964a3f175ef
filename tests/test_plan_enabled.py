"""The driver tells a plan which rules the run enables, so no family asks the registry."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from asyncfix.codemods.async_def import AF601
from asyncfix.codemods.base import AsyncfixCodemod
from asyncfix.config import Config
from asyncfix.driver import Pipeline
from asyncfix.files import SourceFile
from asyncfix.index import ProjectIndex
from asyncfix.planning import plan_each


class _Told(AsyncfixCodemod):
    NAME = "test-told"
    FAMILY = "async_def"
    RULES = (AF601,)

    @classmethod
    def plan(
        cls, index: ProjectIndex, config: Config, enabled: Collection[str] | None = None
    ) -> Mapping[str, Any] | None:
        return {"enabled": None if enabled is None else sorted(enabled)}


class _NotTold(AsyncfixCodemod):
    # A plan of two parameters (lifespan's, today) still runs, without the rules.
    NAME = "test-not-told"
    FAMILY = "async_def"
    RULES = (AF601,)

    @classmethod
    def plan(cls, index: ProjectIndex, config: Config) -> Mapping[str, Any] | None:
        return {"called": True}


def test_the_driver_passes_the_enabled_rules_to_a_plan_that_takes_them(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("async def f():\n    return 1\n")
    files = [SourceFile(source, "m.py")]
    config = Config(select=("AF5", "AF601"), ignore=("AF502",))
    pipeline = Pipeline(config, codemods=[_Told, _NotTold])
    plans = plan_each(pipeline, pipeline.planners(), files)
    assert plans[_Told.NAME] == {"enabled": sorted(pipeline.enabled)}
    assert "AF501" in pipeline.enabled and "AF502" not in pipeline.enabled
    assert plans[_NotTold.NAME] == {"called": True}
