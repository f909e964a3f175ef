"""A def's own scope on the stdlib ast, as libcst's ScopeProvider sees it: what the
screen needs of `_single_assignment` and `_name_used_as_result`."""

from __future__ import annotations

import ast

from asyncfix.codemods.awaits._shared import UNBOUND, result_attribute
from asyncfix.index import FunctionNode

_COMPREHENSIONS = ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp
# A binding of a name in a def's own scope, as libcst's ScopeProvider counts them:
# (kind, the node `type_of` looks at, a parameter's default).
_Binding = tuple[str, ast.AST | None, ast.expr | None]

# Fields that never hold a node; a Name or a Constant has none below it that matters.
_SCALARS = frozenset(
    {"ctx", "op", "id", "attr", "arg", "asname", "name", "names", "module", "level"}
    | {"is_async", "conversion", "kind", "type_comment", "simple", "tag"}
)
NODE_FIELDS: dict[type, tuple[str, ...]] = {ast.Name: (), ast.Constant: ()}


def node_fields(kind: type) -> tuple[str, ...]:
    """The fields of a node type that may hold nodes (none for a non-node)."""
    fields = NODE_FIELDS.get(kind)
    if fields is None:
        fields = tuple(f for f in getattr(kind, "_fields", ()) if f not in _SCALARS)
        NODE_FIELDS[kind] = fields
    return fields


def _child_nodes(node: ast.AST) -> list[ast.AST]:
    """`ast.iter_child_nodes`, without the fields `_SCALARS` names."""
    found: list[ast.AST] = []
    for name in node_fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, list):
            found.extend(v for v in value if isinstance(v, ast.AST))
        elif isinstance(value, ast.AST):
            found.append(value)
    return found


# Statements and expressions that test their `test` for truth: a coroutine is always true.
_TESTS = ast.If | ast.While | ast.IfExp | ast.Assert


class OwnScope:
    """The names a def binds in its own scope (not in nested defs, classes, lambdas or
    comprehensions) with the statement that binds each, the names whose binding is
    beyond this model (`dirty`), and the names loaded directly in its body other than as
    a result (`_used_as_result`). Match captures and comprehension walruses are not
    bindings of the def for libcst; `del` is neither a binding nor a load."""

    def __init__(self, function: FunctionNode) -> None:
        self.bindings: dict[str, list[_Binding]] = {}
        self.dirty: set[str] = set()
        self.not_result: set[str] = set()
        args = function.args
        positional = [*args.posonlyargs, *args.args]
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
        pairs = [
            *zip(positional, [*defaults, *args.defaults], strict=True),
            *zip(args.kwonlyargs, args.kw_defaults, strict=True),
            *((arg, None) for arg in (args.vararg, args.kwarg) if arg is not None),
        ]
        for arg, default in pairs:
            self._bind(arg.arg, ("param", arg, default))
        for stmt in function.body:
            self._visit(stmt, True)

    def _bind(self, name: str, binding: _Binding) -> None:
        self.bindings.setdefault(name, []).append(binding)

    def _other(self, name: str, own: bool) -> None:
        if own:
            self._bind(name, ("other", None, None))
        else:
            self.dirty.add(name)

    def _visit(self, node: ast.AST, own: bool) -> None:
        """`own`: directly in the def's own scope (else inside a comprehension, a lambda,
        an annotation ...: a store there is `dirty`, a load is not looked at)."""
        kind = type(node)
        if kind is ast.Name:
            assert isinstance(node, ast.Name)
            if isinstance(node.ctx, ast.Store):
                self._other(node.id, own)
            elif own and isinstance(node.ctx, ast.Load):
                self.not_result.add(node.id)
            return
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            self._nested(node)
            return
        if isinstance(node, _COMPREHENSIONS | ast.JoinedStr | ast.Global | ast.Nonlocal):
            if isinstance(node, ast.Global | ast.Nonlocal):
                self.dirty.update(node.names)
            for child in _child_nodes(node):
                self._visit(child, False)
            return
        if self._binding(node, own) or self._result_use(node, own):
            return
        for child in _child_nodes(node):
            self._visit(child, own)

    def _nested(self, node: FunctionNode | ast.ClassDef | ast.Lambda) -> None:
        """A nested scope: its name is bound here; what it evaluates here is looked at
        as not own (decorators, defaults, bases, annotations), its body not at all."""
        if isinstance(node, ast.Lambda):
            self.dirty.update(a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg))
            for child in _child_nodes(node):
                self._visit(child, False)
            return
        self._bind(node.name, ("other", None, None))
        evaluated: list[ast.AST] = list(node.decorator_list)
        if isinstance(node, ast.ClassDef):
            evaluated += [*node.bases, *node.keywords]
        else:
            evaluated += [node.args] + ([node.returns] if node.returns else [])
        for child in evaluated:
            self._visit(child, False)

    def _binding(self, node: ast.AST, own: bool) -> bool:
        """The statements whose binding `type_of` looks at; True when handled."""
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and own:
                self._bind(target.id, ("assign", node.value, None))
                self._visit(node.value, own)
                return True
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and own:
            self._bind(node.target.id, ("annotation", node.annotation, None))
            self._visit(node.annotation, False)
            if node.value is not None:
                self._visit(node.value, own)
            return True
        elif isinstance(node, ast.AnnAssign):
            self._visit(node.annotation, False)
            self._visit(node.target, own)
            if node.value is not None:
                self._visit(node.value, own)
            return True
        elif isinstance(node, ast.AsyncWith) and own:
            for item in node.items:
                self._visit(item.context_expr, own)
                bound = item.optional_vars
                if isinstance(bound, ast.Name) and isinstance(item.context_expr, ast.Call):
                    self._bind(bound.id, ("with", item.context_expr, None))
                elif bound is not None:
                    self._visit(bound, own)
            for stmt in node.body:
                self._visit(stmt, own)
            return True
        elif isinstance(node, ast.AsyncFor) and isinstance(node.target, ast.Name) and own:
            # `type_of` types the target by what the iterable gives (`_iterated`).
            self._bind(node.target.id, ("iter", node.iter, None))
            if not isinstance(node.iter, ast.Name):  # (a name iterated is used as a result)
                self._visit(node.iter, own)
            for stmt in (*node.body, *node.orelse):
                self._visit(stmt, own)
            return True
        elif isinstance(node, ast.ExceptHandler) and node.name is not None:
            self._other(node.name, own)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name != "*":
                    self._other(alias.asname or alias.name.split(".")[0], own)
            return True
        elif isinstance(node, ast.Match):
            # libcst binds no capture; the patterns and the subject are not looked at.
            self._visit(node.subject, False)
            for case in node.cases:
                self._visit(case.pattern, False)
                if case.guard is not None:
                    self._visit(case.guard, False)
                for stmt in case.body:
                    self._visit(stmt, own)
            return True
        return False

    def _result_use(self, node: ast.AST, own: bool) -> bool:
        """A name used as a result (`_used_as_result`): its load is not recorded."""
        if isinstance(node, ast.Attribute):
            value: ast.expr = node.value
            if isinstance(value, ast.Name) and result_attribute(node.attr):
                return True
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            self._visit(node.slice, own)
            return True
        elif isinstance(node, ast.For | ast.AsyncFor) and isinstance(node.iter, ast.Name):
            for child in (node.target, *node.body, *node.orelse):
                self._visit(child, own)
            return True
        elif isinstance(node, _TESTS) and isinstance(node.test, ast.Name):
            for child in _child_nodes(node):
                if child is not node.test:
                    self._visit(child, own)
            return True
        elif (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, ast.Not)
            and isinstance(node.operand, ast.Name)
        ):
            return True
        return False


class ScreenedDef:
    """A def the screen meets: `owner` is the top-level class it is a method of; `top`:
    no def encloses it, so a name it does not bind is looked up in the module's scope
    (classes between are skipped, for libcst as for Python)."""

    __slots__ = ("_scope", "node", "owner", "top")

    def __init__(self, node: FunctionNode, owner: str | None, top: bool) -> None:
        self.node = node
        self.owner = owner
        self.top = top
        self._scope: OwnScope | None = None

    @property
    def scope(self) -> OwnScope:
        if self._scope is None:  # only for the few defs with a candidate call
            self._scope = OwnScope(self.node)
        return self._scope

    def is_self(self, arg: ast.arg) -> bool:
        """`_self_class`: the first parameter of a plain method of a top-level class."""
        params = self.node.args.args
        return (
            self.owner is not None
            and bool(params)
            and params[0] is arg
            and not any(
                isinstance(d, ast.Name) and d.id in UNBOUND for d in self.node.decorator_list
            )
        )
