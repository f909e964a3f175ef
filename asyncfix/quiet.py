"""Runs that no codemod can act on, told from the registry's manifest without importing a
codemod (nor libcst, about 0.4 s): a file named on the command line, as pre-commit gives
it, that holds nothing any rule looks for. See docs/architecture.md, "Speed"."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

from asyncfix.codemods.catalog import Entry, may_plan, planner_of, selected, wanted
from asyncfix.config import Config
from asyncfix.files import SourceError, SourceFile, check_named, check_text, decode
from asyncfix.parsing import guard_depth

if TYPE_CHECKING:
    from asyncfix.index import Cached


def codemod_free(
    config: Config,
    enabled: frozenset[str],
    files: Sequence[SourceFile],
    contents: Mapping[str, bytes | SourceError],
    max_bytes: int,
    every: Sequence[SourceFile] | None = None,
    given: Collection[str] | None = None,
    cached: Cached | None = None,
) -> bool:
    """Would the selected codemods neither plan anything for `files` nor act on any of
    them? (`every`: the project's files, when more than `files`; `contents`: their bytes;
    `given`: the files the run was given when not all of them; `cached`: the facts an
    earlier run made, looked up as the plans ask, see ProjectIndex.) Then
    `Pipeline(config, ())` gives the very outcomes of the full registry. False whenever in
    doubt; for a file over `max_bytes` that would need Python's parse too (the full run
    parses such files apart).

    Besides the plans (their gates and reach, else their PLANNER) and the files (the
    pipeline's own steps, below), a family's options: only its class checks them, so a
    configuration with any is asked the full registry."""
    codemods = selected(enabled)
    if any(config.families.values()):
        return False
    project = [d for d in contents.values() if isinstance(d, bytes)]
    held = None if given is None else [d for p in given if isinstance(d := contents.get(p), bytes)]
    planners = may_plan(codemods, project, held)
    if any(entry.planner is None for entry in planners):
        return False  # (a plan only its class makes)
    for file in files:
        data = contents[file.display]
        if not isinstance(data, bytes):
            continue  # reported as it is
        if not _settled(file, data, config, enabled, codemods, max_bytes):
            return False
    return not planners or not _planned(
        planners, config, every or files, contents, given, files, cached
    )


def _planned(
    planners: Sequence[Entry],
    config: Config,
    every: Sequence[SourceFile],
    contents: Mapping[str, bytes | SourceError],
    given: Collection[str] | None,
    files: Sequence[SourceFile],
    cached: Cached | None,
) -> bool:
    """Does the plan of one of `planners` name one of `files`? Each made by its PLANNER as
    planning.plan_each makes it, on an index of its own (the facts are the same)."""
    from asyncfix.index import ProjectIndex, forget, use_layout
    from asyncfix.planning import sealed_tests

    use_layout(config.layout)
    index = ProjectIndex(every, contents, given, cached)
    outside = sealed_tests(index, every, config)
    try:
        for entry in planners:
            plan = planner_of(entry)(index if entry.in_tests else outside, config) or {}
            if any(file.display in plan for file in files):
                return True
        return False
    finally:
        forget()  # (its trees: the run goes on without them)


def _settled(
    file: SourceFile,
    data: bytes,
    config: Config,
    enabled: frozenset[str],
    codemods: list[Entry],
    max_bytes: int,
) -> bool:
    """Does the pipeline finish this file with no codemod and no libcst parse? Its steps
    in order (Pipeline.triage, then Pipeline._rewrite_file), without a plan."""
    from asyncfix.codemods.view import SourceView

    try:
        check_text(data)
        check_named(file, data)
    except SourceError:
        return True  # reported as it is
    matching = [e for e in codemods if e.may_match(data)]
    if (not matching and not file.named) or config.too_large(data):
        return True
    if len(data) > max_bytes:
        return False
    try:
        decode(data)
        tree = guard_depth(data)
    except SourceError:
        return True
    if tree is None:
        return False  # Python's parser could not read it: libcst's decides
    in_tests = config.in_test_code(file.display)
    wanting = [e for e in matching if e.in_tests or not in_tests]
    if not wanting:
        return True
    view = SourceView(file.display, data, tree, config, enabled, {})
    return not wanted(wanting, view)
