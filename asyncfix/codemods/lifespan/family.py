"""The base of the family's codemods: the plan they share, and this file's entry of it
(their prescreens judge the same entry in `screen`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from asyncfix.codemods.base import AsyncfixCodemod
from asyncfix.codemods.lifespan.plan import compute_plan, family_plan
from asyncfix.codemods.lifespan.screen import digest, has_work
from asyncfix.codemods.shared.app_events import PLAN_TOKENS
from asyncfix.codemods.shared.pool_options import configured_options
from asyncfix.config import Config
from asyncfix.files import SourceFile
from asyncfix.index import ProjectIndex


class LifespanCodemod(AsyncfixCodemod):
    FAMILY = "lifespan"
    # compute_plan: an entry for every module of index.modules(*PLAN_TOKENS), and for a
    # module using a client of one of them only when that module is given too (the
    # client's module and its users change together, or none does).
    PLAN_REACH = PLAN_TOKENS

    @classmethod
    def check_config(cls, config: Config) -> None:
        configured_options(config)

    @classmethod
    def plan(cls, index: ProjectIndex, config: Config) -> Mapping[str, Any] | None:
        return family_plan(index, config)

    def entry(self) -> Mapping[str, Any] | None:
        """This file's share of the project plan. Without a plan (one file processed on
        its own) the file is the whole project. A plan made for other bytes (the driver's
        second, verifying run) means there is nothing left to do."""
        cache = vars(self.run)  # one answer per file for all the codemods of the family
        if "_lifespan_entry" not in cache:
            cache["_lifespan_entry"] = self._compute_entry()
        entry: Mapping[str, Any] | None = cache["_lifespan_entry"]
        return entry

    def _compute_entry(self) -> Mapping[str, Any] | None:
        planned = self.planned
        if planned is not None and not has_work(planned):
            return None  # planned, with nothing to do here: no need to check the bytes
        data = self.run.bytes_of(self.run.original)
        if planned is None:
            file = SourceFile(Path(self.run.path), self.run.path)
            index = ProjectIndex([file], {file.display: data})
            if index.module(file) is None:
                return None
            return compute_plan(index, self.run.config).get(self.run.path)
        if planned.get("digest") != digest(data):
            return None
        return dict(planned)
