"""AF301 applied to one file: the on_event registrations stripped and their handlers moved
into the app's lifespan, as the plan decided."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.helpers import get_full_name_for_node

from asyncfix.codemods.lifespan._shared import migrates
from asyncfix.codemods.shared.lifespan_builder import (
    UNCHANGED,
    Parts,
    contains_statement,
    drop_keywords,
    extend_lifespan,
    find_app,
    has_event_handlers,
    keyword_arg,
    statement_line,
)
from asyncfix.codemods.shared.lifespan_sites import EVENTS


@dataclass
class _Site:
    node: cst.CSTNode
    reason: str | None  # None: fixed


def _cst_dotted(node: cst.BaseExpression | None) -> str | None:
    if not isinstance(node, cst.Name | cst.Attribute):
        return None
    return get_full_name_for_node(node)


def _cst_literal(node: cst.BaseExpression | None) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


class _StripRegistrations(cst.CSTTransformer):
    """Removes the planned registrations and collects the sites to report. Sites are
    recognized by what they say (owner, event, handler, occurrence), as the plan keyed
    them, so earlier rewrites of the file do not matter."""

    def __init__(self, entry: Mapping[str, Any]) -> None:
        super().__init__()
        self.strip = {tuple(k) for k in entry["strip"]}
        self.refuse = {tuple(k): reason for k, reason in entry["refuse"]}
        self.sites: list[_Site] = []
        self.found: set[tuple[Any, ...]] = set()
        self.decisions: dict[int, bool] = {}  # id(node) -> strip it
        self.removed: set[int] = set()  # statements to drop in leave_Module
        self.seen: dict[tuple[Any, ...], int] = {}

    def _classify(self, node: cst.CSTNode, key: tuple[Any, ...]) -> None:
        count = self.seen[key] = self.seen.get(key, -1) + 1
        full = (*key, count)
        if full in self.strip:
            self.found.add(full)
            self.sites.append(_Site(node, None))
            self.decisions[id(node)] = True
        elif full in self.refuse:
            self.sites.append(_Site(node, self.refuse[full]))
            self.decisions[id(node)] = False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        for decorator in node.decorators:
            call = decorator.decorator
            if EVENTS.cst_decorator(call):
                assert isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
                event = _cst_literal(EVENTS.cst_arg(call, EVENTS.event))
                key = ("dec", _cst_dotted(call.func.value), event, node.name.value)
                self._classify(call, key)

    def visit_Call(self, node: cst.Call) -> None:
        if EVENTS.cst_method(node.func):
            assert isinstance(node.func, cst.Attribute)
            event = _cst_literal(EVENTS.cst_arg(node, EVENTS.event))
            handler = _cst_dotted(EVENTS.cst_arg(node, EVENTS.handler))
            self._classify(node, ("add", _cst_dotted(node.func.value), event, handler))

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return
        if not isinstance(node.value, cst.Call):
            return
        var = node.targets[0].target.value
        for arg in node.value.args:
            if arg.keyword is None or arg.keyword.value not in EVENTS.keywords:
                continue
            event = EVENTS.keywords[arg.keyword.value]
            if isinstance(arg.value, cst.List | cst.Tuple) and not any(
                isinstance(e, cst.StarredElement) for e in arg.value.elements
            ):
                for element in arg.value.elements:
                    self._classify(element.value, ("kw", var, event, _cst_dotted(element.value)))
            else:
                self._classify(arg.value, ("kw", var, event, None))

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        keep = [
            updated
            for original, updated in zip(
                original_node.decorators, updated_node.decorators, strict=True
            )
            if not self.decisions.get(id(original.decorator))
        ]
        if len(keep) == len(updated_node.decorators):
            return updated_node
        return updated_node.with_changes(decorators=keep)

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.RemovalSentinel:
        body = [
            small
            for original, small in zip(original_node.body, updated_node.body, strict=True)
            if not (isinstance(original, cst.Expr) and self.decisions.get(id(original.value)))
        ]
        if len(body) == len(original_node.body):
            return updated_node
        if not body:
            # Removed in leave_Module, which keeps the blank lines it stood after.
            removed = updated_node.with_changes(body=[cst.Pass()])
            self.removed.add(id(removed))  # ids of the updated nodes: see leave_Module
            return removed
        body[-1] = body[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
        return updated_node.with_changes(body=body)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self.removed:
            return updated_node
        return updated_node.with_changes(
            body=drop_statements(updated_node.body, updated_node.body, self.removed)
        )

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        drop = []
        for arg in original_node.args:
            if arg.keyword is None or arg.keyword.value not in EVENTS.keywords:
                continue
            items = (
                [e.value for e in arg.value.elements]
                if isinstance(arg.value, cst.List | cst.Tuple)
                else [arg.value]
            )
            if items and all(self.decisions.get(id(item)) for item in items):
                drop.append(arg.keyword.value)
        return drop_keywords(updated_node, drop) if drop else updated_node


def drop_statements(
    original: Sequence[cst.BaseStatement],
    updated: Sequence[cst.BaseStatement],
    removed: set[int],
) -> list[cst.BaseStatement]:
    """`updated` without the statements whose `original` counterpart's id is in `removed`;
    the blank lines a dropped statement stood after go to the next one."""
    body: list[cst.BaseStatement] = []
    carried = 0
    for before, stmt in zip(original, updated, strict=True):
        assert isinstance(stmt, cst.SimpleStatementLine | cst.BaseCompoundStatement)
        blank = 0
        while blank < len(stmt.leading_lines) and stmt.leading_lines[blank].comment is None:
            blank += 1
        if id(before) in removed:
            carried = max(carried, blank)
            continue
        if carried > blank:
            lines = [cst.EmptyLine()] * carried + list(stmt.leading_lines[blank:])
            stmt = stmt.with_changes(leading_lines=lines)
        carried = 0
        body.append(stmt)
    return body


def _call_line(name: str, is_async: bool) -> cst.SimpleStatementLine:
    call = cst.Call(func=cst.Name(name))
    return statement_line(cst.Await(call) if is_async else call)


def apply_on_event(
    module: cst.Module, entry: Mapping[str, Any], context: CodemodContext
) -> tuple[cst.Module, str | None, list[_Site]]:
    """The planned AF301 rewrite of one file: (new module, why not, the sites to report).
    When it cannot be made, the module comes back unchanged with the reason."""
    strip = _StripRegistrations(entry)
    new = module.visit(strip)
    if strip.found != strip.strip:
        return module, "the file changed since it was planned", strip.sites
    for var, app in entry["apps"].items():
        if not migrates(app):
            continue
        startup = [_call_line(name, is_async) for name, is_async in app["startup"]]
        shutdown = [_call_line(name, is_async) for name, is_async in app["shutdown"]]

        def build(
            param: str,
            existing: cst.FunctionDef | None,
            startup: list[cst.SimpleStatementLine] = startup,
            shutdown: list[cst.SimpleStatementLine] = shutdown,
        ) -> Parts | None:
            if existing is not None:
                # Merging is idempotent: a call already in the lifespan is not added again.
                startup = [s for s in startup if not contains_statement(existing, s.body[0])]
                shutdown = [s for s in shutdown if not contains_statement(existing, s.body[0])]
                if not startup and not shutdown:
                    return UNCHANGED
            return Parts(startup, shutdown)

        extended = extend_lifespan(new, var, build, context=context)
        if extended is None:
            return module, why_no_lifespan(new, var), strip.sites
        new = extended
    for target, name, alias, level in entry["imports"]:
        AddImportsVisitor.add_needed_import(context, target, name, alias, level)
    return new, None, strip.sites


def why_no_lifespan(module: cst.Module, app_name: str) -> str:
    app = find_app(module, app_name)
    if app is None:
        return f"`{app_name} = FastAPI(...)` is not a single plain module-level assignment"
    if has_event_handlers(module):
        return "other event handlers remain in the module; lifespan= would silence them"
    existing = keyword_arg(app.call, "lifespan")
    if existing is not None:
        return (
            "the app's lifespan= is not a plain @asynccontextmanager function of this module "
            "with a single yield"
        )
    return "the names the lifespan needs (asynccontextmanager, lifespan) are taken"
