"""json.dumps() calls mapped exactly onto orjson.dumps(), or the reason they cannot be."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import libcst as cst

from asyncfix.codemods.serializer._shared import literal, only_str_keys


def _option_flags(orjson: str, flags: Sequence[str]) -> cst.BaseExpression:
    expr: cst.BaseExpression = cst.Attribute(cst.Name(orjson), cst.Name(flags[0]))
    for flag in flags[1:]:
        expr = cst.BinaryOperation(
            expr, cst.BitOr(), cst.Attribute(cst.Name(orjson), cst.Name(flag))
        )
    return expr


_NO_SPACE = cst.AssignEqual(
    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
)


@dataclass(frozen=True)
class DumpsArgs:
    """json.dumps' arguments as orjson options: which argument is the payload, which flags."""

    obj: int  # index in call.args
    flags: tuple[str, ...]  # orjson OPT_* names, sorted

    @property
    def plain(self) -> bool:
        """No option a response class could not apply by itself."""
        return set(self.flags) <= {"OPT_NON_STR_KEYS"}


_DUMPS_REFUSALS = {
    "default": (
        "orjson calls `default` for other types than json.dumps does (it serializes enums, "
        "UUIDs, dataclasses and datetimes itself, and hands namedtuples and float subclasses "
        "to `default`)"
    ),
    "allow_nan": "orjson writes NaN and infinities as null; allow_nan= cannot be kept",
    "skipkeys": "orjson cannot skip keys: skipkeys= has no equivalent",
    "cls": "a custom encoder class (cls=) has no orjson equivalent",
}


def _droppable(name: str, value: Any) -> bool:
    """A json.dumps keyword that changes only the text (or the error on a cycle), or that
    has its default value."""
    if name in ("ensure_ascii", "check_circular"):
        return isinstance(value, bool)
    if name == "separators":
        return value is None or (
            isinstance(value, tuple)
            and [v.strip() if isinstance(v, str) else v for v in value] == [",", ":"]
        )
    if name == "skipkeys":
        return value is False
    return name in ("cls", "default", "indent") and value is None


def map_dumps_arguments(call: cst.Call) -> DumpsArgs | str:
    """json.dumps' arguments mapped exactly onto orjson's, or why they cannot be."""
    obj: int | None = None
    flags: set[str] = set()
    for index, arg in enumerate(call.args):
        if arg.star:
            return "arguments passed with * or ** cannot be mapped onto orjson's"
        if arg.keyword is None or arg.keyword.value == "obj":
            if obj is not None:
                return "json.dumps() takes one positional argument; this call is unusual"
            obj = index
            continue
        name, value = arg.keyword.value, literal(arg.value)
        text = cst.Module([]).code_for_node(arg.value)
        if name == "sort_keys" and isinstance(value, bool):
            flags |= {"OPT_SORT_KEYS"} if value else set()
        elif name == "indent" and value == 2 and type(value) is int:
            flags.add("OPT_INDENT_2")
        elif _droppable(name, value):
            continue
        elif name in _DUMPS_REFUSALS:
            return _DUMPS_REFUSALS[name]
        elif name == "indent":
            return f"orjson indents by exactly 2 spaces only; indent={text} cannot be kept"
        elif name in ("sort_keys", "ensure_ascii", "check_circular", "separators"):
            return f"{name}={text} cannot be mapped exactly"
        else:
            return f"json.dumps() has no {name}= argument orjson could take"
    if obj is None:
        return "json.dumps() without its payload is unusual"
    if not only_str_keys(call.args[obj].value):
        flags.add("OPT_NON_STR_KEYS")
    return DumpsArgs(obj, tuple(sorted(flags)))


def orjson_dumps(
    call: cst.Call, mapped: DumpsArgs, orjson: str, *, decode: bool
) -> cst.BaseExpression:
    """`orjson.dumps(obj[, option=...])[.decode()]` from json.dumps `call`, keeping the
    payload argument as written (its comments and the call's line breaks)."""
    obj, last = call.args[mapped.obj], call.args[-1]
    obj = obj.with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT)
    if mapped.flags:
        if obj.comma is cst.MaybeSentinel.DEFAULT or mapped.obj == len(call.args) - 1:
            obj = obj.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        option = cst.Arg(
            _option_flags(orjson, mapped.flags),
            keyword=cst.Name("option"),
            equal=_NO_SPACE,
            comma=last.comma,
            whitespace_after_arg=last.whitespace_after_arg,
        )
        args = [obj, option]
    else:
        args = [obj.with_changes(comma=last.comma, whitespace_after_arg=last.whitespace_after_arg)]
    new: cst.BaseExpression = call.with_changes(
        func=cst.Attribute(cst.Name(orjson), cst.Name("dumps")), args=args, lpar=[], rpar=[]
    )
    if decode:
        new = cst.Call(cst.Attribute(new, cst.Name("decode")))
    return new.with_changes(lpar=call.lpar, rpar=call.rpar)


# -- the screen ------------------------------------------------------------------------------
