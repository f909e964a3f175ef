"""The contract every asyncfix codemod follows.

A codemod is a libcst transformer that belongs to a family, owns one or more rule codes,
declares which codemods it must run after and which byte tokens a file must contain for it
to possibly match. The driver runs all selected codemods, in order, on ONE parse of a file.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import libcst as cst
from libcst.codemod import Codemod, CodemodContext
from libcst.metadata import (
    CodePosition,
    CodeRange,
    MetadataWrapper,
    PositionProvider,
)

from asyncfix.codemods.speed.metadata import FastWrapper, is_statement
from asyncfix.codemods.speed.metadata import child_nodes as child_nodes
from asyncfix.codemods.speed.metadata import function_defs as function_defs
from asyncfix.codemods.speed.positions import FileCaches
from asyncfix.codemods.speed.traversal import fast_visits, hooked_bits, hooks_for, skip_when_like
from asyncfix.codemods.view import SourceView
from asyncfix.config import Config
from asyncfix.report import Finding
from asyncfix.suppressions import parse_suppressions as parse_suppressions
from asyncfix.suppressions import silences
from asyncfix.versions import declares

if TYPE_CHECKING:
    from asyncfix.index import ProjectIndex

_NodeT = TypeVar("_NodeT", bound=cst.CSTNode)


@dataclass(frozen=True)
class Rule:
    """A stable rule code with the texts `asyncfix list` and `asyncfix explain` show.

    `before` and `after` are a complete example; a test runs the codemod on `before` and
    expects exactly `after` (equal to `before` for report-only rules), so they cannot rot.
    """

    code: str
    name: str
    summary: str
    why: str
    fix: str
    before: str
    after: str
    # The fix touches only the file where the site is (and its imports), so the fixit
    # bridge may offer it to `fixit fix`; structural rewrites leave it False and report,
    # pointing to `asyncfix apply`.
    local_fix: bool = False
    # More code the rule must leave alone (fixit VALID examples, tested like before/after).
    valid: tuple[str, ...] = ()


@dataclass
class FileRun(FileCaches):
    """What the codemods of one pipeline run over one file share. Its per-file caches
    (`syntax_tree`, `bytes_of`, `wrapper`, `original_line`, `original_position`) live in
    the speed layer, `asyncfix.codemods.speed.positions.FileCaches`."""

    path: str
    original: cst.Module
    config: Config
    enabled: frozenset[str]  # rule codes selected for this run
    code_families: Mapping[str, str]  # rule code -> family, for suppression selectors
    suppressions: dict[int, frozenset[str] | None] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    packages: set[str] = field(default_factory=set)
    result: cst.Module | None = None  # the rewritten module, set by the driver
    source: bytes = b""  # the bytes `original` was parsed from
    parsed_ast: ast.Module | None = None  # their stdlib ast, when the driver already has it
    # Each planning codemod's instructions for this file (see AsyncfixCodemod.plan).
    plans: Mapping[str, Any] = field(default_factory=dict)
    # The node each finding was reported at, for the fixit bridge (asyncfix.rules).
    sites: dict[Finding, cst.CSTNode] = field(default_factory=dict)
    # Fixable findings whose fix is not local to the site (see AsyncfixCodemod.report).
    structural: set[Finding] = field(default_factory=set)

    def suppressed(self, code: str, lines: tuple[int, ...]) -> bool:
        return silences(self.suppressions, code, self.code_families.get(code, ""), lines)


def visit_with_metadata(
    transformer: Codemod, module: cst.Module, run: FileRun | None = None
) -> cst.Module:
    """Run a libcst codemod transformer with its metadata resolved on `module` itself.

    libcst's `Codemod.transform_module` first deep-copies the tree; nodes are immutable
    and we parse each file once, so the copy is pure cost. `run`: the file's, for a
    transformer that is not a codemod of ours (libcst's import visitors): its metadata
    then comes from the run's wrapper of the tree, as the codemods' does.
    """
    run = getattr(transformer, "run", run)
    if isinstance(run, FileRun):
        wrapper = run.wrapper(module)
    else:
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    transformer.context = replace(transformer.context, wrapper=wrapper)
    with fast_visits(), transformer.resolve(wrapper):
        if isinstance(wrapper, FastWrapper) and hooked_bits(type(transformer)) is not None:
            # Most nodes hold nothing a codemod (or libcst's import visitors) hooks: the
            # visits of this tree leave those subtrees be (see traversal._skip_below).
            wrapper.kinds()
        return module.visit(transformer)  # type: ignore[arg-type]


class AsyncfixCodemod(Codemod, cst.CSTTransformer):
    """Base class of every codemod. Subclasses set the class attributes below.

    A libcst Codemod on a plain CSTTransformer: libcst's matcher-decorated transformer
    scans every method at construction and checks matchers at every node, a cost paid per
    file and per codemod for decorators we do not use (match with libcst.matchers inside).
    """

    NAME: ClassVar[str]
    FAMILY: ClassVar[str]
    RULES: ClassVar[tuple[Rule, ...]]
    # Codemod names or family names this one must run after; "*" means every codemod that
    # does not itself say "*".
    AFTER: ClassVar[tuple[str, ...]] = ()
    # Does it run on test code (`Config.in_test_code`)? Only the codemods that fix bugs do
    # by default: a faster test suite is no gain worth a reviewer's time.
    IN_TESTS: ClassVar[bool] = False
    # Byte strings that must ALL occur in a file for this codemod to possibly match.
    TRIGGERS: ClassVar[tuple[bytes, ...]] = ()
    # ...and at least one of these, when there are any (a byte rule stated as data, so the
    # registry's manifest can ask it without importing the codemod).
    TRIGGERS_ANY: ClassVar[tuple[bytes, ...]] = ()
    # The rough cost of `plan` next to other codemods' (seconds per 100k lines, one core,
    # over the four projects of bench/corpora/big, the index's facts at hand as a planning
    # child has them): the driver deals the plans out to processes by it. A plan that
    # reuses its family's scan costs next to nothing.
    PLAN_COST: ClassVar[float] = 0.01
    # Modules `plan` indexes whatever it finds: every one whose bytes hold one of these.
    # The driver has them indexed in parallel before the plans are made (see workers.index_apart).
    INDEXES: ClassVar[tuple[bytes, ...]] = ()
    # A run given some of a project's files (a pre-commit hook's) reports on those alone:
    # `plan` names one of them only if one of them holds one of these tokens (read off the
    # plan's code, as the manifest's gates are). The driver makes no plan that cannot name
    # a given file. None: not known, always made.
    PLAN_REACH: ClassVar[tuple[bytes, ...] | None] = None
    # Its prescreen, a function in a module that does not import libcst (see prescreen).
    SCREEN: ClassVar[staticmethod[[SourceView], bool] | None] = None
    # Its plan, when that is a function of (index, config) in a module that does not
    # import libcst (see plan): the manifest names it, so that a run can make it without
    # importing the codemods (asyncfix/quiet.py).
    PLANNER: ClassVar[staticmethod[[ProjectIndex, Config], Mapping[str, Any] | None] | None] = None

    def __init__(self, context: CodemodContext, run: FileRun) -> None:
        super().__init__(context)
        self.run = run
        self._statements: list[cst.CSTNode] = []
        # Changes made so far, and their count when each node now open was entered: a node
        # none of whose descendants changed is handed back as the original object.
        self._changes = 0
        self._changes_at_visit: list[int] = []
        self._module: cst.Module | None = None
        self._current_positions: Mapping[cst.CSTNode, CodeRange] | None = None

    @classmethod
    def codes(cls) -> tuple[str, ...]:
        return tuple(rule.code for rule in cls.RULES)

    @classmethod
    def may_match(cls, data: bytes) -> bool:
        return all(token in data for token in cls.TRIGGERS) and (
            not cls.TRIGGERS_ANY or any(token in data for token in cls.TRIGGERS_ANY)
        )

    @classmethod
    def check_config(cls, config: Config) -> None:
        """Raise ConfigError for a wrong option in this codemod's `[tool.asyncfix.<family>]`
        table. Called once per run for every selected codemod, before any file is read, so a
        typo is a usage error (exit 2), never a per-file failure."""

    @classmethod
    def plan(cls, index: ProjectIndex, config: Config) -> Mapping[str, Any] | None:
        """Decide cross-file work for the WHOLE project before any file is rewritten.

        Returns display path -> this codemod's instructions for that file (picklable; the
        transformer reads them as `self.planned`). A planned file is processed even when
        its bytes hold none of TRIGGERS. Files are rewritten in parallel, so a change that
        spans files is decided here, once; a change that cannot be completed in every file
        it needs is planned nowhere (the transformer reports a finding instead).
        The default, None, means the codemod works file by file.

        A plan that depends on which rules run declares a third parameter,
        `enabled: Collection[str] | None = None`: the driver passes the run's rule codes
        (None: a direct call, as if every rule ran), so no family asks the registry.

        Without libcst (a function of a module that does not import it), name it as the
        class's `PLANNER` instead (`PLANNER = staticmethod(my_plan)`).
        """
        return None if cls.PLANNER is None else cls.PLANNER(index, config)

    @classmethod
    def prescreen(cls, view: SourceView) -> bool:
        """Could this codemod change or report anything in the file? Asked on the stdlib
        ast of the bytes as read, BEFORE libcst parses them (a libcst parse costs ~15 ast
        parses; a walk with scope metadata several more).

        Must be conservative: False promises that `transform` of the unchanged file would
        neither change the tree nor report a finding. The driver does not parse a file
        for which every codemod says False, and skips a codemod that says False unless an
        earlier codemod has changed the tree (what it then sees is not what was screened).
        `view.plans.get(cls.NAME)` is this codemod's plan for the file.

        Write it as a function in a module that does not import libcst and name it as the
        class's `SCREEN` (`SCREEN = staticmethod(my_screen)`): the registry's manifest then
        asks it without importing the codemod. Without a SCREEN, True.
        """
        return True if cls.SCREEN is None else cls.SCREEN(view)

    @property
    def planned(self) -> Any:
        return self.run.plans.get(self.NAME)

    def screen(self, module: cst.Module) -> bool:
        """A cheap check on the tree before metadata is resolved; False skips the file."""
        return True

    def transform(self, module: cst.Module) -> cst.Module:
        if not self.screen(module):
            return module
        self._module = module
        return visit_with_metadata(self, module)

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        return self.transform(tree)  # libcst's Codemod entry point, for libcst's own tools

    # -- where we are ------------------------------------------------------------------

    def on_visit(self, node: cst.CSTNode) -> bool:
        if is_statement(node):
            self._statements.append(node)
        self._changes_at_visit.append(self._changes)
        # libcst's CSTTransformer.on_visit, minus its per-node name lookup.
        visit = hooks_for(self, node).visit
        return visit is None or visit(self, node) is not False

    def on_leave(
        self, original_node: _NodeT, updated_node: _NodeT
    ) -> _NodeT | cst.RemovalSentinel | cst.FlattenSentinel[_NodeT]:
        if is_statement(original_node):
            self._statements.pop()
        unchanged_below = self._changes_at_visit.pop() == self._changes
        leave = hooks_for(self, original_node).leave
        result = updated_node if leave is None else leave(self, original_node, updated_node)
        if result is not updated_node:
            self._changes += 1
        elif unchanged_below:
            # libcst rebuilds every node it visits; an equal copy would make the driver
            # compare whole trees and resolve their metadata again. The original it is.
            return original_node
        return result

    def _position(self, node: cst.CSTNode) -> CodeRange | None:
        statements = self._statements
        found = self.run.original_position(
            node, statements[0] if statements else None, statements[1:]
        )
        if found is not None:
            return found
        # A node of a tree an earlier codemod rewrote: its position there, with the line
        # mapped back to the file as the user wrote it (earlier rewrites may shift lines).
        if self._module is None:
            return None
        if self._current_positions is None:
            self._current_positions = self.run.wrapper(self._module).resolve(PositionProvider)
        current = self._current_positions.get(node)
        if current is None:
            return None
        start = self.run.original_line(self._module, current.start.line)
        end = start + current.end.line - current.start.line
        return CodeRange(
            CodePosition(start, current.start.column), CodePosition(end, current.end.column)
        )

    # -- findings ------------------------------------------------------------------------

    def enabled(self, code: str) -> bool:
        return code in self.run.enabled

    def report(
        self,
        node: cst.CSTNode,
        code: str,
        message: str,
        *,
        reason: str | None = None,
        structural: bool = False,
    ) -> bool:
        """Record a finding at `node` (from the tree this codemod was given).

        Without `reason` the site is fixable and True means "make the fix". With a reason
        it is left for manual review. Unselected or suppressed codes record nothing and
        return False, so neither the fix nor the finding happens. `structural=True` marks
        a fix that reaches beyond the site (a lifespan resource, another module) in a rule
        whose fix is otherwise local: the fixit bridge then reports it without a fix.
        """
        if not self.enabled(code):
            return False
        where = self._position(node)
        line, column = (where.start.line, where.start.column + 1) if where else (1, 1)
        lines = [line]
        if self._statements:
            stmt = self._position(self._statements[-1])
            if stmt is not None:
                lines.append(stmt.start.line)
        if self.run.suppressed(code, tuple(lines)):
            return False
        finding = Finding(
            path=self.run.path,
            line=line,
            column=column,
            code=code,
            family=self.FAMILY,
            message=message,
            fixable=reason is None,
            reason=reason or "",
        )
        self.run.findings.append(finding)
        self.run.sites[finding] = node
        if structural:
            self.run.structural.add(finding)
        return reason is None

    def require_package(self, name: str) -> None:
        """A third-party package the rewritten code now imports; one the file's project
        already declares is not listed (the summary and `--add-deps` name what is new)."""
        if not declares(self.run.config, name, self.run.path):
            self.run.packages.add(name)


# Its on_visit/on_leave keep a statement stack and a change count, balanced per node: a
# subtree with nothing it hooks may be left unvisited.
skip_when_like(AsyncfixCodemod)
