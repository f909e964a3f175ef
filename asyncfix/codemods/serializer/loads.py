"""AF102: json.loads() on the event loop."""

from __future__ import annotations

from typing import cast

import libcst as cst

from asyncfix.codemods.base import Rule
from asyncfix.codemods.helpers import module_name_at
from asyncfix.codemods.serializer._shared import ORJSON_TAKEN, argument, callee, literal
from asyncfix.codemods.serializer.lookups import JsonWriter, SerializerBase
from asyncfix.codemods.serializer.sites import (
    AIOHTTP_RESPONSE,
    JSON_WRITERS,
    STARLETTE_RESPONSE,
    last_names,
)
from asyncfix.codemods.speed.metadata import child_nodes

AF102 = Rule(
    code="AF102",
    name="json-loads-in-async",
    summary="json.loads() in async def -> orjson.loads()",
    why=(
        "json.loads() parses on the event loop's thread; on a large document every other "
        "request of this worker waits. orjson parses the same JSON several times faster."
    ),
    fix=(
        "orjson.loads(s) takes the same str or bytes and returns the same objects for every "
        "RFC 8259 document whose integers fit in 64 bits (larger ones become floats); its "
        "JSONDecodeError is a subclass of json.JSONDecodeError, so existing `except` clauses "
        "still catch it. It rejects some input json.loads accepts: NaN/Infinity tokens (not "
        "JSON), UTF-16/32 bytes, a byte order mark, lone surrogate escapes. Left for manual "
        "review: hooks and options (cls=, object_hook=, object_pairs_hook=, parse_float=, "
        "parse_int=, parse_constant=, strict=), which orjson does not have; text that "
        "json.dumps() or json.dump() may have written (it writes NaN and Infinity): made in "
        "the same function, or read from anywhere but a request or response body in a "
        "module that writes JSON with them (the same class first); and a call under a broad "
        "`except` (bare, Exception, BaseException), which would swallow orjson's "
        "rejection silently."
    ),
    before=(
        "import json\n"
        "\n"
        "\n"
        "async def handle(request):\n"
        "    payload = json.loads(await request.body())\n"
        '    return payload["id"]\n'
    ),
    after=(
        "import orjson\n"
        "\n"
        "\n"
        "async def handle(request):\n"
        "    payload = orjson.loads(await request.body())\n"
        '    return payload["id"]\n'
    ),
    local_fix=True,
    valid=("import json\n\n\nasync def parse(body):\n    return (lambda: json.loads(body))\n",),
)


# Awaited reads of a request's or a response's body: text that comes from outside.
_BODY_READS = frozenset({"body", "text", "read", "receive_text", "receive_bytes"})
_WRITTEN_AS = last_names(JSON_WRITERS)
_BROAD = frozenset({"Exception", "BaseException", "builtins.Exception", "builtins.BaseException"})


def _broad(caught: cst.BaseExpression | None) -> str | None:
    """` Exception` for a handler that catches Exception or more (bare, a tuple), else None."""
    if caught is None:
        return ""
    names = [e.value for e in caught.elements] if isinstance(caught, cst.Tuple) else [caught]
    for name in names:
        text = cst.Module([]).code_for_node(name)
        if text in _BROAD:
            return f" {text}"
    return None


class LoadsRule(SerializerBase):
    """AF102: json.loads() -> orjson.loads(), unless the text may hold what orjson rejects."""

    # -- AF102: json.loads ----------------------------------------------------------------

    def _leave_loads(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        found = self._on_loop(original)
        if found is None:
            return updated
        scope, where = found
        message = "json.loads() parses on the event loop"
        orjson = module_name_at(scope, "orjson")
        reason = None
        if any(a.star for a in original.args):
            reason = "arguments passed with * or ** cannot be mapped onto orjson's"
        elif len(original.args) != 1:
            extra = [a.keyword.value for a in original.args if a.keyword and a.keyword.value != "s"]
            reason = (
                f"orjson.loads() has no {extra[0]}= (no hooks, no parse_* options)"
                if extra
                else "json.loads() takes one argument; this call is unusual"
            )
        elif original.args[0].keyword is not None and original.args[0].keyword.value != "s":
            reason = f"orjson.loads() has no {original.args[0].keyword.value}= argument"
        elif orjson is None:
            reason = ORJSON_TAKEN
        elif where.function is not None and self._made_by_dumps(
            original.args[0].value, where.function
        ):
            reason = (
                "the text comes from json.dumps(), which writes NaN and Infinity, and "
                "orjson.loads() rejects them"
            )
        elif where.function is not None:
            reason = self._written_with_json(original, where.function) or self._broad_except(
                original, where.function
            )
        if reason is not None or orjson is None:
            self.report(original, "AF102", message, reason=reason)
            return updated
        if not self.report(original, "AF102", message + "; use orjson.loads()"):
            return updated
        self._uses_orjson(scope, original, import_orjson=orjson.needs_import)
        arg = updated.args[0].with_changes(keyword=None, equal=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(
            func=cst.Attribute(cst.Name(orjson.name), cst.Name("loads")), args=[arg]
        )

    def _made_by_dumps(self, value: cst.BaseExpression, function: cst.FunctionDef) -> bool:
        """Is `value` json.dumps(...), or a local name one of whose values is?"""
        if isinstance(value, cst.Call):
            return self._qualified(value.func) == "json.dumps"
        if not isinstance(value, cst.Name):
            return False
        for assignment in self._local_assignments(value, function) or ():
            assigned = self._assigned_value(assignment.node)
            if isinstance(assigned, cst.Call) and self._qualified(assigned.func) == "json.dumps":
                return True
        return False

    def _written_with_json(self, call: cst.Call, function: cst.FunctionDef) -> str | None:
        """Why `call`'s text may be JSON this module wrote with json.dump()/json.dumps()
        (NaN, Infinity: orjson rejects them), or None. Text read from a request or a
        response body comes from outside; anything else (a file, a cache, an attribute)
        may be what a writer of the same class or module stored."""
        if self._external(call.args[0].value, function):
            return None
        writers = self._json_writers()
        if not writers:
            return None
        owner = self._class_of(function)
        mine = [w for w in writers if owner is not None and w.owner is owner]
        # The nearest writer: the same class, else a function of the module.
        writer = (mine or [w for w in writers if w.owner is None] or writers)[0]
        where = (
            f"`{writer.where}` in the same class" if mine else f"`{writer.where}` in this module"
        )
        return (
            f"{where} writes JSON with {writer.name}(), which writes NaN and Infinity; this "
            "text may be what it wrote, and orjson.loads() rejects them"
        )

    def _external(self, value: cst.BaseExpression, function: cst.FunctionDef) -> bool:
        """`await <x>.body()` and the like (or a local name bound only to one): text that
        comes from a client or a server, not from this module's json writers."""
        if isinstance(value, cst.Name):
            assignments = self._local_assignments(value, function)
            return bool(assignments) and all(
                (assigned := self._assigned_value(a.node)) is not None
                and self._external(assigned, function)
                for a in assignments or ()
            )
        return (
            isinstance(value, cst.Await)
            and isinstance(value.expression, cst.Call)
            and isinstance(value.expression.func, cst.Attribute)
            and value.expression.func.attr.value in _BODY_READS
        )

    def _class_of(self, function: cst.FunctionDef) -> cst.ClassDef | None:
        block = self._parent(function)
        owner = self._parent(block) if isinstance(block, cst.IndentedBlock) else None
        return owner if isinstance(owner, cst.ClassDef) else None

    def _json_writers(self) -> list[JsonWriter]:
        """The module's json.dump()/json.dumps() calls whose text may be stored: not one
        handed straight to a response, nor one with allow_nan=False. Found once."""
        if self._writers is None:
            self._writers = []
            if self._module is not None:
                self._find_writers(self._module, None, "<module>", self._writers)
        return self._writers

    def _find_writers(
        self,
        node: cst.CSTNode,
        owner: cst.ClassDef | None,
        where: str,
        found: list[JsonWriter],
        function: cst.FunctionDef | None = None,
    ) -> None:
        # (the fields read, exact types: `.children` rebuilds every node, and `isinstance`
        # against libcst's ABCs is slow; none of these three has a subclass)
        for child in child_nodes(node):
            kind = type(child)
            if kind is cst.ClassDef:
                child = cast(cst.ClassDef, child)
                self._find_writers(child, child, child.name.value, found)
                continue
            if kind is cst.FunctionDef:
                child = cast(cst.FunctionDef, child)
                name = child.name.value if owner is None else f"{where}.{child.name.value}"
                self._find_writers(child, owner, name, found, child)
                continue
            writer = (
                self._stores_json(cast(cst.Call, child), function) if kind is cst.Call else None
            )
            if writer is not None:
                found.append(JsonWriter(writer, where, owner))
            self._find_writers(child, owner, where, found, function)

    def _stores_json(self, call: cst.Call, function: cst.FunctionDef | None) -> str | None:
        """json.dump or json.dumps for such a call whose text may be stored, else None."""
        name = self._qualified(call) if callee(call) in _WRITTEN_AS else None
        if name not in JSON_WRITERS:
            return None
        allow_nan = argument(call, None, "allow_nan")
        if allow_nan is not None and literal(allow_nan.value) is False:
            return None  # json raises on NaN instead of writing it
        arg = self._parent(call)
        response = self._parent(arg) if isinstance(arg, cst.Arg) else None
        if (
            isinstance(response, cst.Call)
            and self._qualified(response) in STARLETTE_RESPONSE | AIOHTTP_RESPONSE
        ):
            return None  # sent, not stored
        if function is not None and self._sent_only(call, function):
            return None  # (through a variable): sent, not stored, rewritten or not
        return name

    def _broad_except(self, call: cst.Call, function: cst.FunctionDef) -> str | None:
        """orjson rejects input json.loads accepts; a broad `except` around the call would
        handle that as any error, silently (`except Exception: return {}` makes a store look
        empty, and the next write makes the loss permanent)."""
        node: cst.CSTNode | None = call
        while node is not None and node is not function:
            parent = self._parent(node)
            if isinstance(parent, cst.Try) and node is parent.body:
                for handler in parent.handlers:
                    caught = _broad(handler.type)
                    if caught is not None:
                        return (
                            f"it sits under `except{caught}`: input json.loads() accepts "
                            "and orjson.loads() rejects (NaN, Infinity, a byte order mark, "
                            "lone surrogates) would be handled there as an error, with no "
                            "trace of why"
                        )
            node = parent
        return None
