"""The lifespan builder several families share: `add_lifespan_resource()` puts a shared
resource (created before `yield`, closed after it) into an app's lifespan, creating the
lifespan or extending a plain one; `extend_lifespan()` is the same for the on_event
migration."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.helpers import get_full_name_for_node

from asyncfix.codemods.base import visit_with_metadata
from asyncfix.codemods.helpers import TopImportsAdder
from asyncfix.codemods.shared.lifespan_sites import APPS, EVENTS

_ASYNCCONTEXTMANAGER = "asynccontextmanager"


def _module_bindings(module: cst.Module) -> dict[str, cst.CSTNode]:
    """Names bound at module level (cheap: no metadata), name -> the binding statement."""
    found: dict[str, cst.CSTNode] = {}

    def targets(node: cst.BaseExpression | cst.BaseAssignTargetExpression) -> Iterable[str]:
        if isinstance(node, cst.Name):
            yield node.value
        elif isinstance(node, cst.Tuple | cst.List):
            for element in node.elements:
                yield from targets(element.value)
        elif isinstance(node, cst.StarredElement):
            yield from targets(node.value)

    def walk(body: Sequence[cst.BaseStatement | cst.BaseSmallStatement]) -> None:
        for stmt in body:
            if isinstance(stmt, cst.FunctionDef | cst.ClassDef):
                found[stmt.name.value] = stmt
            elif isinstance(stmt, cst.SimpleStatementLine):
                walk(stmt.body)
            elif isinstance(stmt, cst.Import):
                for alias in stmt.names:
                    name = alias.evaluated_alias or alias.evaluated_name.split(".")[0]
                    found[name] = stmt
            elif isinstance(stmt, cst.ImportFrom):
                if isinstance(stmt.names, cst.ImportStar):
                    found["*"] = stmt
                    continue
                for alias in stmt.names:
                    found[alias.evaluated_alias or alias.evaluated_name] = stmt
            elif isinstance(stmt, cst.Assign):
                for target in stmt.targets:
                    for name in targets(target.target):
                        found[name] = stmt
            elif isinstance(stmt, cst.AnnAssign | cst.AugAssign):
                for name in targets(stmt.target):
                    found[name] = stmt
            elif isinstance(stmt, cst.If | cst.Try | cst.With | cst.For | cst.While):
                for block in blocks(stmt):
                    walk(block)

    walk(module.body)
    return found


def blocks(stmt: cst.BaseCompoundStatement) -> Iterable[Sequence[cst.BaseStatement]]:
    for child in stmt.children:
        if isinstance(child, cst.IndentedBlock):
            yield child.body
        elif isinstance(child, cst.BaseCompoundStatement | cst.ExceptHandler | cst.Else):
            if isinstance(child, cst.BaseCompoundStatement):
                yield from blocks(child)
            elif isinstance(child.body, cst.IndentedBlock):
                yield child.body.body
        elif isinstance(child, cst.Finally) and isinstance(child.body, cst.IndentedBlock):
            yield child.body.body


def _is_fastapi_call(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Call) and APPS.cst_spelt_by(node.func)


@dataclass
class _AppSite:
    index: int  # position in module.body
    call: cst.Call


def find_app(module: cst.Module, app_name: str) -> _AppSite | None:
    """The one module-level `app_name = FastAPI(...)`."""
    found: list[_AppSite] = []
    for i, stmt in enumerate(module.body):
        if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
            continue
        small = stmt.body[0]
        if (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and m.matches(small.targets[0].target, m.Name(app_name))
            and _is_fastapi_call(small.value)
        ):
            assert isinstance(small.value, cst.Call)
            found.append(_AppSite(i, small.value))
    return found[0] if len(found) == 1 else None


def keyword_arg(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def has_event_handlers(module: cst.Module) -> bool:
    """Any on_event/add_event_handler/on_startup= left: lifespan= would silence them."""
    return EVENTS.cst_any_in(module)


@dataclass
class _Lifespan:
    index: int  # position in module.body
    function: cst.FunctionDef
    param: str  # its app parameter


class _YieldCounter(cst.CSTVisitor):
    """Yields of one function's own body (not of nested functions, lambdas, classes)."""

    def __init__(self, root: cst.FunctionDef) -> None:
        super().__init__()
        self.root = root
        self.count = 0

    def visit_Yield(self, node: cst.Yield) -> None:
        self.count += 1

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return node is self.root

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False


def _yield_count(function: cst.FunctionDef) -> int:
    counter = _YieldCounter(function)
    function.visit(counter)
    return counter.count


def _is_yield_line(stmt: cst.BaseStatement) -> bool:
    return m.matches(stmt, m.SimpleStatementLine(body=[m.Expr(value=m.Yield())]))


def _plain_lifespan(module: cst.Module, name: str) -> _Lifespan | None:
    """`name` as a module-level `@asynccontextmanager async def name(app):` with one
    `yield`, at the top of its body or at the top of a `try:` there; else None."""
    candidates = [
        (i, s)
        for i, s in enumerate(module.body)
        if isinstance(s, cst.FunctionDef) and s.name.value == name
    ]
    if len(candidates) != 1:
        return None
    index, function = candidates[0]
    if function.asynchronous is None or len(function.decorators) != 1:
        return None
    decorator = get_full_name_for_node(function.decorators[0].decorator)
    if decorator not in (_ASYNCCONTEXTMANAGER, f"contextlib.{_ASYNCCONTEXTMANAGER}"):
        return None
    params = function.params
    positional = [*params.posonly_params, *params.params]
    if not positional or params.star_arg not in (cst.MaybeSentinel.DEFAULT, None):
        return None
    if params.kwonly_params or params.star_kwarg is not None:
        return None
    if any(p.default is not None for p in positional[1:]) or len(positional) > 1:
        return None
    if not isinstance(function.body, cst.IndentedBlock) or _yield_count(function) != 1:
        return None
    if _yield_position(function.body) is None:
        return None
    return _Lifespan(index, function, positional[0].name.value)


def _yield_position(body: cst.IndentedBlock) -> tuple[int, bool] | None:
    """(index of the statement holding the yield, whether it is a try with finally)."""
    for i, stmt in enumerate(body.body):
        if _is_yield_line(stmt):
            return i, False
        if (
            isinstance(stmt, cst.Try)
            and isinstance(stmt.body, cst.IndentedBlock)
            and any(_is_yield_line(s) for s in stmt.body.body)
        ):
            return i, stmt.finalbody is not None
    return None


def _state_attribute(stmt: cst.BaseStatement, param: str) -> tuple[str, cst.BaseExpression] | None:
    """`param.state.<attr> = <value>` -> (attr, value)."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    small = stmt.body[0]
    if not isinstance(small, cst.Assign) or len(small.targets) != 1:
        return None
    target = small.targets[0].target
    if m.matches(
        target,
        m.Attribute(value=m.Attribute(value=m.Name(param), attr=m.Name("state")), attr=m.Name()),
    ):
        assert isinstance(target, cst.Attribute)
        return target.attr.value, small.value
    return None


# Pool options a later rewrite (AF303) may add; two clients differing only there are the same.
_POOL_KEYWORDS = frozenset({"connector", "limits"})


def _same_client(a: cst.BaseExpression, b: cst.BaseExpression) -> bool:
    def strip(node: cst.BaseExpression) -> cst.BaseExpression:
        if not isinstance(node, cst.Call):
            return node
        args = [
            arg.with_changes(comma=cst.MaybeSentinel.DEFAULT)
            for arg in node.args
            if not (arg.keyword is not None and arg.keyword.value in _POOL_KEYWORDS)
        ]
        return node.with_changes(args=args, whitespace_before_args=cst.SimpleWhitespace(""))

    return strip(a).deep_equals(strip(b))


def contains_statement(node: cst.CSTNode, small: cst.BaseSmallStatement) -> bool:
    return any(found.deep_equals(small) for found in m.findall(node, m.Expr()))


def statement_line(
    expression: cst.BaseExpression | cst.BaseSmallStatement,
) -> cst.SimpleStatementLine:
    small = expression if isinstance(expression, cst.BaseSmallStatement) else cst.Expr(expression)
    return cst.SimpleStatementLine([small])


def state_expr(param: str, attribute: str) -> cst.Attribute:
    return cst.Attribute(
        value=cst.Attribute(value=cst.Name(param), attr=cst.Name("state")),
        attr=cst.Name(attribute),
    )


def _await_call(func: cst.BaseExpression) -> cst.Await:
    return cst.Await(cst.Call(func=func))


def _docstring_end(body: Sequence[cst.BaseStatement]) -> int:
    if body and m.matches(body[0], m.SimpleStatementLine(body=[m.Expr(value=m.SimpleString())])):
        return 1
    return 0


def _asynccontextmanager_name(
    module: cst.Module, bindings: Mapping[str, cst.CSTNode]
) -> tuple[cst.BaseExpression, bool] | None:
    """How to spell contextlib.asynccontextmanager here, and whether to import it."""
    bound = bindings.get(_ASYNCCONTEXTMANAGER)
    if bound is None:
        return cst.Name(_ASYNCCONTEXTMANAGER), True
    if m.matches(
        bound,
        m.ImportFrom(
            module=m.Name("contextlib"),
            names=[
                m.ZeroOrMore(),
                m.ImportAlias(name=m.Name(_ASYNCCONTEXTMANAGER), asname=None),
                m.ZeroOrMore(),
            ],
        ),
    ):
        return cst.Name(_ASYNCCONTEXTMANAGER), False
    if isinstance(bindings.get("contextlib"), cst.Import):
        return cst.Attribute(cst.Name("contextlib"), cst.Name(_ASYNCCONTEXTMANAGER)), False
    return None


def _free_name(bindings: Mapping[str, cst.CSTNode], *choices: str) -> str | None:
    for choice in choices:
        if choice not in bindings:
            return choice
    return None


def add_keyword(call: cst.Call, name: str, value: cst.BaseExpression) -> cst.Call:
    """`call` with `name=value` appended, following the call's layout (one line, or one
    argument per line with a trailing comma)."""
    new = cst.Arg(
        value=value,
        keyword=cst.Name(name),
        equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
    )
    args = list(call.args)
    if not args:
        return call.with_changes(args=[new])
    last = args[-1]
    if isinstance(last.comma, cst.Comma):
        # Trailing comma: the new argument takes it (and the whitespace before `)`).
        between = (
            args[-2].comma
            if len(args) > 1 and isinstance(args[-2].comma, cst.Comma)
            else cst.Comma(whitespace_after=call.whitespace_before_args)
        )
        args[-1] = last.with_changes(comma=between)
        args.append(new.with_changes(comma=last.comma))
    else:
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        args.append(new)
    return call.with_changes(args=args)


def drop_keywords(call: cst.Call, names: Iterable[str]) -> cst.Call:
    """`call` without the keyword arguments `names`, keeping its layout."""
    names = set(names)
    args = list(call.args)
    kept = [a for a in args if not (a.keyword is not None and a.keyword.value in names)]
    if len(kept) == len(args):
        return call
    if kept and args[-1] is not kept[-1]:
        kept[-1] = kept[-1].with_changes(comma=args[-1].comma)
    return call.with_changes(args=kept)


def with_blank_lines(
    stmt: cst.SimpleStatementLine | cst.BaseCompoundStatement, count: int = 2
) -> cst.SimpleStatementLine | cst.BaseCompoundStatement:
    """At least `count` blank lines before the statement (and its leading comments)."""
    lines = list(stmt.leading_lines)
    blank = 0
    while blank < len(lines) and lines[blank].comment is None:
        blank += 1
    if blank >= count:
        return stmt
    return stmt.with_changes(leading_lines=[cst.EmptyLine()] * count + lines[blank:])


@dataclass(frozen=True)
class _Resource:
    attribute: str | None
    create: cst.BaseExpression | None
    close: str | cst.BaseExpression


def _close_line(resource: _Resource, param: str) -> cst.SimpleStatementLine:
    if isinstance(resource.close, str):
        assert resource.attribute is not None
        return statement_line(
            _await_call(
                cst.Attribute(state_expr(param, resource.attribute), cst.Name(resource.close))
            )
        )
    return statement_line(resource.close)


def _new_lifespan(
    decorator: cst.BaseExpression,
    name: str,
    param: str,
    annotation: cst.BaseExpression,
    before: Sequence[cst.BaseStatement],
    after: Sequence[cst.BaseStatement],
) -> cst.FunctionDef:
    """@asynccontextmanager async def name(param: annotation): before; yield; after."""
    function = cst.ensure_type(
        cst.parse_statement("@contextmanager\nasync def lifespan(app):\n    yield\n"),
        cst.FunctionDef,
    )
    yield_line = cst.ensure_type(function.body, cst.IndentedBlock).body[0]
    tail: list[cst.BaseStatement] = [_try_finally([yield_line], after) if after else yield_line]
    return function.with_changes(
        decorators=[cst.Decorator(decorator)],
        name=cst.Name(name),
        params=cst.Parameters(
            params=[cst.Param(cst.Name(param), annotation=cst.Annotation(annotation))]
        ),
        body=cst.IndentedBlock(body=[*before, *tail]),
        leading_lines=[cst.EmptyLine(), cst.EmptyLine()],
    )


def _insert_into_lifespan(
    function: cst.FunctionDef,
    param: str,
    before: Sequence[cst.BaseStatement],
    after: Sequence[cst.BaseStatement],
) -> cst.FunctionDef:
    """`before` at the start of an existing lifespan (after its docstring and the
    resources already created there), `after` at the end of its `finally:` (or after
    everything that follows its `yield`)."""
    body = cst.ensure_type(function.body, cst.IndentedBlock)
    statements = list(body.body)
    start = _docstring_end(statements)
    while start < len(statements) and _state_attribute(statements[start], param) is not None:
        start += 1
    statements[start:start] = before
    position = _yield_position(body.with_changes(body=statements))
    assert position is not None
    index, in_finally = position
    holder = statements[index]
    if in_finally and after:
        assert isinstance(holder, cst.Try) and holder.finalbody is not None
        final_body = cst.ensure_type(holder.finalbody.body, cst.IndentedBlock)
        existing = [
            s for s in final_body.body if not m.matches(s, m.SimpleStatementLine([m.Pass()]))
        ]
        statements[index] = holder.with_changes(
            finalbody=holder.finalbody.with_changes(
                body=final_body.with_changes(body=[*existing, *after])
            )
        )
    elif after and index == len(statements) - 1 and _is_yield_line(holder):
        # Nothing after the yield yet: the shutdown code goes into a `finally:`.
        assert isinstance(holder, cst.SimpleStatementLine)
        statements[index] = _try_finally(
            [holder.with_changes(leading_lines=[])], after
        ).with_changes(leading_lines=holder.leading_lines)
    else:
        statements.extend(after)
    return function.with_changes(body=body.with_changes(body=statements))


def _try_finally(body: Sequence[cst.BaseStatement], final: Sequence[cst.BaseStatement]) -> cst.Try:
    attempt = cst.ensure_type(cst.parse_statement("try:\n    yield\nfinally:\n    pass\n"), cst.Try)
    assert attempt.finalbody is not None
    return attempt.with_changes(
        body=cst.IndentedBlock(body=list(body)),
        finalbody=attempt.finalbody.with_changes(body=cst.IndentedBlock(body=list(final))),
    )


def add_lifespan_resource(
    module: cst.Module,
    app_name: str,
    attribute: str | None,
    create: cst.BaseExpression | None,
    close: str | cst.BaseExpression,
    *,
    context: CodemodContext | None = None,
) -> cst.Module | None:
    """Put a shared resource into the lifespan of the FastAPI app `app_name` of `module`.

    - `attribute`, `create`: before `yield`, `<app>.state.<attribute> = <create>` (both
      None: nothing is created, e.g. an engine that only needs disposing).
    - `close`: a method name (`"aclose"` gives `await <app>.state.<attribute>.aclose()`)
      or a whole expression (`await engine.dispose()`), run after `yield`, in the
      `finally:` of the lifespan, after the shutdown code already there.

    `<app>` is the lifespan's own parameter. When the app has no `lifespan=` yet, an
    `@asynccontextmanager` function is created before `app_name = FastAPI(...)` and passed
    as `lifespan=`. The `contextlib` import goes through `context` (AddImportsVisitor, run
    by the driver) when given, else it is added to the returned module at once.

    Returns the module unchanged when the resource is already there (same attribute,
    same client up to pool limits, or the same close expression), and None, meaning
    "do not rewrite, report instead", when it cannot be done safely: no single
    module-level `app_name = FastAPI(...)`; on_event / add_event_handler / on_startup=
    still in the module (lifespan= would silently disable them); a `lifespan=` that is
    not a plain `@asynccontextmanager` function of this module with one `yield`; the
    attribute already created with a different value; or names that are taken.
    Callers must also make sure no other module registers event handlers on the app.
    """
    if (attribute is None) != (create is None) or (isinstance(close, str) and attribute is None):
        raise ValueError("attribute and create go together; a method name needs an attribute")
    resource = _Resource(attribute, create, close)

    def build(param: str, lifespan: cst.FunctionDef | None) -> Parts | None:
        close_line = _close_line(resource, param)
        if lifespan is not None:
            statements = cst.ensure_type(lifespan.body, cst.IndentedBlock).body
            if attribute is not None:
                assert create is not None
                for stmt in statements:
                    found = _state_attribute(stmt, param)
                    if found is not None and found[0] == attribute:
                        return UNCHANGED if _same_client(found[1], create) else None
            elif contains_statement(lifespan, close_line.body[0]):
                return UNCHANGED
        before = (
            []
            if attribute is None
            else [statement_line(assign_statement(state_expr(param, attribute), create))]
        )
        return Parts(before, [close_line])

    return extend_lifespan(module, app_name, build, context=context)


@dataclass(frozen=True)
class Parts:
    """What goes into a lifespan: before its yield, and after it."""

    before: Sequence[cst.BaseStatement]
    after: Sequence[cst.BaseStatement]


UNCHANGED = Parts((), ())


def extend_lifespan(
    module: cst.Module,
    app_name: str,
    build: Callable[[str, cst.FunctionDef | None], Parts | None],
    *,
    context: CodemodContext | None = None,
    name: str | None = None,
) -> cst.Module | None:
    """The engine of add_lifespan_resource: `build(param, existing lifespan or None)` says
    what to add (None: refuse; UNCHANGED: already there)."""
    app = find_app(module, app_name)
    if app is None or has_event_handlers(module):
        return None
    existing = keyword_arg(app.call, "lifespan")
    if existing is None:
        parts = build(app_name, None)
        if parts is None:
            return None
        if parts is UNCHANGED:
            return module
        return _create_lifespan(module, app, app_name, parts, context, name)
    if not isinstance(existing.value, cst.Name):
        return None
    lifespan = _plain_lifespan(module, existing.value.value)
    if lifespan is None:
        return None
    parts = build(lifespan.param, lifespan.function)
    if parts is None:
        return None
    if parts is UNCHANGED:
        return module
    body = list(module.body)
    body[lifespan.index] = _insert_into_lifespan(
        lifespan.function, lifespan.param, parts.before, parts.after
    )
    return module.with_changes(body=body)


def assign_statement(
    target: cst.BaseAssignTargetExpression, value: cst.BaseExpression | None
) -> cst.Assign:
    assert value is not None
    return cst.Assign(targets=[cst.AssignTarget(target)], value=value)


def _create_lifespan(
    module: cst.Module,
    app: _AppSite,
    app_name: str,
    parts: Parts,
    context: CodemodContext | None,
    name: str | None = None,
) -> cst.Module | None:
    """A new lifespan before the app, passed as lifespan=. The lifespan's parameter is
    named like the module's app: the same object, so shadowing it changes nothing."""
    bindings = _module_bindings(module)
    if "*" in bindings:
        return None
    spelled = _asynccontextmanager_name(module, bindings)
    name = name or _free_name(bindings, "lifespan", "app_lifespan", f"{app_name}_lifespan")
    if spelled is None or name is None:
        return None
    decorator, needs_import = spelled
    function = _new_lifespan(decorator, name, app_name, app.call.func, parts.before, parts.after)
    statement = module.body[app.index]
    assert isinstance(statement, cst.SimpleStatementLine)
    assign = cst.ensure_type(statement.body[0], cst.Assign)
    new_call = add_keyword(app.call, "lifespan", cst.Name(name))
    new_statement = with_blank_lines(
        statement.with_changes(body=[assign.with_changes(value=new_call)])
    )
    body = list(module.body)
    body[app.index : app.index + 1] = [function, new_statement]
    module = module.with_changes(body=body)
    if needs_import:
        if context is not None:
            AddImportsVisitor.add_needed_import(context, "contextlib", _ASYNCCONTEXTMANAGER)
        else:
            local = CodemodContext()
            AddImportsVisitor.add_needed_import(local, "contextlib", _ASYNCCONTEXTMANAGER)
            module = visit_with_metadata(TopImportsAdder(local), module)
    return module
