"""What a file's prescreens say before the plans are made, from the worker that indexes it.

That worker holds the module's stdlib ast; the worker that rewrites the file later used to
parse it again only to ask the prescreens, and most files then turn out to need nothing
(see docs/architecture.md, "Speed"). So the indexing worker notes, per codemod that may
look at the file, either its prescreen's answer with no plan for the file (a prescreen
reads no plan but its own codemod's), or, for a codemod that is planned on most files, the
part of its prescreen that reads only the file (`SPLITS`). The rewriting worker parses
again only when a note cannot say "no" for every codemod its plans and bytes bring in;
forgotten-await's part also says where the module's statements are, so that its walk
parses only the statements that span a candidate line (`Split.walk`).

A note travels with the task, never into the result cache: it is a verdict of this run's
codemods and configuration. Imports no libcst.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from asyncfix.codemods.awaits import screen as awaits
from asyncfix.codemods.lifespan import screen as lifespan
from asyncfix.codemods.view import Screen, SourceView
from asyncfix.files import SourceFile
from asyncfix.index import index_module

__all__ = ["SPLITS", "ScreenNote", "Split"]


@dataclass(frozen=True)
class ScreenNote:
    """A file's prescreens before its plans (see the module's text)."""

    # codemod name -> its prescreen's answer on the file with no plan for it
    verdicts: Mapping[str, bool]
    # codemod name -> what its split prescreen reads of the file (`Split.part`)
    parts: Mapping[str, Any]


class Split(NamedTuple):
    """A prescreen in two: `part` reads the file's tree and no plan; `says`, given the
    file's path, its bytes, the codemod's plan for it (None: none) and the part, answers
    as the prescreen would, without the tree (True where it cannot rule the file out).
    `walk`, given the same, where `says` could not rule the file out: the prescreen's own
    answer, from the part and what it parses of the bytes itself (None: only the tree
    tells)."""

    part: Callable[[SourceView], Any]
    says: Callable[[str, bytes, Any, Any], bool]
    walk: Callable[[str, bytes, Any, Any], bool | None] | None = None


def _forgotten_sites(view: SourceView) -> awaits.SiteLines | None:
    info = index_module(SourceFile(Path(view.path), view.path), view.source, view.tree)
    return None if info is None else awaits.site_lines(info, view.tree)


def _lifespan(says: Callable[[bool, Mapping[str, Any], lifespan.Shapes], bool]) -> Split:
    def answer(path: str, source: bytes, plan: Any, shapes: Any) -> bool:
        return says(*lifespan.plan_entry(plan, source), lambda: shapes)

    return Split(lifespan.shapes_of, answer)


# By prescreen (a codemod's SCREEN): those planned on most files of a FastAPI project.
SPLITS: dict[Screen, Split] = {
    awaits.screen_forgotten_await: Split(
        _forgotten_sites, awaits.may_have_candidate, awaits.screen_without_tree
    ),
    lifespan.screen_on_event: _lifespan(lifespan.on_event_says),
    lifespan.screen_import_time_client: _lifespan(lifespan.import_time_client_says),
    lifespan.screen_per_call_client: _lifespan(lifespan.per_call_client_says),
    lifespan.screen_dispose_engine: _lifespan(lifespan.dispose_engine_says),
}
