"""The contract every asyncfix codemod follows.

A codemod is a libcst transformer that belongs to a family, owns one or more rule codes,
declares which codemods it must run after and which byte tokens a file must contain for it
to possibly match. The driver runs all selected codemods, in order, on ONE parse of a file.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

import libcst as cst
from libcst.codemod import Codemod, CodemodContext
from libcst.metadata import (
    CodePosition,
    CodeRange,
    ExpressionContext,
    ExpressionContextProvider,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    QualifiedName,
    QualifiedNameProvider,
    Scope,
    ScopeProvider,
)

from asyncfix import syntax
from asyncfix.codemods.traversal import fast_visits, field_nodes, hooks_for, visit_order
from asyncfix.config import Config
from asyncfix.report import Finding
from asyncfix.suppressions import parse_suppressions as parse_suppressions

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


@dataclass(frozen=True)
class SourceView:
    """What a prescreen sees: one file before libcst parses it (see
    AsyncfixCodemod.prescreen). `tree` is the stdlib ast of `source`, which the driver
    already made for its depth guard."""

    path: str
    source: bytes
    tree: ast.Module
    config: Config
    enabled: frozenset[str]  # rule codes selected for this run
    plans: Mapping[str, Any] = field(default_factory=dict)  # codemod name -> its plan here


@dataclass
class FileRun:
    """What the codemods of one pipeline run over one file share."""

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
    _positions: Mapping[cst.CSTNode, CodeRange] | None = None
    # Positions of single top-level statements, with the lines to add (see original_position).
    _statement_positions: dict[int, tuple[Mapping[cst.CSTNode, CodeRange], int]] = field(
        default_factory=dict
    )
    _first_lines: dict[int, int] | None = None
    _source_lines: list[bytes] | None = None
    # Metadata resolved per tree: a codemod that changes nothing hands the same tree to the
    # next one (see Pipeline.rewrite), which then reuses its scopes instead of recomputing.
    _wrappers: dict[int, tuple[cst.Module, MetadataWrapper]] = field(default_factory=dict)
    _syntax_tree: ast.Module | Literal[False] | None = None
    _line_maps: dict[int, tuple[cst.Module, dict[int, int]]] = field(default_factory=dict)
    _codes: dict[int, tuple[cst.Module, bytes]] = field(default_factory=dict)

    def syntax_tree(self) -> ast.Module | None:
        """The stdlib `ast` of the source, parsed once per file and shared: a screen that
        walks it is many times cheaper than one that walks the libcst tree."""
        if self._syntax_tree is None and self.parsed_ast is not None:
            self._syntax_tree = self.parsed_ast
        if self._syntax_tree is None:
            try:
                # A run made without its bytes (a plan replaying codemods) has the tree.
                self._syntax_tree = syntax.parse(self.source or self.original.code)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                self._syntax_tree = False
        return self._syntax_tree or None

    def bytes_of(self, module: cst.Module) -> bytes:
        """The module's bytes: the file's own for the tree as parsed (libcst round-trips
        exactly), else made once per tree (a codegen costs about a fifth of a parse)."""
        if module is self.original and self.source:
            return self.source
        if id(module) not in self._codes:
            self._codes[id(module)] = (module, module.bytes)
        return self._codes[id(module)][1]

    def wrapper(self, module: cst.Module) -> MetadataWrapper:
        if id(module) not in self._wrappers:
            self._wrappers[id(module)] = (module, _Wrapper(module, unsafe_skip_copy=True))
        return self._wrappers[id(module)][1]

    def original_line(self, module: cst.Module, line: int) -> int:
        """A line of `module` (a rewritten tree) -> the line the user wrote it at, through
        a line diff; lines a rewrite inserted map to where they were inserted."""
        if module is self.original:
            return line
        if id(module) not in self._line_maps:
            self._line_maps[id(module)] = (module, _map_lines(self.original.code, module.code))
        return self._line_maps[id(module)][1].get(line, line)

    def original_position(
        self, node: cst.CSTNode, statement: cst.CSTNode | None = None
    ) -> CodeRange | None:
        """`node`'s position in the original tree. `statement`: the top-level statement
        that holds it, when the caller knows: then only that statement's positions are
        made, not the whole module's (each takes a codegen of what it covers)."""
        # Positions are resolved on the original tree, lazily: only a file with a finding
        # pays for them, and findings point at the lines the user actually wrote.
        if self._positions is None and statement is None:
            statement = self._top_statement(node)
        if self._positions is None and statement is not None:
            found = self._statement_position(node, statement)
            if found is not None:
                return found
        if self._positions is None:
            wrapper = MetadataWrapper(self.original, unsafe_skip_copy=True)
            self._positions = wrapper.resolve(PositionProvider)
        return self._positions.get(node)

    def _top_statement(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The original tree's top-level statement that holds `node` (a finding reported
        outside a codemod's visit has no statement of its own): through the tree's
        parents where a codemod resolved them, else a search of the statements; either
        costs a fraction of the whole module's positions."""
        held = self._wrappers.get(id(self.original))
        parents = getattr(held[1], "_parents", None) if held is not None else None
        if parents:
            while node in parents:
                parent = parents[node]
                if parent is self.original:
                    return node
                node = parent
            return None
        for statement in self.original.body:
            stack: list[cst.CSTNode] = [statement]
            while stack:
                below = stack.pop()
                if below is node:
                    return statement
                stack.extend(child_nodes(below))
        return None

    def _statement_position(self, node: cst.CSTNode, statement: cst.CSTNode) -> CodeRange | None:
        """The position of `node` from its top-level statement's own codegen, moved down
        to the line the statement's first token has in the file (from the stdlib ast).
        None when that cannot be told for sure: then the module's positions are made."""
        if id(statement) not in self._statement_positions:
            self._statement_positions[id(statement)] = self._positions_of(statement)
        positions, shift = self._statement_positions[id(statement)]
        found = positions.get(node)
        if found is None or not shift:
            return found
        start, end = found.start, found.end
        return CodeRange(
            CodePosition(start.line + shift, start.column),
            CodePosition(end.line + shift, end.column),
        )

    def _positions_of(self, statement: cst.CSTNode) -> tuple[Mapping[cst.CSTNode, CodeRange], int]:
        if self._first_lines is None:
            self._first_lines = self._statement_first_lines()
        first = self._first_lines.get(id(statement))
        if first is None:
            return {}, 0
        alone = self.original.with_changes(body=[statement], header=(), footer=())
        positions = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
        shift = first - positions[statement].start.line
        # The statement's lines must be the file's own at that place: anything libcst and
        # the ast count differently (a BOM, odd line breaks) is left to the slow path.
        if self._source_lines is None:
            self._source_lines = self.source.splitlines()
        lines = alone.bytes.splitlines()
        have = self._source_lines[shift : shift + len(lines)]
        return (positions, shift) if shift >= 0 and have == lines else ({}, 0)

    def _statement_first_lines(self) -> dict[int, int]:
        """id of each top-level statement of the original tree -> the line of its first
        token (not its comments), from the stdlib ast: a simple statement line holds as
        many ast statements as it has small statements, and a def's line is its `def`'s
        for both (not its decorators')."""
        tree = self.syntax_tree() if self.source else None
        if tree is None:
            return {}
        lines: dict[int, int] = {}
        index = 0
        for statement in self.original.body:
            if index >= len(tree.body):
                return {}
            lines[id(statement)] = tree.body[index].lineno
            index += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        return lines if index == len(tree.body) else {}

    def suppressed(self, code: str, lines: tuple[int, ...]) -> bool:
        family = self.code_families.get(code, "")
        for line in lines:
            if line not in self.suppressions:
                continue
            selectors = self.suppressions[line]
            if selectors is None:
                return True
            if any(code.startswith(s) or s == family for s in selectors):
                return True
        return False


def child_nodes(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The node's children, read from its fields: the nodes libcst's `.children` gives,
    in its order, without the visit that rebuilds the node (tests/test_traversal.py)."""
    order = visit_order(node)
    if order is None:
        return list(node.children)  # a type whose order could not be read: libcst's way
    return [child for name, _ in order for child in field_nodes(getattr(node, name))]


def parent_map(module: cst.Module) -> dict[cst.CSTNode, cst.CSTNode] | None:
    """Node -> its parent, as libcst's ParentNodeProvider gives it; None when a node
    object occurs twice in the tree (then which parent wins depends on libcst's walk).

    libcst's provider walks the tree with a visitor and asks each node for `.children`:
    both rebuild every node. Reading the dataclass fields is several times faster."""
    parents: dict[cst.CSTNode, cst.CSTNode] = {}
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        for child in child_nodes(node):
            if child in parents:
                return None
            parents[child] = node
            stack.append(child)
    return parents


def function_defs(root: cst.CSTNode) -> list[cst.FunctionDef]:
    """Every `def` under `root` (itself included), in the order of the source: what
    `m.findall(root, m.FunctionDef())` finds, without its visit that rebuilds each node.
    (`child_nodes` lists children in source order.)"""
    found: list[cst.FunctionDef] = []
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        if type(node) is cst.FunctionDef:  # (an ABC: `isinstance` is slow)
            found.append(node)
        stack.extend(reversed(child_nodes(node)))
    return found


_STORE, _LOAD, _DEL = ExpressionContext.STORE, ExpressionContext.LOAD, ExpressionContext.DEL
# Nodes whose expression context is their own: set, then their children carry it on.
_HAS_CONTEXT = frozenset({cst.Tuple, cst.List, cst.StarredElement})


def expression_contexts(module: cst.Module) -> dict[cst.CSTNode, ExpressionContext]:
    """ExpressionContextProvider's metadata (the scope analysis needs it), by the same
    rules as libcst's visitor, from a walk over the nodes' fields instead of a visit that
    rebuilds every node. Call it only on a tree without repeated nodes (`parent_map`)."""
    found: dict[cst.CSTNode, ExpressionContext] = {}
    stack: list[tuple[cst.CSTNode | None, ExpressionContext]] = [(module, _LOAD)]
    push = stack.append
    while stack:
        node, context = stack.pop()
        if node is None:
            continue
        # Exact types: `isinstance` against libcst's node classes (ABCs) is much slower.
        if type(node) is cst.Name:
            found[node] = context
        elif type(node) is cst.Attribute:
            found[node] = context
            push((node.value, _LOAD))  # not `attr`: as in ast, it has no context
        elif type(node) is cst.Subscript:
            found[node] = context
            push((node.value, _LOAD))
            stack.extend((element, _LOAD) for element in node.slice)
        elif type(node) is cst.Assign:
            stack.extend((target, _STORE) for target in node.targets)
            push((node.value, context))
        elif type(node) is cst.AnnAssign:
            stack += [(node.target, _STORE), (node.annotation, context), (node.value, context)]
        elif type(node) is cst.AugAssign or type(node) is cst.NamedExpr:
            stack += [(node.target, _STORE), (node.value, context)]
        elif type(node) is cst.AsName:
            push((node.name, _STORE))
        elif type(node) is cst.CompFor:
            stack += [(node.target, _STORE), (node.iter, context), (node.inner_for_in, context)]
            stack.extend((test, context) for test in node.ifs)
        elif type(node) is cst.For:
            stack += [(node.target, _STORE), (node.iter, context), (node.body, context)]
            push((node.orelse, context))
        elif type(node) is cst.Del:
            push((node.target, _DEL))
        elif type(node) is cst.ClassDef:
            stack += [(node.name, _STORE), (node.body, context)]
            stack.extend((child, context) for child in (*node.bases, *node.keywords))
            stack.extend((decorator, context) for decorator in node.decorators)
        elif type(node) is cst.FunctionDef:
            stack += [(node.name, _STORE), (node.params, context), (node.body, context)]
            stack.extend((decorator, context) for decorator in node.decorators)
            push((node.returns, context))
        elif type(node) is cst.Param:
            stack += [(node.name, _STORE), (node.annotation, context), (node.default, context)]
        else:
            if type(node) in _HAS_CONTEXT:
                found[node] = context
            stack.extend((child, context) for child in child_nodes(node))
    return found


class _QualifiedNames(Mapping[cst.CSTNode, Collection[QualifiedName]]):
    """QualifiedNameProvider's answers, worked out for the nodes asked about. libcst's
    provider walks the whole tree once more to attach to every node the same lazy
    `scope.get_qualified_names_for(node)` that this computes on demand."""

    def __init__(
        self,
        module: cst.Module,
        parents: Mapping[cst.CSTNode, cst.CSTNode],
        scopes: Mapping[cst.CSTNode, Scope | None],
    ) -> None:
        self._module, self._parents, self._scopes = module, parents, scopes
        self._found: dict[cst.CSTNode, Collection[QualifiedName]] = {}

    def __getitem__(self, node: cst.CSTNode) -> Collection[QualifiedName]:
        if node not in self._found:
            if node is not self._module and node not in self._parents:
                raise KeyError(node)  # not in this tree (as libcst: the caller's default)
            scope = self._scopes.get(node)
            self._found[node] = scope.get_qualified_names_for(node) if scope else set()
        return self._found[node]

    def __iter__(self) -> Iterator[cst.CSTNode]:
        yield self._module
        yield from self._parents

    def __len__(self) -> int:
        return len(self._parents) + 1


class _Wrapper(MetadataWrapper):
    """A MetadataWrapper whose parents come from `parent_map`, expression contexts (for
    libcst's scope analysis) from `expression_contexts`, and qualified names from
    `_QualifiedNames`: on real code libcst's ParentNodeProvider took more time than the
    scope analysis, and the other two providers a full walk of the tree each."""

    _parents: dict[cst.CSTNode, cst.CSTNode] | Literal[False] | None = False

    def resolve_many(
        self, providers: Collection[Any]
    ) -> Mapping[Any, Mapping[cst.CSTNode, object]]:
        # Resolved metadata lives in `_metadata`; libcst skips the providers found there.
        wanted = [
            p for p in (ParentNodeProvider, QualifiedNameProvider, ScopeProvider) if p in providers
        ]
        if any(p not in self._metadata for p in wanted):
            if self._parents is False:
                self._parents = parent_map(self.module)
            if self._parents is not None:
                self._metadata[ParentNodeProvider] = self._parents
                if ExpressionContextProvider not in self._metadata:
                    self._metadata[ExpressionContextProvider] = expression_contexts(self.module)
                if QualifiedNameProvider in wanted:
                    scopes = self.resolve(ScopeProvider)
                    self._metadata[QualifiedNameProvider] = _QualifiedNames(
                        self.module, self._parents, scopes
                    )
        return super().resolve_many(providers)


def _map_lines(original: str, current: str) -> dict[int, int]:
    """Line of `current` -> line of `original` (1-based); inserted lines map to the
    original line they were inserted at."""
    matcher = difflib.SequenceMatcher(
        None, original.splitlines(), current.splitlines(), autojunk=False
    )
    mapping: dict[int, int] = {}
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for j in range(j1, j2):
            offset = min(j - j1, max(i2 - i1 - 1, 0)) if tag != "insert" else 0
            mapping[j + 1] = i1 + offset + 1
    return mapping


def visit_with_metadata(transformer: Codemod, module: cst.Module) -> cst.Module:
    """Run a libcst codemod transformer with its metadata resolved on `module` itself.

    libcst's `Codemod.transform_module` first deep-copies the tree; nodes are immutable
    and we parse each file once, so the copy is pure cost.
    """
    run = getattr(transformer, "run", None)
    if isinstance(run, FileRun):
        wrapper = run.wrapper(module)
    else:
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    transformer.context = replace(transformer.context, wrapper=wrapper)
    with fast_visits(), transformer.resolve(wrapper):
        return module.visit(transformer)  # type: ignore[arg-type]


_STATEMENTS = (cst.SimpleStatementLine, cst.BaseCompoundStatement)
# Node type -> is it a statement (`isinstance` against libcst's ABCs costs, per node).
_IS_STATEMENT: dict[type[cst.CSTNode], bool] = {}


def _is_statement(node: cst.CSTNode) -> bool:
    kind = type(node)
    found = _IS_STATEMENT.get(kind)
    if found is None:
        found = _IS_STATEMENT[kind] = issubclass(kind, _STATEMENTS)
    return found


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
    # The rough cost of `plan` next to other codemods' (seconds per 100k lines of an
    # all-async tree, one core, measured on bench/corpora): the driver deals the plans out
    # to processes by it. A plan that reuses its family's scan costs next to nothing.
    PLAN_COST: ClassVar[float] = 0.01
    # Modules `plan` indexes whatever it finds: every one whose bytes hold one of these.
    # The driver has them indexed in parallel before the plans are made (see driver._run).
    INDEXES: ClassVar[tuple[bytes, ...]] = ()

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
        return all(token in data for token in cls.TRIGGERS)

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
        """
        return None

    @classmethod
    def prescreen(cls, view: SourceView) -> bool:
        """Could this codemod change or report anything in the file? Asked on the stdlib
        ast of the bytes as read, BEFORE libcst parses them (a libcst parse costs ~15 ast
        parses; a walk with scope metadata several more).

        Must be conservative: False promises that `transform` of the unchanged file would
        neither change the tree nor report a finding. The driver does not parse a file
        for which every codemod says False, and skips a codemod that says False unless an
        earlier codemod has changed the tree (what it then sees is not what was screened).
        `view.plans.get(cls.NAME)` is this codemod's plan for the file. True by default.
        """
        return True

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
        if _is_statement(node):
            self._statements.append(node)
        self._changes_at_visit.append(self._changes)
        # libcst's CSTTransformer.on_visit, minus its per-node name lookup.
        visit = hooks_for(self, node).visit
        return visit is None or visit(self, node) is not False

    def on_leave(
        self, original_node: _NodeT, updated_node: _NodeT
    ) -> _NodeT | cst.RemovalSentinel | cst.FlattenSentinel[_NodeT]:
        if _is_statement(original_node):
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
        found = self.run.original_position(node, self._statements[0] if self._statements else None)
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
        """A third-party package the rewritten code now imports."""
        self.run.packages.add(name)
