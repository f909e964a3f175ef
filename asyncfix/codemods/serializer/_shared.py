"""What only the serializer family's transform shares: static facts about libcst
expressions (the names it looks for are in `sites.py`)."""

from __future__ import annotations

import re
from typing import Any

import libcst as cst
import libcst.matchers as m
from libcst.metadata import ComprehensionScope, FunctionScope, Scope

_JSON_MEDIA_TYPE = re.compile(
    r"application/(?:[\w.+-]+\+)?json\s*(?:;.*)?", re.IGNORECASE | re.DOTALL
)


ORJSON_TAKEN = "the name `orjson` is bound to something else here"


# -- static facts about expressions ---------------------------------------------------------

_NOT_LITERAL = object()


def literal(node: cst.BaseExpression) -> Any:
    """The value of a simple literal (True/False/None, an int, a str, a tuple of them)."""
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[node.value]
    if isinstance(node, cst.Integer):
        return int(node.value, 0)
    if isinstance(node, cst.SimpleString) and isinstance(node.evaluated_value, str):
        return node.evaluated_value
    if isinstance(node, cst.Tuple):
        items = [literal(e.value) for e in node.elements if isinstance(e, cst.Element)]
        if len(items) == len(node.elements) and _NOT_LITERAL not in items:
            return tuple(items)
    return _NOT_LITERAL


def _is_str_literal(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.SimpleString):
        return isinstance(node.evaluated_value, str)
    if isinstance(node, cst.ConcatenatedString):
        return isinstance(node.evaluated_value, str)
    return isinstance(node, cst.FormattedString)


def only_str_keys(node: cst.BaseExpression) -> bool:
    """A literal payload whose dicts, at every depth, have only str keys."""
    if _is_str_literal(node) or isinstance(node, cst.Integer | cst.Float):
        return True
    if isinstance(node, cst.Name):
        return node.value in ("True", "False", "None")
    if isinstance(node, cst.UnaryOperation):
        return isinstance(node.operator, cst.Minus) and isinstance(
            node.expression, cst.Integer | cst.Float
        )
    if isinstance(node, cst.List | cst.Tuple):
        return all(isinstance(e, cst.Element) and only_str_keys(e.value) for e in node.elements)
    if isinstance(node, cst.Dict):
        return all(
            isinstance(e, cst.DictElement) and _is_str_literal(e.key) and only_str_keys(e.value)
            for e in node.elements
        )
    return False


def small_literal(node: cst.BaseExpression) -> bool:
    """A literal payload of constants only: too small for a faster serializer to matter."""
    if isinstance(node, cst.List | cst.Tuple):
        return all(isinstance(e, cst.Element) and small_literal(e.value) for e in node.elements)
    if isinstance(node, cst.Dict):
        return all(
            isinstance(e, cst.DictElement) and small_literal(e.key) and small_literal(e.value)
            for e in node.elements
        )
    return only_str_keys(node)


def is_json_media_type(node: cst.BaseExpression | None) -> bool:
    value = literal(node) if node is not None else None
    return isinstance(value, str) and _JSON_MEDIA_TYPE.fullmatch(value.strip()) is not None


def argument(call: cst.Call, position: int | None, keyword: str) -> cst.Arg | None:
    """The argument bound to parameter `keyword` (at `position` when passed positionally)."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg
    if position is None:
        return None
    for index, arg in enumerate(call.args):
        if arg.keyword is not None or arg.star:
            return None  # after a * argument the positions are unknowable
        if index == position:
            return arg
    return None


def within(scope: Scope | None, function: cst.FunctionDef) -> bool:
    """Is `scope` the scope of `function`'s body, or of a comprehension in it?"""
    while isinstance(scope, ComprehensionScope):
        scope = scope.parent
    return isinstance(scope, FunctionScope) and scope.node is function


def comments(node: cst.CSTNode) -> int:
    return len(m.findall(node, m.Comment()))


def callee(call: cst.Call) -> str | None:
    if isinstance(call.func, cst.Name):
        return call.func.value
    if isinstance(call.func, cst.Attribute):
        return call.func.attr.value
    return None
