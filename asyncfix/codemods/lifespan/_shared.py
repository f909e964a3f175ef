"""What several codemods and the plan of the lifespan family share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import libcst as cst
import libcst.matchers as m
from libcst.metadata import FunctionScope, GlobalScope, QualifiedNameProvider, Scope

from asyncfix.codemods.base import AsyncfixCodemod
from asyncfix.codemods.shared.lifespan_builder import state_expr
from asyncfix.codemods.shared.lifespan_sites import CLIENTS, Callees
from asyncfix.codemods.shared.pool_options import LIMITS, TOTAL_KEYS, caps_concurrency
from asyncfix.config import Config


def migrates(app: Mapping[str, Any]) -> bool:
    return not app["blocked"] and bool(app["startup"] or app["shutdown"])


def app_of(entry: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(the app of this module, why its lifespan cannot take resources)."""
    apps = entry.get("apps", {})
    if len(apps) != 1:
        return None, (
            "no FastAPI app in this module to own it; move it into the app's lifespan by hand"
            if not apps
            else "several FastAPI apps in this module; asyncfix cannot tell which owns it"
        )
    [(var, app)] = apps.items()
    if app["blocked"]:
        return var, f"the app's on_event handlers cannot move into a lifespan ({app['blocked']})"
    return var, None


def client_kind(
    codemod: AsyncfixCodemod, call: cst.BaseExpression, clients: Callees[str] = CLIENTS
) -> str | None:
    """The close method of the client `call` creates (one of `clients`, by its qualified
    name), None when it is not one."""
    if not isinstance(call, cst.Call):
        return None
    for name in codemod.get_metadata(QualifiedNameProvider, call.func, set()):
        if name.name in clients:
            return clients[name.name]
    return None


def resolves_globally(scope: Scope | None, name: str) -> bool:
    """Does `name` in `scope` mean the module-level binding?"""
    if scope is None or name not in scope:
        return False
    return all(isinstance(a.scope, GlobalScope) for a in scope[name])


def head_name(node: cst.BaseExpression) -> str | None:
    while isinstance(node, cst.Attribute):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def app_state(app: str, attribute: str) -> cst.Attribute:
    return state_expr(app, attribute)


def state_of(app: cst.BaseExpression, attribute: str) -> cst.Attribute:
    return cst.Attribute(
        value=cst.Attribute(value=app, attr=cst.Name("state")), attr=cst.Name(attribute)
    )


def enclosing_function(scope: Scope | None) -> cst.FunctionDef | None:
    while scope is not None and not isinstance(scope, GlobalScope):
        if (
            isinstance(scope, FunctionScope)
            and isinstance(scope.node, cst.FunctionDef)
            and isinstance(scope.parent, GlobalScope)
        ):
            return scope.node
        scope = scope.parent
    return None


def with_request(params: cst.Parameters) -> cst.Parameters:
    """`request: Request` added where FastAPI finds it and callers are least disturbed: last
    positional parameter, or keyword-only when defaults or a `*` come first."""
    new = cst.Param(cst.Name("request"), annotation=cst.Annotation(cst.Name("Request")))
    positional = [*params.posonly_params, *params.params]
    simple = not any(p.default is not None for p in positional) and not params.kwonly_params
    if simple and params.star_arg is cst.MaybeSentinel.DEFAULT and params.star_kwarg is None:
        items = list(params.params)
        if items:
            items[-1] = items[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return params.with_changes(params=[*items, new])
    kwonly = list(params.kwonly_params)
    if kwonly:
        kwonly[-1] = kwonly[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    star = (
        params.star_arg if not isinstance(params.star_arg, cst.MaybeSentinel) else cst.ParamStar()
    )
    return params.with_changes(star_arg=star, kwonly_params=[*kwonly, new])


def cast_module(module: cst.Module | None) -> cst.Module:
    assert module is not None
    return module


# The app.state attribute of the shared client of each kind (keyed by its close method).
SHARED = {"close": "aiohttp_session", "aclose": "http_client"}
CLOSING = frozenset({"close", "aclose", "detach", "__aexit__"})


class CallFinder(cst.CSTVisitor):
    """A cheap screen: is there a call spelt as one of `sites`' (see Callees.cst_spelt_by),
    as a with item only when `with_items_only`? Stops at the first."""

    def __init__(self, sites: Callees[Any], *, with_items_only: bool = False) -> None:
        super().__init__()
        self.sites = sites
        self.with_items_only = with_items_only
        self.found = False

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self.found:
            return False
        if isinstance(node, cst.WithItem if self.with_items_only else cst.Call):
            call = node.item if isinstance(node, cst.WithItem) else node
            if isinstance(call, cst.Call):
                self.found = self.sites.cst_spelt_by(call.func)
        return not self.found


def called_in(module: cst.Module, sites: Callees[Any], *, with_items_only: bool = False) -> bool:
    finder = CallFinder(sites, with_items_only=with_items_only)
    module.visit(finder)
    return finder.found


# Why a per-call client cannot become a shared one (AF304). Both sides check a site: the
# plan on the ast of a router's module, PerCallClient on the libcst tree of the app's.
OPTIONS_PROBLEM = "the session is created with options; a shared one would need the same"


def block_problem(name: str, *, rebound: bool, used_after: bool, closes: bool) -> str | None:
    """What the block of `async with <client>() as name:` does with its client that a
    shared one must not see, in the order both sides report it."""
    if rebound:
        return f"`{name}` is assigned more than once in the function"
    if used_after:
        return f"`{name}` is used after the block, where the session was closed"
    if closes:
        return "the block closes the session itself; the shared one must stay open"
    return None


def shared_cap_problem(config: Config, package: str) -> str | None:
    """Why calls that each open their own `package` client may not share one, if so."""
    key = TOTAL_KEYS[package]
    if caps_concurrency(config, package):
        return None
    return (
        "each call has a pool of its own today, nothing caps them together; one shared "
        f"client would cap them all at {package}'s default of {LIMITS[key][2]} connections: "
        f"set {key} in [tool.asyncfix.lifespan] to share one"
    )


def binding_site(module: cst.Module, name: str) -> cst.CSTNode | None:
    """The module-level assignment or import that binds `name`, for findings."""
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Assign) and any(
                m.matches(t.target, m.Name(name)) for t in small.targets
            ):
                return small.value
            if isinstance(small, cst.Import | cst.ImportFrom) and not isinstance(
                small.names, cst.ImportStar
            ):
                for alias in small.names:
                    if (alias.evaluated_alias or alias.evaluated_name) == name:
                        return alias
    return None


def _pw(extra: int) -> cst.ParenthesizedWhitespace:
    return cst.ParenthesizedWhitespace(
        first_line=cst.TrailingWhitespace(),
        indent=True,
        last_line=cst.SimpleWhitespace(" " * extra),
    )


def explode(call: cst.Call, indent: str, one_per_line: bool) -> cst.Call:
    """The call's arguments on their own indented line(s), the way black lays them out."""
    args = list(call.args)
    if one_per_line:
        args = [a.with_changes(comma=cst.Comma(whitespace_after=_pw(len(indent)))) for a in args]
        args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=_pw(0)))
    else:
        args[-1] = args[-1].with_changes(
            comma=cst.MaybeSentinel.DEFAULT, whitespace_after_arg=_pw(0)
        )
    return call.with_changes(whitespace_before_args=_pw(len(indent)), args=args)
