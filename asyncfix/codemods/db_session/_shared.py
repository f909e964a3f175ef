"""What only the db_session family's libcst passes share: the family's options, its base
codemod and the tree helpers every rule uses (the names they match are in `names`).
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    Assignment,
    BaseAssignment,
    BuiltinAssignment,
    FunctionScope,
    GlobalScope,
    ImportAssignment,
    ParentNodeProvider,
    QualifiedNameProvider,
    Scope,
    ScopeProvider,
)

from asyncfix import syntax
from asyncfix.codemods.base import (
    AsyncfixCodemod,
    FileRun,
    child_nodes,
)
from asyncfix.codemods.db_session.names import (
    ASYNC_SESSIONMAKERS,
    ASYNC_SESSIONS,
    SESSIONMAKERS,
    SYNC_SESSIONS,
    Kind,
)
from asyncfix.codemods.view import SourceView
from asyncfix.config import Config, ConfigError

FAMILY = "db_session"

CONTEXT_MANAGERS: Mapping[Kind, str] = {
    "async": "asynccontextmanager",
    "sync": "contextmanager",
}
TWIN = "get_db_session"


@dataclass(frozen=True)
class Options:
    commit_on_exit: bool = True


def family_options(config: Config) -> Options:
    """`[tool.asyncfix.db_session]`, validated: unknown keys and wrong types are errors."""
    raw = config.family_options(FAMILY)
    where = f"{config.source}: " if config.source else ""
    options = Options()
    for key, value in raw.items():
        if key == "commit-on-exit":
            if not isinstance(value, bool):
                raise ConfigError(
                    f"{where}[tool.asyncfix.db_session] commit-on-exit must be true or false, "
                    f"not {value!r}"
                )
            options = Options(commit_on_exit=value)
        else:
            raise ConfigError(
                f"{where}[tool.asyncfix.db_session]: unknown key {key!r} (known: commit-on-exit)"
            )
    return options


# -- small tree helpers ----------------------------------------------------------------------

_EMPTY = cst.Module([])


def code_of(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)


# Exact types (no subclasses): libcst's node classes are ABCs, slow under `isinstance`.
_NESTED_SCOPES = frozenset({cst.FunctionDef, cst.ClassDef, cst.Lambda})


def own_nodes(function: cst.FunctionDef) -> list[cst.CSTNode]:
    """The nodes of a function's own body, in source order: nested functions, classes
    and lambdas are in it, what is below them is not."""
    nodes: list[cst.CSTNode] = []
    stack: list[cst.CSTNode] = list(reversed(body_statements(function)))
    while stack:
        node = stack.pop()
        nodes.append(node)
        if type(node) not in _NESTED_SCOPES:
            stack.extend(reversed(child_nodes(node)))
    return nodes


def body_statements(function: cst.FunctionDef) -> Sequence[cst.BaseStatement]:
    body = function.body
    if isinstance(body, cst.IndentedBlock):
        return body.body
    assert isinstance(body, cst.SimpleStatementSuite)
    return [cst.SimpleStatementLine(body=list(body.body))]


# -- the shared analysis: what is a session factory here? ----------------------------------


def imported_modules(node: cst.CSTNode) -> list[str]:
    """The absolute modules an import statement names."""
    if isinstance(node, cst.Import):
        return [get_full_name_for_node(alias.name) or "" for alias in node.names]
    if isinstance(node, cst.ImportFrom) and not node.relative and node.module is not None:
        return [get_full_name_for_node(node.module) or ""]
    return []


class DbCodemod(AsyncfixCodemod):
    FAMILY = FAMILY
    METADATA_DEPENDENCIES = (ScopeProvider, QualifiedNameProvider, ParentNodeProvider)

    @classmethod
    def check_config(cls, config: Config) -> None:
        family_options(config)

    def __init__(self, context: CodemodContext, run: FileRun) -> None:
        super().__init__(context, run)
        self.options = family_options(run.config)
        self._own: dict[cst.FunctionDef, list[cst.CSTNode]] = {}
        self._sql: bool | None = None  # does the module import sqlalchemy or sqlmodel?

    def screen(self, module: cst.Module) -> bool:
        # The prescreen again (one description of the sites), on the tree as given.
        tree: ast.Module | None = None
        if module is self.run.original and self.run.source:
            source, tree = self.run.source, self.run.syntax_tree()
        elif module is not self.run.original:  # an earlier codemod changed the tree:
            # screen what it made (its code and ast made once, for every screen)
            source, tree = self.run.code_bytes(module), self.run.tree_of(module)
        else:
            code = module.code
            source = code.encode()
            with contextlib.suppress(SyntaxError, ValueError, RecursionError, MemoryError):
                tree = syntax.parse(code)
        if tree is None:
            return True
        run = self.run
        return self.prescreen(
            SourceView(run.path, source, tree, run.config, run.enabled, run.plans)
        )

    def own_nodes(self, function: cst.FunctionDef) -> list[cst.CSTNode]:
        # Several rules walk the same functions; walk each once.
        if function not in self._own:
            self._own[function] = own_nodes(function)
        return self._own[function]

    def is_generator(self, function: cst.FunctionDef) -> bool:
        return any(type(n) is cst.Yield for n in self.own_nodes(function))

    def is_fixture(self, function: cst.FunctionDef) -> bool:
        """A pytest fixture: its session's transaction is the test's business (tests often
        rely on nothing being committed), so it is neither a dependency nor rewritten."""
        return any(
            self.qnames(d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator)
            & {"pytest.fixture", "pytest_asyncio.fixture"}
            for d in function.decorators
        )

    def qnames(self, node: cst.CSTNode) -> set[str]:
        return {q.name for q in self.get_metadata(QualifiedNameProvider, node, set())}

    def sessionmaker_kind(self, call: cst.Call) -> Kind | None:
        """The kind of session a `sessionmaker(...)`/`async_sessionmaker(...)` call makes."""
        if not isinstance(call.func, cst.Name | cst.Attribute):
            return None
        names = self.qnames(call.func)
        if not names & (SESSIONMAKERS | ASYNC_SESSIONMAKERS):
            return None
        if any(arg.star for arg in call.args):
            return None  # **options could hold class_
        kind: Kind = "async" if names & ASYNC_SESSIONMAKERS else "sync"
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == "class_":
                classes = self.qnames(arg.value)
                if classes & ASYNC_SESSIONS:
                    return "async"
                if classes & SYNC_SESSIONS:
                    return "sync"
                return None  # a custom class: its context-manager behaviour is unknown
        return kind

    def factory(self, func: cst.BaseExpression) -> tuple[Kind | None, str]:
        """The kind of session `func()` returns, or None with the reason it is unknown."""
        names = self.qnames(func)
        if names & SYNC_SESSIONS:
            return "sync", ""
        if names & ASYNC_SESSIONS:
            return "async", ""
        label = code_of(func)
        unknown = f"`{label}` is not provably a sessionmaker or a Session class"
        if not isinstance(func, cst.Name):
            return None, unknown
        scope = self.get_metadata(ScopeProvider, func, None)
        if scope is None or func.value not in scope:
            return None, unknown
        assignments = list(scope[func.value])
        if len(assignments) != 1:
            return None, f"`{label}` is assigned more than once"
        assignment = assignments[0]
        if isinstance(assignment, ImportAssignment):
            planned = (self.planned or {}).get(func.value)
            if isinstance(assignment.scope, GlobalScope):
                if planned == "sync" or planned == "async":
                    return planned, ""
                if planned == "unknown":
                    return None, f"`{label}` is not provably a sessionmaker where it is defined"
            return None, f"`{label}` is imported; its definition was not found as a sessionmaker"
        if isinstance(assignment.scope, FunctionScope):
            kind = self.hoisted_kind(func.value, assignment.scope.node)
            if kind is not None:
                return kind, ""
            made = self.assigned_call(assignment_node(assignment))
            if made is not None and self.sessionmaker_kind(made) is not None:
                return None, f"`{label}` is built inside the function on every call (AF402)"
            return None, f"`{label}` is a local name; what it is bound to is not proved"
        call = self.assigned_call(assignment_node(assignment))
        if call is None or not isinstance(assignment.scope, GlobalScope):
            return None, unknown
        kind = self.sessionmaker_kind(call)
        return kind, "" if kind else unknown

    def assigned_call(self, target: cst.CSTNode) -> cst.Call | None:
        """`target = <call>` with a single target: the call."""
        parent = self.get_metadata(ParentNodeProvider, target, None)
        if not isinstance(parent, cst.AssignTarget):
            return None
        assign = self.get_metadata(ParentNodeProvider, parent, None)
        if (
            isinstance(assign, cst.Assign)
            and len(assign.targets) == 1
            and isinstance(assign.value, cst.Call)
        ):
            return assign.value
        return None

    def alias_target(self, annotation: cst.BaseExpression) -> cst.BaseExpression:
        """`SessionDep` -> `Annotated[Session, Depends(get_db)]` when a module-level
        `SessionDep = Annotated[...]` is the name's one binding; else `annotation`."""
        if not isinstance(annotation, cst.Name):
            return annotation
        scope = self.get_metadata(ScopeProvider, annotation, None)
        if scope is None:
            return annotation
        assignments = list(scope[annotation.value])
        if len(assignments) != 1 or not isinstance(assignments[0].scope, GlobalScope):
            return annotation
        parent = self.get_metadata(ParentNodeProvider, assignment_node(assignments[0]), None)
        assign = self.get_metadata(ParentNodeProvider, parent, None) if parent else None
        if (
            isinstance(assign, cst.Assign)
            and len(assign.targets) == 1
            and isinstance(assign.value, cst.Subscript)
        ):
            return assign.value
        return annotation

    def hoisted_kind(self, name: str, function: cst.CSTNode) -> Kind | None:
        """The kind of a factory built in `function` that this pass moves to module level."""
        return None

    def exception_shadowed(self, node: cst.CSTNode) -> bool:
        scope = self.get_metadata(ScopeProvider, node, None)
        return scope is not None and bound_in(scope, "Exception")

    def parser_config(self) -> cst.PartialParserConfig:
        assert self._module is not None
        return self._module.config_for_parsing


def assignment_node(assignment: BaseAssignment) -> cst.CSTNode:
    return assignment.node if isinstance(assignment, Assignment) else cst.Pass()


def bound_in(scope: Scope, name: str, *, importable: bool = False) -> bool:
    """Is `name` bound in `scope` by the code itself (not a builtin)? With `importable`, an
    import of that very name from contextlib does not count."""
    for assignment in scope[name]:
        if isinstance(assignment, BuiltinAssignment):
            continue
        if importable and isinstance(assignment, ImportAssignment):
            node = assignment.node
            if (
                isinstance(node, cst.ImportFrom)
                and isinstance(node.module, cst.Name)
                and node.module.value == "contextlib"
                and not node.relative
                and isinstance(node.names, Sequence)
                and any(a.evaluated_name == name and a.asname is None for a in node.names)
            ):
                continue
        return True
    return False
