"""What only the http_client family's modules share: names of nodes, the async client's
module at a site, small syntax builders."""

from __future__ import annotations

import libcst as cst
from libcst.codemod.visitors import AddImportsVisitor
from libcst.helpers import get_full_name_for_node
from libcst.metadata import (
    CodeRange,
    ComprehensionScope,
    PositionProvider,
    QualifiedNameProvider,
    Scope,
)

from asyncfix.codemods.base import AsyncfixCodemod
from asyncfix.codemods.helpers import module_name_at


def dotted_of(node: cst.BaseExpression) -> str | None:
    return get_full_name_for_node(node) if isinstance(node, cst.Name | cst.Attribute) else None


def qualified_names(codemod: AsyncfixCodemod, node: cst.CSTNode) -> set[str]:
    return {q.name for q in codemod.get_metadata(QualifiedNameProvider, node, set())}


ASYNCIO_TAKEN = "the name `asyncio` is bound to something else here"

ROUTE_DECORATORS = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "trace", "api_route", "websocket"}
)
_NO_WS = cst.SimpleWhitespace("")


def keyword_arg(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(
        value,
        keyword=cst.Name(name),
        equal=cst.AssignEqual(_NO_WS, _NO_WS),
        comma=cst.MaybeSentinel.DEFAULT,
    )


def awaitable_in(inner: Scope, scope: Scope) -> bool:
    """Can code in `inner` await as part of `scope` (itself, or comprehensions in it that
    are not generator expressions)?"""
    while isinstance(inner, ComprehensionScope) and not isinstance(inner.node, cst.GeneratorExp):
        inner = inner.parent
    return inner is scope


def here(codemod: AsyncfixCodemod, node: cst.CSTNode) -> CodeRange | None:
    # Positions in the tree the codemod was given (an earlier codemod may have changed
    # it), so that two nodes of it compare correctly.
    return codemod.get_metadata(PositionProvider, node, None)


def client_module(codemod: AsyncfixCodemod, scope: Scope, library: str) -> str | None:
    """The name the client library has at `scope` (imported when it must be), or None."""
    found = module_name_at(scope, library)
    if found is None:
        return None
    if found.needs_import:
        AddImportsVisitor.add_needed_import(codemod.context, library)
    codemod.require_package(library)
    return found.name
